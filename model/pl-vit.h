/* pl-vit.h: the image tower, timm's VisionTransformer (pre-norm) as open_clip's TimmModel uses it,
 * followed by the linear projection head. All weights are row-major f32 arrays that the caller owns
 * (usually pointers into a mapped checkpoint); PyTorch Linear layout [out_features, in_features]. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* timm's global_pool: the class token (BiomedCLIP), or the mean of the patch tokens, both after
 * the final LayerNorm. */
typedef enum {
  PL_VIT_POOL_TOKEN = 0,
  PL_VIT_POOL_AVG,
} PlVitPool;

typedef struct {
  int   image_size;   /* 224 */
  int   patch_size;   /* 16 */
  int   width;        /* d_model, 768 */
  int   n_layers;     /* 12 */
  int   n_heads;      /* 12 */
  int   mlp_dim;      /* 3072 */
  int   embed_dim;    /* output of visual.head.proj, 512 */
  float ln_eps;       /* 1e-6 */
  PlVitPool pool;     /* which tokens the embedding is pooled from */
} PlVitConfig;

typedef struct {
  const float *norm1_w, *norm1_b;   /* [width] */
  const float *qkv_w, *qkv_b;       /* [3*width, width], [3*width]: rows [q;k;v], each head-major */
  const float *proj_w, *proj_b;     /* [width, width], [width] */
  const float *norm2_w, *norm2_b;   /* [width] */
  const float *fc1_w, *fc1_b;       /* [mlp_dim, width], [mlp_dim] */
  const float *fc2_w, *fc2_b;       /* [width, mlp_dim], [width] */
} PlVitBlock;

typedef struct {
  PlVitConfig  config;
  const float *patch_w;   /* [width, 3, patch, patch] */
  const float *patch_b;   /* [width] */
  const float *cls_token; /* [width] */
  const float *pos_embed; /* [1 + n_patches, width] */
  PlVitBlock  *blocks;    /* [n_layers] */
  const float *norm_w, *norm_b;  /* final LayerNorm [width] */
  const float *head_proj; /* [embed_dim, width] */
  const float *head_bias; /* [embed_dim], or NULL (open_clip's timm_proj_bias) */
} PlVitWeights;

/* pixels: [n_images, 3, image_size, image_size], already normalised.
 * out:    [n_images, embed_dim], the projected CLS token, NOT L2-normalised. */
void pl_vit_encode (const PlVitWeights *weights,
                    const float        *pixels,
                    int                 n_images,
                    float              *out);

/* Floating-point operations of one image through the tower (for GFLOP/s reports). */
double pl_vit_flops_per_image (const PlVitConfig *config);

G_END_DECLS
