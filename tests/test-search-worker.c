/* test-search-worker.c: searches on the worker give what the snapshot's own search gives, a search
 * superseded (cancelled) before its turn reports cancellation, and an unusable snapshot is an error
 * naming the file. */
#include <string.h>

#include "app/pl-search-worker.h"
#include "data/pl-search.h"
#include "pl-test-util.h"

static char *snapshot_path;

typedef struct {
  GPtrArray *hits;
  GError    *error;
  gboolean   done;
} Result;

static void
search_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->hits = pl_search_worker_search_finish (PL_SEARCH_WORKER (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
is_done (gpointer data)
{
  return ((Result *) data)->done;
}

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->hits, g_ptr_array_unref);
  g_clear_error (&r->error);
}

static void
test_results_are_the_snapshots_own (void)
{
  g_autoptr(PlSearchWorker) worker = pl_search_worker_new (snapshot_path);
  g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (snapshot_path, PL_SNAPSHOT_OPEN_READ_ONLY, NULL);
  const char *queries[] = { "seizure", "HP:0001250", "eye", "no such thing at all", NULL };

  g_assert_cmpstr (pl_search_worker_get_path (worker), ==, snapshot_path);
  for (guint q = 0; queries[q] != NULL; q++)
    {
      Result r = { NULL, NULL, FALSE };
      g_autoptr(GPtrArray) expected = pl_snapshot_search (snapshot, queries[q], 10, NULL);

      pl_search_worker_search_async (worker, queries[q], 10, NULL, search_done, &r);
      g_assert_false (r.done);   /* never answered in the caller's iteration */
      pl_test_iterate_until (is_done, &r, "the search", 30);
      g_assert_no_error (r.error);
      g_assert_cmpuint (r.hits->len, ==, expected->len);
      for (guint i = 0; i < expected->len; i++)
        {
          PlSearchHit *a = g_ptr_array_index (r.hits, i), *b = g_ptr_array_index (expected, i);

          g_assert_cmpstr (a->id, ==, b->id);
          g_assert_cmpint (a->match, ==, b->match);
          g_assert_cmpstr (a->matched_synonym, ==, b->matched_synonym);
        }
      if (q == 0)
        g_assert_cmpstr (((PlSearchHit *) g_ptr_array_index (r.hits, 0))->id, ==, "HP:0001250");
      result_clear (&r);
    }
}

static void
test_superseded_searches_report_cancellation (void)
{
  g_autoptr(PlSearchWorker) worker = pl_search_worker_new (snapshot_path);
  const char *typed[] = { "s", "se", "sei", "seiz", "seizure" };
  Result results[G_N_ELEMENTS (typed)] = { { 0 } };
  GCancellable *cancellables[G_N_ELEMENTS (typed)];

  /* Typing fast: each keystroke cancels the search before it, as the ontology page does. */
  for (guint i = 0; i < G_N_ELEMENTS (typed); i++)
    {
      if (i > 0)
        g_cancellable_cancel (cancellables[i - 1]);
      cancellables[i] = g_cancellable_new ();
      pl_search_worker_search_async (worker, typed[i], 50, cancellables[i], search_done, &results[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (typed); i++)
    pl_test_iterate_until (is_done, &results[i], "a search", 30);
  for (guint i = 0; i + 1 < G_N_ELEMENTS (typed); i++)
    {
      g_assert_error (results[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_null (results[i].hits);
    }
  g_assert_no_error (results[G_N_ELEMENTS (typed) - 1].error);
  g_assert_cmpstr (((PlSearchHit *) g_ptr_array_index (results[G_N_ELEMENTS (typed) - 1].hits, 0))->id, ==, "HP:0001250");
  for (guint i = 0; i < G_N_ELEMENTS (typed); i++)
    {
      result_clear (&results[i]);
      g_object_unref (cancellables[i]);
    }
}

static void
test_unusable_snapshot_is_an_error_naming_it (void)
{
  static const char junk[] = "this is not an SQLite database";
  g_autofree char *path = pl_test_write_file ("junk.sqlite", junk, sizeof junk - 1);
  g_autoptr(PlSearchWorker) worker = pl_search_worker_new (path);
  Result r = { NULL, NULL, FALSE };

  pl_search_worker_search_async (worker, "seizure", 10, NULL, search_done, &r);
  pl_test_iterate_until (is_done, &r, "the search", 30);
  g_assert_null (r.hits);
  g_assert_nonnull (r.error);
  g_assert_nonnull (strstr (r.error->message, "junk.sqlite"));
  result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *obo = NULL;
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  obo = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
  snapshot_path = g_build_filename (pl_test_tmpdir (), "demo.sqlite", NULL);
  if (!pl_snapshot_import (obo, snapshot_path, NULL, &error))
    g_error ("%s", error->message);

  g_test_add_func ("/search-worker/results-are-the-snapshots-own", test_results_are_the_snapshots_own);
  g_test_add_func ("/search-worker/superseded-searches-report-cancellation", test_superseded_searches_report_cancellation);
  g_test_add_func ("/search-worker/unusable-snapshot-is-an-error-naming-it", test_unusable_snapshot_is_an_error_naming_it);
  return g_test_run ();
}
