/* test-evaluation.c: a PhenoBench run end to end on the tiny checkpoint equals numpy's metrics over
 * open_clip's embeddings (tests/reference/make_eval_fixtures.py); a cancelled run resumes without
 * encoding any image twice; problems are reported; runs are stored and exported. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "app/pl-evaluation.h"
#include "data/pl-snapshot.h"
#include "model/pl-clip.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static JsonObject *expected;
static char *snapshot_path;

static void
assert_retrieval (const PlRetrievalScores *got,
                  JsonObject              *want)
{
  g_assert_cmpuint (got->n_queries, ==, json_object_get_int_member (want, "queries"));
  g_assert_cmpfloat (fabs (got->r1 - json_object_get_double_member (want, "r1")), <, 1e-9);
  g_assert_cmpfloat (fabs (got->r5 - json_object_get_double_member (want, "r5")), <, 1e-9);
  g_assert_cmpfloat (fabs (got->r10 - json_object_get_double_member (want, "r10")), <, 1e-9);
  g_assert_cmpfloat (fabs (got->r50 - json_object_get_double_member (want, "r50")), <, 1e-9);
  g_assert_cmpfloat (got->median_rank, ==, json_object_get_double_member (want, "median_rank"));
}

static void
assert_scores (const PlBenchScores *got,
               JsonObject          *want)
{
  g_assert_cmpuint (got->n_pairs, ==, json_object_get_int_member (want, "n_pairs"));
  g_assert_cmpuint (got->n_phenotypes, ==, json_object_get_int_member (want, "n_phenotypes"));
  g_assert_cmpfloat (fabs (got->top1 - json_object_get_double_member (want, "top1")), <, 1e-9);
  g_assert_cmpfloat (fabs (got->top5 - json_object_get_double_member (want, "top5")), <, 1e-9);
  assert_retrieval (&got->i2t, json_object_get_object_member (want, "i2t"));
  assert_retrieval (&got->t2i, json_object_get_object_member (want, "t2i"));
  assert_retrieval (&got->i2p, json_object_get_object_member (want, "i2p"));
  assert_retrieval (&got->p2i, json_object_get_object_member (want, "p2i"));
}

static void
assert_metrics_equal_numpy (const PlBenchMetrics *metrics)
{
  JsonObject *systems = json_object_get_object_member (expected, "systems");

  assert_scores (metrics->overall, json_object_get_object_member (expected, "overall"));
  g_assert_cmpuint (metrics->systems->len, ==, json_object_get_size (systems));
  for (guint i = 0; i < metrics->systems->len; i++)
    {
      PlBenchScores *s = metrics->systems->pdata[i];

      g_test_message ("system %s (%s)", s->system_id, s->system_label);
      assert_scores (s, json_object_get_object_member (systems, s->system_id));
    }
}

static PlEvalRequest
request_for (const char *workspace)
{
  static char *manifest, *checkpoint;
  PlEvalRequest request = { 0 };

  if (manifest == NULL)
    {
      manifest = pl_test_fixture_path ("eval/bench.csv");
      checkpoint = pl_test_fixture_path ("tiny");
    }
  request.manifest_path = manifest;
  request.checkpoint_path = checkpoint;
  request.snapshot_path = snapshot_path;
  request.workspace_path = workspace;
  request.batch_size = 1;
  return request;
}

static void
test_run_equals_numpy_and_reports_what_it_could_not_use (void)
{
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), "full.sqlite", NULL);
  PlEvalRequest request = request_for (workspace);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlEvalRun) run = pl_evaluation_run (&request, NULL, NULL, NULL, &error);
  g_autoptr(PlEvalRun) again = NULL;
  g_autoptr(PlEvalRun) stored = NULL;
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (run->n_records, ==, 10);
  g_assert_cmpuint (run->n_pairs, ==, json_object_get_int_member (expected, "pairs"));
  g_assert_cmpuint (run->n_phenotypes, ==, json_array_get_length (json_object_get_array_member (expected, "phenotypes")));
  /* 8 pairs over 5 distinct images: retina and the brain slice appear twice, encoded once. */
  g_assert_cmpuint (run->images_encoded, ==, 5);
  assert_metrics_equal_numpy (run->metrics);

  lines = pl_evaluation_describe_report (run);
  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_nonnull (strstr (lines->pdata[0], "line 10: full_matches"));
  g_assert_nonnull (strstr (lines->pdata[1], "'missing-image.png': does not exist"));
  g_assert_nonnull (strstr (lines->pdata[2], "'Not a phenotype at all'"));

  /* A repeated run encodes nothing and gives the same metrics. */
  again = pl_evaluation_run (&request, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->images_encoded, ==, 0);
  g_assert_cmpuint (again->texts_encoded, ==, 0);
  assert_metrics_equal_numpy (again->metrics);

  /* Stored with every metric, listed newest first, exported. */
  store = pl_eval_store_open (workspace, &error);
  g_assert_no_error (error);
  stored = pl_eval_store_get_run (store, run->id, &error);
  g_assert_no_error (error);
  assert_metrics_equal_numpy (stored->metrics);
  g_assert_cmpstr (stored->manifest_sha256, ==, run->manifest_sha256);
  g_assert_cmpuint (g_strv_length (stored->templates), ==, 4);
  {
    g_autoptr(GPtrArray) runs = pl_eval_store_list_runs (store, &error);

    g_assert_cmpuint (runs->len, ==, 2);
    g_assert_cmpint (((PlEvalRun *) runs->pdata[0])->id, ==, again->id);
  }
  csv = pl_eval_run_to_csv (stored);
  g_assert_true (g_str_has_prefix (csv, "scope_id,scope_label,n_pairs,metric,value\r\n,all pairs,8,n_pairs,8\r\n"));
  json = pl_eval_run_to_json (stored);
  g_assert_nonnull (strstr (json, "\"i2t_r10\""));
  g_assert_null (pl_eval_store_get_run (store, 999, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
}

typedef struct {
  GCancellable *cancellable;
  guint         reports;
} Canceller;

static void
cancel_after_two_images (const PlEvalProgress *progress,
                         gpointer              user_data)
{
  Canceller *c = user_data;

  c->reports++;
  g_assert_cmpuint (progress->done, <=, progress->total);
  if (progress->images_encoded >= 2)
    g_cancellable_cancel (c->cancellable);
}

/* Run for both ways of decoding images: in the encoder's thread, and in a decoder thread ahead of it. */
static void
test_cancelled_run_resumes_without_encoding_an_image_twice (gconstpointer data)
{
  PlEvalDecoding decoding = GPOINTER_TO_INT (data);
  g_autofree char *name = g_strdup_printf ("resume-%d.sqlite", decoding);
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), name, NULL);
  PlEvalRequest request = request_for (workspace);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Canceller canceller = { cancellable, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlEvalRun) cancelled = pl_evaluation_run (&request, cancellable, cancel_after_two_images, &canceller, &error);
  g_autoptr(PlEvalRun) resumed = NULL;
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(GHashTable) kept = NULL;
  const char *fingerprint;

  g_assert_null (cancelled);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  /* The cache is keyed by the checkpoint's full fingerprint. */
  clip = pl_clip_load (request.checkpoint_path, NULL, NULL, &error);
  g_assert_no_error (error);
  fingerprint = pl_clip_get_fingerprint (clip);
  store = pl_eval_store_open (workspace, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) runs = pl_eval_store_list_runs (store, &error);

    g_assert_cmpuint (runs->len, ==, 0);   /* a cancelled run is not a result */
  }
  /* Batches of one image, committed one by one: the cancel came right after the second was stored,
   * so exactly two of the five distinct images are kept; every text was done before the images. */
  g_assert_cmpint (pl_eval_store_count_embeddings (store, PL_EVAL_EMBEDDING_IMAGE, fingerprint), ==, 2);
  kept = pl_eval_store_list_embedded (store, PL_EVAL_EMBEDDING_IMAGE, fingerprint, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (kept), ==, 2);
  g_clear_pointer (&store, pl_eval_store_free);

  resumed = pl_evaluation_run (&request, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (resumed->checkpoint_fingerprint, ==, fingerprint);
  /* Two images were stored before the cancel; the resumed run encodes the other three, and no text. */
  g_assert_cmpuint (resumed->images_encoded, ==, 3);
  g_assert_cmpuint (resumed->texts_encoded, ==, 0);
  assert_metrics_equal_numpy (resumed->metrics);
  g_assert_cmpuint (canceller.reports, >, 0);

  /* Now the five distinct images are stored once each, the two kept ones among them. */
  store = pl_eval_store_open (workspace, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pl_eval_store_count_embeddings (store, PL_EVAL_EMBEDDING_IMAGE, fingerprint), ==, 5);
  {
    g_autoptr(GHashTable) all = pl_eval_store_list_embedded (store, PL_EVAL_EMBEDDING_IMAGE, fingerprint, &error);
    GHashTableIter iter;
    gpointer key;

    g_assert_no_error (error);
    g_hash_table_iter_init (&iter, kept);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_assert_true (g_hash_table_contains (all, key));
  }
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  PlEvalRun **run = user_data;
  g_autoptr(GError) error = NULL;

  *run = pl_evaluator_run_finish (PL_EVALUATOR (source), result, &error);
  g_assert_no_error (error);
}

static void
count_progress (const PlEvalProgress *progress,
                gpointer              user_data)
{
  guint *calls = user_data;

  /* Delivered in the caller's main context, i.e. this thread. */
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  (*calls)++;
}

static void
test_evaluator_reports_progress_in_the_callers_context (void)
{
  g_autofree char *workspace = g_build_filename (pl_test_tmpdir (), "worker.sqlite", NULL);
  PlEvalRequest request = request_for (workspace);
  g_autoptr(PlEvaluator) evaluator = pl_evaluator_new ();
  PlEvalRun *run = NULL;
  guint calls = 0;

  pl_evaluator_run_async (evaluator, &request, NULL, count_progress, &calls, NULL, on_run_done, &run);
  while (run == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (calls, >=, 2);
  g_assert_cmpuint (pl_evaluator_get_n_pending (evaluator), ==, 0);
  assert_metrics_equal_numpy (run->metrics);
  pl_eval_run_free (run);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *expected_path = NULL;
  g_autofree char *obo = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  expected_path = pl_test_fixture_path ("eval/expected.json");
  g_assert_true (json_parser_load_from_file (parser, expected_path, &error));
  expected = json_node_get_object (json_parser_get_root (parser));
  snapshot_path = g_build_filename (pl_test_tmpdir (), "demo.snapshot", NULL);
  g_assert_true (pl_snapshot_import (obo, snapshot_path, NULL, &error));
  g_test_add_func ("/evaluation/run-equals-numpy-and-reports-what-it-could-not-use",
                   test_run_equals_numpy_and_reports_what_it_could_not_use);
  g_test_add_data_func ("/evaluation/cancelled-run-resumes-without-encoding-an-image-twice/inline-decoding",
                        GINT_TO_POINTER (PL_EVAL_DECODING_INLINE),
                        test_cancelled_run_resumes_without_encoding_an_image_twice);
  g_test_add_data_func ("/evaluation/cancelled-run-resumes-without-encoding-an-image-twice/decoder-thread",
                        GINT_TO_POINTER (PL_EVAL_DECODING_THREAD),
                        test_cancelled_run_resumes_without_encoding_an_image_twice);
  g_test_add_func ("/evaluation/evaluator-reports-progress-in-the-callers-context",
                   test_evaluator_reports_progress_in_the_callers_context);
  return g_test_run ();
}
