/* test-ranking.c: phenotype embeddings and rankings equal open_clip's zero-shot classifier and numpy
 * on the tiny fixture model over the demo ontology (tests/reference/make_ranking_fixtures.py). */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "app/pl-ranking.h"
#include "data/pl-phenotype-embeddings.h"
#include "model/pl-error.h"
#include "model/pl-parallel.h"
#include "tests/pl-test-util.h"

#define TOLERANCE 1e-4

static JsonParser *expected_parser;
static JsonObject *expected;
static PlClip *clip;

static PlSnapshot *
fresh_snapshot (const char *name)
{
  g_autofree char *obo = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "data", "demo", "hpo-demo.obo", NULL);
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), name, NULL);
  g_autoptr(GError) error = NULL;
  PlSnapshot *snapshot;

  g_assert_true (pl_snapshot_import (obo, path, NULL, &error));
  g_assert_no_error (error);
  snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  return snapshot;
}

static int
row_of (PlPhenotypeMatrix *matrix,
        const char        *id)
{
  for (int i = 0; i < matrix->n; i++)
    if (strcmp (matrix->term_ids->pdata[i], id) == 0)
      return i;
  return -1;
}

static void
test_embeddings_equal_open_clip_zero_shot_classifier (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("embed.snapshot");
  g_autoptr(PlPhenotypeMatrix) matrix = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *terms = json_object_get_array_member (expected, "terms");
  double worst = 0;

  g_assert_cmpint (pl_phenotype_embeddings_missing (snapshot, clip, NULL, NULL, &error), ==,
                   json_array_get_length (terms));
  g_assert_true (pl_phenotype_embeddings_compute (snapshot, clip, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pl_phenotype_embeddings_missing (snapshot, clip, NULL, NULL, &error), ==, 0);
  matrix = pl_phenotype_matrix_load (snapshot, clip, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (matrix->n, ==, json_array_get_length (terms));
  for (guint t = 0; t < json_array_get_length (terms); t++)
    {
      JsonObject *term = json_array_get_object_element (terms, t);
      JsonArray *vector = json_object_get_array_member (term, "embedding");
      int row = row_of (matrix, json_object_get_string_member (term, "id"));

      g_assert_cmpint (row, >=, 0);
      for (int k = 0; k < matrix->dim; k++)
        worst = MAX (worst, fabs (matrix->vectors[(gsize) row * matrix->dim + k] -
                                  json_array_get_double_element (vector, k)));
    }
  g_test_message ("max |engine - open_clip| over %d phenotype embeddings: %.2e", matrix->n, worst);
  g_assert_cmpfloat (worst, <=, TOLERANCE);
}

static void
check_ranking (const PlRanking *ranking,
               JsonArray       *top)
{
  g_assert_cmpuint (ranking->phenotypes->len, ==, json_array_get_length (top));
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *p = ranking->phenotypes->pdata[i];
      JsonObject *want = json_array_get_object_element (top, i);

      g_assert_cmpstr (p->term_id, ==, json_object_get_string_member (want, "id"));
      g_assert_cmpfloat (fabs (p->cosine - json_object_get_double_member (want, "cosine")), <=, TOLERANCE);
      g_assert_cmpfloat (fabs (p->probability - json_object_get_double_member (want, "probability")), <=, TOLERANCE);
      g_assert_cmpfloat (fabs (p->logit - pl_clip_get_logit_scale (clip) * p->cosine), <=, 1e-5);
      /* Every path runs from the ontology root down to the term itself. */
      g_assert_cmpuint (p->paths->len, >=, 1);
      for (guint k = 0; k < p->paths->len; k++)
        {
          GPtrArray *path = p->paths->pdata[k];

          g_assert_cmpstr (((PlTermRef *) path->pdata[0])->id, ==, "HP:0000001");
          g_assert_cmpstr (((PlTermRef *) path->pdata[path->len - 1])->id, ==, p->term_id);
          if (k > 0)
            g_assert_cmpuint (path->len, >=, ((GPtrArray *) p->paths->pdata[k - 1])->len);
        }
    }
}

static void
check_ranking_equals_numpy (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("rank.snapshot");
  g_autoptr(PlRanker) ranker = NULL;
  g_autoptr(PlRanking) ranking = NULL;
  g_autoptr(PlRanking) under = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *retina = pl_test_shared_data_path ("images/retina.jpg");
  int size = pl_clip_get_vit_config (clip)->image_size, dim = pl_clip_get_embed_dim (clip);
  g_autofree float *pixels = g_new (float, (gsize) 3 * size * size);
  g_autofree float *embedding = g_new (float, dim);

  g_assert_true (pl_phenotype_embeddings_compute (snapshot, clip, NULL, NULL, NULL, NULL, NULL, &error));
  ranker = pl_ranker_new (snapshot, clip, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pl_clip_load_image (clip, retina, pixels, &error));
  pl_clip_encode_images (clip, pixels, 1, embedding);

  ranking = pl_ranker_rank (ranker, embedding, 10, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranking->n_candidates, ==, json_array_get_length (json_object_get_array_member (expected, "terms")));
  check_ranking (ranking, json_object_get_array_member (expected, "top"));
  /* The ranker's paths (from its graph in memory) are the snapshot's own, in the same order. */
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *p = ranking->phenotypes->pdata[i];
      g_autoptr(GPtrArray) paths = pl_snapshot_get_paths (snapshot, p->term_id, 0, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (p->paths->len, ==, paths->len);
      for (guint k = 0; k < paths->len; k++)
        {
          GPtrArray *mine = p->paths->pdata[k], *theirs = paths->pdata[k];

          g_assert_cmpuint (mine->len, ==, theirs->len);
          for (guint j = 0; j < mine->len; j++)
            g_assert_cmpstr (((PlTermRef *) mine->pdata[j])->id, ==, ((PlTermRef *) theirs->pdata[j])->id);
        }
    }

  under = pl_ranker_rank (ranker, embedding, 5, json_object_get_string_member (expected, "under"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (under->n_candidates, ==, json_object_get_int_member (expected, "under_candidates"));
  check_ranking (under, json_object_get_array_member (expected, "under_top"));
}

static void
test_ranking_equals_numpy (void)
{
  check_ranking_equals_numpy ();
}

static void
test_ranking_split_across_threads_equals_numpy (void)
{
  /* With two threads the 105 phenotypes' scores are computed in two halves at once. */
  pl_clip_set_threads (2);
  if (pl_parallel_get_threads () < 2)
    g_test_message ("one core only: the scores are computed in one piece");
  check_ranking_equals_numpy ();
  pl_clip_set_threads (1);
}

static void
test_system_summary_is_the_max_over_each_systems_phenotypes (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("systems.snapshot");
  g_autoptr(PlRanker) ranker = NULL;
  g_autoptr(PlRanking) ranking = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *terms = json_object_get_array_member (expected, "terms");
  JsonArray *image = json_object_get_array_member (expected, "image_embedding");
  int dim = pl_clip_get_embed_dim (clip);
  g_autofree float *embedding = g_new (float, dim);
  double probability_sum = 0;

  for (int k = 0; k < dim; k++)
    embedding[k] = (float) json_array_get_double_element (image, k);
  g_assert_true (pl_phenotype_embeddings_compute (snapshot, clip, NULL, NULL, NULL, NULL, NULL, &error));
  ranker = pl_ranker_new (snapshot, clip, NULL, &error);
  ranking = pl_ranker_rank (ranker, embedding, 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranking->systems->len, >=, 5);
  for (guint s = 0; s < ranking->systems->len; s++)
    {
      PlSystemScore *score = ranking->systems->pdata[s];
      double best = -INFINITY;

      /* The reference cosine of every phenotype whose systems include this one. */
      for (guint t = 0; t < json_array_get_length (terms); t++)
        {
          JsonObject *term = json_array_get_object_element (terms, t);
          JsonArray *vector = json_object_get_array_member (term, "embedding");
          g_autoptr(PlTerm) info = pl_snapshot_get_term (snapshot, json_object_get_string_member (term, "id"), NULL);
          double cosine = 0;
          gboolean in_system = FALSE;

          for (guint k = 0; k < info->systems->len; k++)
            in_system |= strcmp (info->systems->pdata[k], score->system_id) == 0;
          if (!in_system)
            continue;
          for (int k = 0; k < dim; k++)
            cosine += json_array_get_double_element (vector, k) * embedding[k];
          best = MAX (best, cosine);
        }
      g_assert_cmpfloat (fabs (score->cosine - best), <=, TOLERANCE);
      if (s > 0)
        g_assert_cmpfloat (score->cosine, <=, ((PlSystemScore *) ranking->systems->pdata[s - 1])->cosine);
      probability_sum += score->probability;
    }
  /* Phenotypes under several systems count in each, so the sum is at least the whole mass. */
  g_assert_cmpfloat (probability_sum, >=, 1.0 - 1e-4);
}

typedef struct {
  GCancellable *cancellable;
  guint         calls;
  guint         last_done;
  guint         total;
} Watch;

static void
cancel_after_first_batch (const PlEmbeddingProgress *progress,
                          gpointer                   user_data)
{
  Watch *watch = user_data;

  watch->calls++;
  g_assert_cmpuint (progress->done, >=, watch->last_done);
  watch->last_done = progress->done;
  watch->total = progress->total;
  if (progress->done > 0 && watch->cancellable != NULL)
    g_cancellable_cancel (watch->cancellable);
}

static void
test_resumed_embeddings_equal_one_go (void)
{
  g_autoptr(PlSnapshot) one_go = fresh_snapshot ("one-go.snapshot");
  g_autoptr(PlSnapshot) resumed = fresh_snapshot ("resumed.snapshot");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PlPhenotypeMatrix) a = NULL;
  g_autoptr(PlPhenotypeMatrix) b = NULL;
  g_autoptr(GError) error = NULL;
  Watch watch = { cancellable, 0, 0, 0 };
  gint missing_after_cancel;

  g_assert_true (pl_phenotype_embeddings_compute (one_go, clip, NULL, NULL, NULL, NULL, NULL, &error));

  g_assert_false (pl_phenotype_embeddings_compute (resumed, clip, NULL, NULL, cancellable,
                                                   cancel_after_first_batch, &watch, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  missing_after_cancel = pl_phenotype_embeddings_missing (resumed, clip, NULL, NULL, &error);
  g_test_message ("cancelled with %u of %u done; %d missing", watch.last_done, watch.total, missing_after_cancel);
  g_assert_cmpint (missing_after_cancel, >, 0);
  g_assert_cmpint (missing_after_cancel, ==, (gint) (watch.total - watch.last_done));

  watch = (Watch) { NULL, 0, 0, 0 };
  g_assert_true (pl_phenotype_embeddings_compute (resumed, clip, NULL, NULL, NULL, cancel_after_first_batch, &watch,
                                                  &error));
  g_assert_cmpuint (watch.last_done, ==, watch.total);
  g_assert_cmpint (pl_phenotype_embeddings_missing (resumed, clip, NULL, NULL, &error), ==, 0);

  a = pl_phenotype_matrix_load (one_go, clip, NULL, &error);
  b = pl_phenotype_matrix_load (resumed, clip, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n, ==, b->n);
  for (int i = 0; i < a->n; i++)
    {
      int j = row_of (b, a->term_ids->pdata[i]);

      g_assert_cmpint (j, >=, 0);
      for (int k = 0; k < a->dim; k++)
        g_assert_cmpfloat (fabs (a->vectors[(gsize) i * a->dim + k] - b->vectors[(gsize) j * b->dim + k]), <=, 1e-6);
    }
}

static void
test_ranking_without_embeddings_says_how_to_compute_them (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("empty.snapshot");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlRanker) ranker = pl_ranker_new (snapshot, clip, NULL, &error);

  g_assert_null (ranker);
  g_assert_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR);
  g_assert_nonnull (strstr (error->message, "phenolip kg embed"));
}

static void
test_other_templates_are_a_separate_set (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("templates.snapshot");
  g_autoptr(GError) error = NULL;
  const char *templates[] = { "a photo of {}", NULL };
  g_autofree char *key_default = pl_phenotype_templates_key (NULL);
  g_autofree char *key_other = pl_phenotype_templates_key (templates);

  g_assert_cmpstr (key_default, !=, key_other);
  g_assert_true (pl_phenotype_embeddings_compute (snapshot, clip, templates, "HP:0000478", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pl_phenotype_embeddings_missing (snapshot, clip, templates, "HP:0000478", &error), ==, 0);
  g_assert_cmpint (pl_phenotype_embeddings_missing (snapshot, clip, NULL, "HP:0000478", &error), >, 0);
}

static void
test_unknown_root_and_subtree_are_errors (void)
{
  g_autoptr(PlSnapshot) snapshot = fresh_snapshot ("unknown.snapshot");
  g_autoptr(PlRanker) ranker = NULL;
  g_autoptr(PlRanking) ranking = NULL;
  g_autoptr(GError) error = NULL;
  int dim = pl_clip_get_embed_dim (clip);
  g_autofree float *embedding = g_new0 (float, dim);

  g_assert_false (pl_phenotype_embeddings_compute (snapshot, clip, NULL, "HP:9999999", NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (pl_phenotype_embeddings_compute (snapshot, clip, NULL, NULL, NULL, NULL, NULL, &error));
  ranker = pl_ranker_new (snapshot, clip, NULL, &error);
  embedding[0] = 1;
  ranking = pl_ranker_rank (ranker, embedding, 5, "not an id", &error);
  g_assert_null (ranking);
  g_assert_nonnull (error);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *model = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  pl_clip_set_threads (1);
  expected_parser = json_parser_new ();
  expected = pl_test_load_fixture_object (expected_parser, "ranking/expected.json");
  model = pl_test_fixture_path ("tiny/open_clip_pytorch_model.bin");
  clip = pl_clip_load (model, NULL, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/ranking/embeddings-equal-open-clip-zero-shot-classifier",
                   test_embeddings_equal_open_clip_zero_shot_classifier);
  g_test_add_func ("/ranking/ranking-equals-numpy", test_ranking_equals_numpy);
  g_test_add_func ("/ranking/ranking-split-across-threads-equals-numpy", test_ranking_split_across_threads_equals_numpy);
  g_test_add_func ("/ranking/system-summary-is-the-max-over-each-systems-phenotypes",
                   test_system_summary_is_the_max_over_each_systems_phenotypes);
  g_test_add_func ("/ranking/resumed-embeddings-equal-one-go", test_resumed_embeddings_equal_one_go);
  g_test_add_func ("/ranking/ranking-without-embeddings-says-how-to-compute-them",
                   test_ranking_without_embeddings_says_how_to_compute_them);
  g_test_add_func ("/ranking/other-templates-are-a-separate-set", test_other_templates_are_a_separate_set);
  g_test_add_func ("/ranking/unknown-root-and-subtree-are-errors", test_unknown_root_and_subtree_are_errors);
  status = g_test_run ();
  pl_clip_free (clip);
  g_clear_object (&expected_parser);
  return status;
}
