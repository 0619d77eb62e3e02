/* pl-cli-rank.c: `phenolip kg embed` (phenotype embeddings for a checkpoint, resumable, Ctrl+C
 * cancels cleanly) and `phenolip rank` (the phenotypes an image most likely shows). */
#include "app/pl-cli.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "app/pl-ranking.h"
#include "data/pl-phenotype-embeddings.h"
#include "model/pl-error.h"

typedef struct {
  PlSnapshot         *snapshot;
  PlClip             *clip;
  const char * const *templates;
  const char         *root_id;
  GCancellable       *cancellable;
  GMainLoop          *loop;
  GError             *error;
  gboolean            ok;
  gboolean            tty;
} EmbedJob;

static void
print_progress (const PlEmbeddingProgress *progress,
                gpointer                   user_data)
{
  EmbedJob *job = user_data;
  int percent = progress->total ? (int) (100.0 * progress->done / progress->total) : 100;
  char eta[32] = "";

  if (progress->eta >= 0)
    g_snprintf (eta, sizeof eta, ", %d:%02d left", (int) progress->eta / 60, (int) progress->eta % 60);
  if (job->tty)
    fprintf (stderr, "\rEmbedding phenotypes: %u / %u (%d%%%s)   ", progress->done, progress->total, percent, eta);
  else if (progress->done == progress->total || progress->done % 1024 < 64)
    fprintf (stderr, "Embedding phenotypes: %u / %u (%d%%%s)\n", progress->done, progress->total, percent, eta);
}

static gpointer
embed_thread (gpointer data)
{
  EmbedJob *job = data;

  job->ok = pl_phenotype_embeddings_compute (job->snapshot, job->clip, job->templates, job->root_id,
                                             job->cancellable, print_progress, job, &job->error);
  g_main_loop_quit (job->loop);
  return NULL;
}

static gboolean
on_interrupt (gpointer data)
{
  EmbedJob *job = data;

  fprintf (stderr, "\nCancelling; what is done is kept, and the next run resumes from there.\n");
  g_cancellable_cancel (job->cancellable);
  return G_SOURCE_CONTINUE;
}

int
pl_cli_kg_embed (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT CHECKPOINT - compute phenotype embeddings");
  PlCliModelOptions options = { 0 };
  g_autofree char *root = NULL;
  g_auto(GStrv) templates = NULL;
  GOptionEntry entries[] = {
    { "under", 'u', 0, G_OPTION_ARG_STRING, &root, "Only phenotypes under this term (default HP:0000118)", "HP:ID" },
    { "template", 0, 0, G_OPTION_ARG_STRING_ARRAY, &templates,
      "A prompt template, {} standing for the label (repeat; default: the built-in set)", "TEXT" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  EmbedJob job = { 0 };
  GThread *thread;
  guint signal_id;
  gint64 start;

  g_option_context_set_summary (context,
    "Embeds every live phenotype under a root with the checkpoint's text tower, averaging the prompt\n"
    "templates as open_clip's zero-shot classifier does, and stores the vectors in the snapshot.\n"
    "Interrupted runs (Ctrl+C) keep what they finished; running again resumes.");
  pl_cli_model_options_add (context, &options);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg embed", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 3)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("kg embed", "expected SNAPSHOT and CHECKPOINT");
    }
  if ((snapshot = pl_snapshot_open (argv[1], PL_SNAPSHOT_OPEN_DEFAULT, &error)) == NULL)
    {
      pl_cli_print_error (error);
      pl_cli_model_options_clear (&options);
      return PL_EXIT_INPUT_FAILED;
    }
  clip = pl_cli_load_clip (argv[2], &options);
  pl_cli_model_options_clear (&options);
  if (clip == NULL)
    return PL_EXIT_MODEL_FAILED;

  job.snapshot = snapshot;
  job.clip = clip;
  job.templates = (const char * const *) templates;
  job.root_id = root;
  job.cancellable = cancellable;
  job.loop = loop;
  job.tty = isatty (STDERR_FILENO);
  signal_id = g_unix_signal_add (SIGINT, on_interrupt, &job);
  start = g_get_monotonic_time ();
  thread = g_thread_new ("embed", embed_thread, &job);
  g_main_loop_run (loop);
  g_thread_join (thread);
  g_source_remove (signal_id);
  if (job.tty)
    fputc ('\n', stderr);
  if (!job.ok)
    {
      pl_cli_print_error (job.error);
      g_clear_error (&job.error);
      return PL_EXIT_INPUT_FAILED;
    }
  fprintf (stderr, "Done in %.1f s.\n", (g_get_monotonic_time () - start) / 1e6);
  return PL_EXIT_OK;
}

static void
add_path_ids (JsonBuilder *b,
              GPtrArray   *path)
{
  json_builder_begin_array (b);
  for (guint i = 0; i < path->len; i++)
    json_builder_add_string_value (b, ((PlTermRef *) path->pdata[i])->id);
  json_builder_end_array (b);
}

static void
print_ranking_json (const char      *image,
                    const PlRanking *ranking)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "candidates");
  json_builder_add_int_value (b, ranking->n_candidates);
  json_builder_set_member_name (b, "phenotypes");
  json_builder_begin_array (b);
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *p = ranking->phenotypes->pdata[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, p->term_id);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, p->label);
      json_builder_set_member_name (b, "cosine");
      json_builder_add_double_value (b, p->cosine);
      json_builder_set_member_name (b, "logit");
      json_builder_add_double_value (b, p->logit);
      json_builder_set_member_name (b, "probability");
      json_builder_add_double_value (b, p->probability);
      json_builder_set_member_name (b, "systems");
      json_builder_begin_array (b);
      for (guint s = 0; s < p->systems->len; s++)
        json_builder_add_string_value (b, p->systems->pdata[s]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "paths");
      json_builder_begin_array (b);
      for (guint k = 0; k < p->paths->len; k++)
        add_path_ids (b, p->paths->pdata[k]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "systems");
  json_builder_begin_array (b);
  for (guint i = 0; i < ranking->systems->len; i++)
    {
      PlSystemScore *s = ranking->systems->pdata[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, s->system_id);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, s->label);
      json_builder_set_member_name (b, "cosine");
      json_builder_add_double_value (b, s->cosine);
      json_builder_set_member_name (b, "probability");
      json_builder_add_double_value (b, s->probability);
      json_builder_set_member_name (b, "best");
      json_builder_add_string_value (b, s->best_term_id);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  pl_cli_print_json_line (b);
}

static void
print_ranking_text (const char      *image,
                    const PlRanking *ranking,
                    guint            n_systems)
{
  printf ("%s: %u phenotypes scored\n", image, ranking->n_candidates);
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *p = ranking->phenotypes->pdata[i];

      printf ("%3u. %6.2f%%  cos %.4f  %s  %s\n", i + 1, 100 * p->probability, p->cosine, p->term_id, p->label);
      if (p->paths->len > 0)
        {
          GPtrArray *path = p->paths->pdata[0];
          g_autoptr(GString) line = g_string_new ("       ");

          /* The root (All) says nothing; start below it. */
          for (guint k = path->len > 1 ? 1 : 0; k < path->len; k++)
            g_string_append_printf (line, "%s%s", k > 1 ? " > " : "", ((PlTermRef *) path->pdata[k])->label);
          if (p->paths->len > 1)
            g_string_append_printf (line, "  (+%u more path%s)", p->paths->len - 1, p->paths->len > 2 ? "s" : "");
          printf ("%s\n", line->str);
        }
    }
  if (n_systems > 0 && ranking->systems->len > 0)
    {
      printf ("   Organ systems (best phenotype in each):\n");
      for (guint i = 0; i < MIN (n_systems, ranking->systems->len); i++)
        {
          PlSystemScore *s = ranking->systems->pdata[i];

          printf ("     cos %.4f  %5.1f%%  %s (%s)\n", s->cosine, 100 * s->probability, s->label, s->best_term_label);
        }
    }
}

int
pl_cli_rank (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT SNAPSHOT IMAGE... - rank phenotypes for images");
  PlCliModelOptions options = { 0 };
  g_autofree char *under = NULL;
  gboolean json = FALSE;
  int top = 10, n_systems = 5;
  GOptionEntry entries[] = {
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, "How many phenotypes to show (default 10)", "K" },
    { "under", 'u', 0, G_OPTION_ARG_STRING, &under, "Only phenotypes under this term, e.g. HP:0000478", "HP:ID" },
    { "systems", 0, 0, G_OPTION_ARG_INT, &n_systems, "Organ systems to summarise (default 5)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per image", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(PlRanker) ranker = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *pixels = NULL;
  g_autofree float *embedding = NULL;
  int status = PL_EXIT_OK, size;

  g_option_context_set_summary (context,
    "Scores every phenotype embedding of the snapshot against each image in one matrix product and\n"
    "prints the top K with their probability over the candidates, cosine, HPO id and path to the root,\n"
    "then which organ systems the image points to. The snapshot needs phenotype embeddings for this\n"
    "checkpoint: phenolip kg embed SNAPSHOT CHECKPOINT.");
  pl_cli_model_options_add (context, &options);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "rank", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc < 4 || top < 1)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("rank", argc < 4 ? "expected CHECKPOINT, SNAPSHOT and at least one IMAGE"
                                                   : "--top must be at least 1");
    }
  clip = pl_cli_load_clip (argv[1], &options);
  pl_cli_model_options_clear (&options);
  if (clip == NULL)
    return PL_EXIT_MODEL_FAILED;
  if ((snapshot = pl_snapshot_open (argv[2], PL_SNAPSHOT_OPEN_READ_ONLY, &error)) == NULL ||
      (ranker = pl_ranker_new (snapshot, clip, NULL, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  if (!json && pl_clip_is_demo (clip))
    printf ("(demo model with random weights: this ranking is meaningless)\n");

  size = pl_clip_get_vit_config (clip)->image_size;
  pixels = g_new (float, (gsize) 3 * size * size);
  embedding = g_new (float, pl_clip_get_embed_dim (clip));
  for (int i = 3; i < argc; i++)
    {
      g_autoptr(PlRanking) ranking = NULL;
      g_autoptr(GError) image_error = NULL;

      if (!pl_clip_load_image (clip, argv[i], pixels, &image_error))
        {
          pl_cli_print_error (image_error);
          status = PL_EXIT_INPUT_FAILED;
          continue;
        }
      pl_clip_encode_images (clip, pixels, 1, embedding);
      if ((ranking = pl_ranker_rank (ranker, embedding, (guint) top, under, &image_error)) == NULL)
        {
          pl_cli_print_error (image_error);
          return PL_EXIT_INPUT_FAILED;
        }
      if (json)
        print_ranking_json (argv[i], ranking);
      else
        print_ranking_text (argv[i], ranking, (guint) MAX (n_systems, 0));
    }
  return status;
}
