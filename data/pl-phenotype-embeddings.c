/* pl-phenotype-embeddings.c: computing, storing and loading the phenotype text embeddings of a
 * snapshot for one checkpoint and prompt-template set. */
#include "data/pl-phenotype-embeddings.h"

#include <math.h>
#include <string.h>

#include "data/pl-snapshot-private.h"
#include "model/pl-error.h"

/* Terms embedded per transaction: small enough that cancelling answers within a second on the
 * full-size model, large enough that the text tower gets full batches. */
#define PL_EMBED_CHUNK_TERMS 64

const char * const pl_default_phenotype_templates[] = {
  "{}",
  "A medical image showing {}.",
  "An image of a patient with {}.",
  "A clinical photograph of {}.",
  NULL,
};

#define DESCENDANTS_SQL \
  "WITH RECURSIVE sub (id) AS (SELECT ?1 UNION SELECT is_a.child FROM is_a JOIN sub ON is_a.parent = sub.id) "

static const char * const *
resolve_templates (const char * const *templates)
{
  return templates != NULL && templates[0] != NULL ? templates : pl_default_phenotype_templates;
}

char *
pl_phenotype_templates_key (const char * const *templates)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint n = 0;

  templates = resolve_templates (templates);
  for (; templates[n] != NULL; n++)
    g_checksum_update (sum, (const guchar *) templates[n], strlen (templates[n]) + 1);
  /* Readable prefix, exact hash: "4 templates/1f2e..." */
  return g_strdup_printf ("%u templates/%.16s", n, g_checksum_get_string (sum));
}

/* "{}" replaced by LABEL (every occurrence; a template without one gets the label appended). */
static char *
format_template (const char *template,
                 const char *label)
{
  g_auto(GStrv) parts = NULL;

  if (strstr (template, "{}") == NULL)
    return g_strconcat (template, " ", label, NULL);
  parts = g_strsplit (template, "{}", -1);
  return g_strjoinv (label, parts);
}

/* The set id for (checkpoint, templates), created when CREATE is set; 0 when absent. */
static gint64
embedding_set_id (PlSnapshot   *snapshot,
                  const PlClip *clip,
                  const char   *key,
                  gboolean      create,
                  GError      **error)
{
  sqlite3_stmt *select = pl_snapshot_statement (snapshot,
    "SELECT set_id, dimension FROM embedding_sets WHERE checkpoint_fingerprint = ?1 AND template_set = ?2",
    error);
  sqlite3_stmt *insert;
  gint64 id = 0;

  if (select == NULL)
    return -1;
  sqlite3_bind_text (select, 1, pl_clip_get_fingerprint (clip), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (select, 2, key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (select) == SQLITE_ROW)
    {
      id = sqlite3_column_int64 (select, 0);
      if (sqlite3_column_int (select, 1) != pl_clip_get_embed_dim (clip))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: stored phenotype embeddings have %d dimensions, the checkpoint gives %d",
                       pl_snapshot_get_path (snapshot), sqlite3_column_int (select, 1), pl_clip_get_embed_dim (clip));
          sqlite3_reset (select);
          return -1;
        }
    }
  sqlite3_reset (select);
  if (id != 0 || !create)
    return id;

  if (!pl_snapshot_check_writable (snapshot, "store phenotype embeddings", error))
    return -1;
  insert = pl_snapshot_statement (snapshot,
    "INSERT INTO embedding_sets (checkpoint_fingerprint, template_set, dimension, created)"
    " VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", error);
  if (insert == NULL)
    return -1;
  sqlite3_bind_text (insert, 1, pl_clip_get_fingerprint (clip), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 2, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (insert, 3, pl_clip_get_embed_dim (clip));
  if (sqlite3_step (insert) != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "creating an embedding set", error);
      sqlite3_reset (insert);
      return -1;
    }
  sqlite3_reset (insert);
  return sqlite3_last_insert_rowid (snapshot->db);
}

typedef struct {
  char *id;
  char *label;
  int   n_tokens;
} Pending;

static void
pending_clear (gpointer data)
{
  Pending *p = data;

  g_free (p->id);
  g_free (p->label);
}

static int
compare_pending (gconstpointer a,
                 gconstpointer b)
{
  const Pending *x = a, *y = b;

  if (x->n_tokens != y->n_tokens)
    return x->n_tokens < y->n_tokens ? -1 : 1;
  return strcmp (x->id, y->id);
}

/* Live terms under ROOT_ID (itself included) without an embedding in SET_ID (0: none stored). */
static GArray *
list_pending (PlSnapshot *snapshot,
              const char *root_id,
              gint64      set_id,
              GError    **error)
{
  sqlite3_stmt *stmt = pl_snapshot_statement (snapshot,
    DESCENDANTS_SQL
    "SELECT terms.id, terms.label FROM terms JOIN sub ON terms.id = sub.id WHERE terms.obsolete = 0"
    " AND NOT EXISTS (SELECT 1 FROM term_embeddings e WHERE e.set_id = ?2 AND e.term_id = terms.id)",
    error);
  GArray *pending;
  int rc;

  if (stmt == NULL)
    return NULL;
  pending = g_array_new (FALSE, TRUE, sizeof (Pending));
  g_array_set_clear_func (pending, pending_clear);
  sqlite3_bind_text (stmt, 1, root_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, set_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Pending p = { g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                    g_strdup ((const char *) sqlite3_column_text (stmt, 1)), 0 };

      g_array_append_val (pending, p);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "listing phenotypes", error);
      g_array_unref (pending);
      return NULL;
    }
  return pending;
}

static gboolean
check_root (PlSnapshot  *snapshot,
            const char  *root_id,
            GError     **error)
{
  g_autoptr(PlTerm) term = pl_snapshot_get_term (snapshot, root_id, error);

  return term != NULL;
}

static gboolean
exec_sql (PlSnapshot *snapshot,
          const char *sql,
          GError    **error)
{
  if (sqlite3_exec (snapshot->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      pl_snapshot_set_sqlite_error (snapshot, sql, error);
      return FALSE;
    }
  return TRUE;
}

gint
pl_phenotype_embeddings_missing (PlSnapshot         *snapshot,
                                 const PlClip       *clip,
                                 const char * const *templates,
                                 const char         *root_id,
                                 GError            **error)
{
  g_autofree char *key = pl_phenotype_templates_key (templates);
  g_autoptr(GArray) pending = NULL;
  gint64 set_id;

  root_id = root_id != NULL ? root_id : PL_HPO_PHENOTYPIC_ABNORMALITY_ID;
  if (!check_root (snapshot, root_id, error))
    return -1;
  if ((set_id = embedding_set_id (snapshot, clip, key, FALSE, error)) < 0)
    return -1;
  if ((pending = list_pending (snapshot, root_id, set_id, error)) == NULL)
    return -1;
  return (gint) pending->len;
}

gboolean
pl_phenotype_embeddings_compute (PlSnapshot               *snapshot,
                                 const PlClip             *clip,
                                 const char * const       *templates,
                                 const char               *root_id,
                                 GCancellable             *cancellable,
                                 PlEmbeddingProgressFunc   progress,
                                 gpointer                  user_data,
                                 GError                  **error)
{
  g_autofree char *key = pl_phenotype_templates_key (templates);
  g_autoptr(GArray) pending = NULL;
  g_autofree int32_t *ids = NULL;
  g_autofree const char **texts = NULL;
  g_autofree float *embeddings = NULL;
  g_autofree float *mean = NULL;
  g_autoptr(GPtrArray) owned_texts = g_ptr_array_new_with_free_func (g_free);
  const char * const *tpl = resolve_templates (templates);
  guint n_templates = g_strv_length ((char **) tpl);
  int dim = pl_clip_get_embed_dim (clip);
  gint64 set_id, start = g_get_monotonic_time ();
  guint total, already;
  sqlite3_stmt *insert;

  root_id = root_id != NULL ? root_id : PL_HPO_PHENOTYPIC_ABNORMALITY_ID;
  if (!check_root (snapshot, root_id, error))
    return FALSE;
  if (!pl_snapshot_check_writable (snapshot, "store phenotype embeddings", error))
    return FALSE;
  if ((set_id = embedding_set_id (snapshot, clip, key, TRUE, error)) < 0)
    return FALSE;
  if ((pending = list_pending (snapshot, root_id, set_id, error)) == NULL)
    return FALSE;
  {
    /* Everything under the root, so progress counts what earlier runs did too. */
    sqlite3_stmt *count = pl_snapshot_statement (snapshot,
      DESCENDANTS_SQL "SELECT count(*) FROM terms JOIN sub ON terms.id = sub.id WHERE terms.obsolete = 0", error);

    if (count == NULL)
      return FALSE;
    sqlite3_bind_text (count, 1, root_id, -1, SQLITE_TRANSIENT);
    total = sqlite3_step (count) == SQLITE_ROW ? (guint) sqlite3_column_int (count, 0) : pending->len;
    sqlite3_reset (count);
    already = total >= pending->len ? total - pending->len : 0;
  }

  /* Similar token lengths side by side, so each batch does similar work. */
  ids = g_new (int32_t, pl_clip_get_context_length (clip));
  for (guint i = 0; i < pending->len; i++)
    {
      Pending *p = &g_array_index (pending, Pending, i);

      p->n_tokens = pl_clip_tokenize (clip, p->label, ids);
    }
  g_array_sort (pending, compare_pending);

  texts = g_new (const char *, (gsize) PL_EMBED_CHUNK_TERMS * n_templates);
  embeddings = g_new (float, (gsize) PL_EMBED_CHUNK_TERMS * n_templates * dim);
  mean = g_new (float, dim);
  insert = pl_snapshot_statement (snapshot,
    "INSERT OR REPLACE INTO term_embeddings (set_id, term_id, vector) VALUES (?1, ?2, ?3)", error);
  if (insert == NULL)
    return FALSE;

  if (progress != NULL)
    {
      PlEmbeddingProgress p = { already, total, 0, -1 };

      progress (&p, user_data);
    }
  for (guint first = 0; first < pending->len; first += PL_EMBED_CHUNK_TERMS)
    {
      guint n = MIN (PL_EMBED_CHUNK_TERMS, pending->len - first);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_ptr_array_set_size (owned_texts, 0);
      for (guint i = 0; i < n; i++)
        for (guint t = 0; t < n_templates; t++)
          {
            char *text = format_template (tpl[t], g_array_index (pending, Pending, first + i).label);

            g_ptr_array_add (owned_texts, text);
            texts[i * n_templates + t] = text;
          }
      pl_clip_encode_texts (clip, texts, (int) (n * n_templates), embeddings);

      if (!exec_sql (snapshot, "BEGIN IMMEDIATE", error))
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          /* open_clip's zero-shot classifier: mean of the normalised template embeddings, renormalised. */
          memset (mean, 0, sizeof (float) * dim);
          for (guint t = 0; t < n_templates; t++)
            for (int k = 0; k < dim; k++)
              mean[k] += embeddings[((gsize) i * n_templates + t) * dim + k] / (float) n_templates;
          pl_l2_normalize_rows (mean, 1, dim);
          G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
          sqlite3_bind_int64 (insert, 1, set_id);
          sqlite3_bind_text (insert, 2, g_array_index (pending, Pending, first + i).id, -1, SQLITE_TRANSIENT);
          sqlite3_bind_blob (insert, 3, mean, (int) (sizeof (float) * dim), SQLITE_TRANSIENT);
          if (sqlite3_step (insert) != SQLITE_DONE)
            {
              pl_snapshot_set_sqlite_error (snapshot, "storing a phenotype embedding", error);
              sqlite3_reset (insert);
              exec_sql (snapshot, "ROLLBACK", NULL);
              return FALSE;
            }
          sqlite3_reset (insert);
        }
      if (!exec_sql (snapshot, "COMMIT", error))
        {
          exec_sql (snapshot, "ROLLBACK", NULL);
          return FALSE;
        }
      if (progress != NULL)
        {
          double elapsed = (g_get_monotonic_time () - start) / 1e6;
          guint done_now = first + n;
          PlEmbeddingProgress p = { already + done_now, total, elapsed,
                                    elapsed / done_now * (pending->len - done_now) };

          progress (&p, user_data);
        }
    }
  return TRUE;
}

PlPhenotypeMatrix *
pl_phenotype_matrix_load (PlSnapshot         *snapshot,
                          const PlClip       *clip,
                          const char * const *templates,
                          GError            **error)
{
  g_autofree char *key = pl_phenotype_templates_key (templates);
  g_autoptr(PlPhenotypeMatrix) matrix = g_new0 (PlPhenotypeMatrix, 1);
  sqlite3_stmt *stmt;
  gint64 set_id;
  int dim = pl_clip_get_embed_dim (clip), rc;
  gsize capacity = 1024;

  if ((set_id = embedding_set_id (snapshot, clip, key, FALSE, error)) < 0)
    return NULL;
  if (set_id == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR,
                   "%s: holds no phenotype embeddings for checkpoint %s; compute them first (phenolip kg embed)",
                   pl_snapshot_get_path (snapshot), pl_clip_get_checkpoint_path (clip));
      return NULL;
    }
  stmt = pl_snapshot_statement (snapshot,
    "SELECT e.term_id, e.vector, t.label,"
    " (SELECT group_concat (s.system_id, ' ') FROM term_systems s WHERE s.term_id = e.term_id)"
    " FROM term_embeddings e JOIN terms t ON t.id = e.term_id"
    " WHERE e.set_id = ?1 AND t.obsolete = 0 ORDER BY t.num", error);
  if (stmt == NULL)
    return NULL;
  matrix->dim = dim;
  matrix->term_ids = g_ptr_array_new_with_free_func (g_free);
  matrix->labels = g_ptr_array_new_with_free_func (g_free);
  matrix->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  matrix->vectors = g_new (float, capacity * dim);
  sqlite3_bind_int64 (stmt, 1, set_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (sqlite3_column_bytes (stmt, 1) != (int) (sizeof (float) * dim))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: the stored embedding of %s has %d bytes, expected %d",
                       pl_snapshot_get_path (snapshot), (const char *) sqlite3_column_text (stmt, 0),
                       sqlite3_column_bytes (stmt, 1), (int) (sizeof (float) * dim));
          sqlite3_reset (stmt);
          return NULL;
        }
      if ((gsize) matrix->n == capacity)
        {
          capacity *= 2;
          matrix->vectors = g_renew (float, matrix->vectors, capacity * dim);
        }
      memcpy (matrix->vectors + (gsize) matrix->n * dim, sqlite3_column_blob (stmt, 1), sizeof (float) * dim);
      g_ptr_array_add (matrix->term_ids, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
      g_ptr_array_add (matrix->labels, g_strdup ((const char *) sqlite3_column_text (stmt, 2)));
      /* HPO ids hold no spaces, so a space-separated list splits back exactly. */
      g_ptr_array_add (matrix->systems, sqlite3_column_type (stmt, 3) == SQLITE_NULL
                                        ? g_new0 (char *, 1)
                                        : g_strsplit ((const char *) sqlite3_column_text (stmt, 3), " ", -1));
      matrix->n++;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "loading phenotype embeddings", error);
      return NULL;
    }
  if (matrix->n == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR,
                   "%s: holds no phenotype embeddings for checkpoint %s; compute them first (phenolip kg embed)",
                   pl_snapshot_get_path (snapshot), pl_clip_get_checkpoint_path (clip));
      return NULL;
    }
  return g_steal_pointer (&matrix);
}

void
pl_phenotype_matrix_free (PlPhenotypeMatrix *matrix)
{
  if (matrix == NULL)
    return;
  g_free (matrix->vectors);
  g_clear_pointer (&matrix->term_ids, g_ptr_array_unref);
  g_clear_pointer (&matrix->labels, g_ptr_array_unref);
  g_clear_pointer (&matrix->systems, g_ptr_array_unref);
  g_free (matrix);
}
