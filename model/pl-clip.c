/* pl-clip.c: opening a PhenoLIP / BiomedCLIP checkpoint for inference. Sizes come from the tensor
 * shapes; what shapes cannot tell (head counts, pooling, preprocessing) comes from the companion
 * files beside the weights, resolved the way open_clip resolves them. */
#include "model/pl-clip.h"

#include <cblas.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "model/pl-error.h"
#include "model/pl-parallel.h"

#define PL_DEFAULT_CONTEXT_LENGTH 256
#define PL_TEXT_BATCH_TOKENS      4096  /* tokens per pl_bert_encode call: bounds scratch memory */
#define PL_HEAD_DIM_FALLBACK      64

struct _PlClip {
  char               *checkpoint_path;
  char               *config_path;
  char               *vocab_path;
  char               *model_name;
  PlTensorFile       *file;
  PlTokenizer        *tokenizer;
  PlVitWeights        vit;
  PlBertWeights       bert;
  PlPreprocessConfig  preprocess;
  int                 embed_dim;
  int                 context_length;
  gboolean            pad_attended;     /* the vocab's [PAD] is not config.json's pad_token_id */
  float               logit_scale;      /* exp() applied */
  guint64             n_parameters;
  GPtrArray          *owned_buffers;    /* f32 copies of tensors that could not be used in place */
  GHashTable         *used_keys;        /* set of checkpoint keys bound to the model */
  GPtrArray          *unused_keys;
  char               *vision_heads_source;
  char               *text_heads_source;
  char               *fingerprint;
};

/* What open_clip_config.json says, in either of its two forms. */
typedef struct {
  char    *model_name;
  int      embed_dim;
  int      vision_heads;        /* 0: not given */
  char    *timm_model_name;
  char    *timm_pool;
  char    *timm_proj;
  gboolean timm_proj_bias;
  int      image_size;
  char    *hf_model_name;
  char    *proj_type;
  char    *pooler_type;
  gboolean text_proj_bias;
  int      context_length;
  gboolean has_mean_std;
  float    mean[3], std[3];
  char    *interpolation;  /* preprocess_cfg's, NULL when not given */
  char    *resize_mode;
  int      fill_color;
} ModelConfig;

static void
model_config_clear (ModelConfig *cfg)
{
  g_free (cfg->model_name);
  g_free (cfg->timm_model_name);
  g_free (cfg->timm_pool);
  g_free (cfg->timm_proj);
  g_free (cfg->hf_model_name);
  g_free (cfg->proj_type);
  g_free (cfg->pooler_type);
  g_free (cfg->interpolation);
  g_free (cfg->resize_mode);
  memset (cfg, 0, sizeof *cfg);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ModelConfig, model_config_clear)

/* ---- companion files ---- */

static const char *
json_get_string (JsonObject *obj,
                 const char *member)
{
  JsonNode *node;

  if (obj == NULL || !json_object_has_member (obj, member))
    return NULL;
  node = json_object_get_member (obj, member);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* A boolean member; OUT is left alone when it is absent or null. */
static gboolean
json_get_bool (JsonObject *obj,
               const char *member,
               gboolean   *out,
               const char *path,
               GError    **error)
{
  JsonNode *node;

  if (obj == NULL || !json_object_has_member (obj, member))
    return TRUE;
  node = json_object_get_member (obj, member);
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"%s\" must be true or false", path, member);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
json_get_int (JsonObject *obj,
              const char *member,
              int        *out,
              const char *path,
              GError    **error)
{
  JsonNode *node;
  gint64 value;

  if (obj == NULL || !json_object_has_member (obj, member))
    return TRUE;
  node = json_object_get_member (obj, member);
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"%s\" must be an integer", path, member);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value <= 0 || value > 1 << 20)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"%s\" = %" G_GINT64_FORMAT " is out of range",
                   path, member, value);
      return FALSE;
    }
  *out = (int) value;
  return TRUE;
}

static gboolean
json_get_triple (JsonObject *obj,
                 const char *member,
                 float       out[3],
                 const char *path,
                 GError    **error)
{
  JsonArray *array;

  if (!json_object_has_member (obj, member))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: preprocess_cfg has no \"%s\"", path, member);
      return FALSE;
    }
  array = json_object_get_array_member (obj, member);
  if (array == NULL || json_array_get_length (array) != 3)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"%s\" must be a list of 3 numbers", path, member);
      return FALSE;
    }
  for (guint i = 0; i < 3; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

      if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"%s\" must be a list of 3 numbers", path, member);
          return FALSE;
        }
      out[i] = (float) json_node_get_double (node);
    }
  if (strcmp (member, "std") == 0 && (out[0] <= 0 || out[1] <= 0 || out[2] <= 0))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: every \"std\" value must be positive", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_model_config (const char  *path,
                    ModelConfig *cfg,
                    GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonObject *root, *model_cfg, *vision, *text, *preprocess = NULL;
  const char *s;

  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: not a valid JSON file: %s", path, local_error->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: expected a JSON object", path);
      return FALSE;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  /* The hub form wraps the model config; open_clip's own model_configs/ are bare. */
  model_cfg = root;
  if (json_object_has_member (root, "model_cfg"))
    {
      if (!JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "model_cfg")))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"model_cfg\" must be an object", path);
          return FALSE;
        }
      model_cfg = json_object_get_object_member (root, "model_cfg");
      if (json_object_has_member (root, "preprocess_cfg"))
        {
          if (!JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "preprocess_cfg")))
            {
              g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"preprocess_cfg\" must be an object", path);
              return FALSE;
            }
          preprocess = json_object_get_object_member (root, "preprocess_cfg");
        }
    }

  vision = json_object_has_member (model_cfg, "vision_cfg") &&
           JSON_NODE_HOLDS_OBJECT (json_object_get_member (model_cfg, "vision_cfg"))
         ? json_object_get_object_member (model_cfg, "vision_cfg") : NULL;
  text = json_object_has_member (model_cfg, "text_cfg") &&
         JSON_NODE_HOLDS_OBJECT (json_object_get_member (model_cfg, "text_cfg"))
       ? json_object_get_object_member (model_cfg, "text_cfg") : NULL;
  if (vision == NULL || text == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: not an open_clip model config (no \"vision_cfg\" and \"text_cfg\" objects)", path);
      return FALSE;
    }

  if (!json_get_int (model_cfg, "embed_dim", &cfg->embed_dim, path, error) ||
      !json_get_int (vision, "heads", &cfg->vision_heads, path, error) ||
      !json_get_int (vision, "image_size", &cfg->image_size, path, error) ||
      !json_get_int (text, "context_length", &cfg->context_length, path, error) ||
      !json_get_bool (vision, "timm_proj_bias", &cfg->timm_proj_bias, path, error) ||
      !json_get_bool (text, "proj_bias", &cfg->text_proj_bias, path, error))
    return FALSE;

  cfg->timm_model_name = g_strdup (json_get_string (vision, "timm_model_name"));
  cfg->timm_pool = g_strdup (json_get_string (vision, "timm_pool"));
  cfg->timm_proj = g_strdup (json_get_string (vision, "timm_proj"));
  cfg->hf_model_name = g_strdup (json_get_string (text, "hf_model_name"));
  /* Both spellings exist: open_clip's model_configs say proj/pooler_type, hub files hf_*. */
  s = json_get_string (text, "hf_proj_type");
  cfg->proj_type = g_strdup (s != NULL ? s : json_get_string (text, "proj"));
  s = json_get_string (text, "hf_pooler_type");
  cfg->pooler_type = g_strdup (s != NULL ? s : json_get_string (text, "pooler_type"));
  cfg->model_name = g_strdup (json_get_string (root, "model_name"));
  cfg->interpolation = g_strdup (json_get_string (preprocess, "interpolation"));
  cfg->resize_mode = g_strdup (json_get_string (preprocess, "resize_mode"));
  if (preprocess != NULL && json_object_has_member (preprocess, "fill_color"))
    {
      JsonNode *node = json_object_get_member (preprocess, "fill_color");

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: \"fill_color\" must be an integer", path);
          return FALSE;
        }
      cfg->fill_color = (int) CLAMP (json_node_get_int (node), G_MININT, G_MAXINT);
    }

  if (preprocess != NULL &&
      (json_object_has_member (preprocess, "mean") || json_object_has_member (preprocess, "std")))
    {
      if (!json_get_triple (preprocess, "mean", cfg->mean, path, error) ||
          !json_get_triple (preprocess, "std", cfg->std, path, error))
        return FALSE;
      cfg->has_mean_std = TRUE;
    }
  return TRUE;
}

/* Head counts of the models a BiomedCLIP-style config can name, as timm / Hugging Face define them. */
static int
known_timm_heads (const char *name)
{
  static const struct { const char *prefix; int heads; } known[] = {
    { "vit_tiny_patch16", 3 },
    { "vit_small_patch16", 6 }, { "vit_small_patch32", 6 },
    { "vit_base_patch16", 12 }, { "vit_base_patch32", 12 }, { "vit_base_patch8", 12 },
    { "vit_large_patch16", 16 }, { "vit_large_patch14", 16 }, { "vit_large_patch32", 16 },
  };

  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (known); i++)
    if (g_str_has_prefix (name, known[i].prefix))
      return known[i].heads;
  return 0;
}

static int
known_hf_heads (const char *name)
{
  static const char *base_models[] = {
    "microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract",
    "microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract-fulltext",
    "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract",
    "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "bert-base-uncased",
    "bert-base-cased",
    "dmis-lab/biobert-base-cased-v1.2",
    "emilyalsentzer/Bio_ClinicalBERT",
  };

  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (base_models); i++)
    if (g_strcmp0 (name, base_models[i]) == 0)
      return 12;
  return 0;
}

/* The Hugging Face config.json in the folder text_cfg.hf_model_name names, beside the checkpoint:
 * its head count (0 when there is no such file) and pad_token_id (left as it is when absent). */
static int
hf_config_heads (const char *checkpoint_dir,
                 const char *hf_model_name,
                 char      **source,
                 int32_t    *pad_id,
                 GError    **error)
{
  g_autofree char *path = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonObject *root;
  int heads = 0;

  if (hf_model_name == NULL || hf_model_name[0] == '\0')
    return 0;
  path = g_build_filename (checkpoint_dir, hf_model_name, "config.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return 0;
  parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, &local_error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: not a valid JSON object%s%s", path,
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return -1;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_get_int (root, "num_attention_heads", &heads, path, error))
    return -1;
  if (json_object_has_member (root, "pad_token_id"))
    {
      JsonNode *node = json_object_get_member (root, "pad_token_id");

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64 &&
          json_node_get_int (node) >= 0 && json_node_get_int (node) <= G_MAXINT32)
        *pad_id = (int32_t) json_node_get_int (node);
    }
  if (heads > 0)
    *source = g_strdup_printf ("num_attention_heads in %s", path);
  return heads;
}

/* ---- binding tensors ---- */

static const PlTensorInfo *
find_tensor (PlClip     *clip,
             const char *name,
             GError    **error)
{
  const PlTensorInfo *info = pl_tensor_file_lookup (clip->file, name);

  if (info == NULL)
    g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR, "%s: missing tensor \"%s\"",
                 clip->checkpoint_path, name);
  return info;
}

static char *
format_shape (const int64_t *shape,
              int            n_dims)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Binds tensor NAME, which must have exactly the shape given (n_dims values, -1 terminated list),
 * returning f32 data: in place when possible, else a converted copy the PlClip owns. */
static const float *
bind_tensor (PlClip     *clip,
             const char *name,
             int         n_dims,
             const int64_t *shape,
             GError    **error)
{
  const PlTensorInfo *info = find_tensor (clip, name, error);
  gboolean same;
  float *copy;

  if (info == NULL)
    return NULL;
  same = info->n_dims == n_dims;
  for (int i = 0; same && i < n_dims; i++)
    same = info->shape[i] == shape[i];
  if (!same)
    {
      g_autofree char *want = format_shape (shape, n_dims);
      g_autofree char *have = format_shape (info->shape, info->n_dims);

      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE, "%s: tensor \"%s\" has shape %s, expected %s",
                   clip->checkpoint_path, name, have, want);
      return NULL;
    }
  g_hash_table_add (clip->used_keys, g_strdup (name));
  clip->n_parameters += (guint64) info->n_elements;
  if (pl_tensor_is_f32_contiguous (info))
    return (const float *) (const void *) info->data;
  copy = g_try_malloc_n ((gsize) MAX (info->n_elements, 1), sizeof (float));
  if (copy == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE, "%s: not enough memory to convert tensor \"%s\"",
                   clip->checkpoint_path, name);
      return NULL;
    }
  g_ptr_array_add (clip->owned_buffers, copy);
  if (!pl_tensor_to_f32 (info, copy, error))
    return NULL;
  return copy;
}

#define BIND(dst, name, ...) \
  G_STMT_START { \
    const int64_t shape_[] = { __VA_ARGS__ }; \
    if (((dst) = bind_tensor (clip, (name), G_N_ELEMENTS (shape_), shape_, error)) == NULL) \
      return FALSE; \
  } G_STMT_END

static int
count_layers (PlClip     *clip,
              const char *prefix,
              const char *suffix)
{
  int n = 0;

  for (;;)
    {
      g_autofree char *probe = g_strdup_printf ("%s%d%s", prefix, n, suffix);

      if (pl_tensor_file_lookup (clip->file, probe) == NULL)
        return n;
      n++;
    }
}

static gboolean
dim_of (PlClip     *clip,
        const char *name,
        int         expected_dims,
        int         axis,
        int        *out,
        GError    **error)
{
  const PlTensorInfo *info = find_tensor (clip, name, error);

  if (info == NULL)
    return FALSE;
  if (info->n_dims != expected_dims || info->shape[axis] <= 0 || info->shape[axis] > (1 << 24))
    {
      g_autofree char *have = format_shape (info->shape, info->n_dims);

      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE, "%s: tensor \"%s\" has shape %s, expected %d dimensions",
                   clip->checkpoint_path, name, have, expected_dims);
      return FALSE;
    }
  *out = (int) info->shape[axis];
  return TRUE;
}

static gboolean
bind_vision (PlClip            *clip,
             const ModelConfig *cfg,
             GPtrArray         *warnings,
             GError           **error)
{
  PlVitConfig *c = &clip->vit.config;
  int n_tokens, grid;

  if (!dim_of (clip, "visual.trunk.patch_embed.proj.weight", 4, 0, &c->width, error) ||
      !dim_of (clip, "visual.trunk.patch_embed.proj.weight", 4, 2, &c->patch_size, error) ||
      !dim_of (clip, "visual.trunk.pos_embed", 3, 1, &n_tokens, error) ||
      !dim_of (clip, "visual.trunk.blocks.0.mlp.fc1.weight", 2, 0, &c->mlp_dim, error) ||
      !dim_of (clip, "visual.head.proj.weight", 2, 0, &c->embed_dim, error))
    return FALSE;
  grid = (int) lround (sqrt ((double) (n_tokens - 1)));
  if (n_tokens < 2 || grid * grid != n_tokens - 1)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                   "%s: visual.trunk.pos_embed has %d positions, which is not 1 + a square grid of patches",
                   clip->checkpoint_path, n_tokens);
      return FALSE;
    }
  c->image_size = grid * c->patch_size;
  if (cfg->image_size != 0 && cfg->image_size != c->image_size)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                   "%s: the config says image_size %d but the position table fits %d x %d images",
                   clip->checkpoint_path, cfg->image_size, c->image_size, c->image_size);
      return FALSE;
    }
  c->n_layers = count_layers (clip, "visual.trunk.blocks.", ".norm1.weight");
  c->ln_eps = 1e-6f;
  if (c->n_layers == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR,
                   "%s: missing tensor \"visual.trunk.blocks.0.norm1.weight\" (no vision transformer blocks)",
                   clip->checkpoint_path);
      return FALSE;
    }

  /* As open_clip's TimmModel: without timm_pool its default "avg" (the mean of the patch tokens);
   * "" keeps the timm model's own pooling, the class token for these ViTs. */
  if (cfg->timm_pool == NULL || strcmp (cfg->timm_pool, "avg") == 0)
    c->pool = PL_VIT_POOL_AVG;
  else if (cfg->timm_pool[0] == '\0' || strcmp (cfg->timm_pool, "token") == 0)
    c->pool = PL_VIT_POOL_TOKEN;
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: vision_cfg.timm_pool \"%s\" is not supported (only \"\" or \"token\": the class token, "
                   "and \"avg\")", clip->config_path, cfg->timm_pool);
      return FALSE;
    }
  if (cfg->timm_proj != NULL && strcmp (cfg->timm_proj, "linear") != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: vision_cfg.timm_proj \"%s\" is not supported (only \"linear\")",
                   clip->config_path, cfg->timm_proj);
      return FALSE;
    }

  if (cfg->vision_heads > 0)
    {
      c->n_heads = cfg->vision_heads;
      clip->vision_heads_source = g_strdup ("vision_cfg.heads");
    }
  else if ((c->n_heads = known_timm_heads (cfg->timm_model_name)) > 0)
    clip->vision_heads_source = g_strdup_printf ("known timm model %s", cfg->timm_model_name);
  else
    {
      c->n_heads = MAX (1, c->width / PL_HEAD_DIM_FALLBACK);
      clip->vision_heads_source = g_strdup_printf ("guessed as width / %d", PL_HEAD_DIM_FALLBACK);
      if (warnings != NULL)
        g_ptr_array_add (warnings, g_strdup_printf (
          "%s: the vision head count is not in the config and the timm model is unknown; assuming %d heads (width %d / %d)",
          clip->checkpoint_path, c->n_heads, c->width, PL_HEAD_DIM_FALLBACK));
    }
  if (c->width % c->n_heads != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE, "%s: vision width %d is not divisible by %d heads (%s)",
                   clip->checkpoint_path, c->width, c->n_heads, clip->vision_heads_source);
      return FALSE;
    }
  if (cfg->embed_dim != 0 && cfg->embed_dim != c->embed_dim)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                   "%s: the config says embed_dim %d but visual.head.proj.weight projects to %d",
                   clip->checkpoint_path, cfg->embed_dim, c->embed_dim);
      return FALSE;
    }

  {
    const int64_t W = c->width, P = c->patch_size, M = c->mlp_dim;
    PlVitWeights *w = &clip->vit;

    BIND (w->patch_w, "visual.trunk.patch_embed.proj.weight", W, 3, P, P);
    BIND (w->patch_b, "visual.trunk.patch_embed.proj.bias", W);
    BIND (w->cls_token, "visual.trunk.cls_token", 1, 1, W);
    BIND (w->pos_embed, "visual.trunk.pos_embed", 1, n_tokens, W);
    BIND (w->norm_w, "visual.trunk.norm.weight", W);
    BIND (w->norm_b, "visual.trunk.norm.bias", W);
    BIND (w->head_proj, "visual.head.proj.weight", c->embed_dim, W);
    w->head_bias = NULL;
    if (cfg->timm_proj_bias)
      BIND (w->head_bias, "visual.head.proj.bias", c->embed_dim);
    w->blocks = g_new0 (PlVitBlock, c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
      {
        PlVitBlock *b = &w->blocks[l];
        char name[128];

#define BLOCK(field, suffix, ...) \
        g_snprintf (name, sizeof name, "visual.trunk.blocks.%d.%s", l, suffix); \
        BIND (b->field, name, __VA_ARGS__)
        BLOCK (norm1_w, "norm1.weight", W);
        BLOCK (norm1_b, "norm1.bias", W);
        BLOCK (qkv_w, "attn.qkv.weight", 3 * W, W);
        BLOCK (qkv_b, "attn.qkv.bias", 3 * W);
        BLOCK (proj_w, "attn.proj.weight", W, W);
        BLOCK (proj_b, "attn.proj.bias", W);
        BLOCK (norm2_w, "norm2.weight", W);
        BLOCK (norm2_b, "norm2.bias", W);
        BLOCK (fc1_w, "mlp.fc1.weight", M, W);
        BLOCK (fc1_b, "mlp.fc1.bias", M);
        BLOCK (fc2_w, "mlp.fc2.weight", W, M);
        BLOCK (fc2_b, "mlp.fc2.bias", W);
#undef BLOCK
      }
  }
  return TRUE;
}

static gboolean
bind_text (PlClip            *clip,
           const ModelConfig *cfg,
           GPtrArray         *warnings,
           GError           **error)
{
  PlBertConfig *c = &clip->bert.config;
  g_autofree char *checkpoint_dir = g_path_get_dirname (clip->checkpoint_path);
  int heads;

  if (!dim_of (clip, "text.transformer.embeddings.word_embeddings.weight", 2, 0, &c->vocab_size, error) ||
      !dim_of (clip, "text.transformer.embeddings.word_embeddings.weight", 2, 1, &c->width, error) ||
      !dim_of (clip, "text.transformer.embeddings.position_embeddings.weight", 2, 0, &c->max_positions, error) ||
      !dim_of (clip, "text.transformer.embeddings.token_type_embeddings.weight", 2, 0, &c->n_token_types, error) ||
      !dim_of (clip, "text.transformer.encoder.layer.0.intermediate.dense.weight", 2, 0, &c->ff_dim, error))
    return FALSE;
  c->n_layers = count_layers (clip, "text.transformer.encoder.layer.", ".attention.self.query.weight");
  c->ln_eps = 1e-12f;
  if (c->n_layers == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR,
                   "%s: missing tensor \"text.transformer.encoder.layer.0.attention.self.query.weight\" (no text encoder layers)",
                   clip->checkpoint_path);
      return FALSE;
    }

  /* open_clip's default, when the config names none, is the mean pooler */
  if (cfg->pooler_type == NULL || strcmp (cfg->pooler_type, "mean_pooler") == 0)
    c->pool = PL_BERT_POOL_MEAN;
  else if (strcmp (cfg->pooler_type, "cls_last_hidden_state_pooler") == 0)
    c->pool = PL_BERT_POOL_CLS;
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: text pooler \"%s\" is not supported (only \"cls_last_hidden_state_pooler\", BiomedCLIP's, "
                   "and \"mean_pooler\")", clip->config_path, cfg->pooler_type);
      return FALSE;
    }

  /* Projection: "mlp" (BiomedCLIP) is proj.0 -> GELU -> proj.2; "linear" is one proj layer. */
  if (pl_tensor_file_lookup (clip->file, "text.proj.0.weight") != NULL)
    {
      if (cfg->proj_type != NULL && strcmp (cfg->proj_type, "mlp") != 0)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                       "%s: the config says text projection \"%s\" but the checkpoint has an MLP projection (text.proj.0.weight)",
                       clip->checkpoint_path, cfg->proj_type);
          return FALSE;
        }
      if (!dim_of (clip, "text.proj.0.weight", 2, 0, &c->proj_hidden, error) ||
          !dim_of (clip, "text.proj.2.weight", 2, 0, &c->embed_dim, error))
        return FALSE;
    }
  else if (pl_tensor_file_lookup (clip->file, "text.proj.weight") != NULL)
    {
      c->proj_hidden = 0;
      if (!dim_of (clip, "text.proj.weight", 2, 0, &c->embed_dim, error))
        return FALSE;
    }
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR, "%s: missing tensor \"text.proj.0.weight\"",
                   clip->checkpoint_path);
      return FALSE;
    }
  if (c->embed_dim != clip->vit.config.embed_dim)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                   "%s: the text tower projects to %d dimensions but the image tower to %d",
                   clip->checkpoint_path, c->embed_dim, clip->vit.config.embed_dim);
      return FALSE;
    }

  /* As open_clip: the attention mask is ids != config.pad_token_id (BertConfig's default is 0). */
  c->mask_pad = TRUE;
  c->pad_id = 0;
  heads = hf_config_heads (checkpoint_dir, cfg->hf_model_name, &clip->text_heads_source, &c->pad_id, error);
  if (heads < 0)
    return FALSE;
  if (heads > 0)
    c->n_heads = heads;
  else if ((c->n_heads = known_hf_heads (cfg->hf_model_name)) > 0)
    clip->text_heads_source = g_strdup_printf ("known model %s", cfg->hf_model_name);
  else
    {
      c->n_heads = MAX (1, c->width / PL_HEAD_DIM_FALLBACK);
      clip->text_heads_source = g_strdup_printf ("guessed as width / %d", PL_HEAD_DIM_FALLBACK);
      if (warnings != NULL)
        g_ptr_array_add (warnings, g_strdup_printf (
          "%s: the text head count is unknown (no config.json for \"%s\" beside the checkpoint); assuming %d heads (width %d / %d)",
          clip->checkpoint_path, cfg->hf_model_name ? cfg->hf_model_name : "(none)",
          c->n_heads, c->width, PL_HEAD_DIM_FALLBACK));
    }
  if (c->width % c->n_heads != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE, "%s: text width %d is not divisible by %d heads (%s)",
                   clip->checkpoint_path, c->width, c->n_heads, clip->text_heads_source);
      return FALSE;
    }

  {
    const int64_t D = c->width, F = c->ff_dim;
    PlBertWeights *w = &clip->bert;

    BIND (w->word_emb, "text.transformer.embeddings.word_embeddings.weight", c->vocab_size, D);
    BIND (w->pos_emb, "text.transformer.embeddings.position_embeddings.weight", c->max_positions, D);
    BIND (w->type_emb, "text.transformer.embeddings.token_type_embeddings.weight", c->n_token_types, D);
    BIND (w->emb_ln_w, "text.transformer.embeddings.LayerNorm.weight", D);
    BIND (w->emb_ln_b, "text.transformer.embeddings.LayerNorm.bias", D);
    w->proj0_b = w->proj2_b = NULL;
    if (c->proj_hidden > 0)
      {
        BIND (w->proj0_w, "text.proj.0.weight", c->proj_hidden, D);
        BIND (w->proj2_w, "text.proj.2.weight", c->embed_dim, c->proj_hidden);
        if (cfg->text_proj_bias)
          {
            BIND (w->proj0_b, "text.proj.0.bias", c->proj_hidden);
            BIND (w->proj2_b, "text.proj.2.bias", c->embed_dim);
          }
      }
    else
      {
        BIND (w->proj0_w, "text.proj.weight", c->embed_dim, D);
        if (cfg->text_proj_bias)
          BIND (w->proj0_b, "text.proj.bias", c->embed_dim);
      }

    w->layers = g_new0 (PlBertLayer, c->n_layers);
    for (int l = 0; l < c->n_layers; l++)
      {
        PlBertLayer *y = &w->layers[l];
        char name[160];

#define LAYER(field, suffix, ...) \
        g_snprintf (name, sizeof name, "text.transformer.encoder.layer.%d.%s", l, suffix); \
        BIND (y->field, name, __VA_ARGS__)
        LAYER (q_w, "attention.self.query.weight", D, D);
        LAYER (q_b, "attention.self.query.bias", D);
        LAYER (k_w, "attention.self.key.weight", D, D);
        LAYER (k_b, "attention.self.key.bias", D);
        LAYER (v_w, "attention.self.value.weight", D, D);
        LAYER (v_b, "attention.self.value.bias", D);
        LAYER (attn_out_w, "attention.output.dense.weight", D, D);
        LAYER (attn_out_b, "attention.output.dense.bias", D);
        LAYER (attn_ln_w, "attention.output.LayerNorm.weight", D);
        LAYER (attn_ln_b, "attention.output.LayerNorm.bias", D);
        LAYER (inter_w, "intermediate.dense.weight", F, D);
        LAYER (inter_b, "intermediate.dense.bias", F);
        LAYER (out_w, "output.dense.weight", D, F);
        LAYER (out_b, "output.dense.bias", D);
        LAYER (out_ln_w, "output.LayerNorm.weight", D);
        LAYER (out_ln_b, "output.LayerNorm.bias", D);
#undef LAYER
      }
  }
  return TRUE;
}

static gboolean
bind_logit_scale (PlClip  *clip,
                  GError **error)
{
  const PlTensorInfo *info = find_tensor (clip, "logit_scale", error);
  float value;

  if (info == NULL)
    return FALSE;
  if (info->n_elements != 1 || info->n_dims > 1)
    {
      g_autofree char *have = format_shape (info->shape, info->n_dims);

      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE, "%s: tensor \"logit_scale\" has shape %s, expected [] (a scalar)",
                   clip->checkpoint_path, have);
      return FALSE;
    }
  if (!pl_tensor_to_f32 (info, &value, error))
    return FALSE;
  if (!isfinite (value))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: logit_scale is not a finite number", clip->checkpoint_path);
      return FALSE;
    }
  g_hash_table_add (clip->used_keys, g_strdup ("logit_scale"));
  clip->n_parameters += 1;
  clip->logit_scale = expf (value);
  return TRUE;
}

/* ---- opening ---- */

static char *compute_fingerprint (const PlClip *clip);

static char *
find_checkpoint_in_folder (const char *dir,
                           GError    **error)
{
  static const char *candidates[] = {
    "open_clip_pytorch_model.bin", "open_clip_model.safetensors", "model.safetensors",
    "pytorch_model.bin", "epoch_latest.pt",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      char *path = g_build_filename (dir, candidates[i], NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  g_set_error (error, PL_ERROR, PL_ERROR_IO,
               "%s: folder holds no checkpoint (looked for open_clip_pytorch_model.bin, open_clip_model.safetensors, model.safetensors, pytorch_model.bin, epoch_latest.pt)",
               dir);
  return NULL;
}

/* clip->preprocess: open_clip's PreprocessCfg from the config, its defaults where it is silent
 * ("random" interpolation is bicubic at inference in open_clip's image_transform). */
static gboolean
bind_preprocess (PlClip            *clip,
                 const ModelConfig *cfg,
                 GError           **error)
{
  PlPreprocessConfig *pre = &clip->preprocess;

  pl_preprocess_config_init_default (pre);
  pre->image_size = clip->vit.config.image_size;
  if (cfg->has_mean_std)
    {
      memcpy (pre->mean, cfg->mean, sizeof cfg->mean);
      memcpy (pre->std, cfg->std, sizeof cfg->std);
    }
  if (cfg->interpolation == NULL || strcmp (cfg->interpolation, "bicubic") == 0 ||
      strcmp (cfg->interpolation, "random") == 0)
    pre->interpolation = PL_INTERPOLATION_BICUBIC;
  else if (strcmp (cfg->interpolation, "bilinear") == 0)
    pre->interpolation = PL_INTERPOLATION_BILINEAR;
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: preprocess_cfg.interpolation \"%s\" is not supported (\"bicubic\", \"bilinear\" "
                   "or \"random\")", clip->config_path, cfg->interpolation);
      return FALSE;
    }
  if (cfg->resize_mode == NULL || strcmp (cfg->resize_mode, "shortest") == 0)
    pre->resize_mode = PL_RESIZE_SHORTEST;
  else if (strcmp (cfg->resize_mode, "longest") == 0)
    pre->resize_mode = PL_RESIZE_LONGEST;
  else if (strcmp (cfg->resize_mode, "squash") == 0)
    pre->resize_mode = PL_RESIZE_SQUASH;
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: preprocess_cfg.resize_mode \"%s\" is not supported (\"shortest\", \"longest\" "
                   "or \"squash\")", clip->config_path, cfg->resize_mode);
      return FALSE;
    }
  if (cfg->fill_color != 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: preprocess_cfg.fill_color %d is not supported (only 0, open_clip's default)",
                   clip->config_path, cfg->fill_color);
      return FALSE;
    }
  return TRUE;
}

PlClip *
pl_clip_load (const char          *path,
              const PlClipOptions *options,
              GPtrArray           *warnings,
              GError             **error)
{
  g_autoptr(PlClip) clip = g_new0 (PlClip, 1);
  g_auto(ModelConfig) cfg = { 0 };
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  clip->owned_buffers = g_ptr_array_new_with_free_func (g_free);
  clip->used_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  clip->unused_keys = g_ptr_array_new_with_free_func (g_free);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      if ((clip->checkpoint_path = find_checkpoint_in_folder (path, error)) == NULL)
        return NULL;
    }
  else
    clip->checkpoint_path = g_strdup (path);
  dir = g_path_get_dirname (clip->checkpoint_path);

  if (options != NULL && options->config_path != NULL)
    clip->config_path = g_strdup (options->config_path);
  else
    {
      char *beside = g_build_filename (dir, "open_clip_config.json", NULL);

      if (g_file_test (beside, G_FILE_TEST_EXISTS))
        clip->config_path = beside;
      else
        g_free (beside);
    }
  if (clip->config_path != NULL)
    {
      if (!parse_model_config (clip->config_path, &cfg, error))
        return NULL;
    }
  else
    {
      /* No config: BiomedCLIP's, which PhenoLIP keeps. */
      cfg.timm_model_name = g_strdup ("vit_base_patch16_224");
      cfg.timm_pool = g_strdup ("");
      cfg.hf_model_name = g_strdup ("microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract");
      cfg.proj_type = g_strdup ("mlp");
      cfg.pooler_type = g_strdup ("cls_last_hidden_state_pooler");
      cfg.context_length = PL_DEFAULT_CONTEXT_LENGTH;
    }
  clip->model_name = g_strdup (cfg.model_name ? cfg.model_name : "");

  if (options != NULL && options->vocab_path != NULL)
    clip->vocab_path = g_strdup (options->vocab_path);
  else
    {
      clip->vocab_path = g_build_filename (dir, "vocab.txt", NULL);
      if (!g_file_test (clip->vocab_path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_IO,
                       "%s: no vocab.txt beside the checkpoint; put the model's vocab.txt there or pass --vocab",
                       clip->checkpoint_path);
          return NULL;
        }
    }

  if ((clip->file = pl_tensor_file_open (clip->checkpoint_path, error)) == NULL)
    return NULL;
  if ((clip->tokenizer = pl_tokenizer_new_from_file (clip->vocab_path, error)) == NULL)
    return NULL;

  if (!bind_vision (clip, &cfg, warnings, error) ||
      !bind_text (clip, &cfg, warnings, error) ||
      !bind_logit_scale (clip, error))
    return NULL;

  if (pl_tokenizer_get_vocab_size (clip->tokenizer) > clip->bert.config.vocab_size)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_SHAPE,
                   "%s: has %d tokens but the checkpoint's word embeddings hold only %d; is it the model's own vocab.txt?",
                   clip->vocab_path, pl_tokenizer_get_vocab_size (clip->tokenizer), clip->bert.config.vocab_size);
      return NULL;
    }

  clip->embed_dim = clip->vit.config.embed_dim;
  clip->context_length = cfg.context_length > 0 ? cfg.context_length : PL_DEFAULT_CONTEXT_LENGTH;
  clip->context_length = MIN (clip->context_length, clip->bert.config.max_positions);
  /* open_clip pads every text to the context length with the vocab's [PAD] but masks the ids
   * equal to config.json's pad_token_id: where the two differ, the padding is attended to, and
   * the texts must run padded to give its embeddings. */
  clip->pad_attended = pl_tokenizer_get_pad_id (clip->tokenizer) >= 0 &&
                       pl_tokenizer_get_pad_id (clip->tokenizer) != clip->bert.config.pad_id;
  if (clip->pad_attended && warnings != NULL)
    g_ptr_array_add (warnings, g_strdup_printf (
      "%s: [PAD] is token %d but the text model's pad_token_id is %d, so open_clip attends to the padding; "
      "texts run padded to %d tokens to match it", clip->vocab_path, pl_tokenizer_get_pad_id (clip->tokenizer),
      clip->bert.config.pad_id, clip->context_length));

  if (!bind_preprocess (clip, &cfg, error))
    return NULL;

  for (guint i = 0; i < pl_tensor_file_get_n_tensors (clip->file); i++)
    {
      const PlTensorInfo *info = pl_tensor_file_get_tensor (clip->file, i);

      if (!g_hash_table_contains (clip->used_keys, info->name))
        g_ptr_array_add (clip->unused_keys, g_strdup (info->name));
    }

  clip->fingerprint = compute_fingerprint (clip);
  return g_steal_pointer (&clip);
}

void
pl_clip_free (PlClip *clip)
{
  if (clip == NULL)
    return;
  g_free (clip->vit.blocks);
  g_free (clip->bert.layers);
  g_clear_pointer (&clip->owned_buffers, g_ptr_array_unref);
  g_clear_pointer (&clip->used_keys, g_hash_table_unref);
  g_clear_pointer (&clip->unused_keys, g_ptr_array_unref);
  g_clear_pointer (&clip->tokenizer, pl_tokenizer_free);
  g_clear_pointer (&clip->file, pl_tensor_file_free);
  g_free (clip->checkpoint_path);
  g_free (clip->config_path);
  g_free (clip->vocab_path);
  g_free (clip->model_name);
  g_free (clip->vision_heads_source);
  g_free (clip->text_heads_source);
  g_free (clip->fingerprint);
  g_free (clip);
}

const char *pl_clip_get_checkpoint_path (const PlClip *clip) { return clip->checkpoint_path; }
const char *pl_clip_get_config_path (const PlClip *clip) { return clip->config_path; }
const char *pl_clip_get_vocab_path (const PlClip *clip) { return clip->vocab_path; }
const PlTensorFile *pl_clip_get_tensor_file (const PlClip *clip) { return clip->file; }
const PlVitConfig *pl_clip_get_vit_config (const PlClip *clip) { return &clip->vit.config; }
const PlBertConfig *pl_clip_get_bert_config (const PlClip *clip) { return &clip->bert.config; }
const PlPreprocessConfig *pl_clip_get_preprocess_config (const PlClip *clip) { return &clip->preprocess; }
const PlTokenizer *pl_clip_get_tokenizer (const PlClip *clip) { return clip->tokenizer; }
int pl_clip_get_embed_dim (const PlClip *clip) { return clip->embed_dim; }
int pl_clip_get_context_length (const PlClip *clip) { return clip->context_length; }
float pl_clip_get_logit_scale (const PlClip *clip) { return clip->logit_scale; }
const char *pl_clip_get_model_name (const PlClip *clip) { return clip->model_name; }
guint64 pl_clip_get_n_parameters (const PlClip *clip) { return clip->n_parameters; }
GPtrArray *pl_clip_get_unused_keys (const PlClip *clip) { return clip->unused_keys; }
const char *pl_clip_get_vision_heads_source (const PlClip *clip) { return clip->vision_heads_source; }
const char *pl_clip_get_text_heads_source (const PlClip *clip) { return clip->text_heads_source; }

/* The demo checkpoint the project ships says so in its safetensors metadata. */
gboolean
pl_clip_is_demo (const PlClip *clip)
{
  GHashTable *metadata = pl_tensor_file_get_metadata (pl_clip_get_tensor_file (clip));

  return metadata != NULL && g_strcmp0 (g_hash_table_lookup (metadata, "phenolip.demo"), "random-weights") == 0;
}

#define PL_FINGERPRINT_SAMPLE 4096  /* bytes hashed at each of the start, middle and end of a tensor */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static char *
compute_fingerprint (const PlClip *clip)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GMappedFile) vocab = g_mapped_file_new (clip->vocab_path, FALSE, NULL);
  GHashTableIter iter;
  gpointer key;

  /* Sorted names, so the order tensors are stored in does not matter. */
  g_hash_table_iter_init (&iter, clip->used_keys);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const PlTensorInfo *info = pl_tensor_file_lookup (clip->file, names->pdata[i]);
      gsize elsize = pl_dtype_size (info->dtype);
      gsize n_bytes = (gsize) info->n_elements * elsize;
      g_autofree char *header = format_shape (info->shape, info->n_dims);
      gboolean contiguous = TRUE;
      int64_t expected = 1;

      g_checksum_update (sum, (const guchar *) info->name, strlen (info->name) + 1);
      g_checksum_update (sum, (const guchar *) pl_dtype_name (info->dtype), strlen (pl_dtype_name (info->dtype)));
      g_checksum_update (sum, (const guchar *) header, strlen (header));
      for (int d = info->n_dims - 1; d >= 0; d--)
        {
          if (info->shape[d] != 1 && info->strides[d] != expected)
            contiguous = FALSE;
          expected *= info->shape[d];
        }
      if (!contiguous)
        {
          /* Rare (a transposed view): hash its values in logical order instead. */
          g_autofree float *values = g_try_malloc_n ((gsize) MAX (info->n_elements, 1), sizeof (float));

          if (values != NULL && pl_tensor_to_f32 (info, values, NULL))
            g_checksum_update (sum, (const guchar *) values, (gsize) info->n_elements * sizeof (float));
          continue;
        }
      if (n_bytes <= 3 * PL_FINGERPRINT_SAMPLE)
        g_checksum_update (sum, info->data, n_bytes);
      else
        {
          g_checksum_update (sum, info->data, PL_FINGERPRINT_SAMPLE);
          g_checksum_update (sum, info->data + (n_bytes / 2 / elsize) * elsize, PL_FINGERPRINT_SAMPLE);
          g_checksum_update (sum, info->data + n_bytes - PL_FINGERPRINT_SAMPLE, PL_FINGERPRINT_SAMPLE);
        }
    }
  if (vocab != NULL)
    g_checksum_update (sum, (const guchar *) g_mapped_file_get_contents (vocab), g_mapped_file_get_length (vocab));
  g_checksum_update (sum, (const guchar *) &clip->preprocess, sizeof clip->preprocess);
  g_checksum_update (sum, (const guchar *) &clip->context_length, sizeof clip->context_length);
  return g_strdup (g_checksum_get_string (sum));
}

const char *
pl_clip_get_fingerprint (const PlClip *clip)
{
  return clip->fingerprint;
}

char *
pl_clip_describe_dtypes (const PlClip *clip)
{
  guint counts[PL_DTYPE_BOOL + 1] = { 0 };
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < pl_tensor_file_get_n_tensors (clip->file); i++)
    {
      const PlTensorInfo *info = pl_tensor_file_get_tensor (clip->file, i);

      if (g_hash_table_contains (clip->used_keys, info->name))
        counts[info->dtype]++;
    }
  for (int d = 0; d <= PL_DTYPE_BOOL; d++)
    if (counts[d] > 0)
      g_string_append_printf (s, "%s%s: %u", s->len ? ", " : "", pl_dtype_name ((PlDType) d), counts[d]);
  return g_string_free (s, FALSE);
}

/* ---- inference ---- */

void
pl_l2_normalize_rows (float *x,
                      int    n_rows,
                      int    n_cols)
{
  for (int r = 0; r < n_rows; r++)
    {
      float *row = x + (gsize) r * n_cols;
      double sum = 0;

      for (int c = 0; c < n_cols; c++)
        sum += (double) row[c] * row[c];
      /* As torch.nn.functional.normalize: divide by max(norm, eps). */
      {
        float norm = (float) MAX (sqrt (sum), 1e-12);

        for (int c = 0; c < n_cols; c++)
          row[c] /= norm;
      }
    }
}

gboolean
pl_clip_load_image (const PlClip *clip,
                    const char   *path,
                    float        *out,
                    GError      **error)
{
  g_autoptr(PlImage) image = pl_image_load (path, error);

  if (image == NULL)
    return FALSE;
  return pl_image_preprocess (image, &clip->preprocess, out, NULL, error);
}

void
pl_clip_encode_images (const PlClip *clip,
                       const float  *pixels,
                       int           n_images,
                       float        *out)
{
  if (n_images <= 0)
    return;
  pl_vit_encode (&clip->vit, pixels, n_images, out);
  pl_l2_normalize_rows (out, n_images, clip->embed_dim);
}

int
pl_clip_tokenize (const PlClip *clip,
                  const char   *text,
                  int32_t      *ids)
{
  return pl_tokenizer_encode (clip->tokenizer, text, clip->context_length, ids);
}

void
pl_clip_encode_token_ids (const PlClip  *clip,
                          const int32_t *ids,
                          const int     *offsets,
                          const int     *lengths,
                          int            n_texts,
                          float         *out)
{
  g_autofree int32_t *padded = NULL;
  g_autofree int *padded_offsets = NULL, *padded_lengths = NULL;
  int start = 0;

  if (clip->pad_attended && n_texts > 0)
    {
      /* as open_clip's tokenizer: every text padded to the context length with [PAD] */
      int length = clip->context_length;
      int32_t pad = pl_tokenizer_get_pad_id (clip->tokenizer);

      padded = g_new (int32_t, (gsize) n_texts * length);
      padded_offsets = g_new (int, n_texts);
      padded_lengths = g_new (int, n_texts);
      for (int i = 0; i < n_texts; i++)
        {
          int n = MIN (lengths[i], length);

          memcpy (padded + (gsize) i * length, ids + offsets[i], n * sizeof (int32_t));
          for (int p = n; p < length; p++)
            padded[(gsize) i * length + p] = pad;
          padded_offsets[i] = i * length;
          padded_lengths[i] = length;
        }
      ids = padded;
      offsets = padded_offsets;
      lengths = padded_lengths;
    }
  /* Chunks of about PL_TEXT_BATCH_TOKENS tokens keep the scratch memory of one call bounded. */
  while (start < n_texts)
    {
      int end = start, tokens = 0;

      while (end < n_texts && (end == start || tokens + lengths[end] <= PL_TEXT_BATCH_TOKENS))
        tokens += lengths[end++];
      pl_bert_encode (&clip->bert, ids, offsets + start, lengths + start, end - start,
                      out + (gsize) start * clip->embed_dim);
      start = end;
    }
  pl_l2_normalize_rows (out, n_texts, clip->embed_dim);
}

typedef struct {
  int index;
  int length;
} TextOrder;

static int
compare_by_length (const void *a,
                   const void *b)
{
  const TextOrder *x = a, *y = b;

  if (x->length != y->length)
    return x->length < y->length ? -1 : 1;
  return x->index - y->index;
}

void
pl_clip_encode_texts (const PlClip       *clip,
                      const char * const *texts,
                      int                 n_texts,
                      float              *out)
{
  int ctx = clip->context_length, dim = clip->embed_dim;
  g_autofree int32_t *ids = g_new (int32_t, (gsize) MAX (n_texts, 1) * ctx);
  g_autofree int *offsets = g_new (int, MAX (n_texts, 1));
  g_autofree int *lengths = g_new (int, MAX (n_texts, 1));
  g_autofree TextOrder *order = g_new (TextOrder, MAX (n_texts, 1));
  g_autofree float *sorted_out = g_new (float, (gsize) MAX (n_texts, 1) * dim);
  g_autofree int *sorted_offsets = g_new (int, MAX (n_texts, 1));
  g_autofree int *sorted_lengths = g_new (int, MAX (n_texts, 1));

  if (n_texts <= 0)
    return;
  for (int i = 0; i < n_texts; i++)
    {
      offsets[i] = i * ctx;
      lengths[i] = pl_clip_tokenize (clip, texts[i], ids + offsets[i]);
      order[i].index = i;
      order[i].length = lengths[i];
    }
  /* Similar lengths side by side, so each chunk does similar work. */
  qsort (order, n_texts, sizeof *order, compare_by_length);
  for (int i = 0; i < n_texts; i++)
    {
      sorted_offsets[i] = offsets[order[i].index];
      sorted_lengths[i] = lengths[order[i].index];
    }
  pl_clip_encode_token_ids (clip, ids, sorted_offsets, sorted_lengths, n_texts, sorted_out);
  for (int i = 0; i < n_texts; i++)
    memcpy (out + (gsize) order[i].index * dim, sorted_out + (gsize) i * dim, sizeof (float) * dim);
}

void
pl_clip_set_threads (int n_threads)
{
  /* The model's own pool splits the work; OpenBLAS runs single-threaded inside each part. */
  pl_parallel_set_threads (n_threads);
}

int
pl_clip_get_threads (void)
{
  return pl_parallel_get_threads ();
}
