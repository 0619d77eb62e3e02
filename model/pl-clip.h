/* pl-clip.h: a PhenoLIP / BiomedCLIP checkpoint opened for inference: the weights bound to the two
 * towers, the tokenizer from vocab.txt, and the preprocessing from open_clip_config.json. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model/pl-bert.h"
#include "model/pl-image.h"
#include "model/pl-tensor-file.h"
#include "model/pl-tokenizer.h"
#include "model/pl-vit.h"

G_BEGIN_DECLS

typedef struct _PlClip PlClip;

typedef struct {
  const char *config_path;  /* open_clip_config.json; NULL: beside the checkpoint, else defaults */
  const char *vocab_path;   /* vocab.txt; NULL: beside the checkpoint (required somewhere) */
} PlClipOptions;

/* PATH is a checkpoint file (safetensors or torch zip) or a folder holding one together with
 * open_clip_config.json and vocab.txt. Warnings (such as a guessed head count) are appended to
 * WARNINGS when it is non-NULL. */
PlClip             *pl_clip_load                 (const char          *path,
                                                  const PlClipOptions *options,
                                                  GPtrArray           *warnings,
                                                  GError             **error);
void                pl_clip_free                 (PlClip              *clip);

const char         *pl_clip_get_checkpoint_path  (const PlClip *clip);
const char         *pl_clip_get_config_path      (const PlClip *clip);   /* NULL when defaults */
const char         *pl_clip_get_vocab_path       (const PlClip *clip);
const PlTensorFile *pl_clip_get_tensor_file      (const PlClip *clip);
const PlVitConfig  *pl_clip_get_vit_config       (const PlClip *clip);
const PlBertConfig *pl_clip_get_bert_config      (const PlClip *clip);
const PlPreprocessConfig *pl_clip_get_preprocess_config (const PlClip *clip);
const PlTokenizer  *pl_clip_get_tokenizer        (const PlClip *clip);
int                 pl_clip_get_embed_dim        (const PlClip *clip);
int                 pl_clip_get_context_length   (const PlClip *clip);
float               pl_clip_get_logit_scale      (const PlClip *clip);   /* exp(logit_scale) */
const char         *pl_clip_get_model_name       (const PlClip *clip);   /* from the config, or "" */
/* TRUE for the project's demo checkpoint (random weights: its outputs are meaningless). */
gboolean            pl_clip_is_demo              (const PlClip *clip);
/* Parameters the model uses, and the checkpoint keys it did not use. */
guint64             pl_clip_get_n_parameters     (const PlClip *clip);
GPtrArray          *pl_clip_get_unused_keys      (const PlClip *clip);
/* dtype name -> number of tensors, e.g. "F32: 200, F16: 2". */
char               *pl_clip_describe_dtypes      (const PlClip *clip);
/* How the head counts were found, e.g. "vision_cfg.heads" or "known timm model vit_base_patch16_224". */
const char         *pl_clip_get_vision_heads_source (const PlClip *clip);
const char         *pl_clip_get_text_heads_source   (const PlClip *clip);

/* A stable fingerprint of what determines the model's outputs: a SHA-256 (hex) over the names,
 * shapes, dtypes and sampled bytes of every tensor the model uses, the vocabulary and the
 * preprocessing. The same weights re-saved in another format or dtype-preserving layout keep it;
 * computing it reads at most a few MB whatever the checkpoint's size. */
const char         *pl_clip_get_fingerprint      (const PlClip *clip);

/* Decodes and preprocesses an image file: OUT is [3, S, S] with S = image size. */
gboolean            pl_clip_load_image           (const PlClip *clip,
                                                  const char   *path,
                                                  float        *out,
                                                  GError      **error);

/* pixels: [n, 3, S, S]; out: [n, embed_dim], L2-normalised. */
void                pl_clip_encode_images        (const PlClip *clip,
                                                  const float  *pixels,
                                                  int           n_images,
                                                  float        *out);

/* Tokenizes TEXT (cleaning included) into IDS (context_length entries); returns the count. */
int                 pl_clip_tokenize             (const PlClip *clip,
                                                  const char   *text,
                                                  int32_t      *ids);

/* Encodes N texts; out: [n, embed_dim], L2-normalised. Texts are batched by token length. */
void                pl_clip_encode_texts         (const PlClip       *clip,
                                                  const char * const *texts,
                                                  int                 n_texts,
                                                  float              *out);
/* Same from ids already tokenized (each sequence [CLS] ... [SEP], no padding). */
void                pl_clip_encode_token_ids     (const PlClip  *clip,
                                                  const int32_t *ids,
                                                  const int     *offsets,
                                                  const int     *lengths,
                                                  int            n_texts,
                                                  float         *out);

/* Sets the threads all model work uses (clamped to 1..number of cores, at most 8): the model's own
 * pool of pl-parallel.h, with OpenBLAS single-threaded inside each part. */
void                pl_clip_set_threads          (int n_threads);
int                 pl_clip_get_threads          (void);

void                pl_l2_normalize_rows         (float *x, int n_rows, int n_cols);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlClip, pl_clip_free)

G_END_DECLS
