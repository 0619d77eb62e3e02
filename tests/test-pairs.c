/* test-pairs.c: PhenoKG pairs: the Python-literal reader, PhenoBench-style CSV and JSON-lines
 * import into a snapshot of the 2017 hp.obo, unmatched-name reporting, a term's example pairs. */
#include <string.h>

#include "data/pl-pairs.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static char *snapshot_path;

static PlSnapshot *
fresh_snapshot (const char *name)
{
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  PlSnapshot *snapshot;

  if (snapshot_path == NULL)
    {
      g_autofree char *obo = pl_test_shared_data_path ("hpo/hp.obo");

      snapshot_path = g_build_filename (pl_test_tmpdir (), "pairs-base.phenokg", NULL);
      g_assert_true (pl_snapshot_import (obo, snapshot_path, NULL, &error));
    }
  bytes = pl_test_read_file (snapshot_path);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  return snapshot;
}

static void
assert_names (const char *literal,
              const char *const *want)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = pl_pairs_parse_full_matches (literal, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, g_strv_length ((GStrv) want));
  for (guint i = 0; i < names->len; i++)
    g_assert_cmpstr (g_ptr_array_index (names, i), ==, want[i]);
}

static void
test_python_literal_subset (void)
{
  const char *two[] = { "Retinal hemorrhage", "Microaneurysm", NULL };
  const char *escapes[] = { "Crohn's disease", "say \"hi\"", "tab\there", "caf\xc3\xa9", "back\\slash", "\\d", NULL };
  const char *none[] = { NULL };
  const char *nested[] = { "a", "b", NULL };

  assert_names ("[('Retinal hemorrhage', 0, 18), ('Microaneurysm', 30, 43)]", two);
  assert_names ("[(\"Crohn's disease\", 1, 2), ('say \"hi\"',), ['tab\\there'], ('caf\\xe9', -1), 'back\\\\slash', '\\d']",
                escapes);
  assert_names ("[]", none);
  assert_names ("  ", none);
  assert_names ("[ ( 'a' , 0 , 1 , ) , ( 'b' , ( 2 , 3 ) ) , ]", nested);
}

static void
test_python_literal_rejects_everything_else (void)
{
  const char *bad[] = {
    "[('a', 0, 1)", "[('a', 0, 1)] trailing", "['unterminated]", "[__import__('os')]", "[{'a': 1}]",
    "[(1, 'a')]", "[None]", "['a' 'b']", "[b'x']", "'just a string'", "[1.5]", "[('\\x4', 1)]", "-",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['deep']]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "[('\\u0000',)]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) names = pl_pairs_parse_full_matches (bad[i], &error);

      g_test_message ("%s", bad[i]);
      g_assert_null (names);
      g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
    }
}

static void
test_csv_import_matches_labels_and_exact_synonyms (void)
{
  const char *csv =
    "\xef\xbb\xbfimage_path,caption,full_matches\r\n"
    "img/a.png,\"Fundus with retinal hemorrhage, and \"\"more\"\"\",\"[('Retinal hemorrhage', 0, 18), ('Microaneurysm', 30, 43)]\"\r\n"
    "img/b.png,\"Two lines\nof caption\",\"[('SEIZURE', 0, 7), ('Generalised tonic-clonic seizures', 9, 20)]\"\n"
    "img/c.png,nothing known,\"[('Microaneurysm', 0, 13), ('Made-up phenotype', 1, 2)]\"\n"
    "img/d.png,no matches,[]\n";
  g_autofree char *path = pl_test_write_file ("bench.csv", csv, strlen (csv));
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("csv.phenokg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPairsReport) report = pl_snapshot_import_pairs (snapshot, path, NULL, &error);
  g_autoptr(GPtrArray) hemorrhage = NULL;
  g_autoptr(GPtrArray) seizures = NULL;
  PlPair *pair;

  g_assert_no_error (error);
  g_assert_cmpuint (report->n_rows, ==, 4);
  g_assert_cmpuint (report->n_pairs, ==, 4);
  g_assert_cmpuint (report->n_links, ==, 3);
  g_assert_cmpuint (report->n_rows_without_terms, ==, 2);
  g_assert_cmpuint (report->n_unmatched, ==, 3);
  g_assert_cmpuint (report->n_distinct_unmatched, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (report->unmatched_examples, 0), ==, "Microaneurysm");
  g_assert_cmpstr (g_ptr_array_index (report->unmatched_examples, 1), ==, "Made-up phenotype");

  hemorrhage = pl_snapshot_get_term_pairs (snapshot, "HP:0000573", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hemorrhage->len, ==, 1);
  pair = g_ptr_array_index (hemorrhage, 0);
  g_assert_cmpstr (pair->image_path, ==, "img/a.png");
  g_assert_cmpstr (pair->caption, ==, "Fundus with retinal hemorrhage, and \"more\"");
  g_assert_cmpstr (pair->source, ==, "bench.csv");
  seizures = pl_snapshot_get_term_pairs (snapshot, "HP:0001250", 10, &error);
  g_assert_cmpuint (seizures->len, ==, 1);
  pair = g_ptr_array_index (seizures, 0);
  g_assert_cmpstr (pair->caption, ==, "Two lines\nof caption");
  g_assert_cmpstr (pair->matched_name, ==, "SEIZURE");
}

static void
test_json_lines_import_with_explicit_ids (void)
{
  const char *jsonl =
    "{\"image\": \"x/1.jpg\", \"caption\": \"a\", \"hpo_ids\": [\"HP:0000573\", \"HP_0001275\"]}\n"
    "\n"
    "{\"image\": \"x/2.jpg\", \"caption\": \"b\", \"hpo_ids\": [\"HP:9999999\", \"not an id\"]}\n";
  g_autofree char *path = pl_test_write_file ("pairs.jsonl", jsonl, strlen (jsonl));
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("jsonl.phenokg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPairsReport) report = pl_snapshot_import_pairs (snapshot, path, NULL, &error);
  g_autoptr(GPtrArray) seizures = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (report->n_pairs, ==, 2);
  g_assert_cmpuint (report->n_links, ==, 2);
  g_assert_cmpuint (report->n_unmatched, ==, 2);
  seizures = pl_snapshot_get_term_pairs (snapshot, "HP:0001250", 10, &error);  /* via its alt_id */
  g_assert_cmpuint (seizures->len, ==, 1);
}

static void
assert_import_fails (const char *name,
                     const char *text,
                     const char *needle)
{
  g_autofree char *path = pl_test_write_file (name, text, strlen (text));
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("bad.phenokg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPairsReport) report = pl_snapshot_import_pairs (snapshot, path, NULL, &error);
  g_autoptr(PlSnapshotInfo) info = NULL;

  g_assert_null (report);
  g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
  if (strstr (error->message, needle) == NULL || strstr (error->message, name) == NULL)
    g_error ("error message '%s' lacks '%s' or the file name", error->message, needle);
  info = pl_snapshot_get_info (snapshot, NULL);
  g_assert_cmpint (info->n_pairs, ==, 0);  /* all or nothing */
}

static void
test_malformed_pair_files_are_errors_with_line_numbers (void)
{
  assert_import_fails ("no-header.csv", "a,b,c\n1,2,3\n", "image_path, caption and full_matches");
  assert_import_fails ("open-quote.csv", "image_path,caption,full_matches\nx,y,[]\nx,\"never closed,[]\n",
                       "open-quote.csv:3: unterminated");
  assert_import_fails ("bad-literal.csv", "image_path,caption,full_matches\nx,y,[]\nx,y,\"[os.system('rm')]\"\n",
                       "bad-literal.csv:3: full_matches");
  assert_import_fails ("fields.csv", "image_path,caption,full_matches\nx,y\n", "fields.csv:2: 2 fields");
  assert_import_fails ("bad.jsonl", "{\"image\": \"a\", \"caption\": \"b\", \"hpo_ids\": []}\n{\"image\": 3}\n",
                       "bad.jsonl:2:");
  assert_import_fails ("binary.csv", "image_path,caption,full_matches\n\xff\n", "not UTF-8");
}

static void
test_read_only_snapshot_refuses_pairs (void)
{
  const char *csv = "image_path,caption,full_matches\nx,y,[]\n";
  g_autofree char *path = pl_test_write_file ("ro.csv", csv, strlen (csv));
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) writable = fresh_snapshot ("ro.phenokg");
  g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (pl_snapshot_get_path (writable), PL_SNAPSHOT_OPEN_READ_ONLY, &error);
  g_autoptr(PlPairsReport) report = pl_snapshot_import_pairs (snapshot, path, NULL, &error);

  g_assert_null (report);
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "read-only"));
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pairs/python-literal-subset", test_python_literal_subset);
  g_test_add_func ("/pairs/python-literal-rejects-everything-else", test_python_literal_rejects_everything_else);
  g_test_add_func ("/pairs/csv-import-matches-labels-and-exact-synonyms-and-reports-unmatched",
                   test_csv_import_matches_labels_and_exact_synonyms);
  g_test_add_func ("/pairs/json-lines-import-with-explicit-ids", test_json_lines_import_with_explicit_ids);
  g_test_add_func ("/pairs/malformed-pair-files-are-errors-with-line-numbers",
                   test_malformed_pair_files_are_errors_with_line_numbers);
  g_test_add_func ("/pairs/read-only-snapshot-refuses-pairs", test_read_only_snapshot_refuses_pairs);
  status = g_test_run ();
  g_free (snapshot_path);
  return status;
}
