/* pl-bench-rank.c: phenotype-embedding throughput (for tests/reference/bench_torch_phenotypes.py to
 * compare with PyTorch on the same labels and batches) and ranking latency against every phenotype
 * of a full HPO snapshot, beside a plain sgemv + full sort in the same run. */
#include <cblas.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/pl-ranking.h"
#include "data/pl-phenotype-embeddings.h"

#define N_QUERIES 100

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static int
compare_floats_desc (const void *a,
                     const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return x > y ? -1 : x < y;
}

static gboolean
copy_file (const char *from,
           const char *to)
{
  g_autofree char *contents = NULL;
  gsize length;

  return g_file_get_contents (from, &contents, &length, NULL) && g_file_set_contents (to, contents, length, NULL);
}

/* Random unit vectors for every live phenotype under HP:0000118, stored as the embedding set of
 * TEMPLATES for this checkpoint: ranking's cost does not depend on the vectors' values. */
static int
store_random_vectors (const char   *path,
                      const PlClip *clip,
                      const char   *templates_key,
                      GRand        *rand)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *terms = NULL, *insert = NULL;
  int dim = pl_clip_get_embed_dim (clip), n = 0;
  g_autofree float *v = g_new (float, dim);
  gint64 set_id;

  sqlite3_open (path, &db);
  sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
  {
    g_autofree char *sql = g_strdup_printf (
      "INSERT INTO embedding_sets (checkpoint_fingerprint, template_set, dimension) VALUES ('%s', '%s', %d)",
      pl_clip_get_fingerprint (clip), templates_key, dim);

    sqlite3_exec (db, sql, NULL, NULL, NULL);
  }
  set_id = sqlite3_last_insert_rowid (db);
  sqlite3_prepare_v2 (db,
    "WITH RECURSIVE sub (id) AS (SELECT 'HP:0000118' UNION SELECT is_a.child FROM is_a JOIN sub ON is_a.parent = sub.id)"
    " SELECT terms.id FROM terms JOIN sub ON terms.id = sub.id WHERE terms.obsolete = 0", -1, &terms, NULL);
  sqlite3_prepare_v2 (db, "INSERT INTO term_embeddings (set_id, term_id, vector) VALUES (?1, ?2, ?3)", -1, &insert, NULL);
  while (sqlite3_step (terms) == SQLITE_ROW)
    {
      for (int k = 0; k < dim; k++)
        v[k] = (float) g_rand_double_range (rand, -1, 1);
      pl_l2_normalize_rows (v, 1, dim);
      sqlite3_bind_int64 (insert, 1, set_id);
      sqlite3_bind_text (insert, 2, (const char *) sqlite3_column_text (terms, 0), -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob (insert, 3, v, (int) (sizeof (float) * dim), SQLITE_TRANSIENT);
      sqlite3_step (insert);
      sqlite3_reset (insert);
      n++;
    }
  sqlite3_finalize (terms);
  sqlite3_finalize (insert);
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (db);
  return n;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlRanker) ranker = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree char *copy = NULL;
  g_autofree char *random_key = NULL;
  const char *embed_root;
  const char *random_templates[] = { "bench: random vectors {}", NULL };
  double t_rank[N_QUERIES], t_ref[N_QUERIES];
  int dim, n_embedded;
  gint64 t0;
  double embed_seconds;

  if (argc != 5)
    {
      fprintf (stderr, "usage: pl-bench-rank CHECKPOINT SNAPSHOT EMBED_ROOT OUT.json\n");
      return 2;
    }
  embed_root = argv[3];
  pl_clip_set_threads ((int) g_get_num_processors ());
  if ((clip = pl_clip_load (argv[1], NULL, NULL, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-rank: %s\n", error->message);
      return 3;
    }
  dim = pl_clip_get_embed_dim (clip);
  /* Work on a copy, so every run computes from scratch and the source stays as it was. */
  copy = g_build_filename (g_get_tmp_dir (), "pl-bench-rank.snapshot", NULL);
  if (!copy_file (argv[2], copy))
    {
      fprintf (stderr, "pl-bench-rank: cannot copy %s\n", argv[2]);
      return 1;
    }
  random_key = pl_phenotype_templates_key (random_templates);
  store_random_vectors (copy, clip, random_key, rand);
  if ((snapshot = pl_snapshot_open (copy, PL_SNAPSHOT_OPEN_DEFAULT, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-rank: %s\n", error->message);
      return 1;
    }

  json_builder_begin_object (b);

  /* 1. Phenotype-embedding throughput over a subtree, default templates. */
  n_embedded = pl_phenotype_embeddings_missing (snapshot, clip, NULL, embed_root, &error);
  t0 = g_get_monotonic_time ();
  if (!pl_phenotype_embeddings_compute (snapshot, clip, NULL, embed_root, NULL, NULL, NULL, &error))
    {
      fprintf (stderr, "pl-bench-rank: %s\n", error->message);
      return 1;
    }
  embed_seconds = (g_get_monotonic_time () - t0) / 1e6;
  json_builder_set_member_name (b, "embed_root");
  json_builder_add_string_value (b, embed_root);
  json_builder_set_member_name (b, "embed_phenotypes");
  json_builder_add_int_value (b, n_embedded);
  json_builder_set_member_name (b, "embed_seconds");
  json_builder_add_double_value (b, embed_seconds);
  json_builder_set_member_name (b, "templates");
  json_builder_begin_array (b);
  for (int i = 0; pl_default_phenotype_templates[i] != NULL; i++)
    json_builder_add_string_value (b, pl_default_phenotype_templates[i]);
  json_builder_end_array (b);
  {
    /* The phenotypes and their embeddings, for PyTorch to embed the same and compare. */
    g_autoptr(PlPhenotypeMatrix) m = pl_phenotype_matrix_load (snapshot, clip, NULL, &error);

    json_builder_set_member_name (b, "phenotypes");
    json_builder_begin_array (b);
    for (int i = 0; m != NULL && i < m->n; i++)
      {
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "id");
        json_builder_add_string_value (b, m->term_ids->pdata[i]);
        json_builder_set_member_name (b, "label");
        json_builder_add_string_value (b, m->labels->pdata[i]);
        json_builder_set_member_name (b, "embedding");
        json_builder_begin_array (b);
        for (int k = 0; k < dim; k++)
          json_builder_add_double_value (b, m->vectors[(gsize) i * dim + k]);
        json_builder_end_array (b);
        json_builder_end_object (b);
      }
    json_builder_end_array (b);
  }

  /* 2. Ranking every phenotype of the full HPO against 100 image embeddings. */
  if ((ranker = pl_ranker_new (snapshot, clip, random_templates, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-rank: %s\n", error->message);
      return 1;
    }
  {
    guint n = pl_ranker_get_n_phenotypes (ranker);
    g_autofree float *query = g_new (float, dim);
    g_autofree float *matrix = g_new (float, (gsize) n * dim);
    g_autofree float *scores = g_new (float, n);

    for (gsize i = 0; i < (gsize) n * dim; i++)
      matrix[i] = (float) g_rand_double_range (rand, -1, 1);
    for (int q = 0; q < N_QUERIES; q++)
      {
        g_autoptr(PlRanking) ranking = NULL;

        for (int k = 0; k < dim; k++)
          query[k] = (float) g_rand_double_range (rand, -1, 1);
        pl_l2_normalize_rows (query, 1, dim);
        t0 = g_get_monotonic_time ();
        ranking = pl_ranker_rank (ranker, query, 10, NULL, &error);
        t_rank[q] = (g_get_monotonic_time () - t0) / 1000.0;
        g_assert (ranking != NULL);
        /* Reference: the straightforward way, a matrix-vector product and a full sort. */
        t0 = g_get_monotonic_time ();
        cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) n, dim, 1.0f, matrix, dim, query, 1, 0.0f, scores, 1);
        qsort (scores, n, sizeof (float), compare_floats_desc);
        t_ref[q] = (g_get_monotonic_time () - t0) / 1000.0;
      }
    qsort (t_rank, N_QUERIES, sizeof (double), compare_doubles);
    qsort (t_ref, N_QUERIES, sizeof (double), compare_doubles);
    json_builder_set_member_name (b, "rank_phenotypes");
    json_builder_add_int_value (b, n);
    json_builder_set_member_name (b, "rank_median_ms");
    json_builder_add_double_value (b, t_rank[N_QUERIES / 2]);
    json_builder_set_member_name (b, "rank_worst_ms");
    json_builder_add_double_value (b, t_rank[N_QUERIES - 1]);
    json_builder_set_member_name (b, "reference_sgemv_sort_median_ms");
    json_builder_add_double_value (b, t_ref[N_QUERIES / 2]);
  }
  json_builder_end_object (b);
  {
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autoptr(JsonNode) root = json_builder_get_root (b);

    json_generator_set_root (gen, root);
    if (!json_generator_to_file (gen, argv[4], &error))
      {
        fprintf (stderr, "pl-bench-rank: %s\n", error->message);
        return 1;
      }
  }
  g_clear_pointer (&ranker, pl_ranker_free);
  g_clear_pointer (&snapshot, pl_snapshot_free);
  g_remove (copy);
  return 0;
}
