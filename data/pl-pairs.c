/* pl-pairs.c: PhenoKG pairs import (PhenoBench CSV with a safe Python-literal reader, or JSON lines)
 * and the example pairs of a term. */
#include "data/pl-pairs.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "data/pl-snapshot-private.h"
#include "model/pl-error.h"

#define LITERAL_MAX_DEPTH 16

void
pl_pair_free (PlPair *pair)
{
  if (pair == NULL)
    return;
  g_free (pair->image_path);
  g_free (pair->caption);
  g_free (pair->source);
  g_free (pair->matched_name);
  g_free (pair);
}

void
pl_pairs_report_free (PlPairsReport *report)
{
  if (report == NULL)
    return;
  g_ptr_array_unref (report->unmatched_examples);
  g_free (report);
}

/* ---- the Python-literal subset --------------------------------------------------------------- */

typedef struct {
  const char *text;
  const char *p;
} Literal;

static gboolean
literal_fail (Literal    *literal,
              GError    **error,
              const char *what)
{
  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s at offset %d of \"%.40s\"", what,
               (int) (literal->p - literal->text), literal->text);
  return FALSE;
}

static void
skip_space (Literal *literal)
{
  while (*literal->p == ' ' || *literal->p == '\t' || *literal->p == '\n' || *literal->p == '\r')
    literal->p++;
}

static gboolean
parse_string (Literal  *literal,
              char    **out,
              GError  **error)
{
  char quote = *literal->p++;
  GString *text = g_string_new (NULL);

  while (*literal->p != '\0' && *literal->p != quote)
    {
      char c = *literal->p++;

      if (c != '\\')
        {
          g_string_append_c (text, c);
          continue;
        }
      c = *literal->p++;
      switch (c)
        {
        case 'n': g_string_append_c (text, '\n'); break;
        case 't': g_string_append_c (text, '\t'); break;
        case 'r': g_string_append_c (text, '\r'); break;
        case '\\': case '\'': case '"': g_string_append_c (text, c); break;
        case 'x': case 'u': case 'U':
          {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            char hex[9] = { 0 };
            gunichar code;

            for (int i = 0; i < digits; i++)
              {
                if (!g_ascii_isxdigit (literal->p[i]))
                  {
                    g_string_free (text, TRUE);
                    return literal_fail (literal, error, "bad escape in a string");
                  }
                hex[i] = literal->p[i];
              }
            literal->p += digits;
            code = (gunichar) strtoul (hex, NULL, 16);
            if (!g_unichar_validate (code) || code == 0)
              {
                g_string_free (text, TRUE);
                return literal_fail (literal, error, "bad character escape in a string");
              }
            g_string_append_unichar (text, code);
          }
          break;
        case '\0':
          literal->p--;
          break;
        default:
          /* Python keeps unknown escapes as they are. */
          g_string_append_c (text, '\\');
          g_string_append_c (text, c);
        }
    }
  if (*literal->p != quote)
    {
      g_string_free (text, TRUE);
      return literal_fail (literal, error, "unterminated string");
    }
  literal->p++;
  *out = g_string_free (text, FALSE);
  return TRUE;
}

/* Parses one value; for a string sets *NAME to it, for a list/tuple to its first element's string. */
static gboolean
parse_value (Literal  *literal,
             int       depth,
             char    **name,
             GPtrArray *top_names,
             GError  **error)
{
  skip_space (literal);
  if (*literal->p == '\'' || *literal->p == '"')
    return parse_string (literal, name, error);
  if (*literal->p == '-' || g_ascii_isdigit (*literal->p))
    {
      if (*literal->p == '-')
        literal->p++;
      if (!g_ascii_isdigit (*literal->p))
        return literal_fail (literal, error, "expected a number");
      while (g_ascii_isdigit (*literal->p))
        literal->p++;
      return TRUE;
    }
  if (*literal->p == '[' || *literal->p == '(')
    {
      char close = *literal->p == '[' ? ']' : ')';
      guint index = 0;

      if (depth >= LITERAL_MAX_DEPTH)
        return literal_fail (literal, error, "nested too deeply");
      literal->p++;
      for (;;)
        {
          g_autofree char *item = NULL;

          skip_space (literal);
          if (*literal->p == close)
            {
              literal->p++;
              return TRUE;
            }
          if (!parse_value (literal, depth + 1, &item, NULL, error))
            return FALSE;
          if (top_names != NULL)
            {
              if (item == NULL)
                return literal_fail (literal, error, "an item without a phenotype name");
              g_ptr_array_add (top_names, g_steal_pointer (&item));
            }
          else if (index == 0 && name != NULL)
            *name = g_steal_pointer (&item);
          index++;
          skip_space (literal);
          if (*literal->p == ',')
            literal->p++;
          else if (*literal->p != close)
            return literal_fail (literal, error, "expected ',' or a closing bracket");
        }
    }
  return literal_fail (literal, error, *literal->p ? "unsupported value" : "unexpected end");
}

GPtrArray *
pl_pairs_parse_full_matches (const char *text,
                             GError    **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  Literal literal = { text, text };

  skip_space (&literal);
  if (*literal.p == '\0')
    return g_steal_pointer (&names);
  if (*literal.p != '[' && *literal.p != '(')
    {
      literal_fail (&literal, error, "expected a list");
      return NULL;
    }
  if (!parse_value (&literal, 0, NULL, names, error))
    return NULL;
  skip_space (&literal);
  if (*literal.p != '\0')
    {
      literal_fail (&literal, error, "unexpected text after the list");
      return NULL;
    }
  return g_steal_pointer (&names);
}

/* ---- CSV (RFC 4180) -------------------------------------------------------------------------- */

typedef struct {
  const char *p, *end;
  guint       line;
} Csv;

/* Reads one record into FIELDS; FALSE at end of input (with no error) or on an error. */
static gboolean
csv_record (Csv        *csv,
            GPtrArray  *fields,
            const char *path,
            GError    **error)
{
  GString *field = g_string_new (NULL);
  guint start_line = csv->line;

  g_ptr_array_set_size (fields, 0);
  if (csv->p >= csv->end)
    {
      g_string_free (field, TRUE);
      return FALSE;
    }
  for (;;)
    {
      if (csv->p < csv->end && *csv->p == '"')
        {
          csv->p++;
          for (;;)
            {
              if (csv->p >= csv->end)
                {
                  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: unterminated quoted field", path, start_line);
                  g_string_free (field, TRUE);
                  return FALSE;
                }
              if (*csv->p == '"')
                {
                  if (csv->p + 1 < csv->end && csv->p[1] == '"')
                    {
                      g_string_append_c (field, '"');
                      csv->p += 2;
                      continue;
                    }
                  csv->p++;
                  break;
                }
              if (*csv->p == '\n')
                csv->line++;
              g_string_append_c (field, *csv->p++);
            }
        }
      while (csv->p < csv->end && *csv->p != ',' && *csv->p != '\n' && *csv->p != '\r')
        g_string_append_c (field, *csv->p++);
      g_ptr_array_add (fields, g_strdup (field->str));
      g_string_truncate (field, 0);
      if (csv->p < csv->end && *csv->p == ',')
        {
          csv->p++;
          continue;
        }
      if (csv->p < csv->end && *csv->p == '\r')
        csv->p++;
      if (csv->p < csv->end && *csv->p == '\n')
        csv->p++;
      csv->line++;
      break;
    }
  g_string_free (field, TRUE);
  return TRUE;
}

/* ---- import ---------------------------------------------------------------------------------- */

typedef struct {
  PlSnapshot    *snapshot;
  const char    *source;
  GHashTable    *names;       /* folded label / EXACT synonym -> term id */
  GHashTable    *unmatched;   /* distinct unmatched names */
  PlPairsReport *report;
} Import;

static gboolean
load_names (Import  *import,
            GError **error)
{
  const char *queries[] = {
    "SELECT label_fold, id FROM terms WHERE obsolete = 0",
    "SELECT s.synonym_fold, s.term_id FROM synonyms s JOIN terms t ON t.id = s.term_id"
    " WHERE s.scope = 'EXACT' AND t.obsolete = 0 ORDER BY s.term_id, s.position",
  };

  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      sqlite3_stmt *statement = pl_snapshot_statement (import->snapshot, queries[q], error);
      int rc;

      if (statement == NULL)
        return FALSE;
      while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
        {
          const char *fold = (const char *) sqlite3_column_text (statement, 0);

          /* Labels win over synonyms; the first term with a synonym keeps it. */
          if (!g_hash_table_contains (import->names, fold))
            g_hash_table_insert (import->names, g_strdup (fold), g_strdup ((const char *) sqlite3_column_text (statement, 1)));
        }
      if (rc != SQLITE_DONE)
        {
          pl_snapshot_set_sqlite_error (import->snapshot, "cannot read the terms", error);
          return FALSE;
        }
    }
  return TRUE;
}

static void
note_unmatched (Import     *import,
                const char *name)
{
  import->report->n_unmatched++;
  if (g_hash_table_add (import->unmatched, g_strdup (name)))
    {
      import->report->n_distinct_unmatched++;
      if (import->report->unmatched_examples->len < PL_PAIRS_MAX_EXAMPLES)
        g_ptr_array_add (import->report->unmatched_examples, g_strdup (name));
    }
}

/* Writes one pair and its links to TERM_IDS (with the names that matched, parallel array). */
static gboolean
write_pair (Import     *import,
            const char *image_path,
            const char *caption,
            GPtrArray  *term_ids,
            GPtrArray  *matched_names,
            GError    **error)
{
  sqlite3_stmt *statement = pl_snapshot_statement (import->snapshot,
    "INSERT INTO pairs (image_path, caption, source) VALUES (?, ?, ?)", error);
  gint64 pair_id;

  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, image_path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 2, caption, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (statement, 3, import->source, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (import->snapshot, "cannot add a pair", error);
      return FALSE;
    }
  pair_id = sqlite3_last_insert_rowid (import->snapshot->db);
  import->report->n_pairs++;
  if (term_ids->len == 0)
    import->report->n_rows_without_terms++;
  for (guint i = 0; i < term_ids->len; i++)
    {
      statement = pl_snapshot_statement (import->snapshot,
        "INSERT OR IGNORE INTO pair_terms (pair_id, term_id, matched_name) VALUES (?, ?, ?)", error);
      if (statement == NULL)
        return FALSE;
      sqlite3_bind_int64 (statement, 1, pair_id);
      sqlite3_bind_text (statement, 2, g_ptr_array_index (term_ids, i), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (statement, 3, g_ptr_array_index (matched_names, i), -1, SQLITE_TRANSIENT);
      if (sqlite3_step (statement) != SQLITE_DONE)
        {
          pl_snapshot_set_sqlite_error (import->snapshot, "cannot link a pair", error);
          return FALSE;
        }
      import->report->n_links += sqlite3_changes (import->snapshot->db);
    }
  return TRUE;
}

static int
column_index (GPtrArray  *header,
              const char *name)
{
  for (guint i = 0; i < header->len; i++)
    if (strcmp (g_strstrip ((char *) g_ptr_array_index (header, i)), name) == 0)
      return (int) i;
  return -1;
}

static gboolean
import_csv (Import     *import,
            const char *path,
            const char *data,
            gsize       length,
            GError    **error)
{
  Csv csv = { data, data + length, 1 };
  g_autoptr(GPtrArray) header = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  int image_column, caption_column, matches_column;

  /* A UTF-8 byte order mark is common in CSV written by spreadsheets. */
  if (length >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    csv.p += 3;
  if (!csv_record (&csv, header, path, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: empty file", path);
      return FALSE;
    }
  image_column = column_index (header, "image_path");
  caption_column = column_index (header, "caption");
  matches_column = column_index (header, "full_matches");
  if (image_column < 0 || caption_column < 0 || matches_column < 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s:1: the header must name the columns image_path, caption and full_matches", path);
      return FALSE;
    }
  for (;;)
    {
      guint line = csv.line;
      g_autoptr(GPtrArray) names = NULL;
      g_autoptr(GPtrArray) term_ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) matched = g_ptr_array_new_with_free_func (g_free);

      if (!csv_record (&csv, fields, path, &local_error))
        {
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          break;
        }
      if (fields->len == 1 && *(char *) g_ptr_array_index (fields, 0) == '\0')
        continue;  /* blank line */
      if (fields->len != header->len)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: %u fields, the header has %u", path, line,
                       fields->len, header->len);
          return FALSE;
        }
      import->report->n_rows++;
      names = pl_pairs_parse_full_matches (g_ptr_array_index (fields, matches_column), &local_error);
      if (names == NULL)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: full_matches: %s", path, line, local_error->message);
          return FALSE;
        }
      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          g_autofree char *fold = pl_snapshot_fold (g_strstrip ((char *) name));
          const char *id = g_hash_table_lookup (import->names, fold);

          if (id == NULL)
            note_unmatched (import, name);
          else if (!g_ptr_array_find_with_equal_func (term_ids, id, g_str_equal, NULL))
            {
              g_ptr_array_add (term_ids, g_strdup (id));
              g_ptr_array_add (matched, g_strdup (name));
            }
        }
      if (!write_pair (import, g_ptr_array_index (fields, image_column), g_ptr_array_index (fields, caption_column),
                       term_ids, matched, error))
        return FALSE;
    }
  return TRUE;
}

static const char *
json_string (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
import_json_lines (Import     *import,
                   const char *path,
                   char       *data,
                   GError    **error)
{
  g_auto(GStrv) lines = g_strsplit (data, "\n", -1);

  for (guint n = 0; lines[n] != NULL; n++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) term_ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) matched = g_ptr_array_new_with_free_func (g_free);
      JsonNode *root;
      JsonObject *object;
      JsonNode *ids_node;
      JsonArray *ids;
      const char *image, *caption;

      if (*g_strstrip (lines[n]) == '\0')
        continue;
      if (!json_parser_load_from_data (parser, lines[n], -1, &local_error))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: not JSON: %s", path, n + 1, local_error->message);
          return FALSE;
        }
      root = json_parser_get_root (parser);
      object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      image = object ? json_string (object, "image") : NULL;
      if (image == NULL && object != NULL)
        image = json_string (object, "image_path");
      caption = object ? json_string (object, "caption") : NULL;
      ids_node = object ? json_object_get_member (object, "hpo_ids") : NULL;
      if (image == NULL || caption == NULL || ids_node == NULL || !JSON_NODE_HOLDS_ARRAY (ids_node))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s:%u: expected {\"image\": \"...\", \"caption\": \"...\", \"hpo_ids\": [...]}", path, n + 1);
          return FALSE;
        }
      import->report->n_rows++;
      ids = json_node_get_array (ids_node);
      for (guint i = 0; i < json_array_get_length (ids); i++)
        {
          JsonNode *element = json_array_get_element (ids, i);
          const char *text = JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
                             ? json_node_get_string (element) : NULL;
          g_autoptr(PlTerm) term = NULL;

          if (text == NULL)
            {
              g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: hpo_ids must hold strings", path, n + 1);
              return FALSE;
            }
          term = pl_snapshot_get_term (import->snapshot, text, NULL);
          if (term == NULL || term->obsolete)
            note_unmatched (import, text);
          else if (!g_ptr_array_find_with_equal_func (term_ids, term->id, g_str_equal, NULL))
            {
              g_ptr_array_add (term_ids, g_strdup (term->id));
              g_ptr_array_add (matched, g_strdup (text));
            }
        }
      if (!write_pair (import, image, caption, term_ids, matched, error))
        return FALSE;
    }
  return TRUE;
}

PlPairsReport *
pl_snapshot_import_pairs (PlSnapshot   *snapshot,
                          const char   *path,
                          GCancellable *cancellable,
                          GError      **error)
{
  g_autoptr(PlPairsReport) report = g_new0 (PlPairsReport, 1);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) unmatched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *source = g_path_get_basename (path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  Import import = { snapshot, source, names, unmatched, report };
  const char *first;
  gsize length = 0;
  gboolean ok;

  report->unmatched_examples = g_ptr_array_new_with_free_func (g_free);
  if (!pl_snapshot_check_writable (snapshot, "add pairs", error))
    return NULL;
  if (snapshot->schema_version < 2)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED, "%s: snapshot schema too old for pairs", snapshot->path);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, length, NULL))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: not UTF-8 text", path);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (sqlite3_exec (snapshot->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      pl_snapshot_set_sqlite_error (snapshot, "cannot add pairs", error);
      return NULL;
    }
  for (first = data; *first == ' ' || *first == '\t' || *first == '\n' || *first == '\r'; first++)
    ;
  if (*first == '{')
    ok = load_names (&import, error) && import_json_lines (&import, path, data, error);
  else
    ok = load_names (&import, error) && import_csv (&import, path, data, length, error);
  if (ok && sqlite3_exec (snapshot->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    {
      pl_snapshot_set_sqlite_error (snapshot, "cannot add pairs", error);
      ok = FALSE;
    }
  if (!ok)
    {
      sqlite3_exec (snapshot->db, "ROLLBACK", NULL, NULL, NULL);
      return NULL;
    }
  return g_steal_pointer (&report);
}

GPtrArray *
pl_snapshot_get_term_pairs (PlSnapshot *snapshot,
                            const char *id,
                            guint       limit,
                            GError    **error)
{
  g_autoptr(PlTerm) term = pl_snapshot_get_term (snapshot, id, error);
  g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_pair_free);
  sqlite3_stmt *statement;
  int rc;

  if (term == NULL)
    return NULL;
  statement = pl_snapshot_statement (snapshot,
                                     "SELECT p.pair_id, p.image_path, p.caption, p.source, pt.matched_name"
                                     " FROM pair_terms pt JOIN pairs p ON p.pair_id = pt.pair_id"
                                     " WHERE pt.term_id = ? ORDER BY p.pair_id LIMIT ?", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, term->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, limit);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      PlPair *pair = g_new0 (PlPair, 1);

      pair->pair_id = sqlite3_column_int64 (statement, 0);
      pair->image_path = g_strdup ((const char *) sqlite3_column_text (statement, 1));
      pair->caption = g_strdup ((const char *) sqlite3_column_text (statement, 2));
      pair->source = g_strdup ((const char *) sqlite3_column_text (statement, 3));
      pair->matched_name = g_strdup ((const char *) sqlite3_column_text (statement, 4));
      g_ptr_array_add (pairs, pair);
    }
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "cannot read pairs", error);
      return NULL;
    }
  return g_steal_pointer (&pairs);
}
