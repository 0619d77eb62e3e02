/* test-obo.c: the OBO 1.4 importer on the real 2017 hp.obo and on small hostile files. */
#include <string.h>

#include "data/pl-ontology.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static PlOntology *
load_text (const char *name,
           const char *text,
           GError    **error)
{
  g_autofree char *path = pl_test_write_file (name, text, strlen (text));

  return pl_ontology_load (path, NULL, error);
}

static void
test_real_release_counts (void)
{
  g_autofree char *path = pl_test_shared_data_path ("hpo/hp.obo");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = pl_ontology_load (path, NULL, &error);
  PlTerm *seizure;

  g_assert_no_error (error);
  /* SOURCE.md: 12,358 stanzas, 132 obsolete, 12,226 live, 12,066 under HP:0000118. */
  g_assert_cmpuint (ontology->terms->len, ==, 12358);
  g_assert_cmpint (ontology->n_live, ==, 12226);
  g_assert_cmpint (ontology->n_phenotypic, ==, 12066);
  g_assert_cmpstr (ontology->data_version, ==, "releases/2017-04-13");
  g_assert_cmpstr (ontology->version_date, ==, "2017-04-13");
  g_assert_cmpstr (ontology->source_sha256, ==, "db2a34e23162537d1086807c1bbc7642e4173d9684d2eaa785bd053f653c85b5");
  seizure = g_hash_table_lookup (ontology->by_id, "HP:0001250");
  g_assert_nonnull (seizure);
  g_assert_cmpstr (seizure->label, ==, "Seizures");
  g_assert_true (g_ptr_array_find_with_equal_func (seizure->parents, "HP:0012638", g_str_equal, NULL));
}

static void
test_reads_quotes_escapes_modifiers_and_comments (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = load_text ("syntax.obo",
    "format-version: 1.2\n"
    "data-version: releases/2099-01-02\n"
    "\n"
    "[Term]\n"
    "id: HP:0000001\n"
    "name: All\n"
    "\n"
    "[Term]\n"
    "id: HP:0000118 ! a comment\n"
    "name: Phenotypic abnormality {xref=\"HPO:x\"}\n"
    "def: \"Says \\\"hello\\\" with a \\\\ and ! not a comment.\" [HPO:a, PMID:1 \"a, b\"] {source=\"x\"} ! c\n"
    "comment: line one\\nline two {xref=\"orcid\"}\n"
    "synonym: \"Odd {brace}\" EXACT layperson [HPO:skoehler] {comment=\"x\"}\n"
    "synonym: \"Broad one\" BROAD []\n"
    "xref: UMLS:C1 \"described\"\n"
    "alt_id: HP:0000999\n"
    "is_a: HP:0000001 ! All\n"
    "\n"
    "[Term]\n"
    "id: HP:0000002\n"
    "name: obsolete Thing\n"
    "is_obsolete: true\n"
    "replaced_by: HP:0000118\n"
    "consider: HP:0000001\n"
    "\n"
    "[Typedef]\n"
    "id: part_of\n"
    "name: part of\n"
    "is_transitive: true\n", &error);
  PlTerm *term;
  PlSynonym *synonym;

  g_assert_no_error (error);
  g_assert_cmpstr (ontology->version_date, ==, "2099-01-02");
  g_assert_cmpint (ontology->n_live, ==, 2);
  term = g_hash_table_lookup (ontology->by_id, "HP:0000118");
  g_assert_cmpstr (term->label, ==, "Phenotypic abnormality");
  g_assert_cmpstr (term->definition, ==, "Says \"hello\" with a \\ and ! not a comment.");
  g_assert_cmpuint (term->definition_xrefs->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (term->definition_xrefs, 1), ==, "PMID:1");
  g_assert_cmpstr (term->comment, ==, "line one\nline two");
  g_assert_cmpuint (term->synonyms->len, ==, 2);
  synonym = g_ptr_array_index (term->synonyms, 0);
  g_assert_cmpstr (synonym->text, ==, "Odd {brace}");
  g_assert_cmpint (synonym->scope, ==, PL_SYNONYM_EXACT);
  g_assert_cmpstr (synonym->type, ==, "layperson");
  synonym = g_ptr_array_index (term->synonyms, 1);
  g_assert_cmpint (synonym->scope, ==, PL_SYNONYM_BROAD);
  g_assert_null (synonym->type);
  g_assert_cmpstr (g_ptr_array_index (term->xrefs, 0), ==, "UMLS:C1");
  g_assert_cmpstr (g_ptr_array_index (term->alt_ids, 0), ==, "HP:0000999");
  g_assert_cmpstr (g_ptr_array_index (term->parents, 0), ==, "HP:0000001");
  g_assert_cmpint (term->depth, ==, 0);
  term = g_hash_table_lookup (ontology->by_id, "HP:0000002");
  g_assert_true (term->obsolete);
  g_assert_cmpstr (term->replaced_by, ==, "HP:0000118");
  g_assert_cmpstr (g_ptr_array_index (term->consider, 0), ==, "HP:0000001");
  g_assert_null (g_hash_table_lookup (ontology->by_id, "part_of"));
}

static void
assert_load_fails (const char *name,
                   const char *text,
                   int         code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = load_text (name, text, &error);

  g_assert_null (ontology);
  g_assert_error (error, PL_ERROR, code);
  if (strstr (error->message, needle) == NULL || strstr (error->message, name) == NULL)
    g_error ("error message '%s' lacks '%s' or the file name", error->message, needle);
}

static void
test_malformed_line_is_an_error_naming_file_and_line (void)
{
  assert_load_fails ("bad-line.obo", "format-version: 1.2\n\n[Term]\nid: HP:0000001\nname: All\nthis line has no tag\n",
                     PL_ERROR_FORMAT, "bad-line.obo:6:");
  assert_load_fails ("bad-quote.obo", "[Term]\nid: HP:0000001\nname: All\ndef: \"never closed [HPO:x]\n",
                     PL_ERROR_FORMAT, "bad-quote.obo:4: unterminated");
  assert_load_fails ("bad-scope.obo", "[Term]\nid: HP:0000001\nname: All\nsynonym: \"x\" SIDEWAYS []\n",
                     PL_ERROR_FORMAT, "bad-scope.obo:4: synonym scope");
  assert_load_fails ("bad-header.obo", "[Term\nid: HP:0000001\n", PL_ERROR_FORMAT, "bad-header.obo:1:");
  assert_load_fails ("bad-obsolete.obo", "[Term]\nid: HP:0000001\nname: All\nis_obsolete: maybe\n",
                     PL_ERROR_FORMAT, "bad-obsolete.obo:4:");
  assert_load_fails ("no-name.obo", "[Term]\nid: HP:0000001\n\n[Term]\nid: HP:0000002\nname: x\n",
                     PL_ERROR_FORMAT, "no-name.obo:1: term HP:0000001 has no name");
  assert_load_fails ("binary.obo", "[Term]\nid: HP:0000001\nname: \xff\xfe\n", PL_ERROR_FORMAT, "binary.obo:3: not UTF-8");
}

static void
test_is_a_cycle_is_reported_with_its_terms (void)
{
  assert_load_fails ("cycle.obo",
                     "[Term]\nid: HP:0000001\nname: All\n\n"
                     "[Term]\nid: HP:0000010\nname: A\nis_a: HP:0000012\n\n"
                     "[Term]\nid: HP:0000011\nname: B\nis_a: HP:0000010\n\n"
                     "[Term]\nid: HP:0000012\nname: C\nis_a: HP:0000011\nis_a: HP:0000001\n",
                     PL_ERROR_FORMAT, "is_a cycle");
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PlOntology) ontology = load_text ("cycle2.obo",
                                                "[Term]\nid: HP:0000010\nname: A\nis_a: HP:0000011\n\n"
                                                "[Term]\nid: HP:0000011\nname: B\nis_a: HP:0000010\n", &error);

    g_assert_null (ontology);
    g_assert_nonnull (strstr (error->message, "HP:0000010"));
    g_assert_nonnull (strstr (error->message, "HP:0000011"));
  }
  assert_load_fails ("self.obo", "[Term]\nid: HP:0000010\nname: A\nis_a: HP:0000010\n", PL_ERROR_FORMAT,
                     "HP:0000010 is_a itself");
  assert_load_fails ("dangling.obo", "[Term]\nid: HP:0000010\nname: A\nis_a: HP:0000011\n", PL_ERROR_FORMAT,
                     "HP:0000010 is_a HP:0000011, which the file does not define");
}

static void
test_non_hpo_files_are_refused (void)
{
  assert_load_fails ("go.obo", "format-version: 1.2\n\n[Term]\nid: GO:0008150\nname: biological_process\n",
                     PL_ERROR_FORMAT, "not the Human Phenotype Ontology");
  assert_load_fails ("empty.obo", "\n\n  \n", PL_ERROR_FORMAT, "empty");
  assert_load_fails ("prose.txt", "Dear reader,\nthis is a letter: not an ontology.\n", PL_ERROR_FORMAT, "prose.txt");
}

static void
test_truncated_gzip_is_an_error (void)
{
  g_autofree char *source = pl_test_shared_data_path ("hpo/hp-2023-01-27.json.gz");
  g_autoptr(GBytes) bytes = pl_test_read_file (source);
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autofree char *path = pl_test_write_file ("truncated.json.gz", data, size / 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlOntology) ontology = pl_ontology_load (path, NULL, &error);

  g_assert_null (ontology);
  g_assert_error (error, PL_ERROR, PL_ERROR_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "truncated.json.gz"));
}

static void
test_gzip_obo_reads_like_plain (void)
{
  const char *text = "[Term]\nid: HP:0000001\nname: All\n\n[Term]\nid: HP:0000118\nname: P\nis_a: HP:0000001\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  char out[4096];
  gsize read = 0, written = 0;
  g_autofree char *path = NULL;
  g_autoptr(PlOntology) ontology = NULL;

  g_assert_cmpint (g_converter_convert (G_CONVERTER (gzip), text, strlen (text), out, sizeof out,
                                        G_CONVERTER_INPUT_AT_END, &read, &written, &error), ==, G_CONVERTER_FINISHED);
  path = pl_test_write_file ("small.obo.gz", out, written);
  ontology = pl_ontology_load (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ontology->n_live, ==, 2);
  g_assert_cmpint (ontology->n_phenotypic, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/obo/real-2017-release-has-12226-live-terms-12066-phenotypic", test_real_release_counts);
  g_test_add_func ("/obo/reads-quotes-escapes-modifiers-and-comments", test_reads_quotes_escapes_modifiers_and_comments);
  g_test_add_func ("/obo/malformed-line-is-an-error-naming-file-and-line", test_malformed_line_is_an_error_naming_file_and_line);
  g_test_add_func ("/obo/is-a-cycle-is-reported-with-its-terms", test_is_a_cycle_is_reported_with_its_terms);
  g_test_add_func ("/obo/non-hpo-files-are-refused", test_non_hpo_files_are_refused);
  g_test_add_func ("/obo/truncated-gzip-is-an-error", test_truncated_gzip_is_an_error);
  g_test_add_func ("/obo/gzip-compressed-obo-reads-like-plain", test_gzip_obo_reads_like_plain);
  return g_test_run ();
}
