/* pl-snapshot.h: a PhenoKG snapshot, one SQLite file holding an HPO release (terms, synonyms, xrefs,
 * is_a, derived depth/descendants/systems, full-text index), phenotype text embeddings and PhenoKG
 * image-text pairs; building one from an HPO file, opening it, and the ontology queries. */
#pragma once

#include <gio/gio.h>

#include "data/pl-term.h"

G_BEGIN_DECLS

/* PRAGMA user_version of the files this program writes. 1: ontology; 2: embeddings and pairs. */
#define PL_SNAPSHOT_SCHEMA_VERSION 2

/* pl_snapshot_get_paths lists at most this many paths unless asked for fewer (HPO's deepest
 * terms have a few dozen; the cap only guards against pathological files). */
#define PL_SNAPSHOT_MAX_PATHS 1000

typedef struct _PlSnapshot PlSnapshot;

typedef enum {
  PL_SNAPSHOT_OPEN_DEFAULT = 0,         /* read-write if the file is writable, read-only otherwise */
  PL_SNAPSHOT_OPEN_READ_ONLY = 1 << 0,
} PlSnapshotOpenFlags;

/* Builds a snapshot at TARGET from SOURCE (hp.obo or hp.json, optionally gzip-compressed) in one
 * transaction into a temporary file beside TARGET, renamed over TARGET only when complete: a
 * failed, cancelled or killed import leaves TARGET as it was. Pairs and embeddings of a previous
 * snapshot at TARGET are not carried over. Do not import over a snapshot another process has open. */
gboolean     pl_snapshot_import             (const char   *source,
                                             const char   *target,
                                             GCancellable *cancellable,
                                             GError      **error);

/* Opens a snapshot; migrates an older schema when writable. Errors: not a snapshot, a schema from
 * a newer PhenoLIP Explorer, I/O. One PlSnapshot is used by one thread at a time. */
PlSnapshot  *pl_snapshot_open               (const char          *path,
                                             PlSnapshotOpenFlags  flags,
                                             GError             **error);
void         pl_snapshot_free               (PlSnapshot *snapshot);
const char  *pl_snapshot_get_path           (PlSnapshot *snapshot);
gboolean     pl_snapshot_is_read_only       (PlSnapshot *snapshot);
int          pl_snapshot_get_schema_version (PlSnapshot *snapshot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlSnapshot, pl_snapshot_free)

typedef struct {
  char *source_path;
  char *source_sha256;
  char *data_version;    /* as the file states it */
  char *version_date;    /* "2023-01-27"; NULL if the file does not say */
  char *import_time;     /* ISO 8601, UTC */
  char *format;          /* "obo" or "obographs-json" */
  int   schema_version;
  int   n_terms;         /* including obsolete */
  int   n_live_terms;
  int   n_phenotypic;    /* live descendants of HP:0000118 */
  int   n_synonyms;
  int   n_is_a;
  int   n_alt_ids;
  int   n_pairs;
} PlSnapshotInfo;

PlSnapshotInfo *pl_snapshot_get_info   (PlSnapshot     *snapshot,
                                        GError        **error);
void            pl_snapshot_info_free  (PlSnapshotInfo *info);
/* "This product uses the Human Phenotype Ontology (version 2023-01-27). ..." with the citation. */
char           *pl_snapshot_info_attribution (const PlSnapshotInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlSnapshotInfo, pl_snapshot_info_free)

/* The term with ID (any form pl_term_id_normalize accepts). An alt_id resolves to the term that
 * carries it (requested_id says what was asked); an obsolete term is returned as it is, with
 * replaced_by/consider pointing onwards. All fields are filled, parents and systems included.
 * Unknown id: NULL with PL_ERROR_INVALID. */
PlTerm      *pl_snapshot_get_term      (PlSnapshot *snapshot,
                                        const char *id,
                                        GError    **error);

/* Lists of PlTermRef*, sorted by label. Children carry their own child and descendant counts so
 * that a tree view can load lazily. */
GPtrArray   *pl_snapshot_get_roots     (PlSnapshot *snapshot,
                                        GError    **error);
GPtrArray   *pl_snapshot_get_parents   (PlSnapshot *snapshot,
                                        const char *id,
                                        GError    **error);
GPtrArray   *pl_snapshot_get_children  (PlSnapshot *snapshot,
                                        const char *id,
                                        GError    **error);
/* Every transitive is_a ancestor (the term itself excluded), by depth then id. */
GPtrArray   *pl_snapshot_get_ancestors (PlSnapshot *snapshot,
                                        const char *id,
                                        GError    **error);
/* Every is_a path from a root down to the term, as GPtrArray of PlTermRef* (root first, term last);
 * shortest first, ties by the sequence of ids. At most MAX_PATHS (0: PL_SNAPSHOT_MAX_PATHS);
 * *CAPPED says whether paths were left out. */
GPtrArray   *pl_snapshot_get_paths     (PlSnapshot *snapshot,
                                        const char *id,
                                        guint       max_paths,
                                        gboolean   *capped,
                                        GError    **error);
/* The whole is_a graph in memory, for callers that want many terms' paths at once (ranking): a
 * path costs microseconds there against a fraction of a millisecond through SQLite. Read once;
 * later changes to the file are not seen. Read-only once loaded: any thread may use it. */
typedef struct _PlTermGraph PlTermGraph;

PlTermGraph *pl_snapshot_load_graph    (PlSnapshot *snapshot,
                                        GError    **error);
void         pl_term_graph_free        (PlTermGraph *graph);
guint        pl_term_graph_get_n_terms (PlTermGraph *graph);
/* As pl_snapshot_get_paths, for a term's own id (no other form, no alt_id): NULL if the graph has
 * no such term. */
GPtrArray   *pl_term_graph_get_paths   (PlTermGraph *graph,
                                        const char  *term_id,
                                        guint        max_paths,
                                        gboolean    *capped);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTermGraph, pl_term_graph_free)

/* Page of the term's descendants (itself excluded), by depth then label; *TOTAL gets the count. */
GPtrArray   *pl_snapshot_list_subtree  (PlSnapshot *snapshot,
                                        const char *id,
                                        guint       offset,
                                        guint       limit,
                                        guint      *total,
                                        GError    **error);

G_END_DECLS
