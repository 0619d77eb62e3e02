/* test-cli.c: the `phenolip` command as a user runs it: verbs, output, exit codes and error messages.
 * The program under test is the built binary, run as a child process. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "tests/pl-test-util.h"

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs phenolip with the NULL-terminated arguments. */
static void
run_phenolip (Run *run,
              ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list args;
  int wait_status;

  g_ptr_array_add (argv, g_build_filename (g_getenv ("PL_BUILD_DIR"), "app", "phenolip", NULL));
  va_start (args, run);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static char *
demo_model (void)
{
  return g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "model", NULL);
}

static char *
image (const char *name)
{
  g_autofree char *relative = g_build_filename ("images", name, NULL);

  return pl_test_shared_data_path (relative);
}

static JsonObject *
parse_object (JsonParser *parser,
              const char *line)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_help_lists_every_verb_and_exit_codes (void)
{
  g_auto(Run) run = { 0 };
  const char *verbs[] = { "info", "embed-image", "embed-text", "similarity" };

  run_phenolip (&run, "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      g_auto(Run) verb = { 0 };

      g_assert_nonnull (strstr (run.out, verbs[i]));
      run_phenolip (&verb, verbs[i], "--help", NULL);
      g_assert_cmpint (verb.status, ==, 0);
      g_assert_nonnull (strstr (verb.out, "--threads"));
    }
  g_assert_nonnull (strstr (run.out, "Exit status"));
}

static void
test_usage_errors_exit_2 (void)
{
  g_auto(Run) unknown = { 0 };
  g_auto(Run) missing = { 0 };
  g_auto(Run) option = { 0 };

  run_phenolip (&unknown, "frobnicate", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_nonnull (strstr (unknown.err, "unknown verb 'frobnicate'"));
  run_phenolip (&missing, "embed-image", NULL);
  g_assert_cmpint (missing.status, ==, 2);
  g_assert_nonnull (strstr (missing.err, "phenolip embed-image --help"));
  run_phenolip (&option, "info", "--no-such-option", "x", NULL);
  g_assert_cmpint (option.status, ==, 2);
}

static void
test_info_says_demo_weights_and_counts_parameters (void)
{
  g_autofree char *model = demo_model ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Run) text = { 0 };
  g_auto(Run) json = { 0 };
  JsonObject *info;

  run_phenolip (&text, "info", model, NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "RANDOM WEIGHTS"));

  run_phenolip (&json, "info", "--json", model, NULL);
  g_assert_cmpint (json.status, ==, 0);
  info = parse_object (parser, json.out);
  g_assert_true (json_object_get_boolean_member (info, "demo_random_weights"));
  /* By hand, for the tiny architecture (vision 164,032 + text 296,896 + logit_scale 1):
   * patch 64*3*16*16+64, cls 64, pos 197*64, 2 blocks of 49,984, norm 128, head 32*64;
   * words 3005*64, positions 512*64, types 2*64, LN 128, 2 layers of 33,472, proj 48*64 + 32*48. */
  g_assert_cmpint (json_object_get_int_member (info, "parameters"), ==, 460929);
  g_assert_cmpint (json_object_get_int_member (info, "embed_dim"), ==, 32);
}

static void
test_embed_image_reports_a_broken_file_and_embeds_the_rest (void)
{
  g_autofree char *model = demo_model ();
  g_autofree char *good = image ("retina.jpg");
  g_autofree char *broken = pl_test_write_file ("broken.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(GStrv) lines = NULL;
  g_auto(Run) run = { 0 };
  JsonObject *line;
  JsonArray *embedding;
  double norm = 0;

  run_phenolip (&run, "embed-image", model, broken, good, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, broken));
  lines = g_strsplit (g_strstrip (run.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1);
  line = parse_object (parser, lines[0]);
  g_assert_cmpstr (json_object_get_string_member (line, "image"), ==, good);
  embedding = json_object_get_array_member (line, "embedding");
  g_assert_cmpuint (json_array_get_length (embedding), ==, 32);
  for (guint i = 0; i < 32; i++)
    norm += pow (json_array_get_double_element (embedding, i), 2);
  g_assert_cmpfloat (fabs (sqrt (norm) - 1.0), <, 1e-5);
}

static void
test_embed_text_prints_pytorch_ids_and_embedding (void)
{
  g_autofree char *model = demo_model ();
  g_autofree char *expected_path = pl_test_fixture_path ("tiny/expected.json");
  g_autoptr(JsonParser) expected_parser = json_parser_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Run) run = { 0 };
  JsonObject *expected_text, *line;
  JsonArray *ids, *expected_ids, *embedding, *expected_embedding;

  g_assert_true (json_parser_load_from_file (expected_parser, expected_path, NULL));
  /* The demo model is the tiny fixture model, so PyTorch's figures for it apply. */
  expected_text = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (json_parser_get_root (expected_parser)), "texts"), 0);
  run_phenolip (&run, "embed-text", model, json_object_get_string_member (expected_text, "text"), NULL);
  g_assert_cmpint (run.status, ==, 0);
  line = parse_object (parser, run.out);
  ids = json_object_get_array_member (line, "ids");
  expected_ids = json_object_get_array_member (expected_text, "ids");
  g_assert_cmpuint (json_array_get_length (ids), ==, json_array_get_length (expected_ids));
  for (guint i = 0; i < json_array_get_length (ids); i++)
    g_assert_cmpint (json_array_get_int_element (ids, i), ==, json_array_get_int_element (expected_ids, i));
  embedding = json_object_get_array_member (line, "embedding");
  expected_embedding = json_object_get_array_member (expected_text, "embedding");
  for (guint i = 0; i < json_array_get_length (expected_embedding); i++)
    g_assert_cmpfloat (fabs (json_array_get_double_element (embedding, i) -
                             json_array_get_double_element (expected_embedding, i)), <=, 1e-4);
}

static void
test_similarity_json_gives_cosine_and_logit (void)
{
  g_autofree char *model = demo_model ();
  g_autofree char *retina = image ("retina.jpg");
  g_autofree char *expected_path = pl_test_fixture_path ("tiny/expected.json");
  g_autoptr(JsonParser) expected_parser = json_parser_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Run) run = { 0 };
  g_auto(GStrv) lines = NULL;
  JsonObject *root, *line;
  JsonArray *cosines;
  double logit_scale;

  g_assert_true (json_parser_load_from_file (expected_parser, expected_path, NULL));
  root = json_node_get_object (json_parser_get_root (expected_parser));
  /* Row 0 of PyTorch's similarity matrix is retina.jpg; columns 0 and 1 the first two texts. */
  cosines = json_array_get_array_element (
    json_object_get_array_member (json_object_get_object_member (root, "similarity"), "cosine"), 0);
  logit_scale = json_object_get_double_member (root, "logit_scale_exp");
  run_phenolip (&run, "similarity", model, "--json", "--image", retina, "--text", "Retinal hemorrhage",
                "--text", "Seizure", NULL);
  g_assert_cmpint (run.status, ==, 0);
  lines = g_strsplit (g_strstrip (run.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      double cosine;

      line = parse_object (parser, lines[i]);
      cosine = json_object_get_double_member (line, "cosine");
      g_assert_cmpfloat (fabs (cosine - json_array_get_double_element (cosines, i)), <=, 1e-4);
      g_assert_cmpfloat (fabs (json_object_get_double_member (line, "logit") - logit_scale * cosine), <=, 1e-4);
    }
}

static void
test_corrupt_checkpoint_exits_3_naming_the_file (void)
{
  g_autofree char *dir = g_build_filename (pl_test_tmpdir (), "corrupt-model", NULL);
  g_autofree char *checkpoint = g_build_filename (dir, "open_clip_pytorch_model.bin", NULL);
  g_autofree char *retina = image ("retina.jpg");
  g_auto(Run) run = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (checkpoint, "PK\x03\x04 this is not really a zip", -1, NULL));
  g_autofree char *model = demo_model ();
  g_autofree char *vocab = g_build_filename (model, "vocab.txt", NULL);

  run_phenolip (&run, "embed-image", checkpoint, "--vocab", vocab, retina, NULL);
  g_assert_cmpint (run.status, ==, 3);
  g_assert_nonnull (strstr (run.err, checkpoint));
  g_assert_null (strstr (run.out, "embedding"));
}

/* ---- phenolip bench ----------------------------------------------------------------------------- */

/* A snapshot of the demo ontology with the demo checkpoint's phenotype embeddings, built once with
 * `phenolip kg import` and `phenolip kg embed` as a user would. */
static const char *
demo_snapshot (void)
{
  static char *path;

  if (path == NULL)
    {
      g_autofree char *obo = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
      g_autofree char *model = demo_model ();
      g_auto(Run) import = { 0 };
      g_auto(Run) embed = { 0 };

      path = g_build_filename (pl_test_tmpdir (), "bench-demo.snapshot", NULL);
      run_phenolip (&import, "kg", "import", obo, "-o", path, NULL);
      g_assert_cmpint (import.status, ==, 0);
      run_phenolip (&embed, "kg", "embed", path, model, NULL);
      g_assert_cmpint (embed.status, ==, 0);
    }
  return path;
}

static JsonObject *
expected_evaluation (JsonParser *parser)
{
  g_autofree char *path = pl_test_fixture_path ("eval/expected.json");
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* `phenolip bench run` of the fixture benchmark into WORKSPACE, optionally with --json. */
static void
bench_run (Run        *run,
           const char *workspace,
           gboolean    json)
{
  g_autofree char *manifest = pl_test_fixture_path ("eval/bench.csv");
  g_autofree char *model = demo_model ();

  run_phenolip (run, "bench", "run", manifest, "--checkpoint", model, "--snapshot", demo_snapshot (),
                "--workspace", workspace, json ? "--json" : NULL, NULL);
}

/* The overall scores of an exported run against numpy's (tests/reference/make_eval_fixtures.py;
 * the demo checkpoint is the tiny fixture model). */
static void
assert_overall_equals_numpy (JsonObject *overall,
                             JsonObject *want)
{
  const char *tasks[] = { "i2t", "t2i", "i2p", "p2i" };
  const char *fields[] = { "r1", "r5", "r10", "r50", "median_rank" };

  g_assert_cmpint (json_object_get_int_member (overall, "n_pairs"), ==, json_object_get_int_member (want, "n_pairs"));
  g_assert_cmpint (json_object_get_int_member (overall, "n_phenotypes"), ==,
                   json_object_get_int_member (want, "n_phenotypes"));
  g_assert_cmpfloat (fabs (json_object_get_double_member (overall, "classification_top1") -
                           json_object_get_double_member (want, "top1")), <, 1e-9);
  g_assert_cmpfloat (fabs (json_object_get_double_member (overall, "classification_top5") -
                           json_object_get_double_member (want, "top5")), <, 1e-9);
  for (gsize t = 0; t < G_N_ELEMENTS (tasks); t++)
    {
      JsonObject *scores = json_object_get_object_member (want, tasks[t]);

      for (gsize f = 0; f < G_N_ELEMENTS (fields); f++)
        {
          g_autofree char *name = g_strdup_printf ("%s_%s", tasks[t], fields[f]);

          g_test_message ("%s", name);
          g_assert_cmpfloat (fabs (json_object_get_double_member (overall, name) -
                                   json_object_get_double_member (scores, fields[f])), <, 1e-9);
        }
      {
        g_autofree char *queries = g_strdup_printf ("%s_queries", tasks[t]);

        g_assert_cmpint (json_object_get_int_member (overall, queries), ==,
                         json_object_get_int_member (scores, "queries"));
      }
    }
}

static void
test_bench_run_equals_numpy_and_lists_what_it_left_out (void)
{
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), "bench-run.sqlite", NULL);
  g_autoptr(JsonParser) expected_parser = json_parser_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *expected = expected_evaluation (expected_parser);
  g_auto(Run) first = { 0 };
  g_auto(Run) again = { 0 };
  JsonObject *run, *report;

  bench_run (&first, workspace, TRUE);
  g_assert_cmpint (first.status, ==, 0);
  run = parse_object (parser, first.out);
  g_assert_cmpint (json_object_get_int_member (run, "run"), ==, 1);
  g_assert_true (json_object_get_boolean_member (run, "demo_checkpoint"));
  /* 10 records: one malformed, one missing image; 8 pairs over 5 distinct images. */
  g_assert_cmpint (json_object_get_int_member (run, "records"), ==, 10);
  g_assert_cmpint (json_object_get_int_member (run, "pairs"), ==, json_object_get_int_member (expected, "pairs"));
  g_assert_cmpint (json_object_get_int_member (run, "images_encoded"), ==, 5);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (run, "templates")), ==,
                   json_array_get_length (json_object_get_array_member (expected, "templates")));
  report = json_object_get_object_member (run, "report");
  g_assert_cmpint (json_object_get_int_member (report, "bad_records"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (report, "missing_images"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (report, "unresolved_names"), ==, 1);
  assert_overall_equals_numpy (json_object_get_object_member (run, "overall"),
                               json_object_get_object_member (expected, "overall"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run, "systems")), ==,
                    json_object_get_size (json_object_get_object_member (expected, "systems")));

  /* The same again, for people: nothing encoded, the problems listed with their lines. */
  bench_run (&again, workspace, FALSE);
  g_assert_cmpint (again.status, ==, 0);
  g_assert_nonnull (strstr (again.out, "Run 2,"));
  g_assert_nonnull (strstr (again.out, "(demo checkpoint: random weights"));
  g_assert_nonnull (strstr (again.out, "10 records, 8 pairs evaluated"));
  g_assert_nonnull (strstr (again.out, "images 0 encoded + 8 cached, texts 0 + "));
  g_assert_nonnull (strstr (again.out, "! 1 malformed records left out: line 10: full_matches"));
  g_assert_nonnull (strstr (again.out, "'missing-image.png': does not exist"));
  g_assert_nonnull (strstr (again.out, "'Not a phenotype at all'"));
  g_assert_nonnull (strstr (again.out, "organ system"));
}

static void
test_bench_list_show_compare_and_export_stored_runs (void)
{
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), "bench-stored.sqlite", NULL);
  g_autoptr(JsonParser) expected_parser = json_parser_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *expected = expected_evaluation (expected_parser);
  guint n_systems = json_object_get_size (json_object_get_object_member (expected, "systems"));
  g_auto(Run) one = { 0 };
  g_auto(Run) two = { 0 };
  g_auto(Run) list = { 0 };
  g_auto(Run) show = { 0 };
  g_auto(Run) compare = { 0 };
  g_auto(Run) json = { 0 };
  g_auto(Run) csv = { 0 };
  g_auto(GStrv) lines = NULL;
  JsonObject *exported;

  bench_run (&one, workspace, TRUE);
  g_assert_cmpint (one.status, ==, 0);
  bench_run (&two, workspace, TRUE);
  g_assert_cmpint (two.status, ==, 0);

  /* A header, then the runs newest first. */
  run_phenolip (&list, "bench", "list", "--workspace", workspace, NULL);
  g_assert_cmpint (list.status, ==, 0);
  lines = g_strsplit (g_strchomp (list.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_nonnull (strstr (lines[0], "started"));
  g_assert_true (g_str_has_prefix (g_strchug (lines[1]), "2 "));
  g_assert_true (g_str_has_prefix (g_strchug (lines[2]), "1 "));
  g_assert_nonnull (strstr (lines[2], "model / bench.csv"));
  g_clear_pointer (&lines, g_strfreev);

  run_phenolip (&show, "bench", "show", "1", "--workspace", workspace, NULL);
  g_assert_cmpint (show.status, ==, 0);
  g_assert_true (g_str_has_prefix (show.out, "Run 1,"));
  /* numpy's figures, as printed: top-1 12.50%, image->caption R@1 12.50 and R@10 100.00. */
  g_assert_nonnull (strstr (show.out, "top-1  12.50%"));
  g_assert_nonnull (strstr (show.out, "image->caption     R@1  12.50"));
  g_assert_nonnull (strstr (show.out, "R@10 100.00"));
  g_assert_nonnull (strstr (show.out, "organ system"));

  /* Two runs of the same checkpoint and manifest: every difference is zero. */
  run_phenolip (&compare, "bench", "compare", "1", "2", "--workspace", workspace, NULL);
  g_assert_cmpint (compare.status, ==, 0);
  g_assert_null (strstr (compare.out, "different manifests"));
  lines = g_strsplit (g_strchomp (compare.out), "\n", -1);
  {
    guint metrics = 0;

    for (guint i = 0; lines[i] != NULL; i++)
      if (g_regex_match_simple ("^(n_|classification_|i2t_|t2i_|i2p_|p2i_)", lines[i], 0, 0))
        {
          g_assert_true (g_str_has_suffix (lines[i], " +0.00"));
          metrics++;
        }
    /* 3 counts, 2 classification scores, 4 tasks x (R@1, R@5, R@10, R@50, median rank, queries). */
    g_assert_cmpuint (metrics, ==, 3 + 2 + 4 * 6);
  }
  g_assert_nonnull (strstr (compare.out, "classification_top1           12.50        12.50"));
  g_clear_pointer (&lines, g_strfreev);

  run_phenolip (&json, "bench", "export", "1", "--format", "json", "--workspace", workspace, NULL);
  g_assert_cmpint (json.status, ==, 0);
  exported = parse_object (parser, json.out);
  g_assert_cmpint (json_object_get_int_member (exported, "run"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (exported, "pairs"), ==, 8);
  assert_overall_equals_numpy (json_object_get_object_member (exported, "overall"),
                               json_object_get_object_member (expected, "overall"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (exported, "systems")), ==, n_systems);

  /* CSV: a header, then one row per scope (all pairs, then each system) and metric. */
  run_phenolip (&csv, "bench", "export", "1", "--format", "csv", "--workspace", workspace, NULL);
  g_assert_cmpint (csv.status, ==, 0);
  lines = g_strsplit (csv.out, "\r\n", -1);
  g_assert_cmpstr (lines[0], ==, "scope_id,scope_label,n_pairs,metric,value");
  g_assert_cmpstr (lines[1], ==, ",all pairs,8,n_pairs,8");
  g_assert_cmpstr (lines[4], ==, ",all pairs,8,classification_top1,12.5");
  /* The last split item is what follows the final CRLF: nothing. */
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + (1 + n_systems) * (3 + 2 + 4 * 6) + 1);
  g_assert_cmpstr (lines[g_strv_length (lines) - 1], ==, "");
}

static void
test_bench_errors_exit_codes_and_messages (void)
{
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), "bench-errors.sqlite", NULL);
  g_autofree char *missing = g_build_filename (pl_test_tmpdir (), "no-such-manifest.csv", NULL);
  g_autofree char *model = demo_model ();
  g_auto(Run) no_verb = { 0 };
  g_auto(Run) unknown = { 0 };
  g_auto(Run) no_checkpoint = { 0 };
  g_auto(Run) no_manifest = { 0 };
  g_auto(Run) not_a_number = { 0 };
  g_auto(Run) no_such_run = { 0 };
  g_auto(Run) bad_format = { 0 };
  g_auto(Run) one_run = { 0 };
  g_auto(Run) help = { 0 };

  run_phenolip (&no_verb, "bench", NULL);
  g_assert_cmpint (no_verb.status, ==, 2);
  g_assert_nonnull (strstr (no_verb.err, "phenolip bench run MANIFEST"));
  run_phenolip (&help, "bench", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "phenolip bench export RUN --format json|csv"));
  run_phenolip (&unknown, "bench", "frobnicate", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_nonnull (strstr (unknown.err, "unknown command 'frobnicate'"));
  run_phenolip (&no_checkpoint, "bench", "run", missing, "--workspace", workspace, NULL);
  g_assert_cmpint (no_checkpoint.status, ==, 2);
  g_assert_nonnull (strstr (no_checkpoint.err, "--checkpoint and --snapshot are required"));

  /* A manifest that is not there: an input failure naming the file; no run is stored. */
  run_phenolip (&no_manifest, "bench", "run", missing, "--checkpoint", model, "--snapshot", demo_snapshot (),
                "--workspace", workspace, NULL);
  g_assert_cmpint (no_manifest.status, ==, 1);
  g_assert_nonnull (strstr (no_manifest.err, missing));
  g_assert_cmpstr (no_manifest.out, ==, "");

  run_phenolip (&not_a_number, "bench", "show", "first", "--workspace", workspace, NULL);
  g_assert_cmpint (not_a_number.status, ==, 2);
  g_assert_nonnull (strstr (not_a_number.err, "expected one RUN number"));
  run_phenolip (&no_such_run, "bench", "show", "99", "--workspace", workspace, NULL);
  g_assert_cmpint (no_such_run.status, ==, 1);
  g_assert_nonnull (strstr (no_such_run.err, "no evaluation run 99"));
  g_assert_nonnull (strstr (no_such_run.err, workspace));
  run_phenolip (&bad_format, "bench", "export", "1", "--format", "xml", "--workspace", workspace, NULL);
  g_assert_cmpint (bad_format.status, ==, 2);
  g_assert_nonnull (strstr (bad_format.err, "--format must be json or csv"));
  run_phenolip (&one_run, "bench", "compare", "1", "--workspace", workspace, NULL);
  g_assert_cmpint (one_run.status, ==, 2);
  g_assert_nonnull (strstr (one_run.err, "expected two RUN numbers"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/help-lists-every-verb-and-exit-codes", test_help_lists_every_verb_and_exit_codes);
  g_test_add_func ("/cli/usage-errors-exit-2", test_usage_errors_exit_2);
  g_test_add_func ("/cli/info-says-demo-weights-and-counts-parameters",
                   test_info_says_demo_weights_and_counts_parameters);
  g_test_add_func ("/cli/embed-image-reports-a-broken-file-and-embeds-the-rest",
                   test_embed_image_reports_a_broken_file_and_embeds_the_rest);
  g_test_add_func ("/cli/embed-text-prints-pytorch-ids-and-embedding", test_embed_text_prints_pytorch_ids_and_embedding);
  g_test_add_func ("/cli/similarity-json-gives-cosine-and-logit", test_similarity_json_gives_cosine_and_logit);
  g_test_add_func ("/cli/corrupt-checkpoint-exits-3-naming-the-file", test_corrupt_checkpoint_exits_3_naming_the_file);
  g_test_add_func ("/cli/bench-run-equals-numpy-and-lists-what-it-left-out",
                   test_bench_run_equals_numpy_and_lists_what_it_left_out);
  g_test_add_func ("/cli/bench-list-show-compare-and-export-stored-runs",
                   test_bench_list_show_compare_and_export_stored_runs);
  g_test_add_func ("/cli/bench-errors-exit-codes-and-messages", test_bench_errors_exit_codes_and_messages);
  return g_test_run ();
}
