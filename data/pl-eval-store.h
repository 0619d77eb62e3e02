/* pl-eval-store.h: the evaluation part of the user's workspace database (its own SQLite file):
 * image and text embeddings cached per checkpoint fingerprint and content hash, the content hashes
 * of image files keyed by their stat data, and every finished PhenoBench run with its metrics. */
#pragma once

#include <glib.h>

#include "data/pl-metrics.h"

G_BEGIN_DECLS

/* Version of the evaluation tables, kept in the workspace's schema_components table (so that other
 * parts of the workspace version their tables independently). 1: first version. */
#define PL_EVAL_STORE_SCHEMA_VERSION 1

typedef struct _PlEvalStore PlEvalStore;

typedef enum {
  PL_EVAL_EMBEDDING_IMAGE,   /* key: SHA-256 of the image file's bytes */
  PL_EVAL_EMBEDDING_TEXT,    /* key: SHA-256 of the text's UTF-8 bytes */
} PlEvalEmbeddingKind;

/* Opens or creates the workspace at PATH (its folder is created), WAL mode, migrating older
 * evaluation tables; a newer schema is an error. One PlEvalStore is used by one thread at a time. */
PlEvalStore *pl_eval_store_open  (const char  *path,
                                  GError     **error);
void         pl_eval_store_free  (PlEvalStore *store);
const char  *pl_eval_store_get_path (PlEvalStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlEvalStore, pl_eval_store_free)

/* Content hash of an image file remembered under its path, size, modification time (us) and inode:
 * a repeated run need not read unchanged files again. SHA256_HEX: 65 bytes. */
gboolean     pl_eval_store_lookup_file_hash   (PlEvalStore *store,
                                               const char  *path,
                                               gint64       size,
                                               gint64       mtime_us,
                                               gint64       inode,
                                               char        *sha256_hex);
gboolean     pl_eval_store_remember_file_hash (PlEvalStore *store,
                                               const char  *path,
                                               gint64       size,
                                               gint64       mtime_us,
                                               gint64       inode,
                                               const char  *sha256_hex,
                                               GError     **error);

/* The keys (char*, in a set) already embedded for FINGERPRINT. */
GHashTable  *pl_eval_store_list_embedded      (PlEvalStore         *store,
                                               PlEvalEmbeddingKind  kind,
                                               const char          *fingerprint,
                                               GError             **error);
/* OUT: [dim]. FALSE when absent or of another dimension. */
gboolean     pl_eval_store_get_embedding      (PlEvalStore         *store,
                                               PlEvalEmbeddingKind  kind,
                                               const char          *fingerprint,
                                               const char          *key,
                                               int                  dim,
                                               float               *out);
/* Stores N vectors [n, dim] under KEYS in one transaction. */
gboolean     pl_eval_store_put_embeddings     (PlEvalStore         *store,
                                               PlEvalEmbeddingKind  kind,
                                               const char          *fingerprint,
                                               int                  n,
                                               const char * const  *keys,
                                               int                  dim,
                                               const float         *vectors,
                                               GError             **error);
/* Counts of stored embeddings (for tests and `bench list`). */
gint64       pl_eval_store_count_embeddings   (PlEvalStore         *store,
                                               PlEvalEmbeddingKind  kind,
                                               const char          *fingerprint);

/* A finished run. */
typedef struct {
  gint64          id;
  char           *started;                /* ISO 8601 UTC */
  double          duration;               /* seconds */
  char           *checkpoint_path;
  char           *checkpoint_fingerprint;
  gboolean        demo;                   /* random-weight demo checkpoint */
  char           *snapshot_path;
  char           *snapshot_source_sha256; /* of the HPO release the snapshot was built from */
  char           *snapshot_version;       /* the release's date or data-version */
  char           *manifest_path;
  char           *manifest_sha256;
  char          **templates;              /* the prompt templates of the classification */
  guint           n_records;              /* manifest records */
  guint           n_pairs;                /* pairs evaluated */
  guint           n_phenotypes;           /* the benchmark's phenotype set */
  guint           images_encoded;         /* by this run; the rest came from the cache */
  guint           images_cached;
  guint           texts_encoded;
  guint           texts_cached;
  int             threads;                /* OpenBLAS threads of the encoder */
  char           *report_json;            /* what could not be used: {"bad_records": [...], ...} */
  PlBenchMetrics *metrics;
} PlEvalRun;

void         pl_eval_run_free                 (PlEvalRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlEvalRun, pl_eval_run_free)

/* Stores RUN (its id is set). */
gboolean     pl_eval_store_add_run            (PlEvalStore *store,
                                               PlEvalRun   *run,
                                               GError     **error);
/* Every run, newest first, with its overall metrics (systems not loaded). */
GPtrArray   *pl_eval_store_list_runs          (PlEvalStore *store,
                                               GError     **error);
/* One run with every metric; PL_ERROR_INVALID when there is none with that id. */
PlEvalRun   *pl_eval_store_get_run            (PlEvalStore *store,
                                               gint64       id,
                                               GError     **error);

/* Metric names in a fixed order ("classification_top1", "i2t_r10", "p2i_median_rank", ...) and the
 * value of one in SCORES. */
const char * const *pl_bench_metric_names     (void);
double       pl_bench_scores_get              (const PlBenchScores *scores,
                                               const char          *metric);

/* Exports: JSON (one object: the run, its report, overall and per-system metrics) and CSV (one row per
 * scope and metric: scope_id,scope_label,n_pairs,metric,value). */
char        *pl_eval_run_to_json              (const PlEvalRun *run);
char        *pl_eval_run_to_csv               (const PlEvalRun *run);

G_END_DECLS
