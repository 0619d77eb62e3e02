/* pl-ops.h: the numerical building blocks of both towers: GEMM wrappers over OpenBLAS, row-wise
 * LayerNorm and softmax, exact (erf) GELU, bias adds, patch extraction and multi-head attention.
 *
 * Conventions: every matrix is row-major f32; a weight in PyTorch Linear layout is [out, in].
 * "ld" arguments are row strides in floats. The operations never allocate: scratch comes from the
 * caller, normally one PlScratch per forward pass. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* --- Scratch memory: one allocation per forward pass, carved into aligned buffers. --- */

typedef struct {
  float  *data;
  size_t  n_floats;  /* capacity */
  size_t  used;
} PlScratch;

/* Floats reserved by pl_scratch_take (N) : N rounded up to a whole 64-byte cache line. */
size_t pl_scratch_rounded (size_t n_floats);
/* Allocates N_FLOATS floats (the sum of pl_scratch_rounded of every later take). */
void   pl_scratch_init    (PlScratch *scratch,
                           size_t     n_floats);
/* The next N_FLOATS floats, 64-byte aligned, uninitialised. Aborts if the plan was too small. */
float *pl_scratch_take    (PlScratch *scratch,
                           size_t     n_floats);
void   pl_scratch_clear   (PlScratch *scratch);

/* --- Matrix products (OpenBLAS cblas_sgemm; its threads, set by the caller). --- */

/* c: [m, n] = alpha * a [m, k] . b [n, k]^T + beta * c */
void pl_gemm_nt (int m, int n, int k,
                 float alpha, const float *a, int lda,
                 const float *b, int ldb,
                 float beta, float *c, int ldc);
/* c: [m, n] = alpha * a [m, k] . b [k, n] + beta * c */
void pl_gemm_nn (int m, int n, int k,
                 float alpha, const float *a, int lda,
                 const float *b, int ldb,
                 float beta, float *c, int ldc);

/* y: [n_rows, n_out] (row stride ldy) = x [n_rows, n_in] . w [n_out, n_in]^T + bias [n_out].
 * bias may be NULL. y must not overlap x or w. */
void pl_linear            (float *y, int ldy,
                           const float *x,
                           const float *w, const float *bias,
                           int n_rows, int n_in, int n_out);
/* y: [n_rows, n_out] += x [n_rows, n_in] . w [n_out, n_in]^T + bias [n_out]: a Linear layer
 * added onto the residual stream without a temporary. bias may be NULL. */
void pl_linear_accumulate (float *y,
                           const float *x,
                           const float *w, const float *bias,
                           int n_rows, int n_in, int n_out);

/* y: [n_rows, n_out] += x [n_rows, n_in] . w [n_out, n_in]^T + bias, with the sum over n_in
 * split across the pool, so that each thread packs only its share of x and of w (worth it where
 * n_in is large next to n_out, as in the MLP's second product). The first share and the bias go
 * into y; share i > 0 goes to partials + (i - 1) n_rows n_out. Returns how many partials were
 * written (0 when the product ran whole): y is complete only once they are added, which
 * pl_layernorm_fold does. partials: [pl_split_k_scratch_size (n_rows, n_out)] floats. */
int    pl_linear_accumulate_split_k (float *y,
                                     const float *x,
                                     const float *w, const float *bias,
                                     int n_rows, int n_in, int n_out,
                                     float *partials);
size_t pl_split_k_scratch_size      (int n_rows, int n_out);

/* --- Row-wise and element-wise operations. --- */

/* x: [n] += y [n]; the arrays do not overlap. */
void pl_add           (float *x, const float *y, size_t n);
/* x: [n_rows, width] (row stride ld) += bias [width] on every row; bias is not inside x. */
void pl_add_bias      (float *x, int ld, const float *bias, int n_rows, int width);
/* x: [n] = x * (1 + erf(x / sqrt 2)) / 2, in place: GELU in its exact (erf) form, not the tanh
 * approximation; within 5 ulp for x >= -1, and relative precision kept in the negative tail.
 * Vectorisable: glibc's erff costs ~15 ns a call. */
void pl_gelu          (float *x, size_t n);
/* y: [n] = exp(x) within 2 ulp, 0 below -87, capped at exp(88); y may equal x. */
void pl_exp           (float *y, const float *x, size_t n);
/* y: [n_rows, width] = (x - mean) / sqrt(var + eps) * w + b per row (biased variance),
 * the PyTorch LayerNorm. y may equal x. */
void pl_layernorm     (float *y, const float *x,
                       const float *w, const float *b,
                       int n_rows, int width, float eps);
/* x: [n_rows, width] += the N_PARTIALS partials [n_rows, width] of
 * pl_linear_accumulate_split_k, in order; then y = pl_layernorm of x. */
void pl_layernorm_fold (float *y, float *x,
                        const float *partials, int n_partials,
                        const float *w, const float *b,
                        int n_rows, int width, float eps);
/* x: [n_rows, width] (row stride ld) = softmax of each row, in place; subtracts the row
 * maximum first, so large inputs do not overflow. */
void pl_softmax_rows       (float *x, int ld, int n_rows, int width);
/* The softmax without its division: x: [n_rows, width] (row stride ld) = exp(x - row maximum)
 * in place, and inv_sums: [n_rows] = 1 / the sum of each resulting row. */
void pl_softmax_numerators (float *x, int ld, int n_rows, int width, float *inv_sums);
/* x: [n_rows, width] (row stride ld): row r *= scales[r]. */
void pl_scale_rows         (float *x, int ld, int n_rows, int width, const float *scales);
/* dst: [width] = the mean of the rows of x: [n_rows, width] whose keep[] is set (every row when
 * keep is NULL), summed in double; 0 when none is kept. */
void pl_mean_rows     (float *dst, const float *x, const uint8_t *keep, int n_rows, int width);
/* dst: [n_rows, width] = the rows src[index[i]] of src: [*, width] (gathers [CLS] rows). */
void pl_gather_rows   (float *dst, const float *src, const int *index, int n_rows, int width);

/* --- Transformer pieces. --- */

/* image: [channels, image_size, image_size] ->
 * patches: [n_patches, channels * patch_size * patch_size] (row stride ld), patches in raster
 * order and each row ordered (channel, y, x) like a Conv2d weight [out, channels, p, p], so a
 * stride-p convolution becomes patches . weight^T (im2col). */
void pl_image_to_patches (float *patches, int ld,
                          const float *image,
                          int channels, int image_size, int patch_size);

/* Multi-head scaled dot-product attention of n_queries over one sequence of n_tokens, unmasked.
 * q:       [n_queries, width] (row stride ld_q); k, v: [n_tokens, width] (row stride ld_kv);
 *          each head-major [n_heads, head_dim], width = n_heads * head_dim. In a [q | k | v] row
 *          layout, k = q + width and v = q + 2 * width with ld_q = ld_kv = 3 * width.
 * out:     [n_queries, width] (row stride ld_out) = softmax(scale q_h k_h^T) v_h for every head h,
 *          heads concatenated.
 * scratch: [pl_attention_scratch_size (n_queries, n_tokens)] floats. */
void   pl_attention              (float *out, int ld_out,
                                  const float *q, int ld_q,
                                  const float *k, const float *v, int ld_kv,
                                  int n_queries, int n_tokens,
                                  int n_heads, int head_dim, float scale,
                                  float *scratch);
/* The same with keys left out: token j is attended to only where key_mask[j] is non-zero (NULL: all),
 * as Hugging Face's BERT masks padding (its weight in every softmax is exactly 0). */
void   pl_attention_masked       (float *out, int ld_out,
                                  const float *q, int ld_q,
                                  const float *k, const float *v, int ld_kv,
                                  int n_queries, int n_tokens,
                                  int n_heads, int head_dim, float scale,
                                  const uint8_t *key_mask,
                                  float *scratch);
size_t pl_attention_scratch_size (int n_queries, int n_tokens);

G_END_DECLS
