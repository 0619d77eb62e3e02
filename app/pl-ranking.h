/* pl-ranking.h: ranking an image's embedding against every phenotype embedding of a snapshot:
 * top k with cosine, logit, softmax probability over the candidates, paths to the root and
 * top-level systems, optionally within a subtree, and a per-system summary. */
#pragma once

#include <gio/gio.h>

#include "data/pl-phenotype-embeddings.h"
#include "data/pl-snapshot.h"
#include "model/pl-clip.h"

G_BEGIN_DECLS

typedef struct _PlRanker PlRanker;

typedef struct {
  char      *term_id;
  char      *label;
  float      cosine;
  float      logit;        /* exp(logit_scale) x cosine */
  float      probability;  /* softmax of the logits over every candidate phenotype */
  GPtrArray *paths;        /* GPtrArray* of PlTermRef* (root first, the term last), shortest first */
  GPtrArray *systems;      /* char*: top-level system ids (children of HP:0000118) above the term */
} PlRankedPhenotype;

typedef struct {
  char  *system_id;
  char  *label;
  float  cosine;           /* the best cosine of any phenotype in the system (max over descendants) */
  float  probability;      /* the summed probability of the system's phenotypes */
  char  *best_term_id;
  char  *best_term_label;
} PlSystemScore;

typedef struct {
  GPtrArray *phenotypes;   /* PlRankedPhenotype*, best first, at most top_k */
  GPtrArray *systems;      /* PlSystemScore*, best cosine first */
  guint      n_candidates; /* phenotypes scored (after the subtree restriction) */
} PlRanking;

void       pl_ranking_free    (PlRanking *ranking);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlRanking, pl_ranking_free)

/* Loads the snapshot's phenotype embeddings for CLIP and TEMPLATES (NULL: the default set), and
 * the term-to-system table. Fails with PL_ERROR_MISSING_TENSOR when none were computed. The ranker
 * keeps SNAPSHOT; use both from one thread at a time. */
PlRanker  *pl_ranker_new      (PlSnapshot         *snapshot,
                               const PlClip       *clip,
                               const char * const *templates,
                               GError            **error);
void       pl_ranker_free     (PlRanker  *ranker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlRanker, pl_ranker_free)

guint      pl_ranker_get_n_phenotypes (PlRanker *ranker);

/* IMAGE_EMBEDDING: L2-normalised, embed_dim floats. UNDER_ID: restrict to that term's subtree
 * (the term included), or NULL. */
PlRanking *pl_ranker_rank     (PlRanker     *ranker,
                               const float  *image_embedding,
                               guint         top_k,
                               const char   *under_id,
                               GError      **error);

G_END_DECLS
