/* test-ops.c: the numerical building blocks against hand-computed values and double-precision
 * references: LayerNorm, GELU, exp, softmax, bias adds, the GEMM wrappers, patch extraction,
 * attention and the scratch allocator. */
#include <math.h>
#include <string.h>

#include "model/pl-ops.h"
#include "model/pl-parallel.h"
#include "tests/pl-test-util.h"

/* Distance in units in the last place of the f32 nearest to EXACT. */
static double
ulp_distance (float value, double exact)
{
  float nearest = (float) exact;
  double ulp = nextafterf (fabsf (nearest), INFINITY) - fabsf (nearest);

  return fabs ((double) value - exact) / ulp;
}

static void
fill_pattern (float *x, size_t n, unsigned seed)
{
  guint32 state = seed * 2654435761u + 1;

  for (size_t i = 0; i < n; i++)
    {
      state = state * 1664525u + 1013904223u;
      x[i] = (float) ((state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
}

/* --- LayerNorm --------------------------------------------------------------------------- */

/* y against LayerNorm of x computed in double precision, row by row. */
static void
assert_layernorm_matches_double (const float *y, const float *x, const float *w, const float *b,
                                 int rows, int width, double eps, double tolerance)
{
  for (int r = 0; r < rows; r++)
    {
      const float *xr = x + (size_t) r * width;
      double mean = 0, var = 0;

      for (int i = 0; i < width; i++)
        mean += xr[i];
      mean /= width;
      for (int i = 0; i < width; i++)
        var += (xr[i] - mean) * (xr[i] - mean);
      var /= width;
      for (int i = 0; i < width; i++)
        g_assert_cmpfloat_with_epsilon (y[(size_t) r * width + i], (xr[i] - mean) / sqrt (var + eps) * w[i] + b[i],
                                        tolerance);
    }
}

static void
test_layernorm_hand_computed (void)
{
  /* mean 2.5, biased variance 1.25; eps 0.75 makes var + eps = 2, so rstd = 1/sqrt(2) */
  const float x[4] = { 1, 2, 3, 4 };
  const float w[4] = { 1, 1, 2, 0.5f };
  const float b[4] = { 0, 0.5f, 0, 1 };
  const double expected[4] = { -1.5 / G_SQRT2, -0.5 / G_SQRT2 + 0.5, 0.5 / G_SQRT2 * 2, 1.5 / G_SQRT2 * 0.5 + 1 };
  float y[4];

  pl_layernorm (y, x, w, b, 1, 4, 0.75f);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (y[i], expected[i], 2e-7);
}

static void
test_layernorm_in_place_rows_and_odd_width (void)
{
  enum { ROWS = 3, WIDTH = 37 };
  float x[ROWS * WIDTH], y[ROWS * WIDTH], w[WIDTH], b[WIDTH];

  fill_pattern (x, ROWS * WIDTH, 1);
  fill_pattern (w, WIDTH, 2);
  fill_pattern (b, WIDTH, 3);
  for (int i = 0; i < WIDTH; i++)
    x[WIDTH + i] = x[WIDTH + i] * 0.01f + 1000.0f;  /* a mean 1e5 times the spread loses nothing */
  memcpy (y, x, sizeof x);
  pl_layernorm (y, y, w, b, ROWS, WIDTH, 1e-6f);

  assert_layernorm_matches_double (y, x, w, b, ROWS, WIDTH, 1e-6, 2e-6);
}

static void
test_layernorm_constant_row_gives_bias (void)
{
  float x[20], w[20], b[20];

  for (int i = 0; i < 20; i++)
    {
      x[i] = 3.25f;
      w[i] = 2.0f;
      b[i] = (float) i;
    }
  pl_layernorm (x, x, w, b, 1, 20, 1e-12f);
  for (int i = 0; i < 20; i++)
    g_assert_cmpfloat (x[i], ==, (float) i);
}

/* --- erf, GELU, exp ---------------------------------------------------------------------- */

static void
test_gelu_known_points (void)
{
  /* 0.5 x (1 + erf(x / sqrt 2)), from Python's math.erf in double precision (and
   * 0.5 x erfc(-x / sqrt 2) at -10, where 1 + erf cancels) */
  const double points[][2] = {
    { 0, 0 },
    { 0.5, 0.34573123063700656 }, { -0.5, -0.15426876936299344 },
    { 1, 0.8413447460685429 }, { -1, -0.15865525393145707 },
    { 2, 1.9544997361036416 }, { -3, -0.00404969409489031 },
    { 3.5, 3.4991857982233756 }, { -5, -1.4332578593401202e-06 },
    { 10, 10 }, { -10, -7.6198530241605e-23 },
  };
  float x[G_N_ELEMENTS (points)];

  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    x[i] = (float) points[i][0];
  pl_gelu (x, G_N_ELEMENTS (points));
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    g_assert_cmpfloat_with_epsilon (x[i], points[i][1], (points[i][0] < -1 ? 3e-5 : 4e-7) * fabs (points[i][1]) + 1e-30);
}

static void
test_gelu_is_the_erf_form_not_tanh (void)
{
  /* at x = -2.5 the tanh approximation gives -0.0150843, the erf form -0.0155242 */
  float x = -2.5f;

  pl_gelu (&x, 1);
  g_assert_cmpfloat_with_epsilon (x, -0.015524163314440398, 1e-8);
}

/* 0.5 x erfc(-x / sqrt 2) = x Phi(x) in double precision: exact GELU without cancellation */
static double
gelu_double (double x)
{
  return 0.5 * x * erfc (-x / G_SQRT2);
}

static void
test_gelu_within_five_ulp_and_keeps_the_negative_tail (void)
{
  enum { N = 250001 };
  float *x = g_new (float, N), *y = g_new (float, N);
  double worst = 0, worst_tail = 0;

  for (int i = 0; i < N; i++)
    x[i] = -12.0f + 24.0f * i / (N - 1);
  memcpy (y, x, N * sizeof (float));
  pl_gelu (y, N);
  for (int i = 0; i < N; i++)
    {
      double exact = gelu_double (x[i]);

      if (x[i] >= -1.0f)
        worst = MAX (worst, ulp_distance (y[i], exact));
      else
        worst_tail = MAX (worst_tail, fabs (y[i] - exact) / fabs (exact));
    }
  g_test_message ("gelu: worst %.2f ulp on [-1, 12], relative error %.2g on [-12, -1]", worst, worst_tail);
  g_assert_cmpfloat (worst, <=, 5.0);
  /* 0.5 x (1 + erf(x / sqrt 2)) in f32 would return 0 below about -5.5 */
  g_assert_cmpfloat (worst_tail, <=, 3e-5);
  g_free (x);
  g_free (y);
}

static void
test_exp_within_two_ulp_of_libm (void)
{
  enum { N = 100003 };
  float *x = g_new (float, N), *y = g_new (float, N);
  double worst = 0;

  for (int i = 0; i < N; i++)
    x[i] = -87.0f + 175.0f * i / (N - 1);
  pl_exp (y, x, N);  /* N is not a multiple of the block: the padded tail is used */
  for (int i = 0; i < N; i++)
    worst = MAX (worst, ulp_distance (y[i], exp ((double) x[i])));
  g_test_message ("exp: worst %.2f ulp over [-87, 88]", worst);
  g_assert_cmpfloat (worst, <=, 2.0);

  x[0] = -100.0f;
  x[1] = -INFINITY;
  x[2] = 0.0f;
  pl_exp (x, x, 3);
  g_assert_cmpfloat (x[0], ==, 0.0f);
  g_assert_cmpfloat (x[1], ==, 0.0f);
  g_assert_cmpfloat (x[2], ==, 1.0f);
  g_free (x);
  g_free (y);
}

/* --- softmax ----------------------------------------------------------------------------- */

static void
test_softmax_large_inputs_are_stable (void)
{
  /* row 0 would overflow expf without the max subtraction; padding columns (ld 4) untouched */
  float x[3 * 4] = {
    1000, 1001, 1002, 77,
    -1e30f, 0, -1e30f, 77,
    -3, 0, 88, 77,
  };

  pl_softmax_rows (x, 4, 3, 3);
  g_assert_cmpfloat_with_epsilon (x[0], 0.09003057317038046, 1e-7);
  g_assert_cmpfloat_with_epsilon (x[1], 0.24472847105479767, 1e-7);
  g_assert_cmpfloat_with_epsilon (x[2], 0.6652409557748219, 1e-7);
  g_assert_cmpfloat (x[4], ==, 0.0f);
  g_assert_cmpfloat (x[5], ==, 1.0f);
  g_assert_cmpfloat (x[6], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (x[8], 0.0, 1e-38);
  g_assert_cmpfloat_with_epsilon (x[10], 1.0, 1e-7);
  g_assert_cmpfloat (x[3], ==, 77);
  g_assert_cmpfloat (x[7], ==, 77);
  g_assert_cmpfloat (x[11], ==, 77);
}

static void
test_softmax_matches_double_and_sums_to_one (void)
{
  enum { WIDTH = 197 };
  float x[WIDTH], original[WIDTH];
  double max = -INFINITY, sum = 0, total = 0;

  fill_pattern (x, WIDTH, 7);
  for (int i = 0; i < WIDTH; i++)
    x[i] *= 30.0f;
  memcpy (original, x, sizeof x);
  pl_softmax_rows (x, WIDTH, 1, WIDTH);
  for (int i = 0; i < WIDTH; i++)
    max = MAX (max, original[i]);
  for (int i = 0; i < WIDTH; i++)
    sum += exp (original[i] - max);
  for (int i = 0; i < WIDTH; i++)
    {
      g_assert_cmpfloat_with_epsilon (x[i], exp (original[i] - max) / sum, 1e-6);
      total += x[i];
    }
  g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-6);

  x[0] = 123.0f;
  pl_softmax_rows (x, 1, 1, 1);
  g_assert_cmpfloat (x[0], ==, 1.0f);
}

/* --- bias adds, GEMM wrappers ------------------------------------------------------------ */

static void
test_gelu_odd_length_matches_double (void)
{
  enum { N = 3 * 37 };
  float x[N], y[N];

  fill_pattern (x, N, 11);
  for (int i = 0; i < N; i++)
    x[i] *= 6.0f;
  memcpy (y, x, sizeof x);
  pl_gelu (y, N);
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat_with_epsilon (y[i], gelu_double (x[i]), 1e-6);
}

static void
test_add_bias_rows (void)
{
  enum { ROWS = 3, WIDTH = 37 };
  float x[ROWS * WIDTH], y[ROWS * WIDTH], bias[WIDTH];

  fill_pattern (x, ROWS * WIDTH, 11);
  fill_pattern (bias, WIDTH, 12);
  memcpy (y, x, sizeof x);
  pl_add_bias (y, WIDTH, bias, ROWS - 1, 20);  /* a [2, 20] block inside [3, 37] */
  for (int r = 0; r < ROWS; r++)
    for (int i = 0; i < WIDTH; i++)
      g_assert_cmpfloat (y[r * WIDTH + i], ==, r < ROWS - 1 && i < 20 ? x[r * WIDTH + i] + bias[i] : x[r * WIDTH + i]);
}

static void
test_linear_matches_naive_product (void)
{
  enum { ROWS = 5, IN = 19, OUT = 7 };
  float x[ROWS * IN], w[OUT * IN], bias[OUT], y[ROWS * 9], acc[ROWS * OUT];

  fill_pattern (x, ROWS * IN, 21);
  fill_pattern (w, OUT * IN, 22);
  fill_pattern (bias, OUT, 23);
  fill_pattern (acc, ROWS * OUT, 24);
  for (int i = 0; i < ROWS * 9; i++)
    y[i] = 42.0f;

  pl_linear (y, 9, x, w, bias, ROWS, IN, OUT);  /* row stride 9 > OUT */
  for (int r = 0; r < ROWS; r++)
    {
      for (int o = 0; o < OUT; o++)
        {
          double dot = bias[o];

          for (int i = 0; i < IN; i++)
            dot += (double) x[r * IN + i] * w[o * IN + i];
          g_assert_cmpfloat_with_epsilon (y[r * 9 + o], dot, 1e-5);
          g_assert_cmpfloat_with_epsilon (acc[r * OUT + o] + dot, acc[r * OUT + o] + y[r * 9 + o], 1e-5);
        }
      g_assert_cmpfloat (y[r * 9 + 7], ==, 42.0f);
      g_assert_cmpfloat (y[r * 9 + 8], ==, 42.0f);
    }

  {
    float expected[ROWS * OUT];

    for (int r = 0; r < ROWS; r++)
      for (int o = 0; o < OUT; o++)
        expected[r * OUT + o] = acc[r * OUT + o] + y[r * 9 + o];
    pl_linear_accumulate (acc, x, w, bias, ROWS, IN, OUT);
    for (int i = 0; i < ROWS * OUT; i++)
      g_assert_cmpfloat_with_epsilon (acc[i], expected[i], 1e-5);
  }
}

/* Products big enough to be split across the pool's threads, checked against double precision
 * with every thread count: output a row stride wider than itself, both layouts of b. */
static void
check_split_products (int rows, int in, int out, int ldy)
{
  g_autofree float *x = g_new (float, rows * in);
  g_autofree float *w = g_new (float, out * in);
  g_autofree float *w_t = g_new (float, in * out);
  g_autofree float *bias = g_new (float, out);
  g_autofree float *y = g_new (float, rows * ldy);
  g_autofree float *acc = g_new (float, rows * out);
  g_autofree float *start = g_new (float, rows * out);
  g_autofree float *nn = g_new (float, rows * out);

  g_assert_cmpint (rows * in * out, >=, 1 << 18);  /* above the size that stays in one thread */
  fill_pattern (x, rows * in, 51);
  fill_pattern (w, out * in, 52);
  fill_pattern (bias, out, 53);
  fill_pattern (start, rows * out, 54);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++)
      w_t[i * out + o] = w[o * in + i];

  for (int threads = 1; threads <= pl_parallel_get_threads () + 1; threads++)
    {
      pl_parallel_set_threads (threads);
      for (int i = 0; i < rows * ldy; i++)
        y[i] = 42.0f;
      memcpy (acc, start, rows * out * sizeof (float));
      pl_linear (y, ldy, x, w, bias, rows, in, out);
      pl_linear_accumulate (acc, x, w, bias, rows, in, out);
      pl_gemm_nn (rows, out, in, 0.5f, x, in, w_t, out, 0.0f, nn, out);
      for (int r = 0; r < rows; r++)
        {
          for (int o = 0; o < out; o++)
            {
              double dot = 0;

              for (int i = 0; i < in; i++)
                dot += (double) x[r * in + i] * w[o * in + i];
              g_assert_cmpfloat_with_epsilon (y[r * ldy + o], dot + bias[o], 1e-5);
              g_assert_cmpfloat_with_epsilon (acc[r * out + o], start[r * out + o] + dot + bias[o], 1e-5);
              g_assert_cmpfloat_with_epsilon (nn[r * out + o], 0.5 * dot, 1e-5);
            }
          for (int o = out; o < ldy; o++)
            g_assert_cmpfloat (y[r * ldy + o], ==, 42.0f);
        }
    }
  pl_parallel_set_threads ((int) g_get_num_processors ());
}

/* 200 columns in parts of multiples of 16 leave a ragged last part. */
static void
test_linear_split_ragged_columns_matches_naive (void)
{
  check_split_products (37, 96, 200, 203);
}

/* More rows than columns, as a batch of images through a 768-wide output, and only 40 columns:
 * with two parts, 16 and 24 (the tail of 8 goes to the last). */
static void
test_linear_split_many_rows_few_columns_matches_naive (void)
{
  check_split_products (301, 64, 40, 45);
}

/* The MLP's second product with its sum split across the threads: part of it lands in y, the
 * rest in partials that pl_layernorm_fold adds before normalising. y then holds start + x w^T +
 * bias and the LayerNorm is that of the completed rows, both against double precision, with
 * every thread count; n_in = 1000 leaves a ragged last share. */
static void
test_linear_split_k_then_layernorm_fold_matches_double (void)
{
  enum { ROWS = 23, IN = 1000, OUT = 48 };
  g_autofree float *x = g_new (float, ROWS * IN);
  g_autofree float *w = g_new (float, OUT * IN);
  g_autofree float *partials = g_new (float, pl_split_k_scratch_size (ROWS, OUT));
  float bias[OUT], start[ROWS * OUT], acc[ROWS * OUT], y[ROWS * OUT], ln_w[OUT], ln_b[OUT];

  g_assert_cmpint (ROWS * IN * OUT, >=, 1 << 18);
  fill_pattern (x, ROWS * IN, 81);
  fill_pattern (w, OUT * IN, 82);
  fill_pattern (bias, OUT, 83);
  fill_pattern (start, ROWS * OUT, 84);
  fill_pattern (ln_w, OUT, 85);
  fill_pattern (ln_b, OUT, 86);
  for (int threads = 1; threads <= pl_parallel_get_threads () + 1; threads++)
    {
      int n_partials;

      pl_parallel_set_threads (threads);
      memcpy (acc, start, sizeof acc);
      n_partials = pl_linear_accumulate_split_k (acc, x, w, bias, ROWS, IN, OUT, partials);
      /* one share per thread the pool really has */
      g_assert_cmpint (n_partials, ==, pl_parallel_get_threads () - 1);
      pl_layernorm_fold (y, acc, partials, n_partials, ln_w, ln_b, ROWS, OUT, 1e-5f);
      for (int r = 0; r < ROWS; r++)
        for (int o = 0; o < OUT; o++)
          {
            double dot = 0;

            for (int i = 0; i < IN; i++)
              dot += (double) x[r * IN + i] * w[o * IN + i];
            g_assert_cmpfloat_with_epsilon (acc[r * OUT + o], start[r * OUT + o] + dot + bias[o], 1e-4);
          }
      assert_layernorm_matches_double (y, acc, ln_w, ln_b, ROWS, OUT, 1e-5, 2e-5);
    }
  pl_parallel_set_threads ((int) g_get_num_processors ());
}

/* A product too small to split runs whole: no partials, y complete. */
static void
test_linear_split_k_small_runs_whole (void)
{
  enum { ROWS = 3, IN = 20, OUT = 5 };
  float x[ROWS * IN], w[OUT * IN], acc[ROWS * OUT], partials[1];

  fill_pattern (x, ROWS * IN, 91);
  fill_pattern (w, OUT * IN, 92);
  memset (acc, 0, sizeof acc);
  g_assert_cmpint (pl_linear_accumulate_split_k (acc, x, w, NULL, ROWS, IN, OUT, partials), ==, 0);
  for (int r = 0; r < ROWS; r++)
    for (int o = 0; o < OUT; o++)
      {
        double dot = 0;

        for (int i = 0; i < IN; i++)
          dot += (double) x[r * IN + i] * w[o * IN + i];
        g_assert_cmpfloat_with_epsilon (acc[r * OUT + o], dot, 1e-5);
      }
}

/* --- patches, attention ------------------------------------------------------------------ */

static void
test_patches_make_convolution_a_product (void)
{
  enum { C = 3, S = 6, P = 2, G = S / P, OUT = 4, K = C * P * P };
  float image[C * S * S], weight[OUT * K], patches[G * G * K], conv[G * G * OUT];

  fill_pattern (image, C * S * S, 31);
  fill_pattern (weight, OUT * K, 32);
  pl_image_to_patches (patches, K, image, C, S, P);
  pl_linear (conv, OUT, patches, weight, NULL, G * G, K, OUT);

  /* a stride-P Conv2d, weight [OUT, C, P, P], output [OUT, G, G] flattened to tokens [G*G, OUT] */
  for (int o = 0; o < OUT; o++)
    for (int gy = 0; gy < G; gy++)
      for (int gx = 0; gx < G; gx++)
        {
          double sum = 0;

          for (int c = 0; c < C; c++)
            for (int ky = 0; ky < P; ky++)
              for (int kx = 0; kx < P; kx++)
                sum += (double) weight[((o * C + c) * P + ky) * P + kx] *
                       image[(c * S + gy * P + ky) * S + gx * P + kx];
          g_assert_cmpfloat_with_epsilon (conv[(gy * G + gx) * OUT + o], sum, 1e-5);
        }
}

static void
naive_attention (double *out, const float *qkv, int n_tokens, int n_heads, int head_dim, double scale)
{
  int width = n_heads * head_dim;

  for (int h = 0; h < n_heads; h++)
    for (int i = 0; i < n_tokens; i++)
      {
        double scores[64], max = -INFINITY, sum = 0;

        for (int j = 0; j < n_tokens; j++)
          {
            double dot = 0;

            for (int d = 0; d < head_dim; d++)
              dot += (double) qkv[i * 3 * width + h * head_dim + d] * qkv[j * 3 * width + width + h * head_dim + d];
            scores[j] = dot * scale;
            max = MAX (max, scores[j]);
          }
        for (int j = 0; j < n_tokens; j++)
          sum += scores[j] = exp (scores[j] - max);
        for (int d = 0; d < head_dim; d++)
          {
            double v = 0;

            for (int j = 0; j < n_tokens; j++)
              v += scores[j] / sum * qkv[j * 3 * width + 2 * width + h * head_dim + d];
            out[i * width + h * head_dim + d] = v;
          }
      }
}

static void
test_attention_matches_naive_and_first_query_alone (void)
{
  enum { T = 11, H = 3, D = 5, W = H * D };
  float qkv[T * 3 * W], out[T * W], first[W];
  g_autofree float *scratch = g_new (float, pl_attention_scratch_size (T, T));
  double expected[T * W];

  fill_pattern (qkv, T * 3 * W, 41);
  for (int i = 0; i < T * 3 * W; i++)
    qkv[i] *= 3.0f;
  pl_attention (out, W, qkv, 3 * W, qkv + W, qkv + 2 * W, 3 * W, T, T, H, D, 0.4472136f, scratch);
  naive_attention (expected, qkv, T, H, D, 0.4472136f);
  for (int i = 0; i < T * W; i++)
    g_assert_cmpfloat_with_epsilon (out[i], expected[i], 2e-6);

  pl_attention (first, W, qkv, 3 * W, qkv + W, qkv + 2 * W, 3 * W, 1, T, H, D, 0.4472136f, scratch);
  for (int i = 0; i < W; i++)
    g_assert_cmpfloat_with_epsilon (first[i], out[i], 1e-6);

  /* the same query from a buffer of its own (the last layer computes only [CLS]'s) */
  {
    float query[W];

    memcpy (query, qkv, sizeof query);
    pl_attention (first, W, query, W, qkv + W, qkv + 2 * W, 3 * W, 1, T, H, D, 0.4472136f, scratch);
    for (int i = 0; i < W; i++)
      g_assert_cmpfloat_with_epsilon (first[i], out[i], 1e-6);
  }

  /* one token attends to itself only: the output is its value */
  pl_attention (first, W, qkv, 3 * W, qkv + W, qkv + 2 * W, 3 * W, 1, 1, H, D, 0.4472136f, scratch);
  for (int i = 0; i < W; i++)
    g_assert_cmpfloat (first[i], ==, qkv[2 * W + i]);
}

/* A masked key gets no weight: the result equals attention over the sequence with that token's
 * row taken out (computed by the naive double-precision reference). */
/* Enough heads and tokens for the heads to be split across the pool's threads, each part with
 * its own slot of the scratch. */
static void
test_attention_parallel_heads_match_naive (void)
{
  enum { T = 40, H = 8, D = 32, W = H * D };
  g_autofree float *qkv = g_new (float, T * 3 * W);
  g_autofree float *out = g_new (float, T * W);
  g_autofree double *expected = g_new (double, T * W);
  g_autofree float *scratch = g_new (float, pl_attention_scratch_size (T, T));

  g_assert_cmpint (T * T * D * H, >=, 1 << 18);
  fill_pattern (qkv, T * 3 * W, 61);
  naive_attention (expected, qkv, T, H, D, 0.17677669);
  for (int threads = 1; threads <= pl_parallel_get_threads () + 1; threads++)
    {
      pl_parallel_set_threads (threads);
      memset (out, 0, T * W * sizeof (float));
      pl_attention (out, W, qkv, 3 * W, qkv + W, qkv + 2 * W, 3 * W, T, T, H, D, 0.17677669f, scratch);
      for (int i = 0; i < T * W; i++)
        g_assert_cmpfloat_with_epsilon (out[i], expected[i], 1e-5);
    }
  pl_parallel_set_threads ((int) g_get_num_processors ());
}

/* Rows of a LayerNorm large enough to be split across threads come out as in one thread. */
static void
test_layernorm_split_rows_match_double (void)
{
  enum { ROWS = 301, WIDTH = 256 };
  g_autofree float *x = g_new (float, ROWS * WIDTH);
  g_autofree float *y = g_new (float, ROWS * WIDTH);
  float w[WIDTH], b[WIDTH];

  g_assert_cmpint (ROWS * WIDTH, >=, 1 << 16);
  fill_pattern (x, ROWS * WIDTH, 71);
  fill_pattern (w, WIDTH, 72);
  fill_pattern (b, WIDTH, 73);
  pl_layernorm (y, x, w, b, ROWS, WIDTH, 1e-5f);
  assert_layernorm_matches_double (y, x, w, b, ROWS, WIDTH, 1e-5, 2e-5);
}

static void
test_masked_key_equals_the_token_left_out (void)
{
  enum { T = 9, H = 2, D = 4, W = H * D, LEFT_OUT = 4 };
  float qkv[T * 3 * W], reduced[(T - 1) * 3 * W], out[T * W];
  g_autofree float *scratch = g_new (float, pl_attention_scratch_size (T, T));
  double expected[(T - 1) * W];
  uint8_t mask[T];

  fill_pattern (qkv, T * 3 * W, 7);
  for (int i = 0; i < T * 3 * W; i++)
    qkv[i] *= 3.0f;
  for (int t = 0, r = 0; t < T; t++)
    {
      mask[t] = t != LEFT_OUT;
      if (t != LEFT_OUT)
        memcpy (reduced + (size_t) r++ * 3 * W, qkv + (size_t) t * 3 * W, sizeof (float) * 3 * W);
    }
  pl_attention_masked (out, W, qkv, 3 * W, qkv + W, qkv + 2 * W, 3 * W, T, T, H, D, 0.5f, mask, scratch);
  naive_attention (expected, reduced, T - 1, H, D, 0.5f);
  /* Every query but the left-out one's own row, which exists here but not in the reduced input. */
  for (int t = 0, r = 0; t < T; t++)
    {
      if (t == LEFT_OUT)
        continue;
      for (int i = 0; i < W; i++)
        g_assert_cmpfloat_with_epsilon (out[t * W + i], expected[r * W + i], 2e-6);
      r++;
    }
}

static void
test_gather_rows (void)
{
  float src[4 * 3] = { 0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32 };
  const int index[2] = { 3, 1 };
  float dst[2 * 3];

  pl_gather_rows (dst, src, index, 2, 3);
  g_assert_cmpfloat (dst[0], ==, 30);
  g_assert_cmpfloat (dst[2], ==, 32);
  g_assert_cmpfloat (dst[3], ==, 10);
  g_assert_cmpfloat (dst[5], ==, 12);
}

/* --- scratch ----------------------------------------------------------------------------- */

static void
test_scratch_buffers_are_aligned_and_disjoint (void)
{
  PlScratch scratch;
  size_t sizes[] = { 1, 17, 16, 1000 };
  size_t total = 0;
  float *previous_end = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += pl_scratch_rounded (sizes[i]);
  g_assert_cmpuint (pl_scratch_rounded (17), ==, 32);
  pl_scratch_init (&scratch, total);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      float *block = pl_scratch_take (&scratch, sizes[i]);

      g_assert_cmpuint ((guintptr) block % 64, ==, 0);
      g_assert_true (previous_end == NULL || block >= previous_end);
      memset (block, 0, sizes[i] * sizeof (float));  /* ASan checks the bounds */
      previous_end = block + sizes[i];
    }
  g_assert_cmpuint (scratch.used, ==, scratch.n_floats);
  pl_scratch_clear (&scratch);
  g_assert_null (scratch.data);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ops/layernorm/hand-computed", test_layernorm_hand_computed);
  g_test_add_func ("/ops/layernorm/in-place-rows-and-odd-width", test_layernorm_in_place_rows_and_odd_width);
  g_test_add_func ("/ops/layernorm/constant-row-gives-bias", test_layernorm_constant_row_gives_bias);
  g_test_add_func ("/ops/gelu/known-points", test_gelu_known_points);
  g_test_add_func ("/ops/gelu/erf-form-not-tanh", test_gelu_is_the_erf_form_not_tanh);
  g_test_add_func ("/ops/gelu/within-five-ulp-and-keeps-the-negative-tail",
                   test_gelu_within_five_ulp_and_keeps_the_negative_tail);
  g_test_add_func ("/ops/exp/within-two-ulp-of-libm", test_exp_within_two_ulp_of_libm);
  g_test_add_func ("/ops/softmax/large-inputs-are-stable", test_softmax_large_inputs_are_stable);
  g_test_add_func ("/ops/softmax/matches-double-and-sums-to-one", test_softmax_matches_double_and_sums_to_one);
  g_test_add_func ("/ops/gelu/odd-length-matches-double", test_gelu_odd_length_matches_double);
  g_test_add_func ("/ops/bias/add-rows", test_add_bias_rows);
  g_test_add_func ("/ops/linear/matches-naive-product", test_linear_matches_naive_product);
  g_test_add_func ("/ops/linear/split-ragged-columns-matches-naive", test_linear_split_ragged_columns_matches_naive);
  g_test_add_func ("/ops/linear/split-many-rows-few-columns-matches-naive",
                   test_linear_split_many_rows_few_columns_matches_naive);
  g_test_add_func ("/ops/layernorm/split-rows-match-double", test_layernorm_split_rows_match_double);
  g_test_add_func ("/ops/linear/split-k-then-layernorm-fold-matches-double",
                   test_linear_split_k_then_layernorm_fold_matches_double);
  g_test_add_func ("/ops/linear/split-k-small-runs-whole", test_linear_split_k_small_runs_whole);
  g_test_add_func ("/ops/patches/make-convolution-a-product", test_patches_make_convolution_a_product);
  g_test_add_func ("/ops/attention/matches-naive-and-first-query-alone",
                   test_attention_matches_naive_and_first_query_alone);
  g_test_add_func ("/ops/attention/masked-key-equals-the-token-left-out", test_masked_key_equals_the_token_left_out);
  g_test_add_func ("/ops/attention/parallel-heads-match-naive", test_attention_parallel_heads_match_naive);
  g_test_add_func ("/ops/rows/gather", test_gather_rows);
  g_test_add_func ("/ops/scratch/aligned-and-disjoint", test_scratch_buffers_are_aligned_and_disjoint);

  return g_test_run ();
}
