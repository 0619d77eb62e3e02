/* pl-cli-common.c: option parsing, error reporting and JSON output shared by the verbs of `phenolip`. */
#include "app/pl-cli.h"

#include <stdio.h>

void
pl_cli_model_options_add (GOptionContext    *context,
                          PlCliModelOptions *options)
{
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &options->threads,
      "Threads for the model's matrix work (default: all cores)", "N" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &options->vocab,
      "The model's vocab.txt (default: beside the checkpoint)", "FILE" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &options->config,
      "open_clip_config.json (default: beside the checkpoint)", "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
      "Also list the checkpoint keys the model does not use", NULL },
    G_OPTION_ENTRY_NULL
  };

  options->threads = 0;
  g_option_context_add_main_entries (context, entries, NULL);
}

void
pl_cli_model_options_clear (PlCliModelOptions *options)
{
  g_clear_pointer (&options->vocab, g_free);
  g_clear_pointer (&options->config, g_free);
}

gboolean
pl_cli_parse (GOptionContext *context,
              const char     *verb,
              int            *argc,
              char         ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      pl_cli_usage_error (verb, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

int
pl_cli_usage_error (const char *verb,
                    const char *format,
                    ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "phenolip%s%s: %s\nTry 'phenolip %s%s--help'.\n",
           verb ? " " : "", verb ? verb : "", message, verb ? verb : "", verb ? " " : "");
  return PL_EXIT_USAGE;
}

void
pl_cli_print_error (const GError *error)
{
  fprintf (stderr, "phenolip: %s\n", error->message);
}

PlClip *
pl_cli_load_clip (const char              *path,
                  const PlCliModelOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  PlClipOptions clip_options = { options->config, options->vocab };
  PlClip *clip;

  pl_clip_set_threads (options->threads > 0 ? options->threads : (int) g_get_num_processors ());
  clip = pl_clip_load (path, &clip_options, warnings, &error);
  for (guint i = 0; i < warnings->len; i++)
    fprintf (stderr, "phenolip: warning: %s\n", (const char *) warnings->pdata[i]);
  if (clip == NULL)
    {
      pl_cli_print_error (error);
      return NULL;
    }
  if (options->verbose)
    {
      GPtrArray *unused = pl_clip_get_unused_keys (clip);

      fprintf (stderr, "phenolip: %u checkpoint keys not used by the model%s\n", unused->len,
               unused->len ? ":" : "");
      for (guint i = 0; i < unused->len; i++)
        fprintf (stderr, "  %s\n", (const char *) unused->pdata[i]);
    }
  return clip;
}

void
pl_cli_print_json_line (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
}

void
pl_cli_add_float_array (JsonBuilder *builder,
                        const char  *member,
                        const float *values,
                        int          n)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (int i = 0; i < n; i++)
    json_builder_add_double_value (builder, values[i]);
  json_builder_end_array (builder);
}
