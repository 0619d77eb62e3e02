/* pl-bert.h: the text tower, a post-norm BERT encoder as open_clip's HFTextEncoder uses it: the last
 * hidden state of [CLS] (not BERT's tanh pooler), then the MLP projection
 * Linear(width -> proj_hidden, no bias) -> exact GELU -> Linear(proj_hidden -> embed_dim, no bias).
 * All weights are row-major f32 arrays owned by the caller; PyTorch Linear layout [out, in]. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* open_clip's hf_pooler_type: the last hidden state of [CLS] (BiomedCLIP's
 * cls_last_hidden_state_pooler), or its mean over the tokens the attention mask keeps
 * (mean_pooler, open_clip's default). */
typedef enum {
  PL_BERT_POOL_CLS = 0,
  PL_BERT_POOL_MEAN,
} PlBertPool;

typedef struct {
  int   vocab_size;     /* 30522 */
  int   width;          /* hidden_size, 768 */
  int   n_layers;       /* 12 */
  int   n_heads;        /* 12 */
  int   ff_dim;         /* intermediate_size, 3072 */
  int   max_positions;  /* 512 */
  int   n_token_types;  /* 2 */
  int   proj_hidden;    /* 640; 0 when the projection is a single linear layer */
  int   embed_dim;      /* 512 */
  float ln_eps;         /* 1e-12 */
  /* open_clip's attention mask is ids != config.pad_token_id: a [PAD] typed inside a text is
   * left out as a key. Off (FALSE) unless set. */
  gboolean mask_pad;
  int32_t  pad_id;
  PlBertPool pool;
} PlBertConfig;

typedef struct {
  const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* [width, width], [width] */
  const float *attn_out_w, *attn_out_b;              /* [width, width], [width] */
  const float *attn_ln_w, *attn_ln_b;                /* [width] */
  const float *inter_w, *inter_b;                    /* [ff_dim, width], [ff_dim] */
  const float *out_w, *out_b;                        /* [width, ff_dim], [width] */
  const float *out_ln_w, *out_ln_b;                  /* [width] */
} PlBertLayer;

typedef struct {
  PlBertConfig  config;
  const float  *word_emb;      /* [vocab_size, width] */
  const float  *pos_emb;       /* [max_positions, width] */
  const float  *type_emb;      /* [n_token_types, width]; type 0 is used */
  const float  *emb_ln_w, *emb_ln_b;
  PlBertLayer  *layers;        /* [n_layers] */
  const float  *proj0_w;       /* [proj_hidden, width] (or [embed_dim, width] if proj_hidden == 0) */
  const float  *proj0_b;       /* its bias, or NULL (open_clip's text_cfg.proj_bias) */
  const float  *proj2_w;       /* [embed_dim, proj_hidden]; NULL if proj_hidden == 0 */
  const float  *proj2_b;       /* its bias, or NULL */
} PlBertWeights;

/* ids:     n_texts sequences, text i at ids + offsets[i], of lengths[i] tokens
 *          ([CLS] ... [SEP], no padding; every length >= 1 and <= max_positions).
 * out:     [n_texts, embed_dim], NOT L2-normalised.
 * Attention over the real tokens only, which equals PyTorch's result with padding masked. */
void pl_bert_encode (const PlBertWeights *weights,
                     const int32_t       *ids,
                     const int           *offsets,
                     const int           *lengths,
                     int                  n_texts,
                     float               *out);

double pl_bert_flops_per_text (const PlBertConfig *config, int n_tokens);

G_END_DECLS
