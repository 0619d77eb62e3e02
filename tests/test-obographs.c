/* test-obographs.c: the obographs JSON importer on the real 2023-01-27 hp.json.gz, checked against
 * tests/fixtures/hpo/expected.json (tests/reference/hpo_expected.py), and on hostile JSON. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "data/pl-ontology.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static PlOntology *real_ontology;
static JsonObject *expected;

static PlOntology *
load_real (void)
{
  if (real_ontology == NULL)
    {
      g_autofree char *path = pl_test_shared_data_path ("hpo/hp-2023-01-27.json.gz");
      g_autoptr(GError) error = NULL;

      real_ontology = pl_ontology_load (path, NULL, &error);
      g_assert_no_error (error);
    }
  return real_ontology;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
assert_strings_equal (GPtrArray  *actual,
                      JsonArray  *wanted,
                      const char *what)
{
  /* Not g_ptr_array_copy: the copy would inherit the free function. */
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();

  for (guint i = 0; i < actual->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (actual, i));

  g_ptr_array_sort (sorted, compare_strings);
  if (sorted->len != json_array_get_length (wanted))
    g_error ("%s: %u items, expected %u", what, sorted->len, json_array_get_length (wanted));
  for (guint i = 0; i < sorted->len; i++)
    g_assert_cmpstr (g_ptr_array_index (sorted, i), ==, json_array_get_string_element (wanted, i));
}

static void
test_real_release_counts (void)
{
  PlOntology *ontology = load_real ();
  JsonObject *json = json_object_get_object_member (expected, "json");

  /* SOURCE.md: 17,245 HP classes, 16,874 live, 16,561 under HP:0000118. */
  g_assert_cmpuint (ontology->terms->len, ==, 17245);
  g_assert_cmpint (ontology->n_live, ==, 16874);
  g_assert_cmpint (ontology->n_phenotypic, ==, 16561);
  g_assert_cmpint (ontology->n_live, ==, json_object_get_int_member (json, "live_terms"));
  g_assert_cmpint (ontology->n_phenotypic, ==, json_object_get_int_member (json, "phenotypic_abnormality_descendants"));
  g_assert_cmpstr (ontology->version_date, ==, "2023-01-27");
  g_assert_cmpstr (ontology->data_version, ==, "http://purl.obolibrary.org/obo/hp/releases/2023-01-27/hp.json");
  g_assert_cmpstr (ontology->source_sha256, ==, "749fb5c6e0b2dfff811356a9f2b80f63867e96bb15bf366778ef4193bb196707");
}

static void
test_known_terms_match_reference (void)
{
  PlOntology *ontology = load_real ();
  JsonObject *terms = json_object_get_object_member (json_object_get_object_member (expected, "json"), "terms");
  g_autoptr(GList) ids = json_object_get_members (terms);

  g_assert_cmpuint (g_list_length (ids), >=, 20);
  for (GList *l = ids; l != NULL; l = l->next)
    {
      JsonObject *want = json_object_get_object_member (terms, l->data);
      PlTerm *term = g_hash_table_lookup (ontology->by_id, l->data);

      g_test_message ("%s", (char *) l->data);
      g_assert_nonnull (term);
      g_assert_cmpstr (term->label, ==, json_object_get_string_member (want, "label"));
      g_assert_cmpint (term->depth, ==, json_object_get_int_member (want, "depth"));
      g_assert_cmpint (term->n_children, ==, json_object_get_int_member (want, "n_children"));
      g_assert_cmpint (term->n_descendants, ==, json_object_get_int_member (want, "n_descendants"));
      assert_strings_equal (term->parents, json_object_get_array_member (want, "parents"), l->data);
      assert_strings_equal (term->systems, json_object_get_array_member (want, "systems"), l->data);
    }
}

static void
test_reads_synonyms_alt_ids_and_obsolete_terms (void)
{
  PlOntology *ontology = load_real ();
  PlTerm *seizure = g_hash_table_lookup (ontology->by_id, "HP:0001250");
  PlTerm *old = g_hash_table_lookup (ontology->by_id, "HP:0000057");
  gboolean epilepsy = FALSE;
  guint plural = 0;

  g_assert_nonnull (strstr (seizure->definition, "intermittent abnormality of nervous system physiology"));
  g_assert_true (g_ptr_array_find_with_equal_func (seizure->alt_ids, "HP:0001275", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (seizure->definition_xrefs, "PMID:15816939", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (seizure->xrefs, "UMLS:C0036572", g_str_equal, NULL));
  for (guint i = 0; i < seizure->synonyms->len; i++)
    {
      PlSynonym *synonym = g_ptr_array_index (seizure->synonyms, i);

      if (strcmp (synonym->text, "Epilepsy") == 0)
        epilepsy = synonym->scope == PL_SYNONYM_RELATED && g_strcmp0 (synonym->type, "layperson") == 0;
      if (strcmp (synonym->text, "Seizures") == 0)
        plural++;
    }
  g_assert_true (epilepsy);
  g_assert_cmpuint (plural, ==, 1);  /* listed twice in the release, stored once */
  g_assert_true (old->obsolete);
  g_assert_cmpstr (old->replaced_by, ==, "HP:0008665");
  g_assert_cmpint (old->depth, ==, -1);
}

static void
assert_load_fails (const char *name,
                   const char *text,
                   int         code,
                   const char *needle)
{
  g_autofree char *path = pl_test_write_file (name, text, strlen (text));
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = pl_ontology_load (path, NULL, &error);

  g_assert_null (ontology);
  g_assert_error (error, PL_ERROR, code);
  if (strstr (error->message, needle) == NULL || strstr (error->message, name) == NULL)
    g_error ("error message '%s' lacks '%s' or the file name", error->message, needle);
}

static void
test_json_that_is_not_obographs_is_refused (void)
{
  assert_load_fails ("package.json", "{\"name\": \"left-pad\", \"version\": \"1.0.0\"}", PL_ERROR_FORMAT, "not obographs");
  assert_load_fails ("wrong-types.json", "{\"graphs\": [{\"nodes\": 7, \"edges\": \"x\"}]}", PL_ERROR_FORMAT, "not obographs");
  assert_load_fails ("go.json",
                     "{\"graphs\": [{\"nodes\": [{\"id\": \"http://purl.obolibrary.org/obo/GO_0008150\","
                     " \"type\": \"CLASS\", \"lbl\": \"biological_process\"}], \"edges\": []}]}",
                     PL_ERROR_FORMAT, "Human Phenotype Ontology");
  assert_load_fails ("truncated.json", "{\"graphs\": [{\"nodes\": [{\"id\": \"http://purl.obolibrary.org/obo/HP_00",
                     PL_ERROR_FORMAT, "not valid JSON");
}

static void
test_hostile_member_types_are_skipped_without_warnings (void)
{
  const char *text =
    "{\"graphs\": [{\"meta\": 5, \"nodes\": ["
    "  {\"id\": \"http://purl.obolibrary.org/obo/HP_0000001\", \"type\": \"CLASS\", \"lbl\": \"All\","
    "   \"meta\": {\"synonyms\": [3, {\"pred\": 4, \"val\": []}], \"xrefs\": {\"a\": 1},"
    "              \"definition\": {\"val\": 12}, \"comments\": [null, \"ok\"], \"deprecated\": \"yes\","
    "              \"basicPropertyValues\": [{}, {\"pred\": null}]}},"
    "  {\"id\": 17, \"type\": \"CLASS\"}, [], \"HP_1\","
    "  {\"id\": \"http://purl.obolibrary.org/obo/HP_0000118\", \"type\": \"CLASS\"}],"
    " \"edges\": [{\"sub\": \"http://purl.obolibrary.org/obo/HP_0000118\", \"pred\": \"is_a\","
    "              \"obj\": \"http://purl.obolibrary.org/obo/HP_0000001\"}, {\"sub\": [], \"pred\": 1}, 4]}]}";
  g_autofree char *path = pl_test_write_file ("hostile.json", text, strlen (text));
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = pl_ontology_load (path, NULL, &error);
  PlTerm *root;

  g_assert_no_error (error);
  g_assert_cmpint (ontology->n_live, ==, 2);
  root = g_hash_table_lookup (ontology->by_id, "HP:0000001");
  g_assert_cmpstr (root->comment, ==, "ok");
  g_assert_null (root->definition);
  g_assert_cmpint (root->n_descendants, ==, 1);
  /* A label-less class is shown by its id rather than dropped. */
  g_assert_cmpstr (((PlTerm *) g_hash_table_lookup (ontology->by_id, "HP:0000118"))->label, ==, "HP:0000118");
}

static void
test_cycle_in_edges_is_reported (void)
{
  const char *text =
    "{\"graphs\": [{\"nodes\": ["
    "  {\"id\": \"http://purl.obolibrary.org/obo/HP_0000001\", \"type\": \"CLASS\", \"lbl\": \"All\"},"
    "  {\"id\": \"http://purl.obolibrary.org/obo/HP_0000002\", \"type\": \"CLASS\", \"lbl\": \"A\"},"
    "  {\"id\": \"http://purl.obolibrary.org/obo/HP_0000003\", \"type\": \"CLASS\", \"lbl\": \"B\"}],"
    " \"edges\": ["
    "  {\"sub\": \"http://purl.obolibrary.org/obo/HP_0000002\", \"pred\": \"is_a\", \"obj\": \"http://purl.obolibrary.org/obo/HP_0000003\"},"
    "  {\"sub\": \"http://purl.obolibrary.org/obo/HP_0000003\", \"pred\": \"is_a\", \"obj\": \"http://purl.obolibrary.org/obo/HP_0000002\"},"
    "  {\"sub\": \"http://purl.obolibrary.org/obo/HP_0000003\", \"pred\": \"is_a\", \"obj\": \"http://purl.obolibrary.org/obo/HP_0000001\"}]}]}";

  assert_load_fails ("cycle.json", text, PL_ERROR_FORMAT, "is_a cycle: HP:0000002 (A) is_a HP:0000003 (B) is_a HP:0000002");
}

static void
test_demo_ontology_is_a_closed_unaltered_subset (void)
{
  PlOntology *real = load_real ();
  g_autofree char *path = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) demo = pl_ontology_load (path, NULL, &error);
  g_autoptr(GBytes) bytes = pl_test_read_file (path);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  const char *must_have[] = { "HP:0000478", "HP:0000573", "HP:0030494", "HP:0001250", "HP:0000951", "HP:0001626",
                              "HP:0000924", "HP:0000707" };

  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "This product uses the Human Phenotype Ontology (version 2023-01-27)"));
  g_assert_cmpstr (demo->version_date, ==, "2023-01-27");
  g_assert_cmpint (demo->n_live, >=, 90);
  g_assert_cmpint (demo->n_live, <=, 130);
  for (guint i = 0; i < G_N_ELEMENTS (must_have); i++)
    g_assert_nonnull (g_hash_table_lookup (demo->by_id, must_have[i]));
  for (guint i = 0; i < demo->terms->len; i++)
    {
      PlTerm *term = g_ptr_array_index (demo->terms, i);
      PlTerm *original = g_hash_table_lookup (real->by_id, term->id);

      g_assert_nonnull (original);
      g_assert_cmpstr (term->label, ==, original->label);
      g_assert_cmpstr (term->definition, ==, original->definition);
      g_assert_cmpuint (term->synonyms->len, ==, original->synonyms->len);
      /* Closed under is_a: same parents, hence the same depth and systems as in the release. */
      g_assert_cmpuint (term->parents->len, ==, original->parents->len);
      g_assert_cmpint (term->depth, ==, original->depth);
      g_assert_cmpuint (term->systems->len, ==, original->systems->len);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  int status;

  g_test_init (&argc, &argv, NULL);
  expected = pl_test_load_fixture_object (parser, "hpo/expected.json");
  g_test_add_func ("/obographs/real-2023-release-has-16874-live-terms-16561-phenotypic", test_real_release_counts);
  g_test_add_func ("/obographs/known-terms-match-the-python-reference", test_known_terms_match_reference);
  g_test_add_func ("/obographs/reads-synonyms-alt-ids-and-obsolete-terms", test_reads_synonyms_alt_ids_and_obsolete_terms);
  g_test_add_func ("/obographs/json-that-is-not-obographs-is-refused", test_json_that_is_not_obographs_is_refused);
  g_test_add_func ("/obographs/hostile-member-types-are-skipped-without-warnings", test_hostile_member_types_are_skipped_without_warnings);
  g_test_add_func ("/obographs/is-a-cycle-in-edges-is-reported", test_cycle_in_edges_is_reported);
  g_test_add_func ("/obographs/demo-ontology-is-a-closed-unaltered-subset", test_demo_ontology_is_a_closed_unaltered_subset);
  status = g_test_run ();
  g_clear_pointer (&real_ontology, pl_ontology_free);
  return status;
}
