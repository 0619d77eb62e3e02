/* test-search.c: term search on a snapshot of the real 2023-01-27 release: ranking tiers, synonym
 * reporting, and hostile queries that must search as text. */
#include <string.h>

#include "data/pl-search.h"
#include "model/pl-error.h"
#include "tests/pl-test-util.h"

static PlSnapshot *snapshot;

static GPtrArray *
search (const char *query,
        guint       limit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *hits = pl_snapshot_search (snapshot, query, limit, &error);

  g_assert_no_error (error);
  g_assert_nonnull (hits);
  return hits;
}

static PlSearchHit *
hit (GPtrArray *hits,
     guint      i)
{
  g_assert_cmpuint (i, <, hits->len);
  return g_ptr_array_index (hits, i);
}

static void
test_exact_label_ranks_first (void)
{
  g_autoptr(GPtrArray) hits = search ("seizure", 20);

  g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0001250");
  g_assert_cmpint (hit (hits, 0)->match, ==, PL_SEARCH_MATCH_EXACT_LABEL);
  for (guint i = 1; i < hits->len; i++)
    g_assert_cmpint (hit (hits, i - 1)->match, <=, hit (hits, i)->match);
  g_assert_cmpint (hit (hits, 1)->match, ==, PL_SEARCH_MATCH_LABEL_PREFIX);
}

static void
test_every_id_form_finds_the_term (void)
{
  const char *forms[] = { "HP:0001250", "0001250", "HP_0001250", "hp:0001250", " HP:0001250 " };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_autoptr(GPtrArray) hits = search (forms[i], 5);

      g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0001250");
      g_assert_cmpint (hit (hits, 0)->match, ==, PL_SEARCH_MATCH_ID);
    }
  {
    g_autoptr(GPtrArray) hits = search ("HP:0001275", 5);  /* an alt_id of Seizure */

    g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0001250");
    g_assert_cmpint (hit (hits, 0)->match, ==, PL_SEARCH_MATCH_ALT_ID);
  }
}

static void
test_label_prefix_across_words (void)
{
  g_autoptr(GPtrArray) hits = search ("retinal hem", 10);
  g_autoptr(GPtrArray) reversed = search ("hem retinal", 10);
  gboolean dot_and_blot = FALSE;

  g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0000573");
  g_assert_cmpint (hit (hits, 0)->match, ==, PL_SEARCH_MATCH_LABEL_PREFIX);
  g_assert_cmpstr (hit (reversed, 0)->id, ==, "HP:0000573");
  g_assert_cmpint (hit (reversed, 0)->match, ==, PL_SEARCH_MATCH_LABEL_WORDS);
  for (guint i = 0; i < hits->len; i++)
    dot_and_blot |= strcmp (hit (hits, i)->id, "HP:0025242") == 0;
  g_assert_true (dot_and_blot);
}

static void
test_synonym_match_reports_the_synonym (void)
{
  /* "Fits" is not a synonym in this release; Seizure's layperson synonym "Epilepsy" is. */
  g_autoptr(GPtrArray) hits = search ("EPILEPSY", 10);
  g_autoptr(GPtrArray) words = search ("myoclonic progressive", 10);
  gboolean found = FALSE;

  g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0001250");
  g_assert_cmpint (hit (hits, 0)->match, ==, PL_SEARCH_MATCH_EXACT_SYNONYM);
  g_assert_cmpstr (hit (hits, 0)->matched_synonym, ==, "Epilepsy");
  for (guint i = 0; i < words->len; i++)
    if (hit (words, i)->match == PL_SEARCH_MATCH_SYNONYM_WORDS && strcmp (hit (words, i)->id, "HP:0002123") == 0)
      {
        g_assert_cmpstr (hit (words, i)->matched_synonym, ==, "Myoclonic epilepsy, progressive");
        found = TRUE;
      }
  g_assert_true (found);
}

static void
test_definition_words_rank_last (void)
{
  /* "synchronous neuronal" appears in Seizure's definition, not its label or synonyms. */
  g_autoptr(GPtrArray) hits = search ("synchronous neuronal", 20);
  gboolean seizure = FALSE;

  for (guint i = 0; i < hits->len; i++)
    {
      g_assert_cmpint (hit (hits, i)->match, ==, PL_SEARCH_MATCH_DEFINITION);
      seizure |= strcmp (hit (hits, i)->id, "HP:0001250") == 0;
    }
  g_assert_true (seizure);
}

static void
test_hostile_queries_search_as_text (void)
{
  const char *queries[] = {
    "\"", "\"\"", "'", "*", "**", "seiz*", "NEAR", "NEAR(seizure retinal)", "AND", "seizure AND", "OR NOT",
    "-seizure", "seizure -retinal", ":", "label:seizure", "{label}: x", "(", ")", "((seizure", "[", "]]",
    "^seizure", "'; DROP TABLE terms; --", "%", "_", "\\", "retinal\"hem", "\x01\x02", "日本語", "é",
    "HP:", "HP:12", "   ", "",
  };

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(GPtrArray) hits = search (queries[i], 10);

      g_test_message ("%s: %u hits", queries[i], hits->len);
    }
  {
    g_autoptr(GPtrArray) hits = search ("((seizure\"*", 10);
    g_autoptr(GPtrArray) plain = search ("-seizure", 10);
    g_autoptr(GPtrArray) colon = search ("label:seizure", 10);

    g_assert_cmpstr (hit (hits, 0)->id, ==, "HP:0001250");
    g_assert_cmpstr (hit (plain, 0)->id, ==, "HP:0001250");
    g_assert_cmpuint (colon->len, ==, 0);  /* no term mentions the word "label" with seizure */
  }
  {
    g_autoptr(GPtrArray) hits = search ("seizure AND", 10);

    g_assert_cmpuint (hits->len, >, 0);  /* "AND" is a word here: "...seizures and ..." */
  }
}

static void
test_limit_is_respected_and_hits_are_unique (void)
{
  g_autoptr(GPtrArray) hits = search ("abnormal", 50);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (hits->len, ==, 50);
  for (guint i = 0; i < hits->len; i++)
    g_assert_true (g_hash_table_add (seen, hit (hits, i)->id));
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *source = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  source = pl_test_shared_data_path ("hpo/hp-2023-01-27.json.gz");
  path = g_build_filename (pl_test_tmpdir (), "search.phenokg", NULL);
  if (!pl_snapshot_import (source, path, NULL, &error) || !(snapshot = pl_snapshot_open (path, 0, &error)))
    g_error ("%s", error->message);
  g_test_add_func ("/search/exact-label-ranks-first-then-label-prefix", test_exact_label_ranks_first);
  g_test_add_func ("/search/every-id-form-and-alt-id-finds-the-term", test_every_id_form_finds_the_term);
  g_test_add_func ("/search/label-prefix-across-words", test_label_prefix_across_words);
  g_test_add_func ("/search/synonym-match-reports-the-synonym", test_synonym_match_reports_the_synonym);
  g_test_add_func ("/search/definition-words-rank-last", test_definition_words_rank_last);
  g_test_add_func ("/search/hostile-queries-search-as-text", test_hostile_queries_search_as_text);
  g_test_add_func ("/search/limit-is-respected-and-hits-are-unique", test_limit_is_respected_and_hits_are_unique);
  status = g_test_run ();
  pl_snapshot_free (snapshot);
  return status;
}
