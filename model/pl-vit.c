/* pl-vit.c: the image tower's forward pass, timm's pre-norm VisionTransformer with a class token
 * (global_pool 'token', final norm before pooling, no fc_norm) and open_clip's linear head.
 *
 * The tokens of all images are stacked into one [n_images * n_tokens, width] matrix, so each
 * Linear layer is a single GEMM over the batch; attention runs per image and head. The last
 * block only needs the [CLS] row after attention, so its projection and MLP see n_images rows. */
#include "pl-vit.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "pl-ops.h"
#include "pl-parallel.h"

#define VIT_CHANNELS 3  /* RGB */

static int
vit_n_patches (const PlVitConfig *config)
{
  int grid = config->image_size / config->patch_size;

  return grid * grid;
}

static int
vit_n_tokens (const PlVitConfig *config)
{
  return 1 + vit_n_patches (config);
}

static int
vit_patch_dim (const PlVitConfig *config)
{
  return VIT_CHANNELS * config->patch_size * config->patch_size;
}

/* Floats of one preprocessed image, [channels, size, size]. */
static size_t
vit_image_floats (const PlVitConfig *config)
{
  return (size_t) VIT_CHANNELS * config->image_size * config->image_size;
}

static gboolean
vit_config_is_valid (const PlVitConfig *config)
{
  return config->image_size > 0 && config->patch_size > 0 &&
         config->image_size % config->patch_size == 0 &&
         config->width > 0 && config->n_heads > 0 && config->width % config->n_heads == 0 &&
         config->n_layers >= 0 && config->mlp_dim > 0 && config->embed_dim > 0;
}

/* The buffers of one forward pass over n_images. qkv and the MLP activations are never live at
 * the same time, so they share one region (a third less memory at batch 8). */
typedef struct {
  float *x;         /* [n_rows, width]: the residual stream */
  float *h;         /* [n_rows, width]: normalised input of a sub-block, then attention output */
  float *qkv;       /* [n_rows, 3 * width], each row [q | k | v] */
  float *wide;      /* [n_rows, max (mlp_dim, patch_dim)]: image patches, then MLP activations;
                     * the same memory as qkv */
  float *attention; /* scratch of pl_attention over one image */
  float *cls;       /* [n_images, width]: the [CLS] rows through the last block */
  float *cls_h;     /* [n_images, width] */
  int   *cls_rows;  /* [n_images]: row of each image's [CLS] token in x */
  float *partials;  /* [pl_split_k_scratch_size (n_rows, width)]: shares of the MLP's second
                     * product not yet added to x */
  int    n_partials;  /* how many of them x is still waiting for */
} VitBuffers;

static void
vit_buffers_init (VitBuffers *b, PlScratch *scratch, const PlVitConfig *config, int n_images)
{
  size_t n_tokens = vit_n_tokens (config);
  size_t n_rows = (size_t) n_images * n_tokens;
  size_t width = config->width;
  size_t shared = MAX (3 * width, (size_t) MAX (config->mlp_dim, vit_patch_dim (config)));
  size_t sizes[] = {
    n_rows * width, n_rows * width, n_rows * shared,
    pl_attention_scratch_size (n_tokens, n_tokens), n_images * width, n_images * width,
    (n_images * sizeof (int) + sizeof (float) - 1) / sizeof (float),
    pl_split_k_scratch_size (n_rows, width),
  };
  size_t total = 0;

  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += pl_scratch_rounded (sizes[i]);
  pl_scratch_init (scratch, total);
  b->x = pl_scratch_take (scratch, sizes[0]);
  b->h = pl_scratch_take (scratch, sizes[1]);
  b->qkv = b->wide = pl_scratch_take (scratch, sizes[2]);
  b->attention = pl_scratch_take (scratch, sizes[3]);
  b->cls = pl_scratch_take (scratch, sizes[4]);
  b->cls_h = pl_scratch_take (scratch, sizes[5]);
  b->cls_rows = (int *) (void *) pl_scratch_take (scratch, sizes[6]);
  b->partials = pl_scratch_take (scratch, sizes[7]);
  b->n_partials = 0;
  for (int i = 0; i < n_images; i++)
    b->cls_rows[i] = i * (int) n_tokens;
}

/* x: [n_images * n_tokens, width] = [cls + pos[0]; patches . patch_w^T + patch_b + pos[1:]] per
 * image: the stride-p convolution as im2col + one GEMM over the batch. */
static void
vit_embed (const PlVitWeights *weights, const float *pixels, int n_images, VitBuffers *b)
{
  const PlVitConfig *config = &weights->config;
  int n_tokens = vit_n_tokens (config);
  int width = config->width;
  int patch_dim = vit_patch_dim (config);
  size_t image_floats = vit_image_floats (config);

  /* patches: [n_images * n_tokens, patch_dim]; the [CLS] slot of each image is a zero row whose
   * product is overwritten below, so that one GEMM writes every patch token in place. */
  for (int i = 0; i < n_images; i++)
    {
      float *image_patches = b->wide + (size_t) i * n_tokens * patch_dim;

      memset (image_patches, 0, patch_dim * sizeof (float));
      pl_image_to_patches (image_patches + patch_dim, patch_dim, pixels + i * image_floats,
                           VIT_CHANNELS, config->image_size, config->patch_size);
    }
  pl_linear (b->x, width, b->wide, weights->patch_w, NULL, n_images * n_tokens, patch_dim, width);

  for (int i = 0; i < n_images; i++)
    {
      float *tokens = b->x + (size_t) i * n_tokens * width;  /* [n_tokens, width] */

      memcpy (tokens, weights->cls_token, width * sizeof (float));
      pl_add_bias (tokens + width, width, weights->patch_b, n_tokens - 1, width);
      pl_add (tokens, weights->pos_embed, (size_t) n_tokens * width);
    }
}

/* x: [n_rows, width] through one pre-norm block:
 * x += proj(attention(norm1(x))); x += fc2(gelu(fc1(norm2(x)))). */
static void
vit_block (const PlVitBlock *block, const PlVitConfig *config, int n_images, VitBuffers *b)
{
  int n_tokens = vit_n_tokens (config);
  int n_rows = n_images * n_tokens;
  int width = config->width;
  int head_dim = width / config->n_heads;
  float scale = (float) (1.0 / sqrt ((double) head_dim));

  pl_layernorm_fold (b->h, b->x, b->partials, b->n_partials, block->norm1_w, block->norm1_b,
                     n_rows, width, config->ln_eps);
  b->n_partials = 0;
  pl_linear (b->qkv, 3 * width, b->h, block->qkv_w, block->qkv_b, n_rows, width, 3 * width);
  for (int i = 0; i < n_images; i++)
    {
      const float *qkv = b->qkv + (size_t) i * n_tokens * 3 * width;  /* [n_tokens, 3 * width] */

      pl_attention (b->h + (size_t) i * n_tokens * width, width,
                    qkv, 3 * width, qkv + width, qkv + 2 * width, 3 * width,
                    n_tokens, n_tokens, config->n_heads, head_dim, scale, b->attention);
    }
  pl_linear_accumulate (b->x, b->h, block->proj_w, block->proj_b, n_rows, width, width);

  pl_layernorm (b->h, b->x, block->norm2_w, block->norm2_b, n_rows, width, config->ln_eps);
  pl_linear (b->wide, config->mlp_dim, b->h, block->fc1_w, block->fc1_b, n_rows, width, config->mlp_dim);
  pl_gelu (b->wide, (size_t) n_rows * config->mlp_dim);
  /* split over mlp_dim: the next block's first LayerNorm adds the shares to x */
  b->n_partials = pl_linear_accumulate_split_k (b->x, b->wide, block->fc2_w, block->fc2_b, n_rows,
                                                config->mlp_dim, width, b->partials);
}

/* The last block, of which only the [CLS] rows are used: every token still provides keys and
 * values, but only [CLS] queries, and the rest runs on cls: [n_images, width]. */
static void
vit_last_block (const PlVitBlock *block, const PlVitConfig *config, int n_images, VitBuffers *b)
{
  int n_tokens = vit_n_tokens (config);
  int n_rows = n_images * n_tokens;
  int width = config->width;
  int head_dim = width / config->n_heads;
  float scale = (float) (1.0 / sqrt ((double) head_dim));
  float *queries = b->cls;  /* [n_images, width], free until the [CLS] rows of x are gathered */

  pl_layernorm_fold (b->h, b->x, b->partials, b->n_partials, block->norm1_w, block->norm1_b,
                     n_rows, width, config->ln_eps);
  b->n_partials = 0;
  /* keys and values of every token: rows width..3 width of qkv_w; queries of [CLS] only */
  pl_linear (b->qkv + width, 3 * width, b->h, block->qkv_w + (size_t) width * width, block->qkv_b + width,
             n_rows, width, 2 * width);
  pl_gather_rows (b->cls_h, b->h, b->cls_rows, n_images, width);
  pl_linear (queries, width, b->cls_h, block->qkv_w, block->qkv_b, n_images, width, width);
  for (int i = 0; i < n_images; i++)
    {
      const float *qkv = b->qkv + (size_t) i * n_tokens * 3 * width;

      pl_attention (b->cls_h + (size_t) i * width, width,
                    queries + (size_t) i * width, width, qkv + width, qkv + 2 * width, 3 * width,
                    1, n_tokens, config->n_heads, head_dim, scale, b->attention);
    }
  pl_gather_rows (b->cls, b->x, b->cls_rows, n_images, width);
  pl_linear_accumulate (b->cls, b->cls_h, block->proj_w, block->proj_b, n_images, width, width);

  pl_layernorm (b->cls_h, b->cls, block->norm2_w, block->norm2_b, n_images, width, config->ln_eps);
  pl_linear (b->wide, config->mlp_dim, b->cls_h, block->fc1_w, block->fc1_b, n_images, width, config->mlp_dim);
  pl_gelu (b->wide, (size_t) n_images * config->mlp_dim);
  pl_linear_accumulate (b->cls, b->wide, block->fc2_w, block->fc2_b, n_images, config->mlp_dim, width);
}

/* One forward pass over N_IMAGES: every product and kernel inside splits its work across the
 * pool (or runs whole, when called from inside a pool job). */
static void
vit_encode_batch (const PlVitWeights *weights,
                  const float        *pixels,
                  int                 n_images,
                  float              *out)
{
  const PlVitConfig *config = &weights->config;
  PlScratch scratch;
  VitBuffers b;

  vit_buffers_init (&b, &scratch, config, n_images);

  vit_embed (weights, pixels, n_images, &b);
  if (config->pool == PL_VIT_POOL_AVG)
    {
      /* pooled = mean of norm(x) over each image's patch tokens: every block runs whole */
      int n_tokens = vit_n_tokens (config);

      for (int l = 0; l < config->n_layers; l++)
        vit_block (&weights->blocks[l], config, n_images, &b);
      pl_layernorm_fold (b.h, b.x, b.partials, b.n_partials, weights->norm_w, weights->norm_b,
                         n_images * n_tokens, config->width, config->ln_eps);
      for (int i = 0; i < n_images; i++)
        pl_mean_rows (b.cls_h + (size_t) i * config->width,
                      b.h + ((size_t) i * n_tokens + 1) * config->width, NULL, n_tokens - 1, config->width);
    }
  else
    {
      /* pooled = norm(x)[CLS] */
      for (int l = 0; l + 1 < config->n_layers; l++)
        vit_block (&weights->blocks[l], config, n_images, &b);
      if (config->n_layers > 0)
        vit_last_block (&weights->blocks[config->n_layers - 1], config, n_images, &b);
      else
        pl_gather_rows (b.cls, b.x, b.cls_rows, n_images, config->width);
      pl_layernorm (b.cls_h, b.cls, weights->norm_w, weights->norm_b, n_images, config->width, config->ln_eps);
    }

  /* out: [n_images, embed_dim] = pooled . head_proj^T (+ head_bias) */
  pl_linear (out, config->embed_dim, b.cls_h, weights->head_proj, weights->head_bias, n_images,
             config->width, config->embed_dim);

  pl_scratch_clear (&scratch);
}

typedef struct {
  const PlVitWeights *weights;
  const float        *pixels;
  float              *out;
  int                 n_images;
} VitImagesJob;

/* Part INDEX of COUNT takes its share of whole images through the tower on its own thread. */
static void
vit_images_part (gpointer data, int index, int count)
{
  const VitImagesJob *job = data;
  const PlVitConfig *config = &job->weights->config;
  int start, end;

  pl_parallel_range (job->n_images, 1, index, count, &start, &end);
  if (end > start)
    vit_encode_batch (job->weights, job->pixels + start * vit_image_floats (config), end - start,
                      job->out + (size_t) start * config->embed_dim);
}

void
pl_vit_encode (const PlVitWeights *weights,
               const float        *pixels,
               int                 n_images,
               float              *out)
{
  const PlVitConfig *config;
  int n_threads, n_split;

  g_return_if_fail (weights != NULL);
  g_return_if_fail (vit_config_is_valid (&weights->config));
  g_return_if_fail (n_images >= 0 && n_images <= INT_MAX / vit_n_tokens (&weights->config));
  g_return_if_fail (n_images == 0 || (pixels != NULL && out != NULL));

  if (n_images == 0)
    return;
  config = &weights->config;

  /* With at least one image per thread, each thread takes whole images through the whole tower:
   * no thread waits for another between the layer's ten-odd steps, and none packs the other's
   * share of a product. The images that do not divide evenly go through together afterwards,
   * each of their steps split across the threads. */
  n_threads = pl_parallel_get_threads ();
  n_split = n_threads > 1 ? n_images - n_images % n_threads : 0;
  if (n_split > 0)
    {
      VitImagesJob job = { weights, pixels, out, n_split };

      pl_parallel_run (vit_images_part, &job, n_threads);
    }
  if (n_images > n_split)
    vit_encode_batch (weights, pixels + n_split * vit_image_floats (config), n_images - n_split,
                      out + (size_t) n_split * config->embed_dim);
}

double
pl_vit_flops_per_image (const PlVitConfig *config)
{
  double t = vit_n_tokens (config);
  double w = config->width;
  double mlp = config->mlp_dim;
  double patch = t * w * vit_patch_dim (config);  /* the [CLS] slot rides along as a zero row */
  double full_block = t * w * 3 * w            /* qkv */
                      + 2 * t * t * w          /* q k^T and scores v, all heads */
                      + t * w * w              /* proj */
                      + 2 * t * w * mlp;       /* fc1, fc2 */
  double last_block = t * w * 2 * w + w * w      /* keys and values of all, query of [CLS] */
                      + 2 * t * w + w * w + 2 * w * mlp;
  double blocks = config->n_layers <= 0 ? 0
                  : config->pool == PL_VIT_POOL_AVG ? config->n_layers * full_block  /* every token pooled */
                  : (config->n_layers - 1) * full_block + last_block;

  g_return_val_if_fail (vit_config_is_valid (config), 0);

  /* 2 M N K for every GEMM this implementation runs */
  return 2 * (patch + blocks + w * config->embed_dim);
}
