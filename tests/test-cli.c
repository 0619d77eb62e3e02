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
  return g_test_run ();
}
