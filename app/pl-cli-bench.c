/* pl-cli-bench.c: `phenolip bench run|list|show|compare|export`: PhenoBench evaluations on the
 * evaluation worker, with a progress bar (Ctrl+C cancels; the next run resumes), and the stored runs. */
#include "app/pl-cli.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/pl-evaluation.h"
#include "data/pl-eval-store.h"

typedef struct {
  GMainLoop    *loop;
  GCancellable *cancellable;
  PlEvalRun    *run;
  GError       *error;
  gboolean      tty;
} BenchJob;

static const char *
phase_name (PlEvalPhase phase)
{
  switch (phase)
    {
    case PL_EVAL_PHASE_LOADING: return "Loading";
    case PL_EVAL_PHASE_TEXTS: return "Texts";
    case PL_EVAL_PHASE_IMAGES: return "Images";
    case PL_EVAL_PHASE_METRICS: return "Metrics";
    default: return "";
    }
}

static void
on_progress (const PlEvalProgress *progress,
             gpointer              user_data)
{
  BenchJob *job = user_data;
  int percent = progress->total ? (int) (100.0 * progress->done / progress->total) : 0;
  char eta[32] = "", bar[21];
  int filled = percent / 5;

  if (!job->tty)
    return;
  if (progress->eta >= 0)
    g_snprintf (eta, sizeof eta, ", %d:%02d left", (int) progress->eta / 60, (int) progress->eta % 60);
  memset (bar, '#', filled);
  memset (bar + filled, '.', 20 - filled);
  bar[20] = '\0';
  fprintf (stderr, "\r%-7s [%s] %3d%%  %u/%u images, %u/%u texts, %.1f img/s%s   ",
           phase_name (progress->phase), bar, percent, progress->images_done, progress->images_total,
           progress->texts_done, progress->texts_total, progress->images_per_second, eta);
  if (progress->partial != NULL)
    fprintf (stderr, "\n  so far: top-1 %.2f%%, I2T R@10 %.2f over %u pairs\n",
             progress->partial->overall->top1, progress->partial->overall->i2t.r10,
             progress->partial->overall->n_pairs);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  BenchJob *job = user_data;

  job->run = pl_evaluator_run_finish (PL_EVALUATOR (source), result, &job->error);
  g_main_loop_quit (job->loop);
}

static gboolean
on_interrupt (gpointer data)
{
  BenchJob *job = data;

  fprintf (stderr, "\nCancelling; embeddings computed so far are kept, and the next run resumes from there.\n");
  g_cancellable_cancel (job->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
print_retrieval (const char *name, const PlRetrievalScores *s)
{
  printf ("  %-18s R@1 %6.2f  R@5 %6.2f  R@10 %6.2f  R@50 %6.2f  median rank %g  (%u queries)\n",
          name, s->r1, s->r5, s->r10, s->r50, s->median_rank, s->n_queries);
}

static void
print_run (const PlEvalRun *run,
           gboolean         systems)
{
  g_autoptr(GPtrArray) lines = pl_evaluation_describe_report (run);
  const PlBenchScores *o = run->metrics->overall;

  printf ("Run %" G_GINT64_FORMAT ", %s, %.1f s%s\n", run->id, run->started, run->duration,
          run->demo ? " (demo checkpoint: random weights, meaningless scores)" : "");
  printf ("  checkpoint %s (fingerprint %.16s)\n  snapshot   %s (HPO %s, source sha256 %.16s)\n"
          "  manifest   %s (sha256 %.16s)\n",
          run->checkpoint_path, run->checkpoint_fingerprint, run->snapshot_path,
          run->snapshot_version ? run->snapshot_version : "?",
          run->snapshot_source_sha256 ? run->snapshot_source_sha256 : "?", run->manifest_path, run->manifest_sha256);
  printf ("  %u records, %u pairs evaluated, %u phenotypes; images %u encoded + %u cached, texts %u + %u\n",
          run->n_records, run->n_pairs, run->n_phenotypes, run->images_encoded, run->images_cached,
          run->texts_encoded, run->texts_cached);
  for (guint i = 0; i < lines->len; i++)
    printf ("  ! %s\n", (const char *) lines->pdata[i]);
  printf ("  %-18s top-1 %6.2f%%  top-5 %6.2f%%  (%u images)\n", "classification", o->top1, o->top5, o->n_classified);
  print_retrieval ("image->caption", &o->i2t);
  print_retrieval ("caption->image", &o->t2i);
  print_retrieval ("image->phenotype", &o->i2p);
  print_retrieval ("phenotype->image", &o->p2i);
  if (!systems)
    return;
  printf ("\n  %-40s %6s %6s %7s %7s %7s %7s %7s\n", "organ system", "pairs", "phen.", "top-1", "I2T@10",
          "T2I@10", "I2P@10", "P2I@10");
  for (guint i = 0; i < run->metrics->systems->len; i++)
    {
      const PlBenchScores *s = run->metrics->systems->pdata[i];

      printf ("  %-40.40s %6u %6u %7.2f %7.2f %7.2f %7.2f %7.2f\n", s->system_label, s->n_pairs, s->n_phenotypes,
              s->top1, s->i2t.r10, s->t2i.r10, s->i2p.r10, s->p2i.r10);
    }
}

static PlEvalStore *
open_store (const char *workspace)
{
  g_autofree char *path = workspace ? g_strdup (workspace) : pl_evaluation_default_workspace ();
  g_autoptr(GError) error = NULL;
  PlEvalStore *store = pl_eval_store_open (path, &error);

  if (store == NULL)
    pl_cli_print_error (error);
  return store;
}

static gboolean
parse_run_id (const char *text,
              gint64     *id)
{
  char *end = NULL;

  *id = g_ascii_strtoll (text, &end, 10);
  return end != text && *end == '\0' && *id > 0;
}

static int
bench_run (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("MANIFEST - evaluate a checkpoint on a PhenoBench manifest");
  g_autofree char *checkpoint = NULL, *snapshot = NULL, *workspace = NULL;
  g_auto(GStrv) templates = NULL;
  gboolean json = FALSE, no_decoder = FALSE, decoder_thread = FALSE;
  int threads = 0, batch = 0;
  GOptionEntry entries[] = {
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &checkpoint, "The checkpoint (file or folder)", "C" },
    { "snapshot", 's', 0, G_OPTION_ARG_FILENAME, &snapshot, "The PhenoKG snapshot that resolves phenotypes", "S" },
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, "Workspace database (default: in the user data folder)", "W" },
    { "template", 0, 0, G_OPTION_ARG_STRING_ARRAY, &templates, "A classification prompt, {} = label (repeat)", "TEXT" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Encoder threads (default: all cores on two cores; cores - 1 beside a decoder thread on more)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Images per forward pass (default 8)", "N" },
    { "no-decoder-thread", 0, 0, G_OPTION_ARG_NONE, &no_decoder, "Decode images in the encoder's thread", NULL },
    { "decoder-thread", 0, 0, G_OPTION_ARG_NONE, &decoder_thread, "Decode images in a thread of their own", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the finished run as JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PlEvaluator) evaluator = NULL;
  BenchJob job = { loop, cancellable, NULL, NULL, isatty (STDERR_FILENO) };
  PlEvalRequest request = { 0 };
  guint sigint, sigterm;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "bench run", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 2)
    return pl_cli_usage_error ("bench run", "expected one MANIFEST");
  if (checkpoint == NULL || snapshot == NULL)
    return pl_cli_usage_error ("bench run", "--checkpoint and --snapshot are required");
  request.manifest_path = argv[1];
  request.checkpoint_path = checkpoint;
  request.snapshot_path = snapshot;
  request.workspace_path = workspace;
  request.templates = (const char * const *) templates;
  request.threads = threads;
  request.batch_size = batch;
  request.decoding = no_decoder ? PL_EVAL_DECODING_INLINE
                   : decoder_thread ? PL_EVAL_DECODING_THREAD : PL_EVAL_DECODING_AUTO;

  evaluator = pl_evaluator_new ();
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &job);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &job);
  pl_evaluator_run_async (evaluator, &request, cancellable, on_progress, &job, NULL, on_done, &job);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (job.tty)
    fputc ('\n', stderr);
  if (job.run == NULL)
    {
      pl_cli_print_error (job.error);
      status = g_error_matches (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? 130 : PL_EXIT_INPUT_FAILED;
      g_clear_error (&job.error);
      return status;
    }
  if (json)
    {
      g_autofree char *text = pl_eval_run_to_json (job.run);

      puts (text);
    }
  else
    print_run (job.run, TRUE);
  pl_eval_run_free (job.run);
  return PL_EXIT_OK;
}

static int
bench_list (int    argc,
            char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- list the stored evaluation runs");
  g_autofree char *workspace = NULL;
  GOptionEntry entries[] = {
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, "Workspace database", "W" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "bench list", &argc, &argv))
    return PL_EXIT_USAGE;
  if ((store = open_store (workspace)) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((runs = pl_eval_store_list_runs (store, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  printf ("%5s  %-20s %8s %6s %7s %7s %7s %7s %7s  %s\n", "run", "started", "seconds", "pairs", "top-1", "I2T@10",
          "T2I@10", "I2P@10", "P2I@10", "checkpoint / manifest");
  for (guint i = 0; i < runs->len; i++)
    {
      PlEvalRun *run = runs->pdata[i];
      const PlBenchScores *o = run->metrics->overall;
      g_autofree char *ck = g_path_get_basename (run->checkpoint_path);
      g_autofree char *mf = g_path_get_basename (run->manifest_path);

      printf ("%5" G_GINT64_FORMAT "  %-20s %8.1f %6u %7.2f %7.2f %7.2f %7.2f %7.2f  %s / %s\n", run->id, run->started,
              run->duration, run->n_pairs, o->top1, o->i2t.r10, o->t2i.r10, o->i2p.r10, o->p2i.r10, ck, mf);
    }
  return PL_EXIT_OK;
}

static int
bench_show_or_export (int         argc,
                      char      **argv,
                      gboolean    export)
{
  const char *verb = export ? "bench export" : "bench show";
  g_autoptr(GOptionContext) context = g_option_context_new (export ? "RUN - export a run as JSON or CSV"
                                                                   : "RUN - show a run with every metric");
  g_autofree char *workspace = NULL, *format = NULL;
  GOptionEntry entries[] = {
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, "Workspace database", "W" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "json or csv (export; default json)", "FORMAT" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(PlEvalRun) run = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, verb, &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 2 || !parse_run_id (argv[1], &id))
    return pl_cli_usage_error (verb, "expected one RUN number (see 'phenolip bench list')");
  if (format != NULL && strcmp (format, "json") != 0 && strcmp (format, "csv") != 0)
    return pl_cli_usage_error (verb, "--format must be json or csv");
  if ((store = open_store (workspace)) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((run = pl_eval_store_get_run (store, id, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  if (!export)
    print_run (run, TRUE);
  else
    {
      g_autofree char *text = format && strcmp (format, "csv") == 0 ? pl_eval_run_to_csv (run) : pl_eval_run_to_json (run);

      fputs (text, stdout);
      if (strcmp (format ? format : "json", "json") == 0)
        fputc ('\n', stdout);
    }
  return PL_EXIT_OK;
}

static int
bench_compare (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("RUN RUN - two runs side by side");
  g_autofree char *workspace = NULL;
  GOptionEntry entries[] = {
    { "workspace", 'w', 0, G_OPTION_ARG_FILENAME, &workspace, "Workspace database", "W" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(PlEvalRun) a = NULL;
  g_autoptr(PlEvalRun) b = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *names = pl_bench_metric_names ();
  gint64 id_a, id_b;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "bench compare", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 3 || !parse_run_id (argv[1], &id_a) || !parse_run_id (argv[2], &id_b))
    return pl_cli_usage_error ("bench compare", "expected two RUN numbers");
  if ((store = open_store (workspace)) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((a = pl_eval_store_get_run (store, id_a, &error)) == NULL
      || (b = pl_eval_store_get_run (store, id_b, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  printf ("%-22s %12s %12s %10s\n", "metric", "run", "run", "difference");
  printf ("%-22s %12" G_GINT64_FORMAT " %12" G_GINT64_FORMAT "\n", "", a->id, b->id);
  printf ("%-22s %12.12s %12.12s\n", "checkpoint", a->checkpoint_fingerprint, b->checkpoint_fingerprint);
  printf ("%-22s %12.12s %12.12s%s\n", "manifest sha256", a->manifest_sha256, b->manifest_sha256,
          strcmp (a->manifest_sha256, b->manifest_sha256) ? "  (different manifests!)" : "");
  for (guint i = 0; names[i] != NULL; i++)
    {
      double x = pl_bench_scores_get (a->metrics->overall, names[i]);
      double y = pl_bench_scores_get (b->metrics->overall, names[i]);

      printf ("%-22s %12.2f %12.2f %+10.2f\n", names[i], x, y, y - x);
    }
  return PL_EXIT_OK;
}

int
pl_cli_bench (int    argc,
              char **argv)
{
  const char *usage = "Usage: phenolip bench run MANIFEST --checkpoint C --snapshot S [--workspace W] [--json]\n"
                      "       phenolip bench list [--workspace W]\n"
                      "       phenolip bench show RUN\n"
                      "       phenolip bench compare RUN RUN\n"
                      "       phenolip bench export RUN --format json|csv\n";

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? PL_EXIT_USAGE : PL_EXIT_OK;
    }
  if (strcmp (argv[1], "run") == 0)
    return bench_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "list") == 0)
    return bench_list (argc - 1, argv + 1);
  if (strcmp (argv[1], "show") == 0)
    return bench_show_or_export (argc - 1, argv + 1, FALSE);
  if (strcmp (argv[1], "export") == 0)
    return bench_show_or_export (argc - 1, argv + 1, TRUE);
  if (strcmp (argv[1], "compare") == 0)
    return bench_compare (argc - 1, argv + 1);
  fprintf (stderr, "phenolip bench: unknown command '%s'\n%s", argv[1], usage);
  return PL_EXIT_USAGE;
}
