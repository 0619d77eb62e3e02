/* pl-phenotype-embeddings.h: the text-tower embedding of every live phenotype under a root, from a
 * set of prompt templates averaged and re-normalised as open_clip's zero-shot classifier does,
 * stored in the snapshot under (checkpoint fingerprint, template set). */
#pragma once

#include <gio/gio.h>

#include "data/pl-snapshot.h"
#include "model/pl-clip.h"

G_BEGIN_DECLS

/* The default prompt templates; "{}" stands for the phenotype label. */
extern const char * const pl_default_phenotype_templates[];

typedef struct {
  guint   done;          /* phenotypes embedded so far, including those found from an earlier run */
  guint   total;
  double  elapsed;       /* seconds since this call started */
  double  eta;           /* seconds left, estimated from this call's rate; < 0 while unknown */
} PlEmbeddingProgress;

typedef void (*PlEmbeddingProgressFunc) (const PlEmbeddingProgress *progress,
                                         gpointer                   user_data);

/* A stable key for a list of templates (NULL: the default set). Free with g_free. */
char      *pl_phenotype_templates_key        (const char * const *templates);

/* Embeds every live phenotype under ROOT_ID (NULL: HP:0000118; the root itself included) that the
 * snapshot does not hold yet for this checkpoint and template set, in batches sorted by token
 * length, committing each batch: a cancelled or interrupted run resumes where it stopped. Called
 * from a worker thread; PROGRESS is called from it too. */
gboolean   pl_phenotype_embeddings_compute   (PlSnapshot               *snapshot,
                                              const PlClip             *clip,
                                              const char * const       *templates,
                                              const char               *root_id,
                                              GCancellable             *cancellable,
                                              PlEmbeddingProgressFunc   progress,
                                              gpointer                  user_data,
                                              GError                  **error);

/* How many phenotypes under ROOT_ID still lack an embedding for this checkpoint and template set. */
gint       pl_phenotype_embeddings_missing   (PlSnapshot         *snapshot,
                                              const PlClip       *clip,
                                              const char * const *templates,
                                              const char         *root_id,
                                              GError            **error);

/* The stored embeddings: a matrix [n, dim] of L2-normalised rows, and for each row the term's id,
 * label and top-level systems (what ranking needs for every candidate, read in one pass).
 * Returns FALSE with PL_ERROR_MISSING_TENSOR if the snapshot holds none for this checkpoint. */
typedef struct {
  int        n;
  int        dim;
  float     *vectors;   /* [n, dim] */
  GPtrArray *term_ids;  /* char*, n of them */
  GPtrArray *labels;    /* char*, n of them */
  GPtrArray *systems;   /* GStrv (NULL-terminated char**), n of them: children of HP:0000118 above */
} PlPhenotypeMatrix;

PlPhenotypeMatrix *pl_phenotype_matrix_load  (PlSnapshot         *snapshot,
                                              const PlClip       *clip,
                                              const char * const *templates,
                                              GError            **error);
void               pl_phenotype_matrix_free  (PlPhenotypeMatrix  *matrix);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlPhenotypeMatrix, pl_phenotype_matrix_free)

G_END_DECLS
