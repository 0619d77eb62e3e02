/* test-session.c: the app-core session: the embedded demo on first start, analysing real images in
 * the worker, ontology paths of the ranked phenotypes, and failures that keep the previous state. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "app/pl-session.h"
#include "data/pl-snapshot.h"
#include "model/pl-error.h"
#include "pl-test-util.h"

static GAsyncResult *
wait_for_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  while (*slot == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return *slot;
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static PlSession *
demo_session (void)
{
  PlSession *session = pl_session_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  pl_session_load_demo_async (session, NULL, store_result, &result);
  wait_for_result (&result);
  g_assert_true (pl_session_load_demo_finish (session, result, &error));
  g_assert_no_error (error);
  return session;
}

static PlAnalysis *
analyse (PlSession   *session,
         const char  *path,
         GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_session_analyse_file_async (session, path, NULL, store_result, &result);
  wait_for_result (&result);
  return pl_session_analyse_finish (session, result, error);
}

static void
test_demo_is_loaded_into_the_user_data_folder (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "phenolip-explorer", "hpo-demo.sqlite", NULL);
  g_autoptr(PlSnapshotInfo) info = NULL;

  g_assert_true (pl_session_get_ready (session));
  g_assert_true (pl_session_get_is_demo (session));
  g_assert_false (pl_session_get_busy (session));
  g_assert_cmpstr (pl_session_get_snapshot_path (session), ==, expected);
  g_assert_true (g_file_test (expected, G_FILE_TEST_EXISTS));
  info = pl_snapshot_get_info (pl_session_get_snapshot (session), NULL);
  g_assert_nonnull (info);
  /* data/demo/hpo-demo.obo holds 109 terms. */
  g_assert_cmpint (info->n_terms, ==, 109);
}

/* Every path runs from the ontology root down to the term, each step a real is_a edge. */
static void
assert_path_is_an_is_a_chain (PlSnapshot *snapshot,
                              GPtrArray  *path,
                              const char *term_id)
{
  PlTermRef *first = g_ptr_array_index (path, 0);
  PlTermRef *last = g_ptr_array_index (path, path->len - 1);

  g_assert_cmpstr (first->id, ==, "HP:0000001");
  g_assert_cmpstr (last->id, ==, term_id);
  for (guint i = 1; i < path->len; i++)
    {
      PlTermRef *parent = g_ptr_array_index (path, i - 1);
      PlTermRef *child = g_ptr_array_index (path, i);
      g_autoptr(GPtrArray) parents = pl_snapshot_get_parents (snapshot, child->id, NULL);
      gboolean found = FALSE;

      for (guint j = 0; j < parents->len; j++)
        found |= g_strcmp0 (((PlTermRef *) g_ptr_array_index (parents, j))->id, parent->id) == 0;
      g_assert_true (found);
    }
}

static void
test_real_image_is_ranked_with_paths (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = analyse (session, path, &error);
  PlSnapshot *snapshot = pl_session_get_snapshot (session);
  float norm = 0;

  g_assert_no_error (error);
  g_assert_nonnull (analysis);
  g_assert_cmpstr (analysis->name, ==, "retina.jpg");
  /* The file is a 1411 x 1411 fundus photograph (data/demo/SOURCE.md). */
  g_assert_cmpint (analysis->width, ==, 1411);
  g_assert_cmpint (analysis->height, ==, 1411);
  g_assert_cmpint (analysis->preview_size, ==, 224);
  g_assert_true (analysis->demo);
  for (int i = 0; i < analysis->dim; i++)
    norm += analysis->embedding[i] * analysis->embedding[i];
  g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-4);

  g_assert_cmpuint (analysis->ranking->phenotypes->len, ==, PL_SESSION_DEFAULT_TOP_K);
  for (guint i = 0; i < analysis->ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *phenotype = g_ptr_array_index (analysis->ranking->phenotypes, i);
      g_autoptr(PlTerm) term = pl_snapshot_get_term (snapshot, phenotype->term_id, NULL);

      g_assert_nonnull (term);
      g_assert_cmpstr (term->label, ==, phenotype->label);
      if (i > 0)
        g_assert_cmpfloat (phenotype->cosine, <=,
                           ((PlRankedPhenotype *) g_ptr_array_index (analysis->ranking->phenotypes, i - 1))->cosine);
      g_assert_cmpuint (phenotype->paths->len, >=, 1);
      for (guint p = 0; p < phenotype->paths->len; p++)
        assert_path_is_an_is_a_chain (snapshot, g_ptr_array_index (phenotype->paths, p), phenotype->term_id);
    }
  g_test_message ("retina.jpg: decode %.1f ms, encode %.1f ms, rank %.1f ms",
                  analysis->decode_ms, analysis->encode_ms, analysis->rank_ms);
}

static void
test_filtered_ranking_stays_in_the_subtree (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *path = pl_test_shared_data_path ("images/microaneurysms.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = analyse (session, path, &error);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PlRanking) ranking = NULL;
  /* Abnormality of the eye. */
  const char *eye = "HP:0000478";

  g_assert_no_error (error);
  pl_session_rank_async (session, analysis, eye, 5, NULL, store_result, &result);
  wait_for_result (&result);
  ranking = pl_session_rank_finish (session, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranking->phenotypes->len, >=, 1);
  g_assert_cmpuint (ranking->phenotypes->len, <=, 5);
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *phenotype = g_ptr_array_index (ranking->phenotypes, i);
      gboolean under = g_strcmp0 (phenotype->term_id, eye) == 0;

      for (guint p = 0; p < phenotype->paths->len && !under; p++)
        {
          GPtrArray *steps = g_ptr_array_index (phenotype->paths, p);

          for (guint s = 0; s < steps->len; s++)
            under |= g_strcmp0 (((PlTermRef *) g_ptr_array_index (steps, s))->id, eye) == 0;
        }
      g_assert_true (under);
    }
}

static void
test_missing_image_error_names_the_file (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), "no-such-image.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = analyse (session, path, &error);

  g_assert_null (analysis);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no-such-image.png"));
}

static void
test_garbage_image_is_an_error_not_a_crash (void)
{
  g_autoptr(PlSession) session = demo_session ();
  static const char png_start[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR garbage";
  g_autofree char *path = pl_test_write_file ("broken.png", png_start, sizeof png_start - 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = analyse (session, path, &error);

  g_assert_null (analysis);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "broken.png"));
}

static void
test_corrupt_checkpoint_keeps_the_previous_one (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *demo_checkpoint = g_strdup (pl_session_get_checkpoint_path (session));
  static const char junk[] = "\x40\0\0\0\0\0\0\0{\"a\": not json at all ...........................}";
  g_autofree char *path = pl_test_write_file ("corrupt.safetensors", junk, sizeof junk - 1);
  g_autofree char *image = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = NULL;

  pl_session_open_checkpoint_async (session, path, NULL, store_result, &result);
  wait_for_result (&result);
  g_assert_false (pl_session_open_checkpoint_finish (session, result, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "corrupt.safetensors"));
  g_clear_error (&error);

  g_assert_cmpstr (pl_session_get_checkpoint_path (session), ==, demo_checkpoint);
  g_assert_true (pl_session_get_ready (session));
  analysis = analyse (session, image, &error);
  g_assert_no_error (error);
  g_assert_nonnull (analysis);
}

static void
test_not_a_snapshot_keeps_the_previous_one (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *previous = g_strdup (pl_session_get_snapshot_path (session));
  g_autofree char *path = pl_test_write_file ("not-a-snapshot.sqlite", "hello", 5);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  pl_session_open_snapshot_async (session, path, NULL, store_result, &result);
  wait_for_result (&result);
  g_assert_false (pl_session_open_snapshot_finish (session, result, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "not-a-snapshot.sqlite"));
  g_assert_cmpstr (pl_session_get_snapshot_path (session), ==, previous);
  g_assert_true (pl_session_get_ready (session));
}

static void
test_cancelled_analysis_reports_cancellation (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnalysis) analysis = NULL;

  pl_session_analyse_file_async (session, path, cancellable, store_result, &result);
  g_cancellable_cancel (cancellable);
  wait_for_result (&result);
  analysis = pl_session_analyse_finish (session, result, &error);
  g_assert_null (analysis);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (pl_session_get_busy (session));
}

static void
test_ontology_source_is_imported_into_the_user_data_folder (void)
{
  g_autoptr(PlSession) session = demo_session ();
  g_autofree char *source = g_build_filename (pl_session_get_demo_dir (), "hpo-demo.obo", NULL);
  g_autofree char *copy = g_build_filename (pl_test_tmpdir (), "my-hpo.obo", NULL);
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "phenolip-explorer", "my-hpo.sqlite", NULL);
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (copy, contents, length, NULL));
  pl_session_open_snapshot_async (session, copy, NULL, store_result, &result);
  wait_for_result (&result);
  g_assert_true (pl_session_open_snapshot_finish (session, result, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (pl_session_get_snapshot_path (session), ==, expected);
  /* The new snapshot has no embeddings yet: the session computes them by itself. */
  while (!pl_session_get_ready (session) || pl_session_get_busy (session))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (pl_session_get_ready (session));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* First start: a fresh user data folder. */
  g_setenv ("XDG_DATA_HOME", pl_test_tmpdir (), TRUE);

  g_test_add_func ("/session/demo-is-loaded-into-the-user-data-folder", test_demo_is_loaded_into_the_user_data_folder);
  g_test_add_func ("/session/real-image-is-ranked-with-is-a-paths-to-the-root", test_real_image_is_ranked_with_paths);
  g_test_add_func ("/session/filtered-ranking-stays-in-the-subtree", test_filtered_ranking_stays_in_the_subtree);
  g_test_add_func ("/session/missing-image-error-names-the-file", test_missing_image_error_names_the_file);
  g_test_add_func ("/session/garbage-image-is-an-error-not-a-crash", test_garbage_image_is_an_error_not_a_crash);
  g_test_add_func ("/session/corrupt-checkpoint-keeps-the-previous-one", test_corrupt_checkpoint_keeps_the_previous_one);
  g_test_add_func ("/session/not-a-snapshot-keeps-the-previous-one", test_not_a_snapshot_keeps_the_previous_one);
  g_test_add_func ("/session/cancelled-analysis-reports-cancellation", test_cancelled_analysis_reports_cancellation);
  g_test_add_func ("/session/ontology-source-is-imported-into-the-user-data-folder",
                   test_ontology_source_is_imported_into_the_user_data_folder);
  return g_test_run ();
}
