/* bench-forward.c: times the forward passes at full size (ViT-B/16 224 and BERT-base with random
 * weights) against a plain cblas_sgemm of the size of their largest layer. Not part of the build:
 *
 *   meson setup build && ninja -C build
 *   cc -O2 -I. $(pkg-config --cflags glib-2.0) tools/bench-forward.c build/model/libplmodel.a \
 *      $(pkg-config --libs glib-2.0 openblas) -lm -o build/bench-forward
 *   build/bench-forward [threads=2] [repeats=9]
 *
 * Prints median times and GFLOP/s (pl_vit_flops_per_image / pl_bert_flops_per_text: 2 M N K for
 * every GEMM that runs). Each forward measurement is paired with a plain sgemm measurement taken
 * just before it, so that a busy machine slows both and the efficiency ratio stays meaningful. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model/pl-bert.h"
#include "model/pl-vit.h"

#define MAX_REPEATS 64

static guint64 rng_state = 88172645463325252ull;
static GPtrArray *allocations;  /* every random_array, freed at exit */

static double
now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* uniform in [-scale, scale) */
static float *
random_array (size_t n, float scale)
{
  float *p = g_new (float, n);

  g_ptr_array_add (allocations, p);
  for (size_t i = 0; i < n; i++)
    {
      rng_state ^= rng_state << 13;
      rng_state ^= rng_state >> 7;
      rng_state ^= rng_state << 17;
      p[i] = ((float) (rng_state >> 40) / 16777216.0f * 2.0f - 1.0f) * scale;
    }
  return p;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *values, int n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return values[n / 2];
}

/* The plain reference: c [m, n] = a [m, k] . b [n, k]^T, as the Linear layers call it. */
typedef struct {
  int m, n, k;
  float *a, *b, *c;
} Sgemm;

static void
sgemm_init (Sgemm *s, int m, int n, int k)
{
  s->m = m;
  s->n = n;
  s->k = k;
  s->a = random_array ((size_t) m * k, 1);
  s->b = random_array ((size_t) n * k, 1);
  s->c = random_array ((size_t) m * n, 1);
}

static double
sgemm_seconds (const Sgemm *s)
{
  double start = now ();

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, s->m, s->n, s->k,
               1.0f, s->a, s->k, s->b, s->k, 0.0f, s->c, s->n);
  return now () - start;
}

static void
vit_weights_init (PlVitWeights *v)
{
  const PlVitConfig config = { 224, 16, 768, 12, 12, 3072, 512, 1e-6f };
  size_t w = config.width, f = config.mlp_dim;

  v->config = config;
  v->patch_w = random_array (w * 768, 0.036f);
  v->patch_b = random_array (w, 0.1f);
  v->cls_token = random_array (w, 1);
  v->pos_embed = random_array (197 * w, 1);
  v->blocks = g_new0 (PlVitBlock, config.n_layers);
  for (int l = 0; l < config.n_layers; l++)
    {
      PlVitBlock *b = &v->blocks[l];

      b->norm1_w = random_array (w, 1);
      b->norm1_b = random_array (w, 0.1f);
      b->qkv_w = random_array (3 * w * w, 0.036f);
      b->qkv_b = random_array (3 * w, 0.1f);
      b->proj_w = random_array (w * w, 0.036f);
      b->proj_b = random_array (w, 0.1f);
      b->norm2_w = random_array (w, 1);
      b->norm2_b = random_array (w, 0.1f);
      b->fc1_w = random_array (f * w, 0.036f);
      b->fc1_b = random_array (f, 0.1f);
      b->fc2_w = random_array (w * f, 0.018f);
      b->fc2_b = random_array (w, 0.1f);
    }
  v->norm_w = random_array (w, 1);
  v->norm_b = random_array (w, 0.1f);
  v->head_proj = random_array (config.embed_dim * w, 0.036f);
}

static void
bert_weights_init (PlBertWeights *t)
{
  const PlBertConfig config = { 30522, 768, 12, 12, 3072, 512, 2, 640, 512, 1e-12f };
  size_t w = config.width, f = config.ff_dim;

  t->config = config;
  t->word_emb = random_array (config.vocab_size * w, 1);
  t->pos_emb = random_array (config.max_positions * w, 1);
  t->type_emb = random_array (config.n_token_types * w, 1);
  t->emb_ln_w = random_array (w, 1);
  t->emb_ln_b = random_array (w, 0.1f);
  t->layers = g_new0 (PlBertLayer, config.n_layers);
  for (int l = 0; l < config.n_layers; l++)
    {
      PlBertLayer *y = &t->layers[l];

      y->q_w = random_array (w * w, 0.036f);
      y->k_w = random_array (w * w, 0.036f);
      y->v_w = random_array (w * w, 0.036f);
      y->attn_out_w = random_array (w * w, 0.036f);
      y->q_b = random_array (w, 0.1f);
      y->k_b = random_array (w, 0.1f);
      y->v_b = random_array (w, 0.1f);
      y->attn_out_b = random_array (w, 0.1f);
      y->attn_ln_w = random_array (w, 1);
      y->attn_ln_b = random_array (w, 0.1f);
      y->inter_w = random_array (f * w, 0.036f);
      y->inter_b = random_array (f, 0.1f);
      y->out_w = random_array (w * f, 0.018f);
      y->out_b = random_array (w, 0.1f);
      y->out_ln_w = random_array (w, 1);
      y->out_ln_b = random_array (w, 0.1f);
    }
  t->proj0_w = random_array (config.proj_hidden * w, 0.036f);
  t->proj2_w = random_array ((size_t) config.embed_dim * config.proj_hidden, 0.04f);
}

static void
bench_vit (const PlVitWeights *v, int n_images, int repeats)
{
  float *pixels = random_array ((size_t) n_images * 3 * 224 * 224, 2);
  float *out = g_new (float, n_images * v->config.embed_dim);
  double flops = pl_vit_flops_per_image (&v->config) * n_images;
  double t[MAX_REPEATS], plain[MAX_REPEATS];
  Sgemm fc1;

  sgemm_init (&fc1, n_images * 197, 3072, 768);
  pl_vit_encode (v, pixels, n_images, out);  /* warm-up */
  for (int r = 0; r < repeats; r++)
    {
      double start;

      plain[r] = sgemm_seconds (&fc1);
      start = now ();
      pl_vit_encode (v, pixels, n_images, out);
      t[r] = now () - start;
    }
  {
    double ms = median (t, repeats) * 1e3;
    double plain_gflops = 2.0 * fc1.m * fc1.n * fc1.k / median (plain, repeats) / 1e9;
    double gflops = flops / (ms / 1e3) / 1e9;

    printf ("vit  batch %2d: median %7.1f ms (%6.1f ms/image) %6.1f GFLOP/s;"
            " plain sgemm %dx%dx%d %6.1f GFLOP/s; ratio %.2f\n",
            n_images, ms, ms / n_images, gflops, fc1.m, fc1.n, fc1.k, plain_gflops, gflops / plain_gflops);
  }
  g_free (out);
}

static void
bench_bert (const PlBertWeights *t, int n_texts, int length, int repeats)
{
  int32_t *ids = g_new (int32_t, (size_t) n_texts * length);
  int *offsets = g_new (int, n_texts), *lengths = g_new (int, n_texts);
  float *out = g_new (float, n_texts * t->config.embed_dim);
  double times[MAX_REPEATS];
  double flops = 0, ms;

  for (int i = 0; i < n_texts; i++)
    {
      offsets[i] = i * length;
      lengths[i] = length;
      for (int p = 0; p < length; p++)
        ids[i * length + p] = (int32_t) ((i * 7919 + p * 104729) % t->config.vocab_size);
      flops += pl_bert_flops_per_text (&t->config, length);
    }
  pl_bert_encode (t, ids, offsets, lengths, n_texts, out);
  for (int r = 0; r < repeats; r++)
    {
      double start = now ();

      pl_bert_encode (t, ids, offsets, lengths, n_texts, out);
      times[r] = now () - start;
    }
  ms = median (times, repeats) * 1e3;
  printf ("bert %2d texts x %3d tokens: median %7.1f ms (%6.2f ms/text) %6.1f GFLOP/s\n",
          n_texts, length, ms, ms / n_texts, flops / (ms / 1e3) / 1e9);
  g_free (ids);
  g_free (offsets);
  g_free (lengths);
  g_free (out);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 2;
  int repeats = CLAMP (argc > 2 ? atoi (argv[2]) : 9, 1, MAX_REPEATS);
  PlVitWeights vit;
  PlBertWeights bert;

  allocations = g_ptr_array_new_with_free_func (g_free);
  openblas_set_num_threads (threads);
  printf ("OpenBLAS %s, %d threads; ViT-B/16 %.2f GFLOP/image\n",
          openblas_get_corename (), threads, pl_vit_flops_per_image (&(PlVitConfig) { 224, 16, 768, 12, 12, 3072, 512, 1e-6f }) / 1e9);
  vit_weights_init (&vit);
  bench_vit (&vit, 1, repeats);
  bench_vit (&vit, 8, MAX (repeats / 2, 1));
  bert_weights_init (&bert);
  bench_bert (&bert, 1, 8, repeats);
  bench_bert (&bert, 32, 8, repeats);
  bench_bert (&bert, 32, 32, repeats);
  g_free (vit.blocks);
  g_free (bert.layers);
  g_ptr_array_unref (allocations);
  return 0;
}
