/* test-manifest.c: PhenoBench manifests: names resolved through the snapshot; malformed records,
 * missing images and unknown names reported, never dropped silently; broken files are errors naming
 * the file and line. */
#include <string.h>

#include "data/pl-manifest.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static PlSnapshot *snapshot;

static PlManifest *
load_text (const char *name,
           const char *text,
           GError    **error)
{
  g_autofree char *path = pl_test_write_file (name, text, strlen (text));

  return pl_manifest_load (path, snapshot, error);
}

static void
test_names_resolve_case_insensitively_and_problems_are_listed (void)
{
  g_autofree char *image = pl_test_shared_data_path ("images/retina.jpg");
  g_autofree char *text = g_strdup_printf (
    "image_path,caption,full_matches\n"
    "%s,\"a, quoted \"\"caption\"\"\",\"[('retinal HEMORRHAGE', 0, 1), ('Glaucoma', 2, 3), ('Nope', 0, 0)]\"\n"
    "%s,two,\"[('Nope', 0, 0)]\"\n"
    "absent.png,three,\"[('Glaucoma', 0, 0)]\"\n"
    "%s,four,\"[('Glaucoma', 0, 0\"\n", image, image, image);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlManifest) manifest = load_text ("ok.csv", text, &error);
  PlBenchPair *first;

  g_assert_no_error (error);
  g_assert_cmpuint (manifest->n_records, ==, 4);
  g_assert_cmpuint (manifest->pairs->len, ==, 2);
  first = manifest->pairs->pdata[0];
  g_assert_cmpstr (first->caption, ==, "a, quoted \"caption\"");
  g_assert_cmpuint (first->phenotypes->len, ==, 2);
  g_assert_cmpuint (manifest->phenotype_ids->len, ==, 2);      /* sorted ids */
  g_assert_cmpstr (manifest->phenotype_ids->pdata[0], ==, "HP:0000501");  /* Glaucoma */
  g_assert_cmpstr (manifest->phenotype_ids->pdata[1], ==, "HP:0000573");  /* Retinal hemorrhage */
  g_assert_cmpuint (manifest->n_unresolved, ==, 2);            /* 'Nope' twice */
  g_assert_cmpuint (manifest->unresolved->len, ==, 1);
  g_assert_cmpuint (((PlManifestIssue *) manifest->unresolved->pdata[0])->count, ==, 2);
  g_assert_cmpuint (manifest->n_pairs_without_phenotypes, ==, 1);
  g_assert_cmpuint (manifest->missing_images->len, ==, 1);
  g_assert_cmpuint (((PlManifestIssue *) manifest->missing_images->pdata[0])->line, ==, 4);
  g_assert_cmpuint (manifest->bad_records->len, ==, 1);
  g_assert_cmpuint (((PlManifestIssue *) manifest->bad_records->pdata[0])->line, ==, 5);
}

static void
assert_fails (const char *name,
              const char *text,
              const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlManifest) manifest = load_text (name, text, &error);

  g_assert_null (manifest);
  g_assert_nonnull (error);
  if (strstr (error->message, needle) == NULL || strstr (error->message, name) == NULL)
    g_error ("error message '%s' lacks '%s' or the file name", error->message, needle);
}

static void
test_broken_manifests_are_errors_with_the_file_and_line (void)
{
  assert_fails ("columns.csv", "image,caption\nx,y\n", "image_path, caption and full_matches");
  assert_fails ("truncated.csv", "image_path,caption,full_matches\nx,\"never closed,[]\n", "truncated.csv:2: unterminated");
  assert_fails ("fields.csv", "image_path,caption,full_matches\nx,y\n", "fields.csv:2: 2 fields");
  assert_fails ("hostile.csv", "image_path,caption,full_matches\nx,\"a\"\"b\",\"[]\"\"\n", "hostile.csv:2");
  assert_fails ("empty.csv", "", "empty.csv");
  assert_fails ("binary.csv", "image_path,caption,full_matches\n\xff\xfe\n", "not UTF-8");
}

static void
test_json_lines_resolve_ids_and_report_unknown_ones (void)
{
  g_autofree char *image = pl_test_shared_data_path ("images/ihc.png");
  g_autofree char *text = g_strdup_printf (
    "{\"image\": \"%s\", \"caption\": \"c\", \"hpo_ids\": [\"HP:0000501\", \"HP:9999999\"]}\n"
    "{\"image\": 3}\n", image);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlManifest) manifest = load_text ("ids.jsonl", text, &error);

  g_assert_no_error (error);
  g_assert_cmpint (manifest->format, ==, PL_PAIRS_FORMAT_JSON_LINES);
  g_assert_cmpuint (manifest->pairs->len, ==, 1);
  g_assert_cmpstr (manifest->phenotype_ids->pdata[0], ==, "HP:0000501");
  g_assert_cmpuint (manifest->n_unresolved, ==, 1);
  g_assert_cmpuint (manifest->bad_records->len, ==, 1);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *obo = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  path = g_build_filename (pl_test_tmpdir (), "demo.snapshot", NULL);
  g_assert_true (pl_snapshot_import (obo, path, NULL, &error));
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_READ_ONLY, &error);
  g_assert_no_error (error);
  g_test_add_func ("/manifest/names-resolve-case-insensitively-and-problems-are-listed",
                   test_names_resolve_case_insensitively_and_problems_are_listed);
  g_test_add_func ("/manifest/broken-manifests-are-errors-with-the-file-and-line",
                   test_broken_manifests_are_errors_with_the_file_and_line);
  g_test_add_func ("/manifest/json-lines-resolve-ids-and-report-unknown-ones",
                   test_json_lines_resolve_ids_and_report_unknown_ones);
  status = g_test_run ();
  pl_snapshot_free (snapshot);
  return status;
}
