/* pl-search.c: term search in tiers, best first: id, exact label, label prefix, synonym (exact, prefix),
 * label words, synonym words, definition words. User text reaches SQL only as bound values and
 * FTS5 only as double-quoted single words, so operators and quotes in it are plain text. */
#include "data/pl-search.h"

#include <string.h>

#include "data/pl-snapshot-private.h"
#include "model/pl-error.h"

/* Larger than any code point, so `fold < prefix || MAX` bounds every string starting with prefix. */
#define FOLD_UPPER_BOUND "\xf4\x8f\xbf\xbf"

static const char *match_names[] = {
  "id", "alt_id", "exact_label", "label_prefix", "exact_synonym",
  "synonym_prefix", "label_words", "synonym_words", "definition",
};

const char *
pl_search_match_to_string (PlSearchMatch match)
{
  return (guint) match < G_N_ELEMENTS (match_names) ? match_names[match] : "unknown";
}

void
pl_search_hit_free (PlSearchHit *hit)
{
  if (hit == NULL)
    return;
  g_free (hit->id);
  g_free (hit->label);
  g_free (hit->matched_synonym);
  g_free (hit);
}

GStrv
pl_search_split_words (const char *query)
{
  g_autofree char *folded = pl_snapshot_fold (query ? query : "");
  g_autoptr(GStrvBuilder) words = g_strv_builder_new ();
  const char *start = NULL;

  for (const char *p = folded;; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean word_char = c != 0 && (g_unichar_isalnum (c) || g_unichar_ismark (c));

      if (word_char && start == NULL)
        start = p;
      else if (!word_char && start != NULL)
        {
          g_autofree char *word = g_strndup (start, p - start);

          g_strv_builder_add (words, word);
          start = NULL;
        }
      if (c == 0)
        break;
    }
  return g_strv_builder_end (words);
}

/* Every query word starts some word of TEXT. */
static gboolean
words_match (const GStrv words,
             const char *text)
{
  g_auto(GStrv) text_words = pl_search_split_words (text);

  for (guint i = 0; words[i] != NULL; i++)
    {
      gboolean found = FALSE;

      for (guint k = 0; text_words[k] != NULL && !found; k++)
        found = g_str_has_prefix (text_words[k], words[i]);
      if (!found)
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  PlSnapshot *snapshot;
  GPtrArray  *hits;
  GHashTable *seen;
  guint       limit;
  GStrv       words;
} Search;

static gboolean
full (Search *search)
{
  return search->hits->len >= search->limit;
}

/* Adds the rows of STATEMENT (id, label, depth, n_descendants[, synonym]) not seen yet. */
static gboolean
add_rows (Search        *search,
          sqlite3_stmt  *statement,
          PlSearchMatch  match,
          GError       **error)
{
  int rc;

  while (!full (search) && (rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (statement, 0);
      PlSearchHit *hit;

      if (g_hash_table_contains (search->seen, id))
        continue;
      hit = g_new0 (PlSearchHit, 1);
      hit->id = g_strdup (id);
      hit->label = g_strdup ((const char *) sqlite3_column_text (statement, 1));
      hit->depth = sqlite3_column_int (statement, 2);
      hit->n_descendants = sqlite3_column_int (statement, 3);
      hit->match = match;
      if (sqlite3_column_count (statement) > 4)
        hit->matched_synonym = g_strdup ((const char *) sqlite3_column_text (statement, 4));
      g_hash_table_add (search->seen, hit->id);
      g_ptr_array_add (search->hits, hit);
    }
  if (!full (search) && rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (search->snapshot, "search failed", error);
      return FALSE;
    }
  sqlite3_reset (statement);
  return TRUE;
}

static gboolean
search_ids (Search     *search,
            const char *query,
            GError    **error)
{
  g_autofree char *id = pl_term_id_normalize (query);
  sqlite3_stmt *statement;

  if (id == NULL)
    return TRUE;
  statement = pl_snapshot_statement (search->snapshot,
                                     "SELECT id, label, depth, n_descendants FROM terms WHERE id = ?", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, id, -1, SQLITE_TRANSIENT);
  if (!add_rows (search, statement, PL_SEARCH_MATCH_ID, error))
    return FALSE;
  statement = pl_snapshot_statement (search->snapshot,
                                     "SELECT t.id, t.label, t.depth, t.n_descendants FROM alt_ids a"
                                     " JOIN terms t ON t.id = a.term_id WHERE a.alt_id = ?", error);
  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, id, -1, SQLITE_TRANSIENT);
  return add_rows (search, statement, PL_SEARCH_MATCH_ALT_ID, error);
}

static gboolean
search_folded (Search        *search,
               const char    *sql,
               const char    *fold,
               gboolean       prefix,
               PlSearchMatch  match,
               GError       **error)
{
  sqlite3_stmt *statement = pl_snapshot_statement (search->snapshot, sql, error);
  g_autofree char *upper = g_strconcat (fold, FOLD_UPPER_BOUND, NULL);

  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, fold, -1, SQLITE_TRANSIENT);
  if (prefix)
    sqlite3_bind_text (statement, 2, upper, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, prefix ? 3 : 2, search->limit + g_hash_table_size (search->seen));
  return add_rows (search, statement, match, error);
}

/* An FTS5 query restricted to COLUMN in which every word is a quoted prefix term. */
static char *
fts_query (const char *column,
           GStrv       words)
{
  GString *query = g_string_new (column);

  g_string_append (query, " : (");
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_string_append (query, i > 0 ? " AND \"" : "\"");
      for (const char *p = words[i]; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (query, '"');
          g_string_append_c (query, *p);
        }
      g_string_append (query, "\"*");
    }
  g_string_append_c (query, ')');
  return g_string_free (query, FALSE);
}

static gboolean
search_text (Search        *search,
             const char    *sql,
             const char    *column,
             PlSearchMatch  match,
             GError       **error)
{
  g_autofree char *query = fts_query (column, search->words);
  sqlite3_stmt *statement = pl_snapshot_statement (search->snapshot, sql, error);

  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, query, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, search->limit + g_hash_table_size (search->seen));
  return add_rows (search, statement, match, error);
}

/* Names the synonym of each SYNONYM_WORDS hit that contains the query words. */
static gboolean
name_matched_synonyms (Search  *search,
                       guint    first,
                       GError **error)
{
  for (guint i = first; i < search->hits->len; i++)
    {
      PlSearchHit *hit = g_ptr_array_index (search->hits, i);
      sqlite3_stmt *statement = pl_snapshot_statement (search->snapshot,
        "SELECT synonym FROM synonyms WHERE term_id = ? ORDER BY position", error);
      int rc;

      if (statement == NULL)
        return FALSE;
      sqlite3_bind_text (statement, 1, hit->id, -1, SQLITE_TRANSIENT);
      while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
        {
          const char *synonym = (const char *) sqlite3_column_text (statement, 0);

          if (words_match (search->words, synonym))
            {
              hit->matched_synonym = g_strdup (synonym);
              break;
            }
        }
      sqlite3_reset (statement);
    }
  return TRUE;
}

#define HIT_COLUMNS "t.id, t.label, t.depth, t.n_descendants"

GPtrArray *
pl_snapshot_search (PlSnapshot *snapshot,
                    const char *query,
                    guint       limit,
                    GError    **error)
{
  g_autoptr(GPtrArray) hits = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_search_hit_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) words = pl_search_split_words (query);
  g_autofree char *stripped = g_strstrip (g_strdup (query ? query : ""));
  g_autofree char *fold = pl_snapshot_fold (stripped);
  Search search = { snapshot, hits, seen, limit, words };
  guint first_synonym_words;

  if (*stripped == '\0' || limit == 0)
    return g_steal_pointer (&hits);
  if (!search_ids (&search, stripped, error)
      || !search_folded (&search, "SELECT " HIT_COLUMNS " FROM terms t WHERE t.label_fold = ?1 AND t.obsolete = 0"
                         " ORDER BY t.label LIMIT ?2", fold, FALSE, PL_SEARCH_MATCH_EXACT_LABEL, error)
      || !search_folded (&search, "SELECT " HIT_COLUMNS " FROM terms t WHERE t.label_fold >= ?1"
                         " AND t.label_fold < ?2 AND t.obsolete = 0 ORDER BY length (t.label), t.label LIMIT ?3",
                         fold, TRUE, PL_SEARCH_MATCH_LABEL_PREFIX, error))
    return NULL;
  if (!full (&search)
      && (!search_folded (&search, "SELECT " HIT_COLUMNS ", s.synonym FROM synonyms s JOIN terms t ON t.id = s.term_id"
                          " WHERE s.synonym_fold = ?1 AND t.obsolete = 0 ORDER BY length (t.label), t.label LIMIT ?2",
                          fold, FALSE, PL_SEARCH_MATCH_EXACT_SYNONYM, error)
          || !search_folded (&search, "SELECT " HIT_COLUMNS ", s.synonym FROM synonyms s JOIN terms t ON t.id = s.term_id"
                             " WHERE s.synonym_fold >= ?1 AND s.synonym_fold < ?2 AND t.obsolete = 0"
                             " ORDER BY length (s.synonym), t.label LIMIT ?3",
                             fold, TRUE, PL_SEARCH_MATCH_SYNONYM_PREFIX, error)))
    return NULL;
  if (words[0] != NULL && !full (&search)
      && !search_text (&search, "SELECT " HIT_COLUMNS " FROM term_text JOIN terms t ON t.num = term_text.rowid"
                       " WHERE term_text MATCH ?1 ORDER BY length (t.label), t.label LIMIT ?2",
                       "label", PL_SEARCH_MATCH_LABEL_WORDS, error))
    return NULL;
  first_synonym_words = hits->len;
  if (words[0] != NULL && !full (&search)
      && (!search_text (&search, "SELECT " HIT_COLUMNS " FROM term_text JOIN terms t ON t.num = term_text.rowid"
                        " WHERE term_text MATCH ?1 ORDER BY length (t.label), t.label LIMIT ?2",
                        "synonyms", PL_SEARCH_MATCH_SYNONYM_WORDS, error)
          || !name_matched_synonyms (&search, first_synonym_words, error)))
    return NULL;
  if (words[0] != NULL && !full (&search)
      && !search_text (&search, "SELECT " HIT_COLUMNS " FROM term_text JOIN terms t ON t.num = term_text.rowid"
                       " WHERE term_text MATCH ?1 ORDER BY rank LIMIT ?2",
                       "definition", PL_SEARCH_MATCH_DEFINITION, error))
    return NULL;
  return g_steal_pointer (&hits);
}
