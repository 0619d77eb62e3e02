/* pl-ops.c: the numerical building blocks of both towers (see pl-ops.h).
 *
 * Element-wise loops run over fixed blocks of PL_BLOCK floats so that GCC vectorises them even at
 * -O2, whose cost model only vectorises loops without a scalar remainder; a partial last block
 * goes through a padded copy. Reductions keep PL_BLOCK partial sums for the same reason (and for
 * accuracy). exp and GELU are branch-free polynomial and rational forms whose coefficients come
 * from tools/fit-gelu-exp-constants.py. */
#include "pl-ops.h"

#include "pl-parallel.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PL_BLOCK 16                  /* floats per block: one AVX-512 register, four SSE ones */
#define PL_SCRATCH_ALIGN 64          /* bytes: a cache line */

/* The element-wise and row-wise operations are compiled for AVX-512, AVX2 and baseline x86-64
 * (SSE2 only) and the best one is picked when the program loads (GCC's target_clones): GELU and
 * softmax run 3 to 5 times faster on the wide vectors. Without FMA contraction (ISO C mode, as
 * the project builds) every clone computes bit-identical results. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define PL_VECTOR_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PL_VECTOR_CLONES
#endif

/* The helpers of the cloned functions must be inlined into each clone: a copy left out of line
 * would be compiled for baseline x86-64 only. */
#if defined(__GNUC__)
#define PL_KERNEL static inline __attribute__ ((always_inline))
#else
#define PL_KERNEL static inline
#endif

/* --- Scratch ----------------------------------------------------------------------------- */

size_t
pl_scratch_rounded (size_t n_floats)
{
  const size_t line = PL_SCRATCH_ALIGN / sizeof (float);

  return (n_floats + line - 1) / line * line;
}

void
pl_scratch_init (PlScratch *scratch,
                 size_t     n_floats)
{
  scratch->data = n_floats > 0 ? g_aligned_alloc (n_floats, sizeof (float), PL_SCRATCH_ALIGN) : NULL;
  scratch->n_floats = n_floats;
  scratch->used = 0;
}

float *
pl_scratch_take (PlScratch *scratch,
                 size_t     n_floats)
{
  size_t rounded = pl_scratch_rounded (n_floats);
  float *block;

  if (rounded > scratch->n_floats - scratch->used)
    g_error ("pl_scratch_take: %zu floats asked, %zu left: the scratch plan is wrong",
             n_floats, scratch->n_floats - scratch->used);
  block = scratch->data + scratch->used;
  scratch->used += rounded;
  return block;
}

void
pl_scratch_clear (PlScratch *scratch)
{
  g_clear_pointer (&scratch->data, g_aligned_free);
  scratch->n_floats = 0;
  scratch->used = 0;
}

/* --- Matrix products --------------------------------------------------------------------- */

/* Below this many multiply-adds a product runs whole in the calling thread: handing it to the
 * pool would cost more than it saves. */
#define PL_PARALLEL_MIN_MACS (1 << 18)
#define PL_COLUMN_ALIGN 16  /* columns per part come in multiples of this (64-byte lines) */

typedef struct {
  gboolean     transpose_b;  /* b is [n, k] (NT) rather than [k, n] (NN) */
  int          m, n, k;
  float        alpha, beta;
  const float *a, *b, *bias;
  int          lda, ldb, ldc;
  float       *c;
  enum { BIAS_NONE, BIAS_FIRST, BIAS_AFTER } bias_mode;
} GemmJob;

/* Part INDEX of COUNT: the columns [n0, n1) of c, through a single-threaded OpenBLAS call. With
 * BIAS_FIRST those columns of c are set to the bias first (and beta must be 1); with BIAS_AFTER
 * the bias is added to them after the product. */
static void
gemm_part (gpointer data, int index, int count)
{
  const GemmJob *job = data;
  const float *b;
  int n0, n1;

  pl_parallel_range (job->n, PL_COLUMN_ALIGN, index, count, &n0, &n1);
  if (n1 <= n0)
    return;
  if (job->bias_mode == BIAS_FIRST)
    for (int r = 0; r < job->m; r++)
      memcpy (job->c + (size_t) r * job->ldc + n0, job->bias + n0, (n1 - n0) * sizeof (float));
  b = job->transpose_b ? job->b + (size_t) n0 * job->ldb : job->b + n0;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, job->transpose_b ? CblasTrans : CblasNoTrans,
               job->m, n1 - n0, job->k, job->alpha, job->a, job->lda, b, job->ldb,
               job->beta, job->c + n0, job->ldc);
  if (job->bias_mode == BIAS_AFTER)
    pl_add_bias (job->c + n0, job->ldc, job->bias + n0, job->m, n1 - n0);
}

static void
gemm_run (GemmJob *job)
{
  if (job->m <= 0 || job->n <= 0)
    return;
  if (job->k <= 0)
    {
      /* c = beta c (+ bias): what sgemm does with an empty sum, done here as BLAS may not */
      for (int r = 0; r < job->m; r++)
        for (int j = 0; j < job->n; j++)
          {
            float *cij = job->c + (size_t) r * job->ldc + j;

            *cij = job->bias_mode == BIAS_FIRST ? job->bias[j] : (job->beta == 0.0f ? 0.0f : job->beta * *cij);
            if (job->bias_mode == BIAS_AFTER)
              *cij += job->bias[j];
          }
      return;
    }
  if ((double) job->m * job->n * job->k < PL_PARALLEL_MIN_MACS)
    gemm_part (job, 0, 1);
  else
    pl_parallel_run (gemm_part, job, MAX (1, job->n / PL_COLUMN_ALIGN));
}

void
pl_gemm_nt (int m, int n, int k,
            float alpha, const float *a, int lda,
            const float *b, int ldb,
            float beta, float *c, int ldc)
{
  GemmJob job = { TRUE, m, n, k, alpha, beta, a, b, NULL, lda, ldb, ldc, c, BIAS_NONE };

  if (k <= 0)
    return;  /* as before: an empty product leaves c alone */
  gemm_run (&job);
}

void
pl_gemm_nn (int m, int n, int k,
            float alpha, const float *a, int lda,
            const float *b, int ldb,
            float beta, float *c, int ldc)
{
  GemmJob job = { FALSE, m, n, k, alpha, beta, a, b, NULL, lda, ldb, ldc, c, BIAS_NONE };

  if (k <= 0)
    return;
  gemm_run (&job);
}

void
pl_linear (float *y, int ldy,
           const float *x,
           const float *w, const float *bias,
           int n_rows, int n_in, int n_out)
{
  /* With beta = 0 OpenBLAS first clears y in a pass of its own; writing the bias there instead
   * and accumulating onto it (beta = 1) costs that pass only, and adds the bias as PyTorch's
   * addmm does. */
  GemmJob job = { TRUE, n_rows, n_out, n_in, 1.0f, bias != NULL ? 1.0f : 0.0f, x, w, bias,
                  n_in, n_in, ldy, y, bias != NULL ? BIAS_FIRST : BIAS_NONE };

  gemm_run (&job);
}

void
pl_linear_accumulate (float *y,
                      const float *x,
                      const float *w, const float *bias,
                      int n_rows, int n_in, int n_out)
{
  GemmJob job = { TRUE, n_rows, n_out, n_in, 1.0f, 1.0f, x, w, bias,
                  n_in, n_in, n_out, y, bias != NULL ? BIAS_AFTER : BIAS_NONE };

  gemm_run (&job);
}

/* pl_linear_accumulate_split_k: part 0 adds its share of the sum over n_in (and the bias) to y;
 * part i > 0 writes its share to partial slot i - 1. */
typedef struct {
  float       *y, *partials;
  const float *x, *w, *bias;
  int          n_rows, n_in, n_out;
  int          n_parts;  /* set by part 0: how many parts the pool ran */
} SplitKJob;

static void
split_k_part (gpointer data, int index, int count)
{
  SplitKJob *job = data;
  float *c = index == 0 ? job->y : job->partials + (size_t) (index - 1) * job->n_rows * job->n_out;
  int k0, k1;

  if (index == 0)
    job->n_parts = count;
  /* never empty: the pool runs at most n_in / PL_COLUMN_ALIGN parts */
  pl_parallel_range (job->n_in, PL_COLUMN_ALIGN, index, count, &k0, &k1);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, job->n_rows, job->n_out, k1 - k0,
               1.0f, job->x + k0, job->n_in, job->w + k0, job->n_in,
               index == 0 ? 1.0f : 0.0f, c, job->n_out);
  if (index == 0 && job->bias != NULL)
    pl_add_bias (job->y, job->n_out, job->bias, job->n_rows, job->n_out);
}

size_t
pl_split_k_scratch_size (int n_rows, int n_out)
{
  return (size_t) (PL_PARALLEL_MAX_THREADS - 1) * n_rows * n_out;
}

int
pl_linear_accumulate_split_k (float *y,
                              const float *x,
                              const float *w, const float *bias,
                              int n_rows, int n_in, int n_out,
                              float *partials)
{
  SplitKJob job = { y, partials, x, w, bias, n_rows, n_in, n_out, 1 };

  if (n_rows <= 0 || n_out <= 0)
    return 0;
  if (n_in <= 0 || (double) n_rows * n_out * n_in < PL_PARALLEL_MIN_MACS)
    {
      pl_linear_accumulate (y, x, w, bias, n_rows, n_in, n_out);
      return 0;
    }
  pl_parallel_run (split_k_part, &job, MAX (1, MIN (PL_PARALLEL_MAX_THREADS, n_in / PL_COLUMN_ALIGN)));
  return job.n_parts - 1;
}

/* --- Scalar kernels, inlined into the block loops ---------------------------------------- */

PL_KERNEL float
bits_to_float (int32_t bits)
{
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

PL_KERNEL int32_t
float_to_bits (float f)
{
  int32_t bits;

  memcpy (&bits, &f, sizeof bits);
  return bits;
}

/* condition ? a : b through a bit mask. GCC turns a plain ?: on floats into a jump, around which
 * it will not speculate a division or a float-to-int conversion while floating-point traps count
 * (-ftrapping-math, the default), and so would not vectorise the loop. */
PL_KERNEL float
select_float (int condition, float a, float b)
{
  int32_t mask = -(int32_t) (condition != 0);

  return bits_to_float ((float_to_bits (a) & mask) | (float_to_bits (b) & ~mask));
}

/* exp(x) for x in [-87, 88], as 2^k exp(r) with x = k ln2 + r, |r| <= ln2/2. */
PL_KERNEL float
exp_in_range (float x)
{
  const float log2e = 1.442695022e+00f;
  const float ln2_hi = 0.693145751953125f;  /* 16 significant bits: k * ln2_hi is exact */
  const float ln2_lo = 1.428606765e-06f;
  const float round_magic = 12582912.0f;    /* 1.5 * 2^23: adding then subtracting rounds */
  float k, r, p;

  k = (x * log2e + round_magic) - round_magic;
  r = (x - k * ln2_hi) - k * ln2_lo;
  p = 1.383684576e-03f;
  p = p * r + 8.374815807e-03f;
  p = p * r + 4.166822508e-02f;
  p = p * r + 1.666641980e-01f;
  p = p * r + 4.999999106e-01f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * bits_to_float (((int32_t) k + 127) << 23);
}

/* exp(x) for any x: 0 below -87, exp(88) above 88. */
PL_KERNEL float
exp_scalar (float x)
{
  float clamped = select_float (x < -87.0f, -87.0f, x);

  clamped = select_float (clamped > 88.0f, 88.0f, clamped);
  return select_float (x < -87.0f, 0.0f, exp_in_range (clamped));
}

/* GELU(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, through the normal tail
 * h = erfc(a) / 2 = exp(-a^2) G(a) / 2, with a = |x| / sqrt 2 and G = p / q a rational function
 * fitted to erfc(a) exp(a^2): x (1 - h) for x >= 0, x h below. One branch where erf needs two,
 * and negative x keep their relative precision, which 1 + erf(x / sqrt 2) would cancel away. */
PL_KERNEL float
gelu_scalar (float x)
{
  const float inv_sqrt2 = 0.70710678118654752f;
  float a = fabsf (x) * inv_sqrt2;
  float p, q, h;

  a = select_float (a > 9.0f, 9.0f, a);  /* beyond, h < 1e-36: exp(-a^2) stays in range */
  p = -7.542608671e-08f;
  p = p * a + 2.690646052e-02f;
  p = p * a + 1.997136474e-01f;
  p = p * a + 6.677284837e-01f;
  p = p * a + 1.174560905e+00f;
  p = p * a + 1.0f;
  q = 4.768499732e-02f;
  q = q * a + 3.540818691e-01f;
  q = q * a + 1.206309915e+00f;
  q = q * a + 2.266315222e+00f;
  q = q * a + 2.302940130e+00f;
  q = q * a + 1.0f;
  h = 0.5f * exp_in_range (-(a * a)) * (p / q);
  return x * select_float (x >= 0.0f, 1.0f - h, h);
}

/* --- Element-wise operations ------------------------------------------------------------- */

/* Blocks go through a local array, so that the loops on it need no aliasing checks (which -O2
 * does not emit) and a short last block can be padded. */
PL_KERNEL void
load_block_padded (float block[PL_BLOCK], const float *x, size_t len, float padding)
{
  if (len == PL_BLOCK)
    {
      memcpy (block, x, PL_BLOCK * sizeof (float));  /* a constant size: vector loads */
      return;
    }
  for (int j = 0; j < PL_BLOCK; j++)
    block[j] = padding;
  memcpy (block, x, len * sizeof (float));
}

PL_KERNEL void
load_block (float block[PL_BLOCK], const float *x, size_t len)
{
  load_block_padded (block, x, len, 0.0f);
}

PL_KERNEL void
store_block (float *y, const float block[PL_BLOCK], size_t len)
{
  if (len == PL_BLOCK)
    memcpy (y, block, PL_BLOCK * sizeof (float));  /* a constant size: vector stores */
  else
    memcpy (y, block, len * sizeof (float));
}

PL_VECTOR_CLONES void
pl_exp (float *y, const float *x, size_t n)
{
  for (size_t i = 0; i < n; i += PL_BLOCK)
    {
      size_t len = MIN (n - i, PL_BLOCK);
      float block[PL_BLOCK];

      load_block (block, x + i, len);
      for (int j = 0; j < PL_BLOCK; j++)
        block[j] = exp_scalar (block[j]);
      store_block (y + i, block, len);
    }
}

PL_VECTOR_CLONES static void
gelu_serial (float *x, size_t n)
{
  for (size_t i = 0; i < n; i += PL_BLOCK)
    {
      size_t len = MIN (n - i, PL_BLOCK);
      float block[PL_BLOCK];

      load_block (block, x + i, len);
      for (int j = 0; j < PL_BLOCK; j++)
        block[j] = gelu_scalar (block[j]);
      store_block (x + i, block, len);
    }
}

/* Element-wise passes over at least this many floats are split across the pool. */
#define PL_PARALLEL_MIN_FLOATS (1 << 16)

typedef struct {
  float *x;
  size_t n;
} GeluJob;

static void
gelu_part (gpointer data, int index, int count)
{
  const GeluJob *job = data;
  size_t per_part = (job->n / count + PL_BLOCK - 1) / PL_BLOCK * PL_BLOCK;
  size_t start = MIN (job->n, per_part * index);
  size_t end = index == count - 1 ? job->n : MIN (job->n, start + per_part);

  gelu_serial (job->x + start, end - start);
}

void
pl_gelu (float *x, size_t n)
{
  GeluJob job = { x, n };

  if (n < PL_PARALLEL_MIN_FLOATS)
    gelu_serial (x, n);
  else
    pl_parallel_run (gelu_part, &job, PL_PARALLEL_MAX_THREADS);
}

/* x: [n] += y [n], for distinct arrays */
PL_KERNEL void
add_distinct (float *restrict x, const float *restrict y, size_t n)
{
  size_t i = 0;

  for (; i + PL_BLOCK <= n; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      x[i + j] += y[i + j];
  for (; i < n; i++)
    x[i] += y[i];
}

PL_VECTOR_CLONES void
pl_add (float *x, const float *y, size_t n)
{
  add_distinct (x, y, n);
}

PL_VECTOR_CLONES void
pl_add_bias (float *x, int ld, const float *bias, int n_rows, int width)
{
  for (int r = 0; r < n_rows; r++)
    add_distinct (x + (size_t) r * ld, bias, width);
}

/* --- Row-wise operations ----------------------------------------------------------------- */

PL_KERNEL float
sum_lanes (const float lanes[PL_BLOCK])
{
  float s = 0.0f;

  for (int j = 0; j < PL_BLOCK; j++)
    s += lanes[j];
  return s;
}

/* Sum of x [n] - shift, with PL_BLOCK partial sums. */
PL_KERNEL float
row_sum_shifted (const float *x, int n, float shift)
{
  float lanes[PL_BLOCK] = { 0 };
  int i = 0;

  for (; i + PL_BLOCK <= n; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      lanes[j] += x[i + j] - shift;
  for (int j = 0; i < n; i++, j++)
    lanes[j] += x[i] - shift;
  return sum_lanes (lanes);
}

/* Sum of (x - mean)^2 over x [n], with mean = shift + mean_offset. */
PL_KERNEL float
row_sum_squared_deviations (const float *x, int n, float shift, float mean_offset)
{
  float lanes[PL_BLOCK] = { 0 };
  int i = 0;

  for (; i + PL_BLOCK <= n; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      {
        float d = (x[i + j] - shift) - mean_offset;

        lanes[j] += d * d;
      }
  for (int j = 0; i < n; i++, j++)
    {
      float d = (x[i] - shift) - mean_offset;

      lanes[j] += d * d;
    }
  return sum_lanes (lanes);
}

PL_KERNEL float
row_max (const float *x, int n)
{
  float lanes[PL_BLOCK];
  float m;
  int i = 0;

  for (int j = 0; j < PL_BLOCK; j++)
    lanes[j] = x[0];
  for (; i + PL_BLOCK <= n; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  for (int j = 0; i < n; i++, j++)
    lanes[j] = x[i] > lanes[j] ? x[i] : lanes[j];
  m = lanes[0];
  for (int j = 1; j < PL_BLOCK; j++)
    m = lanes[j] > m ? lanes[j] : m;
  return m;
}

/* yr: [width] = LayerNorm of xr: [width]. */
PL_KERNEL void
layernorm_row (float *yr, const float *xr,
               const float *w, const float *b,
               int width, float eps)
{
  /* Deviations are taken as (x - shift) - mean_offset, with shift the row's first element:
   * x - shift is exact for nearby values, so a mean that is large next to the spread costs
   * no precision (x - mean would round the mean to the float grid of its magnitude). */
  float shift = xr[0];
  float mean_offset = row_sum_shifted (xr, width, shift) / (float) width;
  float var = row_sum_squared_deviations (xr, width, shift, mean_offset) / (float) width;
  float rstd = 1.0f / sqrtf (var + eps);

  for (int i = 0; i < width; i += PL_BLOCK)
    {
      size_t len = MIN (width - i, PL_BLOCK);
      float block[PL_BLOCK], w_block[PL_BLOCK], b_block[PL_BLOCK];

      load_block (block, xr + i, len);
      load_block (w_block, w + i, len);
      load_block (b_block, b + i, len);
      for (int j = 0; j < PL_BLOCK; j++)
        block[j] = ((block[j] - shift) - mean_offset) * rstd * w_block[j] + b_block[j];
      store_block (yr + i, block, len);
    }
}

/* Rows of x first get the N_PARTIALS partials (PARTIAL_STRIDE floats apart) added, then y = their
 * LayerNorm. PARTIALS is not read when N_PARTIALS is 0. */
PL_VECTOR_CLONES static void
layernorm_serial (float *y, float *x,
                  const float *partials, int n_partials, size_t partial_stride,
                  const float *w, const float *b,
                  int n_rows, int width, float eps)
{
  for (int r = 0; r < n_rows; r++)
    {
      float *xr = x + (size_t) r * width;

      for (int p = 0; p < n_partials; p++)
        add_distinct (xr, partials + p * partial_stride + (size_t) r * width, width);
      layernorm_row (y + (size_t) r * width, xr, w, b, width, eps);
    }
}

typedef struct {
  float       *y, *x;
  const float *partials;
  int          n_partials;
  const float *w, *b;
  int          n_rows, width;
  float        eps;
} LayernormJob;

static void
layernorm_part (gpointer data, int index, int count)
{
  const LayernormJob *job = data;
  int r0, r1;

  pl_parallel_range (job->n_rows, 1, index, count, &r0, &r1);
  layernorm_serial (job->y + (size_t) r0 * job->width, job->x + (size_t) r0 * job->width,
                    job->n_partials > 0 ? job->partials + (size_t) r0 * job->width : NULL, job->n_partials,
                    (size_t) job->n_rows * job->width,
                    job->w, job->b, r1 - r0, job->width, job->eps);
}

void
pl_layernorm_fold (float *y, float *x,
                   const float *partials, int n_partials,
                   const float *w, const float *b,
                   int n_rows, int width, float eps)
{
  LayernormJob job = { y, x, partials, MAX (n_partials, 0), w, b, n_rows, width, eps };

  if ((size_t) n_rows * width < PL_PARALLEL_MIN_FLOATS)
    layernorm_part (&job, 0, 1);
  else
    pl_parallel_run (layernorm_part, &job, n_rows);
}

void
pl_layernorm (float *y, const float *x,
              const float *w, const float *b,
              int n_rows, int width, float eps)
{
  /* with no partials, x is only read */
  pl_layernorm_fold (y, (float *) x, NULL, 0, w, b, n_rows, width, eps);
}

/* row: [width] = exp(row - max of row); returns 1 / the sum of the new row. */
PL_KERNEL float
softmax_numerators_row (float *row, int width)
{
  float max = row_max (row, width);
  float lanes[PL_BLOCK] = { 0 };

  for (int i = 0; i < width; i += PL_BLOCK)
    {
      size_t len = MIN (width - i, PL_BLOCK);
      float block[PL_BLOCK];

      /* a short last block is padded with -inf, whose exp adds nothing to the sum */
      load_block_padded (block, row + i, len, -INFINITY);
      for (int j = 0; j < PL_BLOCK; j++)
        {
          block[j] = exp_scalar (block[j] - max);
          lanes[j] += block[j];
        }
      store_block (row + i, block, len);
    }
  return 1.0f / sum_lanes (lanes);
}

/* row: [width] *= scale */
PL_KERNEL void
scale_row (float *row, int width, float scale)
{
  int i = 0;

  for (; i + PL_BLOCK <= width; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      row[i + j] *= scale;
  for (; i < width; i++)
    row[i] *= scale;
}

PL_VECTOR_CLONES void
pl_softmax_rows (float *x, int ld, int n_rows, int width)
{
  for (int r = 0; r < n_rows; r++)
    {
      float *row = x + (size_t) r * ld;

      scale_row (row, width, softmax_numerators_row (row, width));
    }
}

PL_VECTOR_CLONES void
pl_softmax_numerators (float *x, int ld, int n_rows, int width, float *inv_sums)
{
  for (int r = 0; r < n_rows; r++)
    inv_sums[r] = softmax_numerators_row (x + (size_t) r * ld, width);
}

PL_VECTOR_CLONES void
pl_scale_rows (float *x, int ld, int n_rows, int width, const float *scales)
{
  for (int r = 0; r < n_rows; r++)
    scale_row (x + (size_t) r * ld, width, scales[r]);
}

void
pl_mean_rows (float *dst, const float *x, const uint8_t *keep, int n_rows, int width)
{
  int kept = 0;

  for (int r = 0; r < n_rows; r++)
    kept += keep == NULL || keep[r];
  /* 64 columns at a time, row after row: contiguous reads, double sums */
  for (int j0 = 0; j0 < width; j0 += 64)
    {
      int n = MIN (64, width - j0);
      double sum[64] = { 0 };

      for (int r = 0; r < n_rows; r++)
        if (keep == NULL || keep[r])
          for (int j = 0; j < n; j++)
            sum[j] += x[(size_t) r * width + j0 + j];
      for (int j = 0; j < n; j++)
        dst[j0 + j] = kept > 0 ? (float) (sum[j] / kept) : 0.0f;
    }
}

void
pl_gather_rows (float *dst, const float *src, const int *index, int n_rows, int width)
{
  for (int r = 0; r < n_rows; r++)
    memcpy (dst + (size_t) r * width, src + (size_t) index[r] * width, width * sizeof (float));
}

/* --- Transformer pieces ------------------------------------------------------------------ */

void
pl_image_to_patches (float *patches, int ld,
                     const float *image,
                     int channels, int image_size, int patch_size)
{
  int grid = image_size / patch_size;

  for (int py = 0; py < grid; py++)
    for (int px = 0; px < grid; px++)
      {
        float *row = patches + (size_t) (py * grid + px) * ld;

        for (int c = 0; c < channels; c++)
          for (int ky = 0; ky < patch_size; ky++)
            {
              const float *src = image + ((size_t) c * image_size + (size_t) py * patch_size + ky) * image_size
                                 + (size_t) px * patch_size;

              memcpy (row + (c * patch_size + ky) * patch_size, src, patch_size * sizeof (float));
            }
      }
}

/* One scratch slot per part: [n_queries, n_tokens] scores and [n_queries] inverse sums. */
static size_t
attention_slot_size (int n_queries, int n_tokens)
{
  return pl_scratch_rounded ((size_t) n_queries * n_tokens + n_queries);
}

size_t
pl_attention_scratch_size (int n_queries, int n_tokens)
{
  return PL_PARALLEL_MAX_THREADS * attention_slot_size (n_queries, n_tokens);
}

typedef struct {
  float         *out;
  const float   *q, *k, *v;
  int            ld_out, ld_q, ld_kv;
  int            n_queries, n_tokens, n_heads, head_dim;
  float          scale;
  const uint8_t *key_mask;
  float         *scratch;
} AttentionJob;

/* The heads [h0, h1) of part INDEX, in the part's own scratch slot. Products inside run in this
 * thread (the pool is busy with this job), so OpenBLAS sees small single-threaded calls. */
static void
attention_part (gpointer data, int index, int count)
{
  const AttentionJob *job = data;
  float *scores = job->scratch + index * attention_slot_size (job->n_queries, job->n_tokens);
  float *inv_sums = scores + (size_t) job->n_queries * job->n_tokens;  /* [n_queries] */
  int n_queries = job->n_queries, n_tokens = job->n_tokens, head_dim = job->head_dim;
  int h0, h1;

  pl_parallel_range (job->n_heads, 1, index, count, &h0, &h1);
  for (int h = h0; h < h1; h++)
    {
      const float *q_h = job->q + (size_t) h * head_dim;   /* [n_queries, head_dim] */
      const float *k_h = job->k + (size_t) h * head_dim;   /* [n_tokens, head_dim] */
      const float *v_h = job->v + (size_t) h * head_dim;   /* [n_tokens, head_dim] */
      float *out_h = job->out + (size_t) h * head_dim;     /* [n_queries, head_dim] */

      /* scores = exp(scale q k^T - row max); the softmax's division by the row sums is applied
       * to out_h, head_dim wide instead of n_tokens. A masked key scores -inf: exp gives 0. */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n_queries, n_tokens, head_dim,
                   job->scale, q_h, job->ld_q, k_h, job->ld_kv, 0.0f, scores, n_tokens);
      if (job->key_mask != NULL)
        for (int j = 0; j < n_tokens; j++)
          if (!job->key_mask[j])
            for (int r = 0; r < n_queries; r++)
              scores[(size_t) r * n_tokens + j] = -INFINITY;
      pl_softmax_numerators (scores, n_tokens, n_queries, n_tokens, inv_sums);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n_queries, head_dim, n_tokens,
                   1.0f, scores, n_tokens, v_h, job->ld_kv, 0.0f, out_h, job->ld_out);
      pl_scale_rows (out_h, job->ld_out, n_queries, head_dim, inv_sums);
    }
}

void
pl_attention_masked (float *out, int ld_out,
                     const float *q, int ld_q,
                     const float *k, const float *v, int ld_kv,
                     int n_queries, int n_tokens,
                     int n_heads, int head_dim, float scale,
                     const uint8_t *key_mask,
                     float *scratch)
{
  AttentionJob job = { out, q, k, v, ld_out, ld_q, ld_kv, n_queries, n_tokens, n_heads, head_dim,
                       scale, key_mask, scratch };

  if (n_queries <= 0 || n_heads <= 0)
    return;
  if (n_tokens <= 0 || head_dim <= 0)
    {
      /* no keys (or empty heads): nothing to attend to; the towers never ask for this */
      for (int r = 0; r < n_queries; r++)
        memset (out + (size_t) r * ld_out, 0, (size_t) n_heads * head_dim * sizeof (float));
      return;
    }
  if ((double) n_queries * n_tokens * head_dim * n_heads < PL_PARALLEL_MIN_MACS)
    attention_part (&job, 0, 1);
  else
    pl_parallel_run (attention_part, &job, MIN (n_heads, PL_PARALLEL_MAX_THREADS));
}

void
pl_attention (float *out, int ld_out,
              const float *q, int ld_q,
              const float *k, const float *v, int ld_kv,
              int n_queries, int n_tokens,
              int n_heads, int head_dim, float scale,
              float *scratch)
{
  pl_attention_masked (out, ld_out, q, ld_q, k, v, ld_kv, n_queries, n_tokens, n_heads, head_dim, scale,
                       NULL, scratch);
}
