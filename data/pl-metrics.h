/* pl-metrics.h: PhenoBench metrics over embeddings: zero-shot phenotype classification and
 * retrieval ranks (paired image<->caption, multi-label image<->phenotype), overall and per HPO
 * top-level organ system.
 *
 * Ranks. The rank of a query is 1 + the number of candidates that score strictly better than the
 * best-scoring relevant candidate (the optimistic convention: a tie with the gold item is resolved
 * in the query's favour). "Strictly better" means a cosine above the gold's by more than
 * PL_METRICS_TIE_EPSILON: identical embeddings scored through different BLAS kernels differ by a few
 * float32 ulps, and such noise must not decide a tie. Multi-label: image->phenotype counts any of the
 * image's phenotypes as a hit, phenotype->image any image that carries the phenotype. R@K is the
 * percentage of queries with rank <= K; the median rank is numpy's median (the mean of the two
 * middle ranks when their number is even). Queries without a relevant candidate are not counted. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PL_METRICS_TIE_EPSILON 1e-6f

typedef struct {
  guint  n_queries;
  double r1, r5, r10, r50;   /* percent of queries */
  double median_rank;        /* 0 when there are no queries */
} PlRetrievalScores;

/* The scores of one scope: every pair, or the pairs with a phenotype in one organ system. */
typedef struct {
  char             *system_id;      /* NULL for the whole benchmark */
  char             *system_label;
  guint             n_pairs;        /* image-caption pairs in the scope */
  guint             n_phenotypes;   /* benchmark phenotypes in the scope */
  guint             n_classified;   /* pairs with at least one phenotype */
  double            top1, top5;     /* zero-shot classification accuracy, percent */
  PlRetrievalScores i2t, t2i;       /* paired */
  PlRetrievalScores i2p, p2i;       /* multi-label */
} PlBenchScores;

void pl_bench_scores_free (PlBenchScores *scores);

typedef struct {
  PlBenchScores *overall;
  GPtrArray     *systems;   /* PlBenchScores*, by system label */
  gboolean       partial;   /* computed over the pairs finished so far (retrieval may be absent) */
} PlBenchMetrics;

void pl_bench_metrics_free (PlBenchMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlBenchMetrics, pl_bench_metrics_free)

/* ranks[q] for each row of SCORES [n_rows, n_cols] whose relevant columns are
 * RELEVANT[OFFSETS[q] .. OFFSETS[q+1]); 0 for a row without any. */
void pl_metrics_rank_rows    (const float *scores,
                              int          n_rows,
                              int          n_cols,
                              const int   *offsets,
                              const int   *relevant,
                              int         *ranks);
/* The same for each column of SCORES, with the relation given by rows as above: column c is
 * relevant to the rows that list it. ranks: [n_cols]. */
void pl_metrics_rank_columns (const float *scores,
                              int          n_rows,
                              int          n_cols,
                              const int   *offsets,
                              const int   *relevant,
                              int         *ranks);
/* Paired retrieval between A and B ([n, dim] each, row i of A goes with row i of B), computed in
 * blocks without holding the n x n matrix: a_to_b[i] is the rank of B[i] for query A[i], b_to_a[i]
 * the rank of A[i] for query B[i]. */
void pl_metrics_rank_paired  (const float *a,
                              const float *b,
                              int          n,
                              int          dim,
                              int         *a_to_b,
                              int         *b_to_a);
/* Scores over the queries with MASK set (NULL: all) and a rank > 0. */
void pl_retrieval_scores     (const int         *ranks,
                              int                n,
                              const gboolean    *mask,
                              PlRetrievalScores *out);

/* What the benchmark metrics need; rows of pairs whose image could not be read are left out by the
 * caller beforehand. */
typedef struct {
  int                 n_pairs;
  int                 n_phenotypes;
  int                 dim;
  const float        *images;             /* [n_pairs, dim], L2-normalised */
  const float        *captions;           /* [n_pairs, dim] */
  const float        *phenotype_prompts;  /* [n_phenotypes, dim]: template-averaged (classification) */
  const float        *phenotype_names;    /* [n_phenotypes, dim]: the label alone (retrieval) */
  const int          *pair_offsets;       /* [n_pairs + 1] into pair_phenotypes */
  const int          *pair_phenotypes;    /* phenotype indices of each pair */
  const char * const *const *phenotype_systems;  /* [n_phenotypes] NULL-terminated system ids */
  GHashTable         *system_labels;      /* system id -> label; NULL: ids stand for labels */
  gboolean            skip_paired;        /* leave image<->caption out (partial metrics) */
} PlBenchInput;

PlBenchMetrics *pl_bench_metrics_compute (const PlBenchInput *input);

/* Ranks exposed for tests and exports: [n_pairs] each, plus p2i [n_phenotypes]. */
typedef struct {
  int *classification, *i2t, *t2i, *i2p, *p2i;
} PlBenchRanks;

PlBenchMetrics *pl_bench_metrics_compute_with_ranks (const PlBenchInput *input,
                                                     PlBenchRanks       *ranks);
void            pl_bench_ranks_clear                (PlBenchRanks       *ranks);

G_END_DECLS
