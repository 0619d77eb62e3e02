/* pl-eval-store.c: the evaluation tables of the workspace database: embedding caches keyed by
 * checkpoint fingerprint and content hash, file-hash memo, finished runs and their scores. */
#include "data/pl-eval-store.h"

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stddef.h>
#include <string.h>

#include "model/pl-error.h"

struct _PlEvalStore {
  sqlite3    *db;
  char       *path;
  GHashTable *statements;   /* SQL (static string) -> sqlite3_stmt* */
};

static const char *schema_v1 =
  "CREATE TABLE IF NOT EXISTS eval_file_hashes ("
  "  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_us INTEGER NOT NULL, inode INTEGER NOT NULL,"
  "  sha256 TEXT NOT NULL);"
  "CREATE TABLE IF NOT EXISTS eval_image_embeddings ("
  "  checkpoint TEXT NOT NULL, content_sha256 TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
  "  PRIMARY KEY (checkpoint, content_sha256)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS eval_text_embeddings ("
  "  checkpoint TEXT NOT NULL, text_sha256 TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
  "  PRIMARY KEY (checkpoint, text_sha256)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS eval_runs ("
  "  run_id INTEGER PRIMARY KEY, started TEXT NOT NULL, duration REAL NOT NULL,"
  "  checkpoint_path TEXT, checkpoint_fingerprint TEXT NOT NULL, demo INTEGER NOT NULL,"
  "  snapshot_path TEXT, snapshot_source_sha256 TEXT, snapshot_version TEXT,"
  "  manifest_path TEXT, manifest_sha256 TEXT NOT NULL, templates TEXT NOT NULL,"
  "  n_records INTEGER, n_pairs INTEGER, n_phenotypes INTEGER, images_encoded INTEGER, images_cached INTEGER,"
  "  texts_encoded INTEGER, texts_cached INTEGER, threads INTEGER, report TEXT);"
  "CREATE TABLE IF NOT EXISTS eval_scores ("
  "  run_id INTEGER NOT NULL REFERENCES eval_runs (run_id) ON DELETE CASCADE,"
  "  scope TEXT NOT NULL, scope_label TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,"
  "  PRIMARY KEY (run_id, scope, metric)) WITHOUT ROWID;";

void
pl_eval_run_free (PlEvalRun *run)
{
  if (run == NULL)
    return;
  g_free (run->started);
  g_free (run->checkpoint_path);
  g_free (run->checkpoint_fingerprint);
  g_free (run->snapshot_path);
  g_free (run->snapshot_source_sha256);
  g_free (run->snapshot_version);
  g_free (run->manifest_path);
  g_free (run->manifest_sha256);
  g_strfreev (run->templates);
  g_free (run->report_json);
  pl_bench_metrics_free (run->metrics);
  g_free (run);
}

static gboolean
set_sqlite_error (PlEvalStore *store,
                  const char  *what,
                  GError     **error)
{
  g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: %s: %s", store->path, what, sqlite3_errmsg (store->db));
  return FALSE;
}

static sqlite3_stmt *
statement (PlEvalStore *store,
           const char  *sql,
           GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (store->statements, sql);

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (store, "preparing a statement", error);
      return NULL;
    }
  g_hash_table_insert (store->statements, (gpointer) sql, stmt);
  return stmt;
}

static gboolean
exec (PlEvalStore *store,
      const char  *sql,
      GError     **error)
{
  if (sqlite3_exec (store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_sqlite_error (store, sql, error);
  return TRUE;
}

void
pl_eval_store_free (PlEvalStore *store)
{
  if (store == NULL)
    return;
  g_clear_pointer (&store->statements, g_hash_table_unref);
  sqlite3_close (store->db);
  g_free (store->path);
  g_free (store);
}

const char *
pl_eval_store_get_path (PlEvalStore *store)
{
  return store->path;
}

PlEvalStore *
pl_eval_store_open (const char  *path,
                    GError     **error)
{
  g_autoptr(PlEvalStore) store = g_new0 (PlEvalStore, 1);
  g_autofree char *folder = g_path_get_dirname (path);
  sqlite3_stmt *stmt;
  int version = 0;

  store->path = g_strdup (path);
  store->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) sqlite3_finalize);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot create the folder: %s", path, g_strerror (errno));
      return NULL;
    }
  if (sqlite3_open_v2 (path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      set_sqlite_error (store, "cannot open the workspace", error);
      return NULL;
    }
  sqlite3_busy_timeout (store->db, 5000);
  if (!exec (store, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", error)
      || !exec (store, "CREATE TABLE IF NOT EXISTS schema_components (component TEXT PRIMARY KEY,"
                       " version INTEGER NOT NULL)", error))
    {
      if (error && *error && strstr ((*error)->message, "not a database"))
        {
          g_clear_error (error);
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: not a workspace database", path);
        }
      return NULL;
    }
  if ((stmt = statement (store, "SELECT version FROM schema_components WHERE component = 'evaluation'", error)) == NULL)
    return NULL;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_reset (stmt);
  if (version > PL_EVAL_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: evaluation tables of version %d, from a newer PhenoLIP Explorer (this one reads %d)",
                   path, version, PL_EVAL_STORE_SCHEMA_VERSION);
      return NULL;
    }
  if (version < PL_EVAL_STORE_SCHEMA_VERSION)
    {
      /* Migrations from older versions go here, one step per version, in one transaction. */
      if (!exec (store, "BEGIN IMMEDIATE", error))
        return NULL;
      if (!exec (store, schema_v1, error)
          || !exec (store, "INSERT OR REPLACE INTO schema_components VALUES ('evaluation', 1)", error)
          || !exec (store, "COMMIT", error))
        {
          sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
          return NULL;
        }
    }
  return g_steal_pointer (&store);
}

gboolean
pl_eval_store_lookup_file_hash (PlEvalStore *store,
                                const char  *path,
                                gint64       size,
                                gint64       mtime_us,
                                gint64       inode,
                                char        *sha256_hex)
{
  sqlite3_stmt *stmt = statement (store, "SELECT sha256 FROM eval_file_hashes WHERE path = ?1 AND size = ?2"
                                         " AND mtime_us = ?3 AND inode = ?4", NULL);
  gboolean found = FALSE;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, size);
  sqlite3_bind_int64 (stmt, 3, mtime_us);
  sqlite3_bind_int64 (stmt, 4, inode);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_bytes (stmt, 0) == 64)
    {
      memcpy (sha256_hex, sqlite3_column_text (stmt, 0), 65);
      found = TRUE;
    }
  sqlite3_reset (stmt);
  return found;
}

gboolean
pl_eval_store_remember_file_hash (PlEvalStore *store,
                                  const char  *path,
                                  gint64       size,
                                  gint64       mtime_us,
                                  gint64       inode,
                                  const char  *sha256_hex,
                                  GError     **error)
{
  sqlite3_stmt *stmt = statement (store, "INSERT OR REPLACE INTO eval_file_hashes VALUES (?1, ?2, ?3, ?4, ?5)", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, size);
  sqlite3_bind_int64 (stmt, 3, mtime_us);
  sqlite3_bind_int64 (stmt, 4, inode);
  sqlite3_bind_text (stmt, 5, sha256_hex, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE || set_sqlite_error (store, "remembering a file hash", error);
}

GHashTable *
pl_eval_store_list_embedded (PlEvalStore         *store,
                             PlEvalEmbeddingKind  kind,
                             const char          *fingerprint,
                             GError             **error)
{
  sqlite3_stmt *stmt = statement (store, kind == PL_EVAL_EMBEDDING_IMAGE
                                  ? "SELECT content_sha256 FROM eval_image_embeddings WHERE checkpoint = ?1"
                                  : "SELECT text_sha256 FROM eval_text_embeddings WHERE checkpoint = ?1", error);
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, fingerprint, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_add (keys, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (store, "listing cached embeddings", error);
      return NULL;
    }
  return g_steal_pointer (&keys);
}

gboolean
pl_eval_store_get_embedding (PlEvalStore         *store,
                             PlEvalEmbeddingKind  kind,
                             const char          *fingerprint,
                             const char          *key,
                             int                  dim,
                             float               *out)
{
  sqlite3_stmt *stmt = statement (store, kind == PL_EVAL_EMBEDDING_IMAGE
    ? "SELECT vector FROM eval_image_embeddings WHERE checkpoint = ?1 AND content_sha256 = ?2 AND dim = ?3"
    : "SELECT vector FROM eval_text_embeddings WHERE checkpoint = ?1 AND text_sha256 = ?2 AND dim = ?3", NULL);
  gboolean found = FALSE;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, fingerprint, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, dim);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_bytes (stmt, 0) == (int) (dim * sizeof (float)))
    {
      memcpy (out, sqlite3_column_blob (stmt, 0), dim * sizeof (float));
      found = TRUE;
    }
  sqlite3_reset (stmt);
  return found;
}

gboolean
pl_eval_store_put_embeddings (PlEvalStore         *store,
                              PlEvalEmbeddingKind  kind,
                              const char          *fingerprint,
                              int                  n,
                              const char * const  *keys,
                              int                  dim,
                              const float         *vectors,
                              GError             **error)
{
  sqlite3_stmt *stmt;

  if (!exec (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  stmt = statement (store, kind == PL_EVAL_EMBEDDING_IMAGE
                    ? "INSERT OR REPLACE INTO eval_image_embeddings VALUES (?1, ?2, ?3, ?4)"
                    : "INSERT OR REPLACE INTO eval_text_embeddings VALUES (?1, ?2, ?3, ?4)", error);
  for (int i = 0; stmt != NULL && i < n; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, fingerprint, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, keys[i], -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, dim);
      sqlite3_bind_blob (stmt, 4, vectors + (gsize) i * dim, dim * sizeof (float), SQLITE_STATIC);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          set_sqlite_error (store, "storing embeddings", error);
          stmt = NULL;
        }
    }
  if (stmt != NULL)
    sqlite3_reset (stmt);
  if (stmt == NULL || !exec (store, "COMMIT", error))
    {
      sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

gint64
pl_eval_store_count_embeddings (PlEvalStore         *store,
                                PlEvalEmbeddingKind  kind,
                                const char          *fingerprint)
{
  sqlite3_stmt *stmt = statement (store, kind == PL_EVAL_EMBEDDING_IMAGE
                                  ? "SELECT count(*) FROM eval_image_embeddings WHERE checkpoint = ?1"
                                  : "SELECT count(*) FROM eval_text_embeddings WHERE checkpoint = ?1", NULL);
  gint64 n = -1;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, fingerprint, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
}

/* ---- scores <-> rows ------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  gsize       offset;
  gboolean    is_count;   /* guint field */
} MetricField;

#define RETRIEVAL_FIELDS(task) \
  { #task "_r1", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, r1), FALSE }, \
  { #task "_r5", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, r5), FALSE }, \
  { #task "_r10", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, r10), FALSE }, \
  { #task "_r50", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, r50), FALSE }, \
  { #task "_median_rank", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, median_rank), FALSE }, \
  { #task "_queries", offsetof (PlBenchScores, task) + offsetof (PlRetrievalScores, n_queries), TRUE }

static const MetricField metric_fields[] = {
  { "n_pairs", offsetof (PlBenchScores, n_pairs), TRUE },
  { "n_phenotypes", offsetof (PlBenchScores, n_phenotypes), TRUE },
  { "n_classified", offsetof (PlBenchScores, n_classified), TRUE },
  { "classification_top1", offsetof (PlBenchScores, top1), FALSE },
  { "classification_top5", offsetof (PlBenchScores, top5), FALSE },
  RETRIEVAL_FIELDS (i2t),
  RETRIEVAL_FIELDS (t2i),
  RETRIEVAL_FIELDS (i2p),
  RETRIEVAL_FIELDS (p2i),
};

const char * const *
pl_bench_metric_names (void)
{
  static const char *names[G_N_ELEMENTS (metric_fields) + 1];

  if (names[0] == NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (metric_fields); i++)
      names[i] = metric_fields[i].name;
  return names;
}

static const MetricField *
find_field (const char *metric)
{
  for (gsize i = 0; i < G_N_ELEMENTS (metric_fields); i++)
    if (strcmp (metric_fields[i].name, metric) == 0)
      return &metric_fields[i];
  return NULL;
}

double
pl_bench_scores_get (const PlBenchScores *scores,
                     const char          *metric)
{
  const MetricField *field = find_field (metric);
  const char *base = (const char *) scores;

  if (field == NULL)
    return 0;
  return field->is_count ? *(const guint *) (base + field->offset) : *(const double *) (base + field->offset);
}

static void
scores_set (PlBenchScores *scores,
            const char    *metric,
            double         value)
{
  const MetricField *field = find_field (metric);
  char *base = (char *) scores;

  if (field == NULL)
    return;  /* a metric a newer version added */
  if (field->is_count)
    *(guint *) (base + field->offset) = (guint) value;
  else
    *(double *) (base + field->offset) = value;
}

static gboolean
add_scores (PlEvalStore         *store,
            gint64               run_id,
            const PlBenchScores *scores,
            GError             **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (metric_fields); i++)
    {
      sqlite3_stmt *stmt = statement (store, "INSERT INTO eval_scores VALUES (?1, ?2, ?3, ?4, ?5)", error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, run_id);
      sqlite3_bind_text (stmt, 2, scores->system_id ? scores->system_id : "", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, scores->system_label ? scores->system_label : "all pairs", -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, metric_fields[i].name, -1, SQLITE_STATIC);
      sqlite3_bind_double (stmt, 5, pl_bench_scores_get (scores, metric_fields[i].name));
      if (sqlite3_step (stmt) != SQLITE_DONE)
        return set_sqlite_error (store, "storing scores", error);
      sqlite3_reset (stmt);
    }
  return TRUE;
}

gboolean
pl_eval_store_add_run (PlEvalStore *store,
                       PlEvalRun   *run,
                       GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *templates = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  json_builder_begin_array (builder);
  for (char **t = run->templates; t && *t; t++)
    json_builder_add_string_value (builder, *t);
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  templates = json_generator_to_data (generator, NULL);

  if (!exec (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  stmt = statement (store,
    "INSERT INTO eval_runs (started, duration, checkpoint_path, checkpoint_fingerprint, demo, snapshot_path,"
    " snapshot_source_sha256, snapshot_version, manifest_path, manifest_sha256, templates, n_records, n_pairs,"
    " n_phenotypes, images_encoded, images_cached, texts_encoded, texts_cached, threads, report)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, run->started, -1, SQLITE_STATIC);
      sqlite3_bind_double (stmt, 2, run->duration);
      sqlite3_bind_text (stmt, 3, run->checkpoint_path, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, run->checkpoint_fingerprint, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 5, run->demo);
      sqlite3_bind_text (stmt, 6, run->snapshot_path, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 7, run->snapshot_source_sha256, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 8, run->snapshot_version, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 9, run->manifest_path, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 10, run->manifest_sha256, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 11, templates, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 12, run->n_records);
      sqlite3_bind_int (stmt, 13, run->n_pairs);
      sqlite3_bind_int (stmt, 14, run->n_phenotypes);
      sqlite3_bind_int (stmt, 15, run->images_encoded);
      sqlite3_bind_int (stmt, 16, run->images_cached);
      sqlite3_bind_int (stmt, 17, run->texts_encoded);
      sqlite3_bind_int (stmt, 18, run->texts_cached);
      sqlite3_bind_int (stmt, 19, run->threads);
      sqlite3_bind_text (stmt, 20, run->report_json, -1, SQLITE_STATIC);
      ok = sqlite3_step (stmt) == SQLITE_DONE || set_sqlite_error (store, "storing a run", error);
      sqlite3_reset (stmt);
    }
  if (ok)
    {
      run->id = sqlite3_last_insert_rowid (store->db);
      ok = add_scores (store, run->id, run->metrics->overall, error);
      for (guint i = 0; ok && i < run->metrics->systems->len; i++)
        ok = add_scores (store, run->id, run->metrics->systems->pdata[i], error);
    }
  if (!ok || !exec (store, "COMMIT", error))
    {
      sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static char *
column_strdup (sqlite3_stmt *stmt,
               int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

static char **
parse_templates (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) list = g_ptr_array_new ();
  JsonNode *root;

  if (json != NULL && json_parser_load_from_data (parser, json, -1, NULL)
      && JSON_NODE_HOLDS_ARRAY (root = json_parser_get_root (parser)))
    {
      JsonArray *array = json_node_get_array (root);

      for (guint i = 0; i < json_array_get_length (array); i++)
        g_ptr_array_add (list, g_strdup (json_array_get_string_element (array, i)));
    }
  g_ptr_array_add (list, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&list), FALSE);
}

#define RUN_COLUMNS \
  "run_id, started, duration, checkpoint_path, checkpoint_fingerprint, demo, snapshot_path," \
  " snapshot_source_sha256, snapshot_version, manifest_path, manifest_sha256, templates, n_records, n_pairs," \
  " n_phenotypes, images_encoded, images_cached, texts_encoded, texts_cached, threads, report"

static PlEvalRun *
run_from_row (sqlite3_stmt *stmt)
{
  PlEvalRun *run = g_new0 (PlEvalRun, 1);

  run->id = sqlite3_column_int64 (stmt, 0);
  run->started = column_strdup (stmt, 1);
  run->duration = sqlite3_column_double (stmt, 2);
  run->checkpoint_path = column_strdup (stmt, 3);
  run->checkpoint_fingerprint = column_strdup (stmt, 4);
  run->demo = sqlite3_column_int (stmt, 5);
  run->snapshot_path = column_strdup (stmt, 6);
  run->snapshot_source_sha256 = column_strdup (stmt, 7);
  run->snapshot_version = column_strdup (stmt, 8);
  run->manifest_path = column_strdup (stmt, 9);
  run->manifest_sha256 = column_strdup (stmt, 10);
  run->templates = parse_templates ((const char *) sqlite3_column_text (stmt, 11));
  run->n_records = sqlite3_column_int (stmt, 12);
  run->n_pairs = sqlite3_column_int (stmt, 13);
  run->n_phenotypes = sqlite3_column_int (stmt, 14);
  run->images_encoded = sqlite3_column_int (stmt, 15);
  run->images_cached = sqlite3_column_int (stmt, 16);
  run->texts_encoded = sqlite3_column_int (stmt, 17);
  run->texts_cached = sqlite3_column_int (stmt, 18);
  run->threads = sqlite3_column_int (stmt, 19);
  run->report_json = column_strdup (stmt, 20);
  return run;
}

/* Fills RUN->metrics from eval_scores (only the overall scope unless ALL_SCOPES). */
static gboolean
load_scores (PlEvalStore *store,
             PlEvalRun   *run,
             gboolean     all_scopes,
             GError     **error)
{
  sqlite3_stmt *stmt = statement (store, "SELECT scope, scope_label, metric, value FROM eval_scores WHERE run_id = ?1"
                                         " AND (?2 OR scope = '') ORDER BY scope_label, scope", error);
  g_autoptr(GHashTable) scopes = g_hash_table_new (g_str_hash, g_str_equal);
  int rc;

  if (stmt == NULL)
    return FALSE;
  run->metrics = g_new0 (PlBenchMetrics, 1);
  run->metrics->overall = g_new0 (PlBenchScores, 1);
  run->metrics->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_bench_scores_free);
  sqlite3_bind_int64 (stmt, 1, run->id);
  sqlite3_bind_int (stmt, 2, all_scopes);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *scope = (const char *) sqlite3_column_text (stmt, 0);
      PlBenchScores *scores;

      if (*scope == '\0')
        scores = run->metrics->overall;
      else if ((scores = g_hash_table_lookup (scopes, scope)) == NULL)
        {
          scores = g_new0 (PlBenchScores, 1);
          scores->system_id = g_strdup (scope);
          scores->system_label = column_strdup (stmt, 1);
          g_ptr_array_add (run->metrics->systems, scores);
          g_hash_table_insert (scopes, scores->system_id, scores);
        }
      scores_set (scores, (const char *) sqlite3_column_text (stmt, 2), sqlite3_column_double (stmt, 3));
    }
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE || set_sqlite_error (store, "reading scores", error);
}

GPtrArray *
pl_eval_store_list_runs (PlEvalStore *store,
                         GError     **error)
{
  sqlite3_stmt *stmt = statement (store, "SELECT " RUN_COLUMNS " FROM eval_runs ORDER BY run_id DESC", error);
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_eval_run_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (runs, run_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (store, "listing runs", error);
      return NULL;
    }
  for (guint i = 0; i < runs->len; i++)
    if (!load_scores (store, runs->pdata[i], FALSE, error))
      return NULL;
  return g_steal_pointer (&runs);
}

PlEvalRun *
pl_eval_store_get_run (PlEvalStore *store,
                       gint64       id,
                       GError     **error)
{
  sqlite3_stmt *stmt = statement (store, "SELECT " RUN_COLUMNS " FROM eval_runs WHERE run_id = ?1", error);
  g_autoptr(PlEvalRun) run = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    run = run_from_row (stmt);
  sqlite3_reset (stmt);
  if (run == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID, "%s: no evaluation run %" G_GINT64_FORMAT, store->path, id);
      return NULL;
    }
  if (!load_scores (store, run, TRUE, error))
    return NULL;
  return g_steal_pointer (&run);
}

/* ---- exports --------------------------------------------------------------------------------- */

static void
add_scores_json (JsonBuilder         *builder,
                 const PlBenchScores *scores)
{
  json_builder_begin_object (builder);
  if (scores->system_id != NULL)
    {
      json_builder_set_member_name (builder, "system_id");
      json_builder_add_string_value (builder, scores->system_id);
      json_builder_set_member_name (builder, "system_label");
      json_builder_add_string_value (builder, scores->system_label);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (metric_fields); i++)
    {
      json_builder_set_member_name (builder, metric_fields[i].name);
      if (metric_fields[i].is_count)
        json_builder_add_int_value (builder, (gint64) pl_bench_scores_get (scores, metric_fields[i].name));
      else
        json_builder_add_double_value (builder, pl_bench_scores_get (scores, metric_fields[i].name));
    }
  json_builder_end_object (builder);
}

char *
pl_eval_run_to_json (const PlEvalRun *run)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

#define STR(name, value) G_STMT_START { json_builder_set_member_name (builder, name); \
    if ((value) != NULL) json_builder_add_string_value (builder, value); else json_builder_add_null_value (builder); } G_STMT_END
#define INT(name, value) G_STMT_START { json_builder_set_member_name (builder, name); \
    json_builder_add_int_value (builder, value); } G_STMT_END
  json_builder_begin_object (builder);
  INT ("run", run->id);
  STR ("started", run->started);
  json_builder_set_member_name (builder, "duration_seconds");
  json_builder_add_double_value (builder, run->duration);
  STR ("checkpoint", run->checkpoint_path);
  STR ("checkpoint_fingerprint", run->checkpoint_fingerprint);
  json_builder_set_member_name (builder, "demo_checkpoint");
  json_builder_add_boolean_value (builder, run->demo);
  STR ("snapshot", run->snapshot_path);
  STR ("snapshot_source_sha256", run->snapshot_source_sha256);
  STR ("snapshot_version", run->snapshot_version);
  STR ("manifest", run->manifest_path);
  STR ("manifest_sha256", run->manifest_sha256);
  json_builder_set_member_name (builder, "templates");
  json_builder_begin_array (builder);
  for (char **t = run->templates; t && *t; t++)
    json_builder_add_string_value (builder, *t);
  json_builder_end_array (builder);
  INT ("records", run->n_records);
  INT ("pairs", run->n_pairs);
  INT ("phenotypes", run->n_phenotypes);
  INT ("images_encoded", run->images_encoded);
  INT ("images_cached", run->images_cached);
  INT ("texts_encoded", run->texts_encoded);
  INT ("texts_cached", run->texts_cached);
  INT ("threads", run->threads);
  json_builder_set_member_name (builder, "report");
  if (run->report_json != NULL && json_parser_load_from_data (parser, run->report_json, -1, NULL))
    json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "overall");
  add_scores_json (builder, run->metrics->overall);
  json_builder_set_member_name (builder, "systems");
  json_builder_begin_array (builder);
  for (guint i = 0; i < run->metrics->systems->len; i++)
    add_scores_json (builder, run->metrics->systems->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
#undef STR
#undef INT
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

/* RFC 4180 quoting when needed. */
static void
csv_field (GString    *out,
           const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = text; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
csv_scores (GString             *out,
            const PlBenchScores *scores)
{
  for (gsize i = 0; i < G_N_ELEMENTS (metric_fields); i++)
    {
      char number[G_ASCII_DTOSTR_BUF_SIZE];

      csv_field (out, scores->system_id ? scores->system_id : "");
      g_string_append_c (out, ',');
      csv_field (out, scores->system_label ? scores->system_label : "all pairs");
      g_string_append_printf (out, ",%u,%s,%s\r\n", scores->n_pairs, metric_fields[i].name,
                              g_ascii_formatd (number, sizeof number, "%.6g",
                                               pl_bench_scores_get (scores, metric_fields[i].name)));
    }
}

char *
pl_eval_run_to_csv (const PlEvalRun *run)
{
  GString *out = g_string_new ("scope_id,scope_label,n_pairs,metric,value\r\n");

  csv_scores (out, run->metrics->overall);
  for (guint i = 0; i < run->metrics->systems->len; i++)
    csv_scores (out, run->metrics->systems->pdata[i]);
  return g_string_free (out, FALSE);
}
