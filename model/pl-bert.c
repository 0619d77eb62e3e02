/* pl-bert.c: the text tower's forward pass, a post-norm BERT encoder as in transformers' BertModel
 * (without its tanh pooler), pooled at [CLS], then open_clip's MLP projection.
 *
 * Texts of different lengths are packed without padding into one [total_tokens, width] matrix,
 * so every Linear layer is a single GEMM; attention runs per text and head over that text's own
 * tokens, which equals a padded batch with masked keys. The last layer only needs the [CLS] rows
 * after attention, so its output dense layers and feed-forward see n_texts rows. */
#include "pl-bert.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "pl-ops.h"
#include "pl-parallel.h"

static gboolean
bert_config_is_valid (const PlBertConfig *config)
{
  return config->vocab_size > 0 && config->width > 0 && config->n_heads > 0 &&
         config->width % config->n_heads == 0 && config->n_layers >= 0 && config->ff_dim > 0 &&
         config->max_positions > 0 && config->n_token_types > 0 && config->proj_hidden >= 0 &&
         config->embed_dim > 0;
}

/* Checks the texts against the configuration; their total length goes to TOTAL_TOKENS. */
static gboolean
bert_texts_are_valid (const PlBertConfig *config,
                      const int32_t      *ids,
                      const int          *offsets,
                      const int          *lengths,
                      int                 n_texts,
                      int                *total_tokens)
{
  gint64 total = 0;

  for (int i = 0; i < n_texts; i++)
    {
      if (lengths[i] < 1 || lengths[i] > config->max_positions || offsets[i] < 0)
        {
          g_critical ("pl_bert_encode: text %d has offset %d and length %d (1 to %d tokens allowed)",
                      i, offsets[i], lengths[i], config->max_positions);
          return FALSE;
        }
      for (int p = 0; p < lengths[i]; p++)
        {
          int32_t id = ids[(size_t) offsets[i] + p];

          if (id < 0 || id >= config->vocab_size)
            {
              g_critical ("pl_bert_encode: token %d of text %d has id %d, outside the vocabulary of %d",
                          p, i, (int) id, config->vocab_size);
              return FALSE;
            }
        }
      total += lengths[i];
    }
  if (total > INT_MAX / (3 * config->width))
    {
      g_critical ("pl_bert_encode: %" G_GINT64_FORMAT " tokens in one call is too many", total);
      return FALSE;
    }
  *total_tokens = (int) total;
  return TRUE;
}

/* The buffers of one forward pass over n_texts packed into n_rows tokens. qkv and the
 * intermediate activations are never live at the same time, so they share one region. */
typedef struct {
  float *x;         /* [n_rows, width]: the hidden states */
  float *qkv;       /* [n_rows, 3 * width]: each row [q | k | v] */
  float *wide;      /* [n_rows, ff_dim]: intermediate activations; the same memory as qkv */
  float *h;         /* [n_rows, width]: attention output */
  float *attention; /* scratch of pl_attention over the longest text */
  float *cls;       /* [n_texts, width]: the [CLS] rows through the last layer */
  float *cls_h;     /* [n_texts, width] */
  float *cls_q;     /* [n_texts, width]: the [CLS] queries of the last layer */
  float *proj;      /* [n_texts, proj_hidden]: the projection's hidden layer */
  int   *row_start; /* [n_texts]: first row of each text in x, its [CLS] */
  uint8_t *key_mask;  /* [n_rows]: 0 for a token attention leaves out as a key (config->pad_id) */
  uint8_t *masked;    /* [n_texts]: whether the text has such a token */
} BertBuffers;

static size_t
floats_for_ints (size_t n)
{
  return (n * sizeof (int) + sizeof (float) - 1) / sizeof (float);
}

static void
bert_buffers_init (BertBuffers        *b,
                   PlScratch          *scratch,
                   const PlBertConfig *config,
                   const int          *lengths,
                   int                 n_texts,
                   int                 n_rows)
{
  size_t width = config->width;
  size_t max_length = 0;
  size_t sizes[9];
  size_t total = 0;
  int row = 0;

  for (int i = 0; i < n_texts; i++)
    max_length = MAX (max_length, (size_t) lengths[i]);
  sizes[0] = (size_t) n_rows * width;
  sizes[1] = (size_t) n_rows * MAX (3 * width, (size_t) config->ff_dim);
  sizes[2] = (size_t) n_rows * width;
  sizes[3] = pl_attention_scratch_size ((int) max_length, (int) max_length);
  sizes[4] = (size_t) n_texts * width;
  sizes[5] = (size_t) n_texts * width;
  sizes[6] = (size_t) n_texts * width;
  sizes[7] = (size_t) n_texts * config->proj_hidden;
  sizes[8] = floats_for_ints (n_texts);
  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += pl_scratch_rounded (sizes[i]);

  pl_scratch_init (scratch, total);
  b->x = pl_scratch_take (scratch, sizes[0]);
  b->qkv = b->wide = pl_scratch_take (scratch, sizes[1]);
  b->h = pl_scratch_take (scratch, sizes[2]);
  b->attention = pl_scratch_take (scratch, sizes[3]);
  b->cls = pl_scratch_take (scratch, sizes[4]);
  b->cls_h = pl_scratch_take (scratch, sizes[5]);
  b->cls_q = pl_scratch_take (scratch, sizes[6]);
  b->proj = pl_scratch_take (scratch, sizes[7]);
  b->row_start = (int *) (void *) pl_scratch_take (scratch, sizes[8]);
  for (int i = 0; i < n_texts; i++)
    {
      b->row_start[i] = row;
      row += lengths[i];
    }
}

/* x: [n_rows, width] = LayerNorm(word[id] + type[0] + pos[position]) for every packed token. */
static void
bert_embed (const PlBertWeights *weights,
            const int32_t       *ids,
            const int           *offsets,
            const int           *lengths,
            int                  n_texts,
            int                  n_rows,
            BertBuffers         *b)
{
  const PlBertConfig *config = &weights->config;
  size_t width = config->width;

  for (int i = 0; i < n_texts; i++)
    for (int p = 0; p < lengths[i]; p++)
      {
        float *row = b->x + ((size_t) b->row_start[i] + p) * width;
        int32_t id = ids[(size_t) offsets[i] + p];

        memcpy (row, weights->word_emb + (size_t) id * width, width * sizeof (float));
        pl_add (row, weights->type_emb, width);
        pl_add (row, weights->pos_emb + (size_t) p * width, width);
      }
  pl_layernorm (b->x, b->x, weights->emb_ln_w, weights->emb_ln_b, n_rows, width, config->ln_eps);
}

/* qkv: [n_rows, 3 * width] = [x q_w^T + q_b | x k_w^T + k_b | x v_w^T + v_b] */
static void
bert_project_qkv (const PlBertLayer *layer, int width, int n_rows, BertBuffers *b)
{
  pl_linear (b->qkv, 3 * width, b->x, layer->q_w, layer->q_b, n_rows, width, width);
  pl_linear (b->qkv + width, 3 * width, b->x, layer->k_w, layer->k_b, n_rows, width, width);
  pl_linear (b->qkv + 2 * width, 3 * width, b->x, layer->v_w, layer->v_b, n_rows, width, width);
}

/* x: [n_rows, width] through one post-norm layer:
 * x = LN(x + dense(attention(x))); x = LN(x + out(gelu(inter(x)))). */
static void
bert_layer (const PlBertLayer *layer,
            const PlBertConfig *config,
            const int         *lengths,
            int                n_texts,
            int                n_rows,
            BertBuffers       *b)
{
  int width = config->width;
  int head_dim = width / config->n_heads;
  float scale = (float) (1.0 / sqrt ((double) head_dim));

  bert_project_qkv (layer, width, n_rows, b);
  for (int i = 0; i < n_texts; i++)
    {
      const float *qkv = b->qkv + (size_t) b->row_start[i] * 3 * width;  /* [lengths[i], 3 * width] */

      pl_attention_masked (b->h + (size_t) b->row_start[i] * width, width,
                           qkv, 3 * width, qkv + width, qkv + 2 * width, 3 * width,
                           lengths[i], lengths[i], config->n_heads, head_dim, scale,
                           b->masked[i] ? b->key_mask + b->row_start[i] : NULL, b->attention);
    }
  pl_linear_accumulate (b->x, b->h, layer->attn_out_w, layer->attn_out_b, n_rows, width, width);
  pl_layernorm (b->x, b->x, layer->attn_ln_w, layer->attn_ln_b, n_rows, width, config->ln_eps);

  pl_linear (b->wide, config->ff_dim, b->x, layer->inter_w, layer->inter_b, n_rows, width, config->ff_dim);
  pl_gelu (b->wide, (size_t) n_rows * config->ff_dim);
  pl_linear_accumulate (b->x, b->wide, layer->out_w, layer->out_b, n_rows, config->ff_dim, width);
  pl_layernorm (b->x, b->x, layer->out_ln_w, layer->out_ln_b, n_rows, width, config->ln_eps);
}

/* The last layer, of which only the [CLS] rows are used: every token still provides keys and
 * values, but only [CLS] queries, and the rest runs on cls: [n_texts, width]. */
static void
bert_last_layer (const PlBertLayer  *layer,
                 const PlBertConfig *config,
                 const int          *lengths,
                 int                 n_texts,
                 int                 n_rows,
                 BertBuffers        *b)
{
  int width = config->width;
  int head_dim = width / config->n_heads;
  float scale = (float) (1.0 / sqrt ((double) head_dim));

  pl_linear (b->qkv + width, 3 * width, b->x, layer->k_w, layer->k_b, n_rows, width, width);
  pl_linear (b->qkv + 2 * width, 3 * width, b->x, layer->v_w, layer->v_b, n_rows, width, width);
  pl_gather_rows (b->cls, b->x, b->row_start, n_texts, width);
  pl_linear (b->cls_q, width, b->cls, layer->q_w, layer->q_b, n_texts, width, width);
  for (int i = 0; i < n_texts; i++)
    {
      const float *qkv = b->qkv + (size_t) b->row_start[i] * 3 * width;

      pl_attention_masked (b->cls_h + (size_t) i * width, width,
                           b->cls_q + (size_t) i * width, width, qkv + width, qkv + 2 * width, 3 * width,
                           1, lengths[i], config->n_heads, head_dim, scale,
                           b->masked[i] ? b->key_mask + b->row_start[i] : NULL, b->attention);
    }
  pl_linear_accumulate (b->cls, b->cls_h, layer->attn_out_w, layer->attn_out_b, n_texts, width, width);
  pl_layernorm (b->cls, b->cls, layer->attn_ln_w, layer->attn_ln_b, n_texts, width, config->ln_eps);

  pl_linear (b->wide, config->ff_dim, b->cls, layer->inter_w, layer->inter_b, n_texts, width, config->ff_dim);
  pl_gelu (b->wide, (size_t) n_texts * config->ff_dim);
  pl_linear_accumulate (b->cls, b->wide, layer->out_w, layer->out_b, n_texts, config->ff_dim, width);
  pl_layernorm (b->cls, b->cls, layer->out_ln_w, layer->out_ln_b, n_texts, width, config->ln_eps);
}

/* One forward pass over N_TEXTS valid texts of N_ROWS tokens in all: every product and kernel
 * inside splits its work across the pool (or runs whole, when called from inside a pool job). */
static void
bert_encode_batch (const PlBertWeights *weights,
                   const int32_t       *ids,
                   const int           *offsets,
                   const int           *lengths,
                   int                  n_texts,
                   int                  n_rows,
                   float               *out)
{
  const PlBertConfig *config = &weights->config;
  PlScratch scratch;
  BertBuffers b;

  bert_buffers_init (&b, &scratch, config, lengths, n_texts, n_rows);
  b.key_mask = g_malloc (n_rows);
  b.masked = g_malloc0 (n_texts);
  for (int i = 0; i < n_texts; i++)
    for (int p = 0; p < lengths[i]; p++)
      {
        gboolean keep = !config->mask_pad || ids[(size_t) offsets[i] + p] != config->pad_id;

        b.key_mask[b.row_start[i] + p] = keep;
        if (!keep)
          b.masked[i] = TRUE;
      }

  bert_embed (weights, ids, offsets, lengths, n_texts, n_rows, &b);
  if (config->pool == PL_BERT_POOL_MEAN)
    {
      /* every layer runs whole; cls: [n_texts, width] = the mean of the rows the mask keeps */
      for (int l = 0; l < config->n_layers; l++)
        bert_layer (&weights->layers[l], config, lengths, n_texts, n_rows, &b);
      /* open_clip's MeanPooler: the masked hidden states summed, over the mask's sum */
      for (int i = 0; i < n_texts; i++)
        pl_mean_rows (b.cls + (size_t) i * config->width, b.x + (size_t) b.row_start[i] * config->width,
                      b.key_mask + b.row_start[i], lengths[i], config->width);
    }
  else
    {
      for (int l = 0; l + 1 < config->n_layers; l++)
        bert_layer (&weights->layers[l], config, lengths, n_texts, n_rows, &b);
      if (config->n_layers > 0)
        bert_last_layer (&weights->layers[config->n_layers - 1], config, lengths, n_texts, n_rows, &b);
      else
        pl_gather_rows (b.cls, b.x, b.row_start, n_texts, config->width);
    }

  /* out: [n_texts, embed_dim] = proj2(gelu(proj0(cls))), or proj0(cls) for a linear projection */
  if (config->proj_hidden > 0)
    {
      pl_linear (b.proj, config->proj_hidden, b.cls, weights->proj0_w, weights->proj0_b, n_texts,
                 config->width, config->proj_hidden);
      pl_gelu (b.proj, (size_t) n_texts * config->proj_hidden);
      pl_linear (out, config->embed_dim, b.proj, weights->proj2_w, weights->proj2_b, n_texts,
                 config->proj_hidden, config->embed_dim);
    }
  else
    {
      pl_linear (out, config->embed_dim, b.cls, weights->proj0_w, weights->proj0_b, n_texts,
                 config->width, config->embed_dim);
    }

  g_free (b.key_mask);
  g_free (b.masked);
  pl_scratch_clear (&scratch);
}

typedef struct {
  const PlBertWeights *weights;
  const int32_t       *ids;
  const int           *offsets;
  const int           *lengths;
  float               *out;
  int                  n_texts;
  int                  count;                                /* parts BOUNDS was cut for */
  int                  bounds[PL_PARALLEL_MAX_THREADS + 1];  /* part k takes texts bounds[k].. */
} BertTextsJob;

static void
bert_texts_part (gpointer data, int index, int count)
{
  const BertTextsJob *job = data;
  int start = job->bounds[index], end = job->bounds[index + 1];
  int n_rows = 0;

  if (count != job->count)  /* the pool ran the job with fewer parts (nested, or resized) */
    pl_parallel_range (job->n_texts, 1, index, count, &start, &end);
  for (int i = start; i < end; i++)
    n_rows += job->lengths[i];
  bert_encode_batch (job->weights, job->ids, job->offsets + start, job->lengths + start, end - start,
                     n_rows, job->out + (size_t) start * job->weights->config.embed_dim);
}

/* Cuts N_TEXTS texts into COUNT consecutive runs of about equal total length, each at least one
 * text (N_TEXTS >= COUNT), into BOUNDS[0..COUNT]. Returns whether the longest run is within a
 * quarter of the mean: when it is not (a few texts of very different lengths), one thread would
 * be left with most of the work. */
static gboolean
bert_balanced_bounds (const int *lengths, int n_texts, int n_rows, int count, int *bounds)
{
  int i = 0, done = 0, longest = 0;

  bounds[0] = 0;
  for (int k = 1; k < count; k++)
    {
      double target = (double) n_rows * k / count;

      /* Take texts while the cut after the next one lies nearer the target than the cut before. */
      while (i < n_texts - (count - k) && (i < bounds[k - 1] + 1 || done + lengths[i] / 2.0 <= target))
        done += lengths[i++];
      bounds[k] = i;
    }
  bounds[count] = n_texts;
  for (int k = 0; k < count; k++)
    {
      int rows = 0;

      for (int t = bounds[k]; t < bounds[k + 1]; t++)
        rows += lengths[t];
      longest = MAX (longest, rows);
    }
  return longest * (double) count <= 1.25 * n_rows;
}

void
pl_bert_encode (const PlBertWeights *weights,
                const int32_t       *ids,
                const int           *offsets,
                const int           *lengths,
                int                  n_texts,
                float               *out)
{
  int n_rows = 0, n_threads;
  BertTextsJob job;

  g_return_if_fail (weights != NULL);
  g_return_if_fail (bert_config_is_valid (&weights->config));
  g_return_if_fail (n_texts >= 0);
  g_return_if_fail (n_texts == 0 || (ids != NULL && offsets != NULL && lengths != NULL && out != NULL));

  if (n_texts == 0)
    return;
  if (!bert_texts_are_valid (&weights->config, ids, offsets, lengths, n_texts, &n_rows))
    return;

  /* With enough texts, each thread takes a run of whole texts through the whole tower, so that no
   * thread waits for another between steps; otherwise every step splits across the threads. */
  n_threads = pl_parallel_get_threads ();
  if (n_threads > 1 && n_texts >= n_threads &&
      bert_balanced_bounds (lengths, n_texts, n_rows, n_threads, job.bounds))
    {
      job.weights = weights;
      job.ids = ids;
      job.offsets = offsets;
      job.lengths = lengths;
      job.out = out;
      job.n_texts = n_texts;
      job.count = n_threads;
      pl_parallel_run (bert_texts_part, &job, n_threads);
    }
  else
    {
      bert_encode_batch (weights, ids, offsets, lengths, n_texts, n_rows, out);
    }
}

double
pl_bert_flops_per_text (const PlBertConfig *config, int n_tokens)
{
  double t = n_tokens;
  double w = config->width;
  double ff = config->ff_dim;
  double full_layer = 3 * t * w * w            /* q, k, v */
                      + 2 * t * t * w          /* q k^T and scores v, all heads */
                      + t * w * w              /* attention output dense */
                      + 2 * t * w * ff;        /* intermediate, output */
  double last_layer = 2 * t * w * w + w * w    /* keys and values of all, query of [CLS] */
                      + 2 * t * w + w * w + 2 * w * ff;
  double layers = config->n_layers <= 0 ? 0
                  : config->pool == PL_BERT_POOL_MEAN ? config->n_layers * full_layer  /* every token pooled */
                  : (config->n_layers - 1) * full_layer + last_layer;
  double proj = config->proj_hidden > 0
                ? w * config->proj_hidden + (double) config->proj_hidden * config->embed_dim
                : w * config->embed_dim;

  g_return_val_if_fail (bert_config_is_valid (config), 0);
  g_return_val_if_fail (n_tokens >= 1, 0);

  /* 2 M N K for every GEMM this implementation runs */
  return 2 * (layers + proj);
}
