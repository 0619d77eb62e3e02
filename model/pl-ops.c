/* pl-ops.c: the numerical building blocks of both towers (see pl-ops.h).
 *
 * Element-wise loops run over fixed blocks of PL_BLOCK floats so that GCC vectorises them even at
 * -O2, whose cost model only vectorises loops without a scalar remainder; a partial last block
 * goes through a padded copy. Reductions keep PL_BLOCK partial sums for the same reason (and for
 * accuracy). exp and erf are branch-free polynomial forms: see tools/fit-gelu-exp-constants.py. */
#include "pl-ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PL_BLOCK 16                  /* floats per block: one AVX-512 register, four SSE ones */
#define PL_SCRATCH_ALIGN 64          /* bytes: a cache line */

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

void
pl_gemm_nt (int m, int n, int k,
            float alpha, const float *a, int lda,
            const float *b, int ldb,
            float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0 || k <= 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
               alpha, a, lda, b, ldb, beta, c, ldc);
}

void
pl_gemm_nn (int m, int n, int k,
            float alpha, const float *a, int lda,
            const float *b, int ldb,
            float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0 || k <= 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
               alpha, a, lda, b, ldb, beta, c, ldc);
}

void
pl_linear (float *y, int ldy,
           const float *x,
           const float *w, const float *bias,
           int n_rows, int n_in, int n_out)
{
  pl_gemm_nt (n_rows, n_out, n_in, 1.0f, x, n_in, w, n_in, 0.0f, y, ldy);
  if (bias != NULL)
    pl_add_bias (y, ldy, bias, n_rows, n_out);
}

void
pl_linear_accumulate (float *y,
                      const float *x,
                      const float *w, const float *bias,
                      int n_rows, int n_in, int n_out)
{
  pl_gemm_nt (n_rows, n_out, n_in, 1.0f, x, n_in, w, n_in, 1.0f, y, n_out);
  if (bias != NULL)
    pl_add_bias (y, n_out, bias, n_rows, n_out);
}

/* --- Scalar kernels, inlined into the block loops ---------------------------------------- */

static inline float
bits_to_float (int32_t bits)
{
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

static inline int32_t
float_to_bits (float f)
{
  int32_t bits;

  memcpy (&bits, &f, sizeof bits);
  return bits;
}

/* condition ? a : b through a bit mask. GCC turns a plain ?: on floats into a jump, around which
 * it will not speculate a division or a float-to-int conversion while floating-point traps count
 * (-ftrapping-math, the default), and so would not vectorise the loop. */
static inline float
select_float (int condition, float a, float b)
{
  int32_t mask = -(int32_t) (condition != 0);

  return bits_to_float ((float_to_bits (a) & mask) | (float_to_bits (b) & ~mask));
}

/* exp(x) for x in [-87, 88] (clamped); 2^k exp(r) with x = k ln2 + r, |r| <= ln2/2. */
static inline float
exp_clamped (float x)
{
  const float log2e = 1.442695022e+00f;
  const float ln2_hi = 0.693145751953125f;  /* 16 significant bits: k * ln2_hi is exact */
  const float ln2_lo = 1.428606765e-06f;
  const float round_magic = 12582912.0f;    /* 1.5 * 2^23: adding then subtracting rounds */
  float k, r, p;

  x = select_float (x < -87.0f, -87.0f, x);
  x = select_float (x > 88.0f, 88.0f, x);
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

static inline float
exp_scalar (float x)
{
  return select_float (x < -87.0f, 0.0f, exp_clamped (x));
}

/* erf(x): x + x S(x^2) below 1, 1 - exp(-x^2) P(x)/Q(x) from 1 to 4, 1 beyond. */
static inline float
erf_scalar (float x)
{
  float a = fabsf (x);
  float t, small, p, q, large;

  a = select_float (a > 4.0f, 4.0f, a);
  t = a * a;

  small = 7.853907300e-05f;
  small = small * t - 8.010208840e-04f;
  small = small * t + 5.188329611e-03f;
  small = small * t - 2.685381286e-02f;
  small = small * t + 1.128358543e-01f;
  small = small * t - 3.761262596e-01f;
  small = small * t + 1.283791661e-01f;
  small = a + a * small;

  p = -6.528774247e-05f;
  p = p * a + 2.493084818e-01f;
  p = p * a + 7.563467622e-01f;
  p = p * a + 1.001553059e+00f;
  q = 4.395920634e-01f;
  q = q * a + 1.360636592e+00f;
  q = q * a + 1.893925071e+00f;
  q = q * a + 1.0f;
  large = 1.0f - exp_clamped (-t) * (p / q);

  return copysignf (select_float (a < 1.0f, small, large), x);
}

static inline float
gelu_scalar (float x)
{
  const float inv_sqrt2 = 0.70710678118654752f;

  return 0.5f * x * (1.0f + erf_scalar (x * inv_sqrt2));
}

/* --- Element-wise operations ------------------------------------------------------------- */

/* Blocks go through a local array, so the loops on it need no aliasing checks (which -O2 does
 * not emit) and a short last block is padded with zeros. */
static inline void
load_block (float block[PL_BLOCK], const float *x, size_t len)
{
  if (len == PL_BLOCK)
    {
      memcpy (block, x, PL_BLOCK * sizeof (float));
      return;
    }
  memset (block, 0, PL_BLOCK * sizeof (float));
  memcpy (block, x, len * sizeof (float));
}

static inline void
store_block (float *y, const float block[PL_BLOCK], size_t len)
{
  memcpy (y, block, (len == PL_BLOCK ? PL_BLOCK : len) * sizeof (float));
}

void
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

void
pl_erf (float *y, const float *x, size_t n)
{
  for (size_t i = 0; i < n; i += PL_BLOCK)
    {
      size_t len = MIN (n - i, PL_BLOCK);
      float block[PL_BLOCK];

      load_block (block, x + i, len);
      for (int j = 0; j < PL_BLOCK; j++)
        block[j] = erf_scalar (block[j]);
      store_block (y + i, block, len);
    }
}

void
pl_gelu (float *x, size_t n)
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

/* x: [n] += y [n], for distinct arrays */
static void
add_distinct (float *restrict x, const float *restrict y, size_t n)
{
  size_t i = 0;

  for (; i + PL_BLOCK <= n; i += PL_BLOCK)
    for (int j = 0; j < PL_BLOCK; j++)
      x[i + j] += y[i + j];
  for (; i < n; i++)
    x[i] += y[i];
}

void
pl_add (float *x, const float *y, size_t n)
{
  add_distinct (x, y, n);
}

void
pl_add_bias (float *x, int ld, const float *bias, int n_rows, int width)
{
  for (int r = 0; r < n_rows; r++)
    add_distinct (x + (size_t) r * ld, bias, width);
}

/* x: [n_rows, width] = GELU(x + bias), one pass over x */
void
pl_add_bias_gelu (float *x, const float *bias, int n_rows, int width)
{
  if (bias == NULL)
    {
      pl_gelu (x, (size_t) n_rows * width);
      return;
    }
  for (int r = 0; r < n_rows; r++)
    {
      float *row = x + (size_t) r * width;

      for (int i = 0; i < width; i += PL_BLOCK)
        {
          size_t len = MIN (width - i, PL_BLOCK);
          float block[PL_BLOCK], bias_block[PL_BLOCK];

          load_block (block, row + i, len);
          load_block (bias_block, bias + i, len);
          for (int j = 0; j < PL_BLOCK; j++)
            block[j] = gelu_scalar (block[j] + bias_block[j]);
          store_block (row + i, block, len);
        }
    }
}

/* --- Row-wise operations ----------------------------------------------------------------- */

static float
sum_lanes (const float lanes[PL_BLOCK])
{
  float s = 0.0f;

  for (int j = 0; j < PL_BLOCK; j++)
    s += lanes[j];
  return s;
}

/* Sum of x [n] - shift, with PL_BLOCK partial sums. */
static float
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
static float
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

static float
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

void
pl_layernorm (float *y, const float *x,
              const float *w, const float *b,
              int n_rows, int width, float eps)
{
  for (int r = 0; r < n_rows; r++)
    {
      const float *xr = x + (size_t) r * width;
      float *yr = y + (size_t) r * width;
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
}

void
pl_softmax_rows (float *x, int ld, int n_rows, int width)
{
  for (int r = 0; r < n_rows; r++)
    {
      float *row = x + (size_t) r * ld;
      float max = row_max (row, width);
      float inv_sum;
      int i = 0;

      for (; i + PL_BLOCK <= width; i += PL_BLOCK)
        for (int j = 0; j < PL_BLOCK; j++)
          row[i + j] -= max;
      for (; i < width; i++)
        row[i] -= max;
      pl_exp (row, row, width);
      inv_sum = 1.0f / row_sum_shifted (row, width, 0.0f);
      i = 0;
      for (; i + PL_BLOCK <= width; i += PL_BLOCK)
        for (int j = 0; j < PL_BLOCK; j++)
          row[i + j] *= inv_sum;
      for (; i < width; i++)
        row[i] *= inv_sum;
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

void
pl_attention (float *out, int ld_out,
              const float *qkv, int ld_qkv,
              int n_tokens, int n_queries,
              int n_heads, int head_dim, float scale,
              float *scores)
{
  int width = n_heads * head_dim;

  for (int h = 0; h < n_heads; h++)
    {
      const float *q = qkv + (size_t) h * head_dim;             /* [n_queries, head_dim] */
      const float *k = qkv + width + (size_t) h * head_dim;     /* [n_tokens, head_dim] */
      const float *v = qkv + 2 * width + (size_t) h * head_dim; /* [n_tokens, head_dim] */

      /* scores: [n_queries, n_tokens] = scale q k^T, then softmax over the keys */
      pl_gemm_nt (n_queries, n_tokens, head_dim, scale, q, ld_qkv, k, ld_qkv, 0.0f, scores, n_tokens);
      pl_softmax_rows (scores, n_tokens, n_queries, n_tokens);
      /* out[:, head h]: [n_queries, head_dim] = scores v */
      pl_gemm_nn (n_queries, head_dim, n_tokens, 1.0f, scores, n_tokens, v, ld_qkv,
                  0.0f, out + (size_t) h * head_dim, ld_out);
    }
}
