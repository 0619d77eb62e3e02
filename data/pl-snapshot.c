/* pl-snapshot.c: the snapshot file: schema and migrations, the importer's writer (temporary file
 * renamed into place), opening (read-only, newer schema refused) and the ontology graph queries. */
#include "data/pl-snapshot-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/pl-ontology.h"
#include "model/pl-error.h"

/* migrations[v - 1] takes a file from user_version v - 1 to v. */
static const char *const migrations[PL_SNAPSHOT_SCHEMA_VERSION] = {
  /* 1: the ontology. Terms are keyed by their HP id; num is the full-text index's rowid. */
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
  "CREATE TABLE terms ("
  "  num INTEGER PRIMARY KEY,"
  "  id TEXT NOT NULL UNIQUE,"
  "  label TEXT NOT NULL,"
  "  label_fold TEXT NOT NULL,"
  "  definition TEXT,"
  "  comment TEXT,"
  "  obsolete INTEGER NOT NULL DEFAULT 0,"
  "  replaced_by TEXT,"
  "  depth INTEGER NOT NULL DEFAULT -1,"
  "  n_children INTEGER NOT NULL DEFAULT 0,"
  "  n_descendants INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX terms_by_label_fold ON terms (label_fold);"
  "CREATE TABLE synonyms ("
  "  term_id TEXT NOT NULL,"
  "  position INTEGER NOT NULL,"
  "  synonym TEXT NOT NULL,"
  "  synonym_fold TEXT NOT NULL,"
  "  scope TEXT NOT NULL CHECK (scope IN ('EXACT', 'BROAD', 'NARROW', 'RELATED')),"
  "  type TEXT,"
  "  PRIMARY KEY (term_id, position)) WITHOUT ROWID;"
  "CREATE INDEX synonyms_by_fold ON synonyms (synonym_fold);"
  "CREATE TABLE xrefs (term_id TEXT NOT NULL, xref TEXT NOT NULL, PRIMARY KEY (term_id, xref)) WITHOUT ROWID;"
  "CREATE TABLE definition_xrefs (term_id TEXT NOT NULL, xref TEXT NOT NULL,"
  "  PRIMARY KEY (term_id, xref)) WITHOUT ROWID;"
  "CREATE TABLE alt_ids (alt_id TEXT PRIMARY KEY, term_id TEXT NOT NULL) WITHOUT ROWID;"
  "CREATE TABLE consider (term_id TEXT NOT NULL, consider_id TEXT NOT NULL,"
  "  PRIMARY KEY (term_id, consider_id)) WITHOUT ROWID;"
  "CREATE TABLE is_a (child TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (child, parent)) WITHOUT ROWID;"
  "CREATE INDEX is_a_by_parent ON is_a (parent, child);"
  "CREATE TABLE term_systems (term_id TEXT NOT NULL, system_id TEXT NOT NULL,"
  "  PRIMARY KEY (term_id, system_id)) WITHOUT ROWID;"
  "CREATE VIRTUAL TABLE term_text USING fts5 (label, synonyms, definition, content='', prefix='1 2',"
  "  tokenize='unicode61 remove_diacritics 2');",

  /* 2: phenotype text embeddings per (checkpoint, prompt templates), and PhenoKG image-text pairs. */
  "CREATE TABLE embedding_sets ("
  "  set_id INTEGER PRIMARY KEY,"
  "  checkpoint_fingerprint TEXT NOT NULL,"
  "  template_set TEXT NOT NULL,"
  "  dimension INTEGER NOT NULL,"
  "  created TEXT,"
  "  UNIQUE (checkpoint_fingerprint, template_set));"
  "CREATE TABLE term_embeddings ("
  "  set_id INTEGER NOT NULL REFERENCES embedding_sets (set_id) ON DELETE CASCADE,"
  "  term_id TEXT NOT NULL,"
  "  vector BLOB NOT NULL," /* dimension little-endian f32 */
  "  PRIMARY KEY (set_id, term_id)) WITHOUT ROWID;"
  "CREATE TABLE pairs ("
  "  pair_id INTEGER PRIMARY KEY,"
  "  image_path TEXT NOT NULL,"
  "  caption TEXT NOT NULL,"
  "  source TEXT NOT NULL);"
  "CREATE TABLE pair_terms ("
  "  pair_id INTEGER NOT NULL REFERENCES pairs (pair_id) ON DELETE CASCADE,"
  "  term_id TEXT NOT NULL,"
  "  matched_name TEXT,"
  "  PRIMARY KEY (pair_id, term_id)) WITHOUT ROWID;"
  "CREATE INDEX pair_terms_by_term ON pair_terms (term_id, pair_id);",
};

static int import_fault_after_terms = -1;

void
pl_snapshot_set_import_fault (int fail_after_terms)
{
  import_fault_after_terms = fail_after_terms;
}

char *
pl_snapshot_fold (const char *text)
{
  g_autofree char *folded = g_utf8_casefold (text, -1);
  char *normalized = g_utf8_normalize (folded, -1, G_NORMALIZE_ALL_COMPOSE);

  return normalized != NULL ? normalized : g_steal_pointer (&folded);
}

static void
set_db_error (sqlite3    *db,
              const char *path,
              const char *what,
              GError    **error)
{
  int code = db ? sqlite3_errcode (db) : SQLITE_ERROR;
  PlError kind = code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? PL_ERROR_FORMAT : PL_ERROR_IO;

  g_set_error (error, PL_ERROR, kind, "%s: %s: %s", path, what, db ? sqlite3_errmsg (db) : "out of memory");
}

void
pl_snapshot_set_sqlite_error (PlSnapshot *snapshot,
                              const char *what,
                              GError    **error)
{
  if (sqlite3_errcode (snapshot->db) == SQLITE_READONLY)
    g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: %s: the snapshot is read-only", snapshot->path, what);
  else
    set_db_error (snapshot->db, snapshot->path, what, error);
}

gboolean
pl_snapshot_check_writable (PlSnapshot *snapshot,
                            const char *what,
                            GError    **error)
{
  if (!snapshot->read_only)
    return TRUE;
  g_set_error (error, PL_ERROR, PL_ERROR_IO,
               "%s: cannot %s: the snapshot is open read-only (the file is not writable or was opened read-only)",
               snapshot->path, what);
  return FALSE;
}

sqlite3_stmt *
pl_snapshot_statement (PlSnapshot *snapshot,
                       const char *sql,
                       GError    **error)
{
  sqlite3_stmt *statement = g_hash_table_lookup (snapshot->statements, sql);

  if (statement != NULL)
    {
      sqlite3_reset (statement);
      sqlite3_clear_bindings (statement);
      return statement;
    }
  if (sqlite3_prepare_v3 (snapshot->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL) != SQLITE_OK)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      sqlite3_finalize (statement);
      return NULL;
    }
  g_hash_table_insert (snapshot->statements, (gpointer) sql, statement);
  return statement;
}

static gboolean
exec (sqlite3    *db,
      const char *path,
      const char *sql,
      GError    **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, "cannot update the snapshot", error);
      return FALSE;
    }
  return TRUE;
}

static int
user_version (sqlite3 *db)
{
  sqlite3_stmt *statement = NULL;
  int version = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &statement, NULL) == SQLITE_OK
      && sqlite3_step (statement) == SQLITE_ROW)
    version = sqlite3_column_int (statement, 0);
  sqlite3_finalize (statement);
  return version;
}

/* Applies the migrations from FROM to the current version inside the caller's transaction. */
static gboolean
migrate (sqlite3    *db,
         const char *path,
         int         from,
         int         to,
         GError    **error)
{
  for (int v = from + 1; v <= to; v++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %d", v);

      if (!exec (db, path, migrations[v - 1], error) || !exec (db, path, set_version, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
pl_snapshot_create_at_version (const char *path,
                               int         version,
                               int         raw_user_version,
                               GError    **error)
{
  sqlite3 *db = NULL;
  gboolean ok;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, "cannot create", error);
      sqlite3_close (db);
      return FALSE;
    }
  ok = migrate (db, path, 0, MIN (version, PL_SNAPSHOT_SCHEMA_VERSION), error)
       && exec (db, path, "INSERT INTO meta (key, value) VALUES ('format', 'obo')", error);
  if (ok && raw_user_version > 0)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d", raw_user_version);

      ok = exec (db, path, sql, error);
    }
  sqlite3_close (db);
  return ok;
}

/* ---- import ---------------------------------------------------------------------------------- */

typedef struct {
  sqlite3      *db;
  const char   *path;
  sqlite3_stmt *term, *synonym, *xref, *definition_xref, *alt_id, *consider, *is_a, *system, *text, *meta;
} Writer;

static void
writer_clear (Writer *writer)
{
  sqlite3_stmt **statements[] = { &writer->term, &writer->synonym, &writer->xref, &writer->definition_xref,
                                  &writer->alt_id, &writer->consider, &writer->is_a, &writer->system,
                                  &writer->text, &writer->meta };

  for (guint i = 0; i < G_N_ELEMENTS (statements); i++)
    g_clear_pointer (statements[i], sqlite3_finalize);
}

static gboolean
prepare (Writer        *writer,
         sqlite3_stmt **statement,
         const char    *sql,
         GError       **error)
{
  if (sqlite3_prepare_v2 (writer->db, sql, -1, statement, NULL) != SQLITE_OK)
    {
      set_db_error (writer->db, writer->path, "cannot prepare the snapshot", error);
      return FALSE;
    }
  return TRUE;
}

/* Steps a bound insert and resets it. */
static gboolean
run (Writer       *writer,
     sqlite3_stmt *statement,
     GError      **error)
{
  int rc = sqlite3_step (statement);

  sqlite3_reset (statement);
  sqlite3_clear_bindings (statement);
  if (rc != SQLITE_DONE)
    {
      set_db_error (writer->db, writer->path, "cannot write the snapshot", error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_pairs (Writer       *writer,
             sqlite3_stmt *statement,
             const char   *id,
             GPtrArray    *values,
             GError      **error)
{
  for (guint i = 0; i < values->len; i++)
    {
      sqlite3_bind_text (statement, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_text (statement, 2, g_ptr_array_index (values, i), -1, SQLITE_STATIC);
      if (!run (writer, statement, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_meta (Writer     *writer,
            const char *key,
            const char *value,
            GError    **error)
{
  sqlite3_bind_text (writer->meta, 1, key, -1, SQLITE_STATIC);
  if (value != NULL)
    sqlite3_bind_text (writer->meta, 2, value, -1, SQLITE_TRANSIENT);
  return run (writer, writer->meta, error);
}

static gboolean
write_term (Writer  *writer,
            PlTerm  *term,
            gint64   num,
            GError **error)
{
  g_autofree char *label_fold = pl_snapshot_fold (term->label);
  g_autoptr(GString) synonyms = g_string_new (NULL);

  sqlite3_bind_int64 (writer->term, 1, num);
  sqlite3_bind_text (writer->term, 2, term->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (writer->term, 3, term->label, -1, SQLITE_STATIC);
  sqlite3_bind_text (writer->term, 4, label_fold, -1, SQLITE_STATIC);
  sqlite3_bind_text (writer->term, 5, term->definition, -1, SQLITE_STATIC);
  sqlite3_bind_text (writer->term, 6, term->comment, -1, SQLITE_STATIC);
  sqlite3_bind_int (writer->term, 7, term->obsolete);
  sqlite3_bind_text (writer->term, 8, term->replaced_by, -1, SQLITE_STATIC);
  sqlite3_bind_int (writer->term, 9, term->depth);
  sqlite3_bind_int (writer->term, 10, term->n_children);
  sqlite3_bind_int (writer->term, 11, term->n_descendants);
  if (!run (writer, writer->term, error))
    return FALSE;

  for (guint i = 0; i < term->synonyms->len; i++)
    {
      PlSynonym *synonym = g_ptr_array_index (term->synonyms, i);
      g_autofree char *fold = pl_snapshot_fold (synonym->text);

      sqlite3_bind_text (writer->synonym, 1, term->id, -1, SQLITE_STATIC);
      sqlite3_bind_int (writer->synonym, 2, (int) i);
      sqlite3_bind_text (writer->synonym, 3, synonym->text, -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->synonym, 4, fold, -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->synonym, 5, pl_synonym_scope_to_string (synonym->scope), -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->synonym, 6, synonym->type, -1, SQLITE_STATIC);
      if (!run (writer, writer->synonym, error))
        return FALSE;
      g_string_append_printf (synonyms, "%s%s", i > 0 ? "\n" : "", synonym->text);
    }
  if (!write_pairs (writer, writer->xref, term->id, term->xrefs, error)
      || !write_pairs (writer, writer->definition_xref, term->id, term->definition_xrefs, error)
      || !write_pairs (writer, writer->consider, term->id, term->consider, error)
      || !write_pairs (writer, writer->is_a, term->id, term->parents, error)
      || !write_pairs (writer, writer->system, term->id, term->systems, error))
    return FALSE;
  for (guint i = 0; i < term->alt_ids->len; i++)
    {
      sqlite3_bind_text (writer->alt_id, 1, g_ptr_array_index (term->alt_ids, i), -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->alt_id, 2, term->id, -1, SQLITE_STATIC);
      if (!run (writer, writer->alt_id, error))
        return FALSE;
    }
  /* Obsolete terms stay findable by id but not by text. */
  if (!term->obsolete)
    {
      sqlite3_bind_int64 (writer->text, 1, num);
      sqlite3_bind_text (writer->text, 2, term->label, -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->text, 3, synonyms->str, -1, SQLITE_STATIC);
      sqlite3_bind_text (writer->text, 4, term->definition, -1, SQLITE_STATIC);
      if (!run (writer, writer->text, error))
        return FALSE;
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
write_ontology (Writer       *writer,
                PlOntology   *ontology,
                GCancellable *cancellable,
                GError      **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *import_time = g_date_time_format_iso8601 (now);
  g_autofree char *n_live = g_strdup_printf ("%d", ontology->n_live);
  g_autofree char *n_phenotypic = g_strdup_printf ("%d", ontology->n_phenotypic);

  if (!prepare (writer, &writer->term,
                "INSERT INTO terms (num, id, label, label_fold, definition, comment, obsolete, replaced_by,"
                " depth, n_children, n_descendants) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error)
      || !prepare (writer, &writer->synonym,
                   "INSERT INTO synonyms (term_id, position, synonym, synonym_fold, scope, type)"
                   " VALUES (?, ?, ?, ?, ?, ?)", error)
      || !prepare (writer, &writer->xref, "INSERT OR IGNORE INTO xrefs VALUES (?, ?)", error)
      || !prepare (writer, &writer->definition_xref, "INSERT OR IGNORE INTO definition_xrefs VALUES (?, ?)", error)
      || !prepare (writer, &writer->consider, "INSERT OR IGNORE INTO consider VALUES (?, ?)", error)
      || !prepare (writer, &writer->is_a, "INSERT OR IGNORE INTO is_a (child, parent) VALUES (?, ?)", error)
      || !prepare (writer, &writer->system, "INSERT OR IGNORE INTO term_systems VALUES (?, ?)", error)
      || !prepare (writer, &writer->alt_id, "INSERT OR IGNORE INTO alt_ids (alt_id, term_id) VALUES (?, ?)", error)
      || !prepare (writer, &writer->text,
                   "INSERT INTO term_text (rowid, label, synonyms, definition) VALUES (?, ?, ?, ?)", error)
      || !prepare (writer, &writer->meta, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", error))
    return FALSE;

  for (guint i = 0; i < ontology->terms->len; i++)
    {
      PlTerm *term = g_ptr_array_index (ontology->terms, i);

      if ((i & 1023) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (import_fault_after_terms >= 0 && i == (guint) import_fault_after_terms)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: import interrupted after %u terms (test fault)",
                       writer->path, i);
          return FALSE;
        }
      g_ptr_array_sort (term->systems, compare_strings);
      if (!write_term (writer, term, (gint64) i + 1, error))
        return FALSE;
    }
  return write_meta (writer, "source_path", ontology->source_path, error)
         && write_meta (writer, "source_sha256", ontology->source_sha256, error)
         && write_meta (writer, "data_version", ontology->data_version, error)
         && write_meta (writer, "version_date", ontology->version_date, error)
         && write_meta (writer, "import_time", import_time, error)
         && write_meta (writer, "format", pl_ontology_format_to_string (ontology->format), error)
         && write_meta (writer, "program_version", PACKAGE_VERSION, error)
         && write_meta (writer, "n_live_terms", n_live, error)
         && write_meta (writer, "n_phenotypic", n_phenotypic, error);
}

static gboolean
sync_file (const char *path,
           GError    **error)
{
  int fd = g_open (path, O_RDONLY, 0);
  gboolean ok = fd >= 0 && fsync (fd) == 0;
  int saved = errno;

  if (fd >= 0)
    close (fd);
  if (!ok)
    g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot flush to disk: %s", path, g_strerror (saved));
  return ok;
}

gboolean
pl_snapshot_import (const char   *source,
                    const char   *target,
                    GCancellable *cancellable,
                    GError      **error)
{
  g_autoptr(PlOntology) ontology = NULL;
  g_autofree char *dir = g_path_get_dirname (target);
  g_autofree char *base = g_path_get_basename (target);
  g_autofree char *template = g_strdup_printf ("%s/.%s.import-XXXXXX", dir, base);
  Writer writer = { 0 };
  GStatBuf target_stat;
  gboolean ok = FALSE;
  int fd;

  ontology = pl_ontology_load (source, cancellable, error);
  if (ontology == NULL)
    return FALSE;

  fd = g_mkstemp (template);
  if (fd < 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot create a file in %s: %s", target, dir,
                   g_strerror (errno));
      return FALSE;
    }
  close (fd);
  /* mkstemp makes the file private; a snapshot is as readable as the one it replaces. */
  g_chmod (template, g_stat (target, &target_stat) == 0 ? (target_stat.st_mode & 07777) : 0644);
  writer.path = target;
  if (sqlite3_open_v2 (template, &writer.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    {
      set_db_error (writer.db, target, "cannot create the snapshot", error);
      goto out;
    }
  /* The temporary file is thrown away on any failure, so it needs no rollback journal. */
  ok = exec (writer.db, target, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN", error)
       && migrate (writer.db, target, 0, PL_SNAPSHOT_SCHEMA_VERSION, error)
       && write_ontology (&writer, ontology, cancellable, error)
       && exec (writer.db, target, "INSERT INTO term_text (term_text) VALUES ('optimize'); COMMIT", error)
       && exec (writer.db, target, "PRAGMA journal_mode = WAL", error);
  writer_clear (&writer);
  if (sqlite3_close (writer.db) != SQLITE_OK && ok)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot close the new snapshot", target);
      ok = FALSE;
    }
  writer.db = NULL;
  ok = ok && sync_file (template, error);
  if (ok && g_rename (template, target) != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot replace the snapshot: %s", target, g_strerror (errno));
      ok = FALSE;
    }

out:
  if (writer.db != NULL)
    {
      writer_clear (&writer);
      sqlite3_close (writer.db);
    }
  if (!ok)
    g_unlink (template);
  return ok;
}

/* ---- opening --------------------------------------------------------------------------------- */

static sqlite3 *
open_connection (const char *path,
                 gboolean    read_only,
                 gboolean    immutable,
                 GError    **error)
{
  sqlite3 *db = NULL;
  g_autofree char *uri = NULL;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_URI;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);

  /* An immutable URI lets SQLite read a WAL-mode file where it cannot create the -shm file. */
  uri = g_filename_to_uri (absolute, NULL, NULL);
  if (uri == NULL)
    uri = g_strdup (absolute);
  else if (immutable)
    {
      char *with_query = g_strconcat (uri, "?immutable=1", NULL);

      g_free (uri);
      uri = with_query;
    }
  if (sqlite3_open_v2 (uri, &db, flags, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, "cannot open the snapshot", error);
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 0);
  return db;
}

PlSnapshot *
pl_snapshot_open (const char          *path,
                  PlSnapshotOpenFlags  flags,
                  GError             **error)
{
  g_autoptr(PlSnapshot) snapshot = g_new0 (PlSnapshot, 1);
  sqlite3_stmt *statement = NULL;
  gboolean is_snapshot = FALSE;
  int version;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: no such snapshot file", path);
      return NULL;
    }
  snapshot->path = g_strdup (path);
  snapshot->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                (GDestroyNotify) sqlite3_finalize);
  snapshot->read_only = (flags & PL_SNAPSHOT_OPEN_READ_ONLY) != 0 || g_access (path, W_OK) != 0;
  snapshot->db = open_connection (path, snapshot->read_only, FALSE, error);
  if (snapshot->db == NULL)
    return NULL;
  version = user_version (snapshot->db);
  if (version < 0 && snapshot->read_only && sqlite3_errcode (snapshot->db) == SQLITE_CANTOPEN)
    {
      sqlite3_close (snapshot->db);
      snapshot->db = open_connection (path, TRUE, TRUE, error);
      if (snapshot->db == NULL)
        return NULL;
      version = user_version (snapshot->db);
    }
  if (version < 0)
    {
      set_db_error (snapshot->db, path, "not a PhenoLIP snapshot", error);
      return NULL;
    }
  if (version > PL_SNAPSHOT_SCHEMA_VERSION)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: this snapshot was written by a newer version of PhenoLIP Explorer (schema %d; "
                   "this program reads schemas up to %d); update the program or re-import the ontology",
                   path, version, PL_SNAPSHOT_SCHEMA_VERSION);
      return NULL;
    }
  if (version >= 1
      && sqlite3_prepare_v2 (snapshot->db, "SELECT 1 FROM meta WHERE key = 'format'", -1, &statement, NULL) == SQLITE_OK
      && sqlite3_step (statement) == SQLITE_ROW)
    is_snapshot = TRUE;
  sqlite3_finalize (statement);
  if (!is_snapshot)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: not a PhenoLIP snapshot (an SQLite file without the snapshot tables)", path);
      return NULL;
    }
  if (version < PL_SNAPSHOT_SCHEMA_VERSION && !snapshot->read_only)
    {
      if (!exec (snapshot->db, path, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!migrate (snapshot->db, path, version, PL_SNAPSHOT_SCHEMA_VERSION, error))
        {
          exec (snapshot->db, path, "ROLLBACK", NULL);
          return NULL;
        }
      if (!exec (snapshot->db, path, "COMMIT", error))
        return NULL;
      version = PL_SNAPSHOT_SCHEMA_VERSION;
    }
  snapshot->schema_version = version;
  if (!snapshot->read_only)
    exec (snapshot->db, path, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON", NULL);
  return g_steal_pointer (&snapshot);
}

void
pl_snapshot_free (PlSnapshot *snapshot)
{
  if (snapshot == NULL)
    return;
  g_clear_pointer (&snapshot->statements, g_hash_table_unref);
  if (snapshot->db != NULL)
    sqlite3_close (snapshot->db);
  g_free (snapshot->path);
  g_free (snapshot);
}

const char *
pl_snapshot_get_path (PlSnapshot *snapshot)
{
  return snapshot->path;
}

gboolean
pl_snapshot_is_read_only (PlSnapshot *snapshot)
{
  return snapshot->read_only;
}

int
pl_snapshot_get_schema_version (PlSnapshot *snapshot)
{
  return snapshot->schema_version;
}

/* ---- info ------------------------------------------------------------------------------------ */

void
pl_snapshot_info_free (PlSnapshotInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->source_path);
  g_free (info->source_sha256);
  g_free (info->data_version);
  g_free (info->version_date);
  g_free (info->import_time);
  g_free (info->format);
  g_free (info);
}

static int
count (PlSnapshot *snapshot,
       const char *sql,
       GError    **error)
{
  sqlite3_stmt *statement = pl_snapshot_statement (snapshot, sql, error);

  if (statement == NULL)
    return -1;
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return -1;
    }
  return sqlite3_column_int (statement, 0);
}

PlSnapshotInfo *
pl_snapshot_get_info (PlSnapshot *snapshot,
                      GError    **error)
{
  g_autoptr(PlSnapshotInfo) info = g_new0 (PlSnapshotInfo, 1);
  sqlite3_stmt *statement = pl_snapshot_statement (snapshot, "SELECT key, value FROM meta", error);
  int rc;

  if (statement == NULL)
    return NULL;
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (statement, 0);
      const char *value = (const char *) sqlite3_column_text (statement, 1);
      char **slot = NULL;

      if (g_strcmp0 (key, "source_path") == 0)
        slot = &info->source_path;
      else if (g_strcmp0 (key, "source_sha256") == 0)
        slot = &info->source_sha256;
      else if (g_strcmp0 (key, "data_version") == 0)
        slot = &info->data_version;
      else if (g_strcmp0 (key, "version_date") == 0)
        slot = &info->version_date;
      else if (g_strcmp0 (key, "import_time") == 0)
        slot = &info->import_time;
      else if (g_strcmp0 (key, "format") == 0)
        slot = &info->format;
      else if (g_strcmp0 (key, "n_phenotypic") == 0 && value != NULL)
        info->n_phenotypic = atoi (value);
      if (slot != NULL)
        {
          g_free (*slot);
          *slot = g_strdup (value);
        }
    }
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "cannot read the snapshot's metadata", error);
      return NULL;
    }
  info->schema_version = snapshot->schema_version;
  if ((info->n_terms = count (snapshot, "SELECT count(*) FROM terms", error)) < 0
      || (info->n_live_terms = count (snapshot, "SELECT count(*) FROM terms WHERE obsolete = 0", error)) < 0
      || (info->n_synonyms = count (snapshot, "SELECT count(*) FROM synonyms", error)) < 0
      || (info->n_is_a = count (snapshot, "SELECT count(*) FROM is_a", error)) < 0
      || (info->n_alt_ids = count (snapshot, "SELECT count(*) FROM alt_ids", error)) < 0)
    return NULL;
  if (snapshot->schema_version >= 2 && (info->n_pairs = count (snapshot, "SELECT count(*) FROM pairs", error)) < 0)
    return NULL;
  return g_steal_pointer (&info);
}

char *
pl_snapshot_info_attribution (const PlSnapshotInfo *info)
{
  return g_strdup_printf ("This product uses the Human Phenotype Ontology (version %s). "
                          "Köhler S et al. The Human Phenotype Ontology in 2021. Nucleic Acids Res. "
                          "2021;49(D1):D1207-D1217. https://hpo.jax.org",
                          info->version_date ? info->version_date
                          : info->data_version ? info->data_version : "unknown");
}
