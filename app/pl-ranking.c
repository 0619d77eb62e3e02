/* pl-ranking.c: an image embedding against every phenotype embedding in one matrix-vector product,
 * then the top k with their ontology context and a per-organ-system summary. */
#include "app/pl-ranking.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model/pl-error.h"
#include "model/pl-parallel.h"

struct _PlRanker {
  PlSnapshot        *snapshot;     /* not owned */
  PlTermGraph       *graph;        /* the is_a graph, for the top phenotypes' paths */
  PlPhenotypeMatrix *matrix;
  float              logit_scale;
  GHashTable        *row_of_term;  /* term id -> row + 1 */
  GHashTable        *system_labels;/* system id -> label */
  GPtrArray         *system_ids;   /* char*: every system any row belongs to, indexed */
  int               *row_systems;  /* indices into system_ids, row i's at [row_system_start[i], [i + 1]) */
  int               *row_system_start; /* [n + 1] */
  float             *scores;       /* [n] scratch */
  float             *weights;      /* [n] scratch: exp (logit - max logit) */
};

static void
ranked_phenotype_free (PlRankedPhenotype *p)
{
  g_free (p->term_id);
  g_free (p->label);
  g_clear_pointer (&p->paths, g_ptr_array_unref);
  g_clear_pointer (&p->systems, g_ptr_array_unref);
  g_free (p);
}

static void
system_score_free (PlSystemScore *s)
{
  g_free (s->system_id);
  g_free (s->label);
  g_free (s->best_term_id);
  g_free (s->best_term_label);
  g_free (s);
}

void
pl_ranking_free (PlRanking *ranking)
{
  if (ranking == NULL)
    return;
  g_clear_pointer (&ranking->phenotypes, g_ptr_array_unref);
  g_clear_pointer (&ranking->systems, g_ptr_array_unref);
  g_free (ranking);
}

PlRanker *
pl_ranker_new (PlSnapshot         *snapshot,
               const PlClip       *clip,
               const char * const *templates,
               GError            **error)
{
  g_autoptr(PlRanker) ranker = g_new0 (PlRanker, 1);
  g_autoptr(GPtrArray) systems = NULL;

  ranker->snapshot = snapshot;
  ranker->logit_scale = pl_clip_get_logit_scale (clip);
  if ((ranker->matrix = pl_phenotype_matrix_load (snapshot, clip, templates, error)) == NULL)
    return NULL;
  if ((ranker->graph = pl_snapshot_load_graph (snapshot, error)) == NULL)
    return NULL;
  ranker->row_of_term = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < ranker->matrix->n; i++)
    g_hash_table_insert (ranker->row_of_term, ranker->matrix->term_ids->pdata[i], GINT_TO_POINTER (i + 1));
  ranker->system_labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if ((systems = pl_snapshot_get_children (snapshot, PL_HPO_PHENOTYPIC_ABNORMALITY_ID, error)) == NULL)
    return NULL;
  for (guint i = 0; i < systems->len; i++)
    {
      PlTermRef *ref = systems->pdata[i];

      g_hash_table_insert (ranker->system_labels, g_strdup (ref->id), g_strdup (ref->label));
    }
  /* Systems as small integers per row, so scoring 16,000 phenotypes does no string work. */
  {
    g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
    GArray *row_systems = g_array_new (FALSE, FALSE, sizeof (int));

    ranker->system_ids = g_ptr_array_new_with_free_func (g_free);
    ranker->row_system_start = g_new (int, ranker->matrix->n + 1);
    for (int i = 0; i < ranker->matrix->n; i++)
      {
        ranker->row_system_start[i] = (int) row_systems->len;
        for (char **sys = ranker->matrix->systems->pdata[i]; *sys != NULL; sys++)
          {
            gpointer found;
            int k;

            if (g_hash_table_lookup_extended (index, *sys, NULL, &found))
              k = GPOINTER_TO_INT (found);
            else
              {
                k = (int) ranker->system_ids->len;
                g_ptr_array_add (ranker->system_ids, g_strdup (*sys));
                g_hash_table_insert (index, ranker->system_ids->pdata[k], GINT_TO_POINTER (k));
              }
            g_array_append_val (row_systems, k);
          }
      }
    ranker->row_system_start[ranker->matrix->n] = (int) row_systems->len;
    ranker->row_systems = (int *) (void *) g_array_free (row_systems, FALSE);
  }
  ranker->scores = g_new (float, ranker->matrix->n);
  ranker->weights = g_new (float, ranker->matrix->n);
  return g_steal_pointer (&ranker);
}

void
pl_ranker_free (PlRanker *ranker)
{
  if (ranker == NULL)
    return;
  g_clear_pointer (&ranker->row_of_term, g_hash_table_unref);
  g_clear_pointer (&ranker->system_labels, g_hash_table_unref);
  g_clear_pointer (&ranker->matrix, pl_phenotype_matrix_free);
  g_clear_pointer (&ranker->graph, pl_term_graph_free);
  g_clear_pointer (&ranker->system_ids, g_ptr_array_unref);
  g_free (ranker->row_systems);
  g_free (ranker->row_system_start);
  g_free (ranker->scores);
  g_free (ranker->weights);
  g_free (ranker);
}

guint
pl_ranker_get_n_phenotypes (PlRanker *ranker)
{
  return (guint) ranker->matrix->n;
}

/* A min-heap of row indices by score, holding the best K seen so far. */
static void
heap_sift_down (int         *heap,
                int          n,
                int          i,
                const float *scores)
{
  for (;;)
    {
      int smallest = i, l = 2 * i + 1, r = 2 * i + 2, tmp;

      if (l < n && scores[heap[l]] < scores[heap[smallest]])
        smallest = l;
      if (r < n && scores[heap[r]] < scores[heap[smallest]])
        smallest = r;
      if (smallest == i)
        return;
      tmp = heap[i];
      heap[i] = heap[smallest];
      heap[smallest] = tmp;
      i = smallest;
    }
}

static int
compare_rows_by_score (const void *a,
                       const void *b,
                       void       *user_data)
{
  const float *scores = user_data;
  int x = *(const int *) a, y = *(const int *) b;

  if (scores[x] != scores[y])
    return scores[x] > scores[y] ? -1 : 1;
  return x - y;
}

static int
compare_systems (gconstpointer a,
                 gconstpointer b)
{
  const PlSystemScore *x = *(PlSystemScore * const *) a, *y = *(PlSystemScore * const *) b;

  if (x->cosine != y->cosine)
    return x->cosine > y->cosine ? -1 : 1;
  return strcmp (x->system_id, y->system_id);
}

/* Rows a part takes at the least. The full HPO's 16,562 rows always split; a small matrix (the
 * demo's 105 phenotypes, the tests') splits too, at the cost of one thread's wake-up. */
#define SCORES_MIN_ROWS 32

typedef struct {
  const PlPhenotypeMatrix *matrix;
  const float             *embedding;
  float                   *scores;
} ScoresJob;

/* Part INDEX of COUNT of the scores: a matrix-vector product over its rows. Reading the 34 MB
 * matrix is the whole cost, and two cores read it in 1.8 ms where one takes 3.0 (this machine). */
static void
scores_part (gpointer data, int index, int count)
{
  const ScoresJob *job = data;
  const PlPhenotypeMatrix *m = job->matrix;
  int start, end;

  pl_parallel_range (m->n, 1, index, count, &start, &end);
  if (end > start)
    cblas_sgemv (CblasRowMajor, CblasNoTrans, end - start, m->dim, 1.0f, m->vectors + (gsize) start * m->dim,
                 m->dim, job->embedding, 1, 0.0f, job->scores + start, 1);
}

PlRanking *
pl_ranker_rank (PlRanker     *ranker,
                const float  *image_embedding,
                guint         top_k,
                const char   *under_id,
                GError      **error)
{
  PlPhenotypeMatrix *m = ranker->matrix;
  g_autoptr(PlRanking) ranking = g_new0 (PlRanking, 1);
  g_autofree guint8 *candidate = g_new (guint8, m->n);
  g_autofree int *heap = NULL;
  g_autofree int *system_best = NULL;
  g_autofree double *system_mass = NULL;
  double max_logit = -INFINITY, sum = 0;
  int n_heap = 0, n_systems;

  /* scores[n] = M[n, dim] . e[dim], the rows split across the model's threads */
  {
    ScoresJob job = { m, image_embedding, ranker->scores };

    pl_parallel_run (scores_part, &job, MAX (1, m->n / SCORES_MIN_ROWS));
  }

  if (under_id != NULL)
    {
      g_autoptr(PlTerm) root = pl_snapshot_get_term (ranker->snapshot, under_id, error);
      g_autoptr(GPtrArray) subtree = NULL;
      guint total = 0;
      gpointer row;

      if (root == NULL)
        return NULL;
      if ((subtree = pl_snapshot_list_subtree (ranker->snapshot, root->id, 0, G_MAXUINT, &total, error)) == NULL)
        return NULL;
      memset (candidate, 0, m->n);
      if ((row = g_hash_table_lookup (ranker->row_of_term, root->id)) != NULL)
        candidate[GPOINTER_TO_INT (row) - 1] = 1;
      for (guint i = 0; i < subtree->len; i++)
        if ((row = g_hash_table_lookup (ranker->row_of_term, ((PlTermRef *) subtree->pdata[i])->id)) != NULL)
          candidate[GPOINTER_TO_INT (row) - 1] = 1;
    }
  else
    memset (candidate, 1, m->n);

  for (int i = 0; i < m->n; i++)
    if (candidate[i])
      {
        ranking->n_candidates++;
        max_logit = MAX (max_logit, (double) ranker->logit_scale * ranker->scores[i]);
      }

  ranking->phenotypes = g_ptr_array_new_with_free_func ((GDestroyNotify) ranked_phenotype_free);
  ranking->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) system_score_free);
  top_k = MIN (top_k, ranking->n_candidates);
  heap = g_new (int, MAX (top_k, 1));
  n_systems = (int) ranker->system_ids->len;
  system_best = g_new (int, MAX (n_systems, 1));
  system_mass = g_new0 (double, MAX (n_systems, 1));
  for (int k = 0; k < n_systems; k++)
    system_best[k] = -1;

  for (int i = 0; i < m->n; i++)
    {
      float weight;

      if (!candidate[i])
        continue;
      /* Softmax numerators, stable: exp (logit - max logit) <= 1. */
      weight = expf ((float) ((double) ranker->logit_scale * ranker->scores[i] - max_logit));
      ranker->weights[i] = weight;
      sum += weight;
      if (top_k > 0)
        {
          if ((guint) n_heap < top_k)
            {
              heap[n_heap++] = i;
              if ((guint) n_heap == top_k)
                for (int h = n_heap / 2 - 1; h >= 0; h--)
                  heap_sift_down (heap, n_heap, h, ranker->scores);
            }
          else if (ranker->scores[i] > ranker->scores[heap[0]])
            {
              heap[0] = i;
              heap_sift_down (heap, n_heap, 0, ranker->scores);
            }
        }
      /* Each system: the best phenotype below it (max over descendants), and its share of the mass. */
      for (int r = ranker->row_system_start[i]; r < ranker->row_system_start[i + 1]; r++)
        {
          int k = ranker->row_systems[r];

          system_mass[k] += weight;
          if (system_best[k] < 0 || ranker->scores[i] > ranker->scores[system_best[k]])
            system_best[k] = i;
        }
    }
  for (int k = 0; k < n_systems; k++)
    {
      PlSystemScore *score;
      const char *label;
      int best = system_best[k];

      if (best < 0)
        continue;
      label = g_hash_table_lookup (ranker->system_labels, ranker->system_ids->pdata[k]);
      score = g_new0 (PlSystemScore, 1);
      score->system_id = g_strdup (ranker->system_ids->pdata[k]);
      score->label = g_strdup (label != NULL ? label : score->system_id);
      score->cosine = ranker->scores[best];
      score->probability = (float) (system_mass[k] / sum);
      score->best_term_id = g_strdup (m->term_ids->pdata[best]);
      score->best_term_label = g_strdup (m->labels->pdata[best]);
      g_ptr_array_add (ranking->systems, score);
    }
  g_ptr_array_sort (ranking->systems, compare_systems);

  g_qsort_with_data (heap, n_heap, sizeof (int), compare_rows_by_score, ranker->scores);
  for (int h = 0; h < n_heap; h++)
    {
      int i = heap[h];
      PlRankedPhenotype *p = g_new0 (PlRankedPhenotype, 1);

      p->term_id = g_strdup (m->term_ids->pdata[i]);
      p->label = g_strdup (m->labels->pdata[i]);
      p->cosine = ranker->scores[i];
      p->logit = ranker->logit_scale * ranker->scores[i];
      p->probability = (float) (ranker->weights[i] / sum);
      p->systems = g_ptr_array_new_with_free_func (g_free);
      for (char **s = m->systems->pdata[i]; *s != NULL; s++)
        g_ptr_array_add (p->systems, g_strdup (*s));
      g_ptr_array_add (ranking->phenotypes, p);
      /* In memory: through SQLite a term's paths took about 0.2 ms, 40 % of a ranking. A row the
       * graph does not know (the file changed under us) still gets SQLite's answer or error. */
      p->paths = pl_term_graph_get_paths (ranker->graph, p->term_id, 0, NULL);
      if (p->paths == NULL
          && (p->paths = pl_snapshot_get_paths (ranker->snapshot, p->term_id, 0, NULL, error)) == NULL)
        return NULL;
    }
  return g_steal_pointer (&ranking);
}
