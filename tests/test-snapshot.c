/* test-snapshot.c: building, opening and querying a snapshot of the real 2023-01-27 release,
 * checked against tests/fixtures/hpo/expected.json; atomic import, schema versions, read-only. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "data/pl-snapshot-private.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static char *snapshot_path;
static JsonObject *expected;

static const char *
real_snapshot (void)
{
  if (snapshot_path == NULL)
    {
      g_autofree char *source = pl_test_shared_data_path ("hpo/hp-2023-01-27.json.gz");
      g_autoptr(GError) error = NULL;

      snapshot_path = g_build_filename (pl_test_tmpdir (), "hpo-2023.phenokg", NULL);
      g_assert_true (pl_snapshot_import (source, snapshot_path, NULL, &error));
      g_assert_no_error (error);
    }
  return snapshot_path;
}

static PlSnapshot *
open_real (void)
{
  g_autoptr(GError) error = NULL;
  PlSnapshot *snapshot = pl_snapshot_open (real_snapshot (), PL_SNAPSHOT_OPEN_READ_ONLY, &error);

  g_assert_no_error (error);
  return snapshot;
}

static void
test_info_records_source_and_counts (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshotInfo) info = pl_snapshot_get_info (snapshot, &error);
  g_autofree char *attribution = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (info->n_terms, ==, 17245);
  g_assert_cmpint (info->n_live_terms, ==, 16874);
  g_assert_cmpint (info->n_phenotypic, ==, 16561);
  g_assert_cmpstr (info->source_sha256, ==, "749fb5c6e0b2dfff811356a9f2b80f63867e96bb15bf366778ef4193bb196707");
  g_assert_cmpstr (info->version_date, ==, "2023-01-27");
  g_assert_cmpstr (info->format, ==, "obographs-json");
  g_assert_cmpint (info->schema_version, ==, PL_SNAPSHOT_SCHEMA_VERSION);
  g_assert_nonnull (info->import_time);
  g_assert_true (g_str_has_suffix (info->source_path, "hp-2023-01-27.json.gz"));
  attribution = pl_snapshot_info_attribution (info);
  g_assert_nonnull (strstr (attribution, "This product uses the Human Phenotype Ontology (version 2023-01-27)"));
}

static void
assert_refs (GPtrArray  *refs,
             JsonArray  *wanted,
             const char *what)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < refs->len; i++)
    g_ptr_array_add (ids, ((PlTermRef *) g_ptr_array_index (refs, i))->id);
  if (ids->len != json_array_get_length (wanted))
    g_error ("%s: %u items, expected %u", what, ids->len, json_array_get_length (wanted));
  for (guint i = 0; i < json_array_get_length (wanted); i++)
    if (!g_ptr_array_find_with_equal_func (ids, json_array_get_string_element (wanted, i), g_str_equal, NULL))
      g_error ("%s: %s missing", what, json_array_get_string_element (wanted, i));
}

static void
assert_paths (GPtrArray  *paths,
              JsonArray  *want_paths,
              const char *what)
{
  if (paths->len != json_array_get_length (want_paths))
    g_error ("%s: %u paths, expected %u", what, paths->len, json_array_get_length (want_paths));
  for (guint p = 0; p < paths->len; p++)
    {
      GPtrArray *path = g_ptr_array_index (paths, p);
      JsonArray *want_path = json_array_get_array_element (want_paths, p);

      g_assert_cmpuint (path->len, ==, json_array_get_length (want_path));
      for (guint k = 0; k < path->len; k++)
        g_assert_cmpstr (((PlTermRef *) g_ptr_array_index (path, k))->id, ==,
                         json_array_get_string_element (want_path, k));
    }
}

static void
test_known_terms_match_reference (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) graph_error = NULL;
  g_autoptr(PlTermGraph) graph = pl_snapshot_load_graph (snapshot, &graph_error);
  JsonObject *terms = json_object_get_object_member (json_object_get_object_member (expected, "json"), "terms");
  g_autoptr(GList) ids = json_object_get_members (terms);

  for (GList *l = ids; l != NULL; l = l->next)
    {
      const char *id = l->data;
      JsonObject *want = json_object_get_object_member (terms, id);
      JsonArray *want_paths = json_object_get_array_member (want, "paths");
      g_autoptr(GError) error = NULL;
      g_autoptr(PlTerm) term = pl_snapshot_get_term (snapshot, id, &error);
      g_autoptr(GPtrArray) parents = pl_snapshot_get_parents (snapshot, id, &error);
      g_autoptr(GPtrArray) children = pl_snapshot_get_children (snapshot, id, &error);
      g_autoptr(GPtrArray) ancestors = pl_snapshot_get_ancestors (snapshot, id, &error);
      gboolean capped = TRUE;
      g_autoptr(GPtrArray) paths = pl_snapshot_get_paths (snapshot, id, 0, &capped, &error);

      g_test_message ("%s", id);
      g_assert_no_error (error);
      g_assert_cmpstr (term->label, ==, json_object_get_string_member (want, "label"));
      g_assert_cmpint (term->depth, ==, json_object_get_int_member (want, "depth"));
      g_assert_cmpint (term->n_descendants, ==, json_object_get_int_member (want, "n_descendants"));
      g_assert_cmpuint (term->systems->len, ==, json_array_get_length (json_object_get_array_member (want, "systems")));
      for (guint i = 0; i < term->systems->len; i++)
        g_assert_cmpstr (g_ptr_array_index (term->systems, i), ==,
                         json_array_get_string_element (json_object_get_array_member (want, "systems"), i));
      assert_refs (parents, json_object_get_array_member (want, "parents"), "parents");
      assert_refs (ancestors, json_object_get_array_member (want, "ancestors"), "ancestors");
      g_assert_cmpuint (children->len, ==, json_object_get_int_member (want, "n_children"));
      g_assert_false (capped);
      assert_paths (paths, want_paths, "paths through SQLite");
      /* The same paths from the whole graph in memory (what ranking uses). */
      {
        g_autoptr(GPtrArray) graph_paths = NULL;

        g_assert_no_error (graph_error);
        capped = TRUE;
        graph_paths = pl_term_graph_get_paths (graph, term->id, 0, &capped);
        g_assert_nonnull (graph_paths);
        g_assert_false (capped);
        assert_paths (graph_paths, want_paths, "paths in memory");
      }
    }
}

static gboolean
same_paths (GPtrArray *a,
            GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint p = 0; p < a->len; p++)
    {
      GPtrArray *pa = g_ptr_array_index (a, p), *pb = g_ptr_array_index (b, p);

      if (pa->len != pb->len)
        return FALSE;
      for (guint k = 0; k < pa->len; k++)
        {
          PlTermRef *ra = g_ptr_array_index (pa, k), *rb = g_ptr_array_index (pb, k);

          if (strcmp (ra->id, rb->id) != 0 || strcmp (ra->label, rb->label) != 0 || ra->depth != rb->depth
              || ra->n_children != rb->n_children || ra->n_descendants != rb->n_descendants)
            return FALSE;
        }
    }
  return TRUE;
}

/* The graph in memory against SQLite's ancestor subgraph, over the whole release: every term
 * (live or obsolete; a quarter of them), uncapped and capped at 2 (which of a term's paths are kept, and the flag). */
static void
test_graph_paths_equal_sqlite_paths_for_every_term (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlTermGraph) graph = pl_snapshot_load_graph (snapshot, &error);
  g_autoptr(PlSnapshotInfo) info = pl_snapshot_get_info (snapshot, &error);
  sqlite3_stmt *ids;
  guint n = 0, n_multi = 0, n_capped = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (pl_term_graph_get_n_terms (graph), ==, (guint) info->n_terms);
  g_assert_null (pl_term_graph_get_paths (graph, "HP:9999999", 0, NULL));
  g_assert_cmpint (sqlite3_prepare_v2 (snapshot->db, "SELECT id FROM terms ORDER BY num", -1, &ids, NULL), ==, SQLITE_OK);
  while (sqlite3_step (ids) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (ids, 0);

      /* Every 4th term (in the order of the file, so each part of the hierarchy): through SQLite a
       * term's paths cost 0.2 ms, and several times that under the sanitizers. */
      if (n++ % 4 != 0)
        continue;
      for (guint max = 0; max <= 2; max += 2)
        {
          gboolean capped_sql = FALSE, capped_graph = FALSE;
          g_autoptr(GPtrArray) sql = pl_snapshot_get_paths (snapshot, id, max, &capped_sql, &error);
          g_autoptr(GPtrArray) memory = pl_term_graph_get_paths (graph, id, max, &capped_graph);

          g_assert_no_error (error);
          g_assert_nonnull (memory);
          if (!same_paths (sql, memory) || capped_sql != capped_graph)
            g_error ("%s (at most %u): the paths in memory differ from SQLite's", id, max);
          n_multi += max == 0 && sql->len > 1;
          n_capped += max == 2 && capped_sql;
        }
    }
  sqlite3_finalize (ids);
  /* The check saw what it is for: terms with several paths, and caps that left some out. */
  g_assert_cmpuint (n_multi, >, 1000);
  g_assert_cmpuint (n_capped, >, 100);
}

/* The importer refuses is_a cycles, but a snapshot is a file: one edited to hold a cycle gets
 * finite paths (the cycle not followed), in memory and through SQLite, never endless recursion. */
static void
test_paths_survive_an_is_a_cycle_in_the_file (void)
{
  g_autoptr(GBytes) bytes = pl_test_read_file (real_snapshot ());
  g_autofree char *path = pl_test_write_file ("cycle.phenokg", g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlTermGraph) graph = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db;

  /* Seizure (HP:0001250) made a child of its own child, Focal-onset seizure (HP:0007359). */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO is_a VALUES ('HP:0001250', 'HP:0007359')", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  graph = pl_snapshot_load_graph (snapshot, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr(GPtrArray) paths = i == 0 ? pl_snapshot_get_paths (snapshot, "HP:0007359", 0, NULL, &error)
                                          : pl_term_graph_get_paths (graph, "HP:0007359", 0, NULL);

      g_assert_no_error (error);
      g_assert_nonnull (paths);
      g_assert_cmpuint (paths->len, >, 0);
      for (guint p = 0; p < paths->len; p++)
        {
          GPtrArray *steps = g_ptr_array_index (paths, p);
          g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

          g_assert_cmpstr (((PlTermRef *) g_ptr_array_index (steps, 0))->id, ==, "HP:0000001");
          for (guint k = 0; k < steps->len; k++)
            g_assert_true (g_hash_table_add (seen, ((PlTermRef *) g_ptr_array_index (steps, k))->id));
        }
    }
}

static void
test_alt_id_resolves_and_obsolete_term_points_onward (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlTerm) by_alt = pl_snapshot_get_term (snapshot, "HP_0001275", &error);
  g_autoptr(PlTerm) old = pl_snapshot_get_term (snapshot, "0000057", &error);
  g_autoptr(PlTerm) missing = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (by_alt->id, ==, "HP:0001250");
  g_assert_cmpstr (by_alt->requested_id, ==, "HP:0001275");
  g_assert_true (old->obsolete);
  g_assert_cmpstr (old->replaced_by, ==, "HP:0008665");
  missing = pl_snapshot_get_term (snapshot, "HP:9999999", &error);
  g_assert_null (missing);
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (pl_snapshot_get_term (snapshot, "'; DROP TABLE terms; --", &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
}

static void
test_children_carry_counts_and_subtree_pages (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) roots = pl_snapshot_get_roots (snapshot, &error);
  g_autoptr(GPtrArray) systems = pl_snapshot_get_children (snapshot, "HP:0000118", &error);
  guint total = 0, seen = 0;
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_no_error (error);
  g_assert_cmpuint (roots->len, ==, 1);
  g_assert_cmpstr (((PlTermRef *) g_ptr_array_index (roots, 0))->id, ==, "HP:0000001");
  g_assert_cmpuint (systems->len, ==, 23);  /* DESIGN.md: 23 top-level systems */
  for (guint i = 0; i < systems->len; i++)
    {
      PlTermRef *ref = g_ptr_array_index (systems, i);

      if (strcmp (ref->id, "HP:0000478") == 0)
        g_assert_cmpint (ref->n_descendants, ==, 1139);
      g_assert_cmpint (ref->depth, ==, 1);
    }
  /* Page through the eye's 1,139 descendants 100 at a time: each once. */
  for (guint offset = 0;; offset += 100)
    {
      g_autoptr(GPtrArray) page = pl_snapshot_list_subtree (snapshot, "HP:0000478", offset, 100, &total, &error);

      g_assert_no_error (error);
      if (page->len == 0)
        break;
      for (guint i = 0; i < page->len; i++)
        g_assert_true (g_hash_table_add (ids, g_strdup (((PlTermRef *) g_ptr_array_index (page, i))->id)));
      seen += page->len;
    }
  g_assert_cmpuint (total, ==, 1139);
  g_assert_cmpuint (seen, ==, 1139);
}

static void
test_paths_are_capped_with_a_flag (void)
{
  g_autoptr(PlSnapshot) snapshot = open_real ();
  g_autoptr(GError) error = NULL;
  gboolean capped = FALSE;
  g_autoptr(GPtrArray) paths = pl_snapshot_get_paths (snapshot, "HP:0001166", 3, &capped, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (paths->len, ==, 3);  /* Arachnodactyly has 8 */
  g_assert_true (capped);
}

static void
test_failed_import_leaves_old_snapshot_intact (void)
{
  g_autofree char *obo = pl_test_shared_data_path ("hpo/hp.obo");
  g_autofree char *json = pl_test_shared_data_path ("hpo/hp-2023-01-27.json.gz");
  g_autofree char *target = g_build_filename (pl_test_tmpdir (), "kept.phenokg", NULL);
  g_autoptr(GBytes) gz = pl_test_read_file (json);
  g_autofree char *truncated = pl_test_write_file ("cut.json.gz", g_bytes_get_data (gz, NULL), g_bytes_get_size (gz) - 1000);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *entry;

  g_assert_true (pl_snapshot_import (obo, target, NULL, &error));
  g_assert_no_error (error);

  /* The source fails mid-way (a truncated gzip) ... */
  g_assert_false (pl_snapshot_import (truncated, target, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TRUNCATED);
  g_clear_error (&error);
  /* ... or the writer is interrupted half-way through the terms. */
  pl_snapshot_set_import_fault (8000);
  g_assert_false (pl_snapshot_import (json, target, NULL, &error));
  pl_snapshot_set_import_fault (-1);
  g_assert_nonnull (strstr (error->message, "interrupted"));
  g_clear_error (&error);

  {
    g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (target, PL_SNAPSHOT_OPEN_DEFAULT, &error);
    g_autoptr(PlSnapshotInfo) info = NULL;

    g_assert_no_error (error);
    info = pl_snapshot_get_info (snapshot, &error);
    g_assert_cmpstr (info->version_date, ==, "2017-04-13");
    g_assert_cmpint (info->n_live_terms, ==, 12226);
    g_assert_cmpint (info->n_phenotypic, ==, 12066);
  }
  /* No temporary file is left behind. */
  dir = g_dir_open (pl_test_tmpdir (), 0, NULL);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_assert_null (strstr (entry, ".import-"));
}

static void
test_newer_schema_is_refused (void)
{
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), "future.phenokg", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;

  g_assert_true (pl_snapshot_create_at_version (path, PL_SNAPSHOT_SCHEMA_VERSION, PL_SNAPSHOT_SCHEMA_VERSION + 5, &error));
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);
  g_assert_null (snapshot);
  g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "newer version"));
  g_assert_nonnull (strstr (error->message, "future.phenokg"));
}

static void
test_older_schema_is_migrated (void)
{
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), "v1.phenokg", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlSnapshotInfo) info = NULL;

  g_assert_true (pl_snapshot_create_at_version (path, 1, 0, &error));
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pl_snapshot_get_schema_version (snapshot), ==, PL_SNAPSHOT_SCHEMA_VERSION);
  info = pl_snapshot_get_info (snapshot, &error);  /* reads the v2 pairs table */
  g_assert_no_error (error);
  g_assert_cmpint (info->n_pairs, ==, 0);
}

static void
test_not_a_snapshot_is_refused (void)
{
  g_autofree char *text = pl_test_write_file ("notes.phenokg", "hello world, not sqlite at all\n", 31);
  g_autofree char *empty_db = g_build_filename (pl_test_tmpdir (), "empty.sqlite", NULL);
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  g_assert_null (pl_snapshot_open (text, PL_SNAPSHOT_OPEN_DEFAULT, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "notes.phenokg"));
  g_clear_error (&error);
  g_assert_cmpint (sqlite3_open (empty_db, &db), ==, SQLITE_OK);
  sqlite3_exec (db, "CREATE TABLE t (x)", NULL, NULL, NULL);
  sqlite3_close (db);
  g_assert_null (pl_snapshot_open (empty_db, PL_SNAPSHOT_OPEN_DEFAULT, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_null (pl_snapshot_open ("/nonexistent/x.phenokg", PL_SNAPSHOT_OPEN_DEFAULT, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
}

static void
test_read_only_file_opens_read_only (void)
{
  g_autofree char *obo = pl_test_shared_data_path ("hpo/hp.obo");
  g_autofree char *dir = g_build_filename (pl_test_tmpdir (), "ro", NULL);
  g_autofree char *path = g_build_filename (dir, "ro.phenokg", NULL);
  g_autoptr(GError) error = NULL;

  g_mkdir (dir, 0755);
  g_assert_true (pl_snapshot_import (obo, path, NULL, &error));
  g_chmod (path, 0444);
  g_chmod (dir, 0555);  /* not even a -shm file can be made beside it */
  {
    g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);
    g_autoptr(PlTerm) term = NULL;

    g_assert_no_error (error);
    if (access (path, W_OK) == 0)
      g_test_message ("running as a user who can write read-only files; only the flag is checked");
    else
      g_assert_true (pl_snapshot_is_read_only (snapshot));
    term = pl_snapshot_get_term (snapshot, "HP:0001250", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (term->label, ==, "Seizures");
  }
  {
    g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_READ_ONLY, &error);

    g_assert_no_error (error);
    g_assert_true (pl_snapshot_is_read_only (snapshot));
    g_assert_false (pl_snapshot_check_writable (snapshot, "add pairs", &error));
    g_assert_error (error, PL_ERROR, PL_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "read-only"));
  }
  g_chmod (dir, 0755);
  g_chmod (path, 0644);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  int status;

  g_test_init (&argc, &argv, NULL);
  expected = pl_test_load_fixture_object (parser, "hpo/expected.json");
  g_test_add_func ("/snapshot/info-records-source-version-and-counts", test_info_records_source_and_counts);
  g_test_add_func ("/snapshot/known-terms-paths-ancestors-systems-match-reference", test_known_terms_match_reference);
  g_test_add_func ("/snapshot/alt-id-resolves-and-obsolete-term-points-onward", test_alt_id_resolves_and_obsolete_term_points_onward);
  g_test_add_func ("/snapshot/children-carry-counts-and-subtree-pages", test_children_carry_counts_and_subtree_pages);
  g_test_add_func ("/snapshot/paths-are-capped-with-a-flag", test_paths_are_capped_with_a_flag);
  g_test_add_func ("/snapshot/graph-paths-equal-sqlite-paths-for-every-term", test_graph_paths_equal_sqlite_paths_for_every_term);
  g_test_add_func ("/snapshot/paths-survive-an-is-a-cycle-in-the-file", test_paths_survive_an_is_a_cycle_in_the_file);
  g_test_add_func ("/snapshot/failed-import-leaves-old-snapshot-intact", test_failed_import_leaves_old_snapshot_intact);
  g_test_add_func ("/snapshot/newer-schema-is-refused", test_newer_schema_is_refused);
  g_test_add_func ("/snapshot/older-schema-is-migrated", test_older_schema_is_migrated);
  g_test_add_func ("/snapshot/not-a-snapshot-is-refused", test_not_a_snapshot_is_refused);
  g_test_add_func ("/snapshot/read-only-file-opens-read-only", test_read_only_file_opens_read_only);
  status = g_test_run ();
  g_free (snapshot_path);
  return status;
}
