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

/* ---- reading records ------------------------------------------------------------------------ */

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
read_csv (const char     *path,
          const char     *data,
          gsize           length,
          PlPairsRowFunc  func,
          gpointer        user_data,
          GError        **error)
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
      g_autofree char *problem = NULL;
      PlPairsRow row = { 0 };

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
      names = pl_pairs_parse_full_matches (g_ptr_array_index (fields, matches_column), &local_error);
      if (names == NULL)
        {
          problem = g_strdup_printf ("full_matches: %s", local_error->message);
          g_clear_error (&local_error);
        }
      row.line = line;
      row.image_path = g_ptr_array_index (fields, image_column);
      row.caption = g_ptr_array_index (fields, caption_column);
      row.names = names;
      row.problem = problem;
      if (!func (&row, user_data, error))
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
read_json_lines (const char     *data,
                 PlPairsRowFunc  func,
                 gpointer        user_data,
                 GError        **error)
{
  g_auto(GStrv) lines = g_strsplit (data, "\n", -1);

  for (guint n = 0; lines[n] != NULL; n++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) ids = NULL;
      g_autofree char *problem = NULL;
      JsonObject *object = NULL;
      JsonNode *ids_node = NULL;
      const char *image = NULL, *caption = NULL;
      PlPairsRow row = { 0 };

      if (*g_strstrip (lines[n]) == '\0')
        continue;
      if (!json_parser_load_from_data (parser, lines[n], -1, &local_error))
        problem = g_strdup_printf ("not JSON: %s", local_error->message);
      else
        {
          JsonNode *root = json_parser_get_root (parser);

          object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
          image = object ? json_string (object, "image") : NULL;
          if (image == NULL && object != NULL)
            image = json_string (object, "image_path");
          caption = object ? json_string (object, "caption") : NULL;
          ids_node = object ? json_object_get_member (object, "hpo_ids") : NULL;
          if (image == NULL || caption == NULL || ids_node == NULL || !JSON_NODE_HOLDS_ARRAY (ids_node))
            problem = g_strdup ("expected {\"image\": \"...\", \"caption\": \"...\", \"hpo_ids\": [...]}");
        }
      if (problem == NULL)
        {
          JsonArray *array = json_node_get_array (ids_node);

          ids = g_ptr_array_new_with_free_func (g_free);
          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *element = json_array_get_element (array, i);

              if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
                {
                  problem = g_strdup ("hpo_ids must hold strings");
                  g_clear_pointer (&ids, g_ptr_array_unref);
                  break;
                }
              g_ptr_array_add (ids, g_strdup (json_node_get_string (element)));
            }
        }
      row.line = n + 1;
      row.image_path = image;
      row.caption = caption;
      row.names = ids;
      row.problem = problem;
      if (!func (&row, user_data, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
pl_pairs_read (const char     *path,
               const char     *data,
               gsize           length,
               PlPairsFormat  *format,
               PlPairsRowFunc  func,
               gpointer        user_data,
               GError        **error)
{
  const char *first;

  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, length, NULL))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: not UTF-8 text", path);
      return FALSE;
    }
  for (first = data; *first == ' ' || *first == '\t' || *first == '\n' || *first == '\r'; first++)
    ;
  if (*first == '{')
    {
      if (format != NULL)
        *format = PL_PAIRS_FORMAT_JSON_LINES;
      return read_json_lines (data, func, user_data, error);
    }
  if (format != NULL)
    *format = PL_PAIRS_FORMAT_CSV;
  return read_csv (path, data, length, func, user_data, error);
}

GHashTable *
pl_snapshot_phenotype_names (PlSnapshot *snapshot,
                             GError    **error)
{
  const char *queries[] = {
    "SELECT label_fold, id FROM terms WHERE obsolete = 0",
    "SELECT s.synonym_fold, s.term_id FROM synonyms s JOIN terms t ON t.id = s.term_id"
    " WHERE s.scope = 'EXACT' AND t.obsolete = 0 ORDER BY s.term_id, s.position",
  };
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
    {
      sqlite3_stmt *statement = pl_snapshot_statement (snapshot, queries[q], error);
      int rc;

      if (statement == NULL)
        return NULL;
      while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
        {
          const char *fold = (const char *) sqlite3_column_text (statement, 0);

          /* Labels win over synonyms; the first term with a synonym keeps it. */
          if (fold != NULL && !g_hash_table_contains (names, fold))
            g_hash_table_insert (names, g_strdup (fold), g_strdup ((const char *) sqlite3_column_text (statement, 1)));
        }
      if (rc != SQLITE_DONE)
        {
          pl_snapshot_set_sqlite_error (snapshot, "cannot read the terms", error);
          return NULL;
        }
    }
  return g_steal_pointer (&names);
}

const char *
pl_phenotype_names_lookup (GHashTable *names,
                           const char *name)
{
  g_autofree char *copy = g_strstrip (g_strdup (name));
  g_autofree char *fold = pl_snapshot_fold (copy);

  return g_hash_table_lookup (names, fold);
}

/* ---- import ---------------------------------------------------------------------------------- */

typedef struct {
  PlSnapshot    *snapshot;
  const char    *source;
  const char    *path;
  PlPairsFormat  format;
  GHashTable    *names;       /* folded label / EXACT synonym -> term id */
  GHashTable    *unmatched;   /* distinct unmatched names */
  PlPairsReport *report;
} Import;

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

/* One record: names are matched to labels and EXACT synonyms (CSV) or resolved as ids (JSON lines). */
static gboolean
import_row (const PlPairsRow *row,
            gpointer          user_data,
            GError          **error)
{
  Import *import = user_data;
  g_autoptr(GPtrArray) term_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) matched = g_ptr_array_new_with_free_func (g_free);

  /* An import is all or nothing: a malformed record fails it. */
  if (row->problem != NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: %s", import->path, row->line, row->problem);
      return FALSE;
    }
  import->report->n_rows++;
  for (guint i = 0; i < row->names->len; i++)
    {
      const char *name = g_ptr_array_index (row->names, i);
      g_autoptr(PlTerm) term = NULL;
      const char *id = NULL;

      if (import->format == PL_PAIRS_FORMAT_CSV)
        id = pl_phenotype_names_lookup (import->names, name);
      else
        {
          term = pl_snapshot_get_term (import->snapshot, name, NULL);
          id = term != NULL && !term->obsolete ? term->id : NULL;
        }
      if (id == NULL)
        note_unmatched (import, name);
      else if (!g_ptr_array_find_with_equal_func (term_ids, id, g_str_equal, NULL))
        {
          g_ptr_array_add (term_ids, g_strdup (id));
          g_ptr_array_add (matched, g_strdup (name));
        }
    }
  return write_pair (import, row->image_path, row->caption, term_ids, matched, error);
}

PlPairsReport *
pl_snapshot_import_pairs (PlSnapshot   *snapshot,
                          const char   *path,
                          GCancellable *cancellable,
                          GError      **error)
{
  g_autoptr(PlPairsReport) report = g_new0 (PlPairsReport, 1);
  g_autoptr(GHashTable) unmatched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) names = NULL;
  g_autofree char *source = g_path_get_basename (path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  Import import = { snapshot, source, path, PL_PAIRS_FORMAT_CSV, NULL, unmatched, report };
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
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if ((names = pl_snapshot_phenotype_names (snapshot, error)) == NULL)
    return NULL;
  import.names = names;
  if (sqlite3_exec (snapshot->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      pl_snapshot_set_sqlite_error (snapshot, "cannot add pairs", error);
      return NULL;
    }
  /* The format is known once the reader has looked at the first character, before any row. */
  import.format = data[strspn (data, " \t\r\n")] == '{' ? PL_PAIRS_FORMAT_JSON_LINES : PL_PAIRS_FORMAT_CSV;
  ok = pl_pairs_read (path, data, length, NULL, import_row, &import, error);
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
