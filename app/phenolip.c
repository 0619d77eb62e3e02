/* phenolip.c: the `phenolip` command, the headless front end of PhenoLIP Explorer. Every verb calls
 * the same app-core API as the window. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "app/pl-cli.h"
#include "app/pl-cli-kg.h"

static const PlCliVerb verbs[] = {
  { "info", "Describe a checkpoint: architecture, parameters, dtypes, logit scale", pl_cli_info },
  { "embed-image", "Print the normalised embedding of each image as JSON lines", pl_cli_embed_image },
  { "embed-text", "Print the token ids and normalised embedding of each text as JSON lines", pl_cli_embed_text },
  { "similarity", "Cosine similarity and logit between an image and texts", pl_cli_similarity },
  { "rank", "The phenotypes an image most likely shows, with their HPO paths", pl_cli_rank },
  { "kg", "Build and query PhenoKG snapshots of HPO (phenolip kg --help)", pl_cli_kg },
  { "bench", "PhenoBench evaluations: run, list, show, compare, export", pl_cli_bench },
};

static void
print_help (FILE *out)
{
  fprintf (out, "Usage: phenolip VERB [OPTION...] ARGUMENTS\n\n"
                "Runs the PhenoLIP medical vision-language model locally.\n\nVerbs:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    fprintf (out, "  %-13s %s\n", verbs[i].name, verbs[i].summary);
  fprintf (out, "\n'phenolip VERB --help' describes a verb and its options.\n\n"
                "Exit status: 0 success; 1 an input could not be processed (the others were);\n"
                "2 usage error; 3 the checkpoint or its companion files could not be opened.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  /* Numbers in JSON and tables must use '.', whatever the user's locale. */
  setlocale (LC_NUMERIC, "C");

  if (argc < 2)
    {
      print_help (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("phenolip %s\n", PACKAGE_VERSION);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (strcmp (argv[1], verbs[i].name) == 0)
      {
        g_autofree char *prgname = g_strdup_printf ("phenolip %s", verbs[i].name);

        g_set_prgname (prgname);
        return verbs[i].run (argc - 1, argv + 1);
      }
  fprintf (stderr, "phenolip: unknown verb '%s'\n\n", argv[1]);
  print_help (stderr);
  return 2;
}
