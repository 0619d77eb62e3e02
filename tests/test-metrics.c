/* test-metrics.c: PhenoBench ranks and scores on cases small enough to compute by hand; the reasoning
 * is written beside each expected value. */
#include <math.h>

#include "data/pl-metrics.h"

static void
test_rank_is_one_plus_strictly_better_candidates_and_ties_favour_the_query (void)
{
  /* Query 0: relevant column 1 scores 0.5; columns 0 (0.9) and 3 (0.7) are strictly better; column 2
   * ties at 0.5 and does not count (optimistic): rank 3.
   * Query 1: relevant {0, 2}: the best relevant is 0.8 (column 2); nothing is above it: rank 1.
   * Query 2: no relevant column: rank 0 (not counted). */
  const float scores[] = { 0.9f, 0.5f, 0.5f, 0.7f,
                           0.1f, 0.6f, 0.8f, 0.8f,
                           0.3f, 0.2f, 0.1f, 0.0f };
  const int offsets[] = { 0, 1, 3, 3 };
  const int relevant[] = { 1, 0, 2 };
  int ranks[3];

  pl_metrics_rank_rows (scores, 3, 4, offsets, relevant, ranks);
  g_assert_cmpint (ranks[0], ==, 3);
  g_assert_cmpint (ranks[1], ==, 1);   /* column 3 ties with the gold 0.8 */
  g_assert_cmpint (ranks[2], ==, 0);
}

static void
test_column_ranks_count_any_row_carrying_the_phenotype (void)
{
  /* Rows are images, columns phenotypes; image 0 carries phenotype 0, images 1 and 2 carry phenotype 1
   * (a phenotype with two images), nobody carries phenotype 2.
   * Phenotype 0: gold row 0 scores 0.2; rows 1 (0.9) and 2 (0.4) are above: rank 3.
   * Phenotype 1: best gold is max(0.3, 0.6) = 0.6 (row 2); row 0 has 0.6 too (tie, not counted): rank 1.
   * Phenotype 2: no image: rank 0. */
  const float scores[] = { 0.2f, 0.6f, 0.0f,
                           0.9f, 0.3f, 0.0f,
                           0.4f, 0.6f, 0.0f };
  const int offsets[] = { 0, 1, 2, 3 };
  const int relevant[] = { 0, 1, 1 };
  int ranks[3];

  pl_metrics_rank_columns (scores, 3, 3, offsets, relevant, ranks);
  g_assert_cmpint (ranks[0], ==, 3);
  g_assert_cmpint (ranks[1], ==, 1);
  g_assert_cmpint (ranks[2], ==, 0);
}

static void
test_paired_ranks_handle_identical_items_as_ties (void)
{
  /* 2-D unit vectors. Images: a0 = (1,0), a1 = (1,0) (the same image twice), a2 = (0,1).
   * Captions: b0 = (0.6,0.8), b1 = (1,0), b2 = (0.8,0.6).
   * a0 . b = (0.6, 1, 0.8): its own b0 has 0.6, two are better: rank 3.
   * a1 . b = (0.6, 1, 0.8): own b1 = 1, best: rank 1.
   * a2 . b = (0.8, 0, 0.6): own b2 = 0.6, b0 better: rank 2.
   * Caption queries: b0 . a = (0.6, 0.6, 0.8): own a0 0.6 ties a1, a2 better: rank 2.
   * b1 . a = (1, 1, 0): own a1 ties a0: rank 1 (optimistic).
   * b2 . a = (0.8, 0.8, 0.6): own a2 0.6, two better: rank 3. */
  const float a[] = { 1, 0, 1, 0, 0, 1 };
  const float b[] = { 0.6f, 0.8f, 1, 0, 0.8f, 0.6f };
  int a_to_b[3], b_to_a[3];

  pl_metrics_rank_paired (a, b, 3, 2, a_to_b, b_to_a);
  g_assert_cmpint (a_to_b[0], ==, 3);
  g_assert_cmpint (a_to_b[1], ==, 1);
  g_assert_cmpint (a_to_b[2], ==, 2);
  g_assert_cmpint (b_to_a[0], ==, 2);
  g_assert_cmpint (b_to_a[1], ==, 1);
  g_assert_cmpint (b_to_a[2], ==, 3);
}

static void
test_recall_and_median_follow_their_definitions (void)
{
  /* Ranks 1, 3, 7, 12, 60 and a 0 (no relevant item, not counted): 5 queries.
   * R@1 = 1/5, R@5 = 2/5, R@10 = 3/5, R@50 = 4/5; median of 5 = the 3rd = 7.
   * With the mask dropping the 60: ranks 1, 3, 7, 12: median = (3 + 7) / 2 = 5, R@50 = 100. */
  const int ranks[] = { 1, 3, 7, 12, 60, 0 };
  const gboolean mask[] = { TRUE, TRUE, TRUE, TRUE, FALSE, TRUE };
  PlRetrievalScores s;

  pl_retrieval_scores (ranks, 6, NULL, &s);
  g_assert_cmpuint (s.n_queries, ==, 5);
  g_assert_cmpfloat (s.r1, ==, 20.0);
  g_assert_cmpfloat (s.r5, ==, 40.0);
  g_assert_cmpfloat (s.r10, ==, 60.0);
  g_assert_cmpfloat (s.r50, ==, 80.0);
  g_assert_cmpfloat (s.median_rank, ==, 7.0);
  pl_retrieval_scores (ranks, 6, mask, &s);
  g_assert_cmpuint (s.n_queries, ==, 4);
  g_assert_cmpfloat (s.median_rank, ==, 5.0);
  g_assert_cmpfloat (s.r50, ==, 100.0);
}

static void
test_benchmark_metrics_per_system_on_a_hand_case (void)
{
  /* Three pairs in 2-D, two phenotypes: P0 = (1,0) in system "S:eye", P1 = (0,1) in "S:eye" and
   * "S:brain". Pair 0 carries P0 and P1 (several phenotypes), pair 1 carries P1, pair 2 none.
   * Images: i0 = (1,0), i1 = (1,0), i2 = (0,1). Prompts = names = P.
   * Classification: i0 . P = (1, 0): gold {P0, P1}, best gold 1: rank 1. i1 . P = (1, 0): gold P1 = 0,
   * P0 better: rank 2. i2: no phenotype, not counted. top-1 = 1/2 = 50%, top-5 = 100%.
   * Phenotype->image: P0 . i = (1, 1, 0): gold i0 = 1: rank 1. P1 . i = (0, 0, 1): gold {i0, i1}
   * best 0, i2 better: rank 2. R@1 = 50%.
   * System S:brain: pairs carrying P1: 0 and 1 -> n_pairs 2, phenotypes 1; p2i over P1 only: R@1 0.
   * System S:eye: both phenotypes, pairs 0 and 1. */
  const float images[] = { 1, 0, 1, 0, 0, 1 };
  const float captions[] = { 1, 0, 0, 1, 0.6f, 0.8f };
  const float phenotypes[] = { 1, 0, 0, 1 };
  const int offsets[] = { 0, 2, 3, 3 };
  const int relevant[] = { 0, 1, 1 };
  const char *eye_brain[] = { "S:eye", "S:brain", NULL };
  const char *eye[] = { "S:eye", NULL };
  const char * const *systems[] = { eye, eye_brain };
  PlBenchInput input = { 3, 2, 2, images, captions, phenotypes, phenotypes, offsets, relevant,
                         (const char * const * const *) systems, NULL, FALSE };
  g_autoptr(PlBenchMetrics) metrics = pl_bench_metrics_compute (&input);
  PlBenchScores *brain, *eye_scores;

  g_assert_cmpuint (metrics->overall->n_pairs, ==, 3);
  g_assert_cmpuint (metrics->overall->n_classified, ==, 2);
  g_assert_cmpfloat (metrics->overall->top1, ==, 50.0);
  g_assert_cmpfloat (metrics->overall->top5, ==, 100.0);
  g_assert_cmpfloat (metrics->overall->p2i.r1, ==, 50.0);
  g_assert_cmpfloat (metrics->overall->p2i.median_rank, ==, 1.5);
  /* Image->caption: i0 . c = (1, 0, 0.6): rank 1; i1 . c = (1, 0, 0.6): own c1 = 0, two better: rank 3;
   * i2 . c = (0, 1, 0.8): own 0.8, c1 better: rank 2. */
  g_assert_cmpfloat (metrics->overall->i2t.r1, ==, 100.0 / 3);
  g_assert_cmpfloat (metrics->overall->i2t.median_rank, ==, 2.0);
  g_assert_cmpuint (metrics->systems->len, ==, 2);
  brain = metrics->systems->pdata[0];   /* sorted by label: "S:brain" < "S:eye" */
  eye_scores = metrics->systems->pdata[1];
  g_assert_cmpstr (brain->system_id, ==, "S:brain");
  g_assert_cmpuint (brain->n_pairs, ==, 2);
  g_assert_cmpuint (brain->n_phenotypes, ==, 1);
  g_assert_cmpfloat (brain->p2i.r1, ==, 0.0);
  g_assert_cmpfloat (brain->top1, ==, 50.0);
  g_assert_cmpuint (eye_scores->n_pairs, ==, 2);
  g_assert_cmpuint (eye_scores->n_phenotypes, ==, 2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/rank-is-one-plus-strictly-better-candidates-and-ties-favour-the-query",
                   test_rank_is_one_plus_strictly_better_candidates_and_ties_favour_the_query);
  g_test_add_func ("/metrics/column-ranks-count-any-row-carrying-the-phenotype",
                   test_column_ranks_count_any_row_carrying_the_phenotype);
  g_test_add_func ("/metrics/paired-ranks-handle-identical-items-as-ties", test_paired_ranks_handle_identical_items_as_ties);
  g_test_add_func ("/metrics/recall-and-median-follow-their-definitions", test_recall_and_median_follow_their_definitions);
  g_test_add_func ("/metrics/benchmark-metrics-per-system-on-a-hand-case", test_benchmark_metrics_per_system_on_a_hand_case);
  return g_test_run ();
}
