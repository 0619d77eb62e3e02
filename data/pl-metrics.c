/* pl-metrics.c: PhenoBench ranks and scores (conventions in pl-metrics.h), with the similarity
 * matrices computed by OpenBLAS in blocks so that 7,817 x 7,817 pairs never sit in memory. */
#include "data/pl-metrics.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Query rows per sgemm block in paired retrieval: 256 x 7,817 floats is 8 MB. */
#define PAIRED_BLOCK_ROWS 256

void
pl_bench_scores_free (PlBenchScores *scores)
{
  if (scores == NULL)
    return;
  g_free (scores->system_id);
  g_free (scores->system_label);
  g_free (scores);
}

void
pl_bench_metrics_free (PlBenchMetrics *metrics)
{
  if (metrics == NULL)
    return;
  pl_bench_scores_free (metrics->overall);
  g_clear_pointer (&metrics->systems, g_ptr_array_unref);
  g_free (metrics);
}

void
pl_bench_ranks_clear (PlBenchRanks *ranks)
{
  g_clear_pointer (&ranks->classification, g_free);
  g_clear_pointer (&ranks->i2t, g_free);
  g_clear_pointer (&ranks->t2i, g_free);
  g_clear_pointer (&ranks->i2p, g_free);
  g_clear_pointer (&ranks->p2i, g_free);
}

void
pl_metrics_rank_rows (const float *scores,
                      int          n_rows,
                      int          n_cols,
                      const int   *offsets,
                      const int   *relevant,
                      int         *ranks)
{
  for (int q = 0; q < n_rows; q++)
    {
      const float *row = scores + (gsize) q * n_cols;
      float best = -G_MAXFLOAT;
      int better = 0;

      if (offsets[q] == offsets[q + 1])
        {
          ranks[q] = 0;
          continue;
        }
      for (int k = offsets[q]; k < offsets[q + 1]; k++)
        best = MAX (best, row[relevant[k]]);
      for (int c = 0; c < n_cols; c++)
        better += row[c] > best + PL_METRICS_TIE_EPSILON;
      ranks[q] = 1 + better;
    }
}

void
pl_metrics_rank_columns (const float *scores,
                         int          n_rows,
                         int          n_cols,
                         const int   *offsets,
                         const int   *relevant,
                         int         *ranks)
{
  g_autofree float *best = g_new (float, n_cols);
  g_autofree gboolean *has = g_new0 (gboolean, n_cols);

  for (int c = 0; c < n_cols; c++)
    best[c] = -G_MAXFLOAT;
  /* The best relevant row of each column, then the rows strictly above it. */
  for (int r = 0; r < n_rows; r++)
    for (int k = offsets[r]; k < offsets[r + 1]; k++)
      {
        int c = relevant[k];

        has[c] = TRUE;
        best[c] = MAX (best[c], scores[(gsize) r * n_cols + c]);
      }
  memset (ranks, 0, sizeof (int) * n_cols);
  for (int r = 0; r < n_rows; r++)
    {
      const float *row = scores + (gsize) r * n_cols;

      for (int c = 0; c < n_cols; c++)
        ranks[c] += row[c] > best[c] + PL_METRICS_TIE_EPSILON;
    }
  for (int c = 0; c < n_cols; c++)
    ranks[c] = has[c] ? ranks[c] + 1 : 0;
}

void
pl_metrics_rank_paired (const float *a,
                        const float *b,
                        int          n,
                        int          dim,
                        int         *a_to_b,
                        int         *b_to_a)
{
  int block = MIN (PAIRED_BLOCK_ROWS, MAX (n, 1));
  g_autofree float *scores = g_new (float, (gsize) block * MAX (n, 1));
  g_autofree float *gold = g_new (float, MAX (n, 1));

  /* The gold cosine of pair i, for the column counts: taken from the same sgemm blocks as the rows
   * (first pass) would cost a second product, so it is a dot product, and the epsilon absorbs the
   * rounding difference between the two. */
  for (int i = 0; i < n; i++)
    gold[i] = cblas_sdot (dim, a + (gsize) i * dim, 1, b + (gsize) i * dim, 1);
  for (int i = 0; i < n; i++)
    b_to_a[i] = 1;
  for (int start = 0; start < n; start += block)
    {
      int rows = MIN (block, n - start);

      /* scores: [rows, n] = A[start:start+rows] . B^T */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, dim, 1.0f,
                   a + (gsize) start * dim, dim, b, dim, 0.0f, scores, n);
      for (int r = 0; r < rows; r++)
        {
          const float *row = scores + (gsize) r * n;
          float own = row[start + r];
          int better = 0;

          for (int c = 0; c < n; c++)
            {
              better += row[c] > own + PL_METRICS_TIE_EPSILON;
              /* Column c: is A[start + r] strictly better than the gold A[c] for query B[c]? */
              b_to_a[c] += row[c] > gold[c] + PL_METRICS_TIE_EPSILON;
            }
          a_to_b[start + r] = 1 + better;
        }
    }
}

static int
compare_int (const void *x,
             const void *y)
{
  int a = *(const int *) x, b = *(const int *) y;

  return (a > b) - (a < b);
}

void
pl_retrieval_scores (const int         *ranks,
                     int                n,
                     const gboolean    *mask,
                     PlRetrievalScores *out)
{
  g_autofree int *kept = g_new (int, MAX (n, 1));
  guint m = 0, hits[4] = { 0 };
  const int cutoffs[4] = { 1, 5, 10, 50 };

  memset (out, 0, sizeof *out);
  for (int i = 0; i < n; i++)
    if ((mask == NULL || mask[i]) && ranks[i] > 0)
      kept[m++] = ranks[i];
  out->n_queries = m;
  if (m == 0)
    return;
  for (guint i = 0; i < m; i++)
    for (int k = 0; k < 4; k++)
      hits[k] += kept[i] <= cutoffs[k];
  out->r1 = 100.0 * hits[0] / m;
  out->r5 = 100.0 * hits[1] / m;
  out->r10 = 100.0 * hits[2] / m;
  out->r50 = 100.0 * hits[3] / m;
  qsort (kept, m, sizeof (int), compare_int);
  out->median_rank = m % 2 ? kept[m / 2] : 0.5 * (kept[m / 2 - 1] + kept[m / 2]);
}

/* Accuracy (percent) of the ranks <= K among the masked queries that have a rank. */
static double
accuracy_at (const int      *ranks,
             int             n,
             const gboolean *mask,
             int             k)
{
  guint m = 0, hits = 0;

  for (int i = 0; i < n; i++)
    if ((mask == NULL || mask[i]) && ranks[i] > 0)
      {
        m++;
        hits += ranks[i] <= k;
      }
  return m ? 100.0 * hits / m : 0.0;
}

static PlBenchScores *
scope_scores (const PlBenchInput *input,
              const PlBenchRanks *ranks,
              const gboolean     *pair_mask,
              const gboolean     *phenotype_mask)
{
  PlBenchScores *scores = g_new0 (PlBenchScores, 1);

  for (int i = 0; i < input->n_pairs; i++)
    if (pair_mask == NULL || pair_mask[i])
      {
        scores->n_pairs++;
        scores->n_classified += input->pair_offsets[i + 1] > input->pair_offsets[i];
      }
  for (int p = 0; p < input->n_phenotypes; p++)
    scores->n_phenotypes += phenotype_mask == NULL || phenotype_mask[p];
  scores->top1 = accuracy_at (ranks->classification, input->n_pairs, pair_mask, 1);
  scores->top5 = accuracy_at (ranks->classification, input->n_pairs, pair_mask, 5);
  if (ranks->i2t != NULL)
    {
      pl_retrieval_scores (ranks->i2t, input->n_pairs, pair_mask, &scores->i2t);
      pl_retrieval_scores (ranks->t2i, input->n_pairs, pair_mask, &scores->t2i);
    }
  pl_retrieval_scores (ranks->i2p, input->n_pairs, pair_mask, &scores->i2p);
  pl_retrieval_scores (ranks->p2i, input->n_phenotypes, phenotype_mask, &scores->p2i);
  return scores;
}

static int
compare_scores_by_label (gconstpointer a,
                         gconstpointer b)
{
  const PlBenchScores *x = *(PlBenchScores **) a, *y = *(PlBenchScores **) b;
  int c = g_strcmp0 (x->system_label, y->system_label);

  return c != 0 ? c : g_strcmp0 (x->system_id, y->system_id);
}

PlBenchMetrics *
pl_bench_metrics_compute_with_ranks (const PlBenchInput *input,
                                     PlBenchRanks       *out_ranks)
{
  PlBenchMetrics *metrics = g_new0 (PlBenchMetrics, 1);
  PlBenchRanks ranks = { 0 };
  int n = input->n_pairs, np = input->n_phenotypes, dim = input->dim;
  g_autofree float *scores = g_new (float, (gsize) MAX (n, 1) * MAX (np, 1));
  g_autoptr(GHashTable) systems = g_hash_table_new (g_str_hash, g_str_equal);  /* id -> index + 1 */
  g_autoptr(GPtrArray) system_ids = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  ranks.classification = g_new0 (int, MAX (n, 1));
  ranks.i2p = g_new0 (int, MAX (n, 1));
  ranks.p2i = g_new0 (int, MAX (np, 1));
  if (n > 0 && np > 0)
    {
      /* Zero-shot classification: images against the template-averaged phenotype embeddings. */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, np, dim, 1.0f, input->images, dim,
                   input->phenotype_prompts, dim, 0.0f, scores, np);
      pl_metrics_rank_rows (scores, n, np, input->pair_offsets, input->pair_phenotypes, ranks.classification);
      /* Image <-> phenotype retrieval: against the labels alone. */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, np, dim, 1.0f, input->images, dim,
                   input->phenotype_names, dim, 0.0f, scores, np);
      pl_metrics_rank_rows (scores, n, np, input->pair_offsets, input->pair_phenotypes, ranks.i2p);
      pl_metrics_rank_columns (scores, n, np, input->pair_offsets, input->pair_phenotypes, ranks.p2i);
    }
  if (!input->skip_paired)
    {
      ranks.i2t = g_new0 (int, MAX (n, 1));
      ranks.t2i = g_new0 (int, MAX (n, 1));
      pl_metrics_rank_paired (input->images, input->captions, n, dim, ranks.i2t, ranks.t2i);
    }
  metrics->partial = input->skip_paired;
  metrics->overall = scope_scores (input, &ranks, NULL, NULL);

  /* Per organ system: the pairs with a phenotype in it, the phenotypes under it. */
  for (int p = 0; p < np; p++)
    for (const char * const *s = input->phenotype_systems ? input->phenotype_systems[p] : NULL; s && *s; s++)
      if (!g_hash_table_contains (systems, *s))
        {
          g_ptr_array_add (system_ids, (gpointer) *s);
          g_hash_table_insert (systems, (gpointer) *s, GINT_TO_POINTER (system_ids->len));
        }
  metrics->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_bench_scores_free);
  g_hash_table_iter_init (&iter, systems);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *id = key;
      g_autofree gboolean *phenotype_mask = g_new0 (gboolean, MAX (np, 1));
      g_autofree gboolean *pair_mask = g_new0 (gboolean, MAX (n, 1));
      PlBenchScores *scores_s;
      const char *label;

      for (int p = 0; p < np; p++)
        for (const char * const *s = input->phenotype_systems[p]; s && *s; s++)
          phenotype_mask[p] |= strcmp (*s, id) == 0;
      for (int i = 0; i < n; i++)
        for (int k = input->pair_offsets[i]; k < input->pair_offsets[i + 1]; k++)
          pair_mask[i] |= phenotype_mask[input->pair_phenotypes[k]];
      scores_s = scope_scores (input, &ranks, pair_mask, phenotype_mask);
      label = input->system_labels ? g_hash_table_lookup (input->system_labels, id) : NULL;
      scores_s->system_id = g_strdup (id);
      scores_s->system_label = g_strdup (label ? label : id);
      g_ptr_array_add (metrics->systems, scores_s);
    }
  g_ptr_array_sort (metrics->systems, compare_scores_by_label);
  if (out_ranks != NULL)
    *out_ranks = ranks;
  else
    pl_bench_ranks_clear (&ranks);
  return metrics;
}

PlBenchMetrics *
pl_bench_metrics_compute (const PlBenchInput *input)
{
  return pl_bench_metrics_compute_with_ranks (input, NULL);
}
