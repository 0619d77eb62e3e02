/* test-forward.c: pl_vit_encode and pl_bert_encode against PyTorch (timm's VisionTransformer and a
 * BertModel-equivalent text tower, tests/reference/make_forward_fixtures.py) on a tiny model with
 * random weights: outputs within 1e-4, batches equal to single runs, packed texts equal to a
 * padded and masked PyTorch batch, and flips and reorders that clearly change the output. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "model/pl-bert.h"
#include "model/pl-vit.h"
#include "tests/pl-test-util.h"

#define TOLERANCE 1e-4  /* absolute, per output component */

typedef struct {
  JsonObject  *root;
  GBytes      *weights;      /* weights.f32 */
  GHashTable  *tensors;      /* name -> const float * into weights */
  GHashTable  *sizes;        /* name -> GSIZE_TO_POINTER (n_floats) */
  GBytes      *pixels_u8;    /* pixels.u8: [n_images, 3, size, size] */
  PlVitWeights vit;
  PlVitBlock  *vit_blocks;
  PlBertWeights bert;
  PlBertLayer *bert_layers;
  float       *pixels;       /* normalised, [n_images, 3, size, size] */
  int          n_images;
} Fixture;

static Fixture fixture;

/* --- Loading the fixture ----------------------------------------------------------------- */

static const float *
tensor (const char *name, gsize n_floats)
{
  const float *data = g_hash_table_lookup (fixture.tensors, name);

  if (data == NULL)
    g_error ("forward fixture lacks tensor %s", name);
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (fixture.sizes, name)), ==, n_floats);
  return data;
}

static const float *
tensor_fmt (gsize n_floats, const char *format, ...) G_GNUC_PRINTF (2, 3);

static const float *
tensor_fmt (gsize n_floats, const char *format, ...)
{
  g_autofree char *name = NULL;
  va_list args;

  va_start (args, format);
  name = g_strdup_vprintf (format, args);
  va_end (args);
  return tensor (name, n_floats);
}

static int
config_int (JsonObject *config, const char *name)
{
  return (int) json_object_get_int_member (config, name);
}

static void
load_tensor_index (void)
{
  g_autofree char *path = pl_test_fixture_path ("forward/weights.f32");
  JsonArray *index = json_object_get_array_member (fixture.root, "tensors");
  gsize size;
  const guint8 *base;

  fixture.weights = pl_test_read_file (path);
  base = g_bytes_get_data (fixture.weights, &size);
  g_assert_cmpuint ((guintptr) base % sizeof (float), ==, 0);
  fixture.tensors = g_hash_table_new (g_str_hash, g_str_equal);
  fixture.sizes = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (index); i++)
    {
      JsonObject *entry = json_array_get_object_element (index, i);
      JsonArray *shape = json_object_get_array_member (entry, "shape");
      gint64 offset = json_object_get_int_member (entry, "offset");
      gsize n_floats = 1;

      for (guint d = 0; d < json_array_get_length (shape); d++)
        n_floats *= json_array_get_int_element (shape, d);
      g_assert_cmpint (offset % sizeof (float), ==, 0);
      g_assert_cmpuint (offset + n_floats * sizeof (float), <=, size);
      g_hash_table_insert (fixture.tensors, (gpointer) json_object_get_string_member (entry, "name"),
                           (gpointer) (base + offset));
      g_hash_table_insert (fixture.sizes, (gpointer) json_object_get_string_member (entry, "name"),
                           GSIZE_TO_POINTER (n_floats));
    }
}

static void
load_vit (void)
{
  JsonObject *vit = json_object_get_object_member (fixture.root, "vit");
  JsonObject *config = json_object_get_object_member (vit, "config");
  PlVitConfig *c = &fixture.vit.config;
  gsize w, n_tokens;

  c->image_size = config_int (config, "image_size");
  c->patch_size = config_int (config, "patch_size");
  c->width = config_int (config, "width");
  c->n_layers = config_int (config, "n_layers");
  c->n_heads = config_int (config, "n_heads");
  c->mlp_dim = config_int (config, "mlp_dim");
  c->embed_dim = config_int (config, "embed_dim");
  c->ln_eps = (float) json_object_get_double_member (config, "ln_eps");
  w = c->width;
  n_tokens = 1 + (c->image_size / c->patch_size) * (c->image_size / c->patch_size);

  fixture.vit.patch_w = tensor ("visual.trunk.patch_embed.proj.weight", w * 3 * c->patch_size * c->patch_size);
  fixture.vit.patch_b = tensor ("visual.trunk.patch_embed.proj.bias", w);
  fixture.vit.cls_token = tensor ("visual.trunk.cls_token", w);
  fixture.vit.pos_embed = tensor ("visual.trunk.pos_embed", n_tokens * w);
  fixture.vit_blocks = g_new0 (PlVitBlock, c->n_layers);
  for (int l = 0; l < c->n_layers; l++)
    {
      PlVitBlock *b = &fixture.vit_blocks[l];
      const char *p = "visual.trunk.blocks";

      b->norm1_w = tensor_fmt (w, "%s.%d.norm1.weight", p, l);
      b->norm1_b = tensor_fmt (w, "%s.%d.norm1.bias", p, l);
      b->qkv_w = tensor_fmt (3 * w * w, "%s.%d.attn.qkv.weight", p, l);
      b->qkv_b = tensor_fmt (3 * w, "%s.%d.attn.qkv.bias", p, l);
      b->proj_w = tensor_fmt (w * w, "%s.%d.attn.proj.weight", p, l);
      b->proj_b = tensor_fmt (w, "%s.%d.attn.proj.bias", p, l);
      b->norm2_w = tensor_fmt (w, "%s.%d.norm2.weight", p, l);
      b->norm2_b = tensor_fmt (w, "%s.%d.norm2.bias", p, l);
      b->fc1_w = tensor_fmt (c->mlp_dim * w, "%s.%d.mlp.fc1.weight", p, l);
      b->fc1_b = tensor_fmt (c->mlp_dim, "%s.%d.mlp.fc1.bias", p, l);
      b->fc2_w = tensor_fmt (w * c->mlp_dim, "%s.%d.mlp.fc2.weight", p, l);
      b->fc2_b = tensor_fmt (w, "%s.%d.mlp.fc2.bias", p, l);
    }
  fixture.vit.blocks = fixture.vit_blocks;
  fixture.vit.norm_w = tensor ("visual.trunk.norm.weight", w);
  fixture.vit.norm_b = tensor ("visual.trunk.norm.bias", w);
  fixture.vit.head_proj = tensor ("visual.head.proj.weight", c->embed_dim * w);
}

/* pixels = (v / 255 - mean) / std in f32, as torchvision's ToTensor and Normalize compute it */
static void
load_pixels (void)
{
  JsonObject *info = json_object_get_object_member (json_object_get_object_member (fixture.root, "vit"), "pixels");
  JsonArray *shape = json_object_get_array_member (info, "shape");
  JsonArray *mean = json_object_get_array_member (info, "mean");
  JsonArray *std = json_object_get_array_member (info, "std");
  g_autofree char *path = pl_test_fixture_path ("forward/pixels.u8");
  int size = fixture.vit.config.image_size;
  gsize plane = (gsize) size * size;
  const guint8 *bytes;
  gsize n_bytes;

  fixture.n_images = (int) json_array_get_int_element (shape, 0);
  g_assert_cmpint (json_array_get_int_element (shape, 1), ==, 3);
  g_assert_cmpint (json_array_get_int_element (shape, 2), ==, size);
  fixture.pixels_u8 = pl_test_read_file (path);
  bytes = g_bytes_get_data (fixture.pixels_u8, &n_bytes);
  g_assert_cmpuint (n_bytes, ==, fixture.n_images * 3 * plane);
  fixture.pixels = g_new (float, n_bytes);
  for (int i = 0; i < fixture.n_images; i++)
    for (int c = 0; c < 3; c++)
      {
        float m = (float) json_array_get_double_element (mean, c);
        float s = (float) json_array_get_double_element (std, c);
        gsize start = ((gsize) i * 3 + c) * plane;

        for (gsize p = 0; p < plane; p++)
          fixture.pixels[start + p] = ((float) bytes[start + p] / 255.0f - m) / s;
      }
}

static void
load_bert (void)
{
  JsonObject *bert = json_object_get_object_member (fixture.root, "bert");
  JsonObject *config = json_object_get_object_member (bert, "config");
  PlBertConfig *c = &fixture.bert.config;
  const char *e = "text.transformer.embeddings";
  gsize w;

  c->vocab_size = config_int (config, "vocab_size");
  c->width = config_int (config, "width");
  c->n_layers = config_int (config, "n_layers");
  c->n_heads = config_int (config, "n_heads");
  c->ff_dim = config_int (config, "ff_dim");
  c->max_positions = config_int (config, "max_positions");
  c->n_token_types = config_int (config, "n_token_types");
  c->proj_hidden = config_int (config, "proj_hidden");
  c->embed_dim = config_int (config, "embed_dim");
  c->ln_eps = (float) json_object_get_double_member (config, "ln_eps");
  w = c->width;

  fixture.bert.word_emb = tensor_fmt (c->vocab_size * w, "%s.word_embeddings.weight", e);
  fixture.bert.pos_emb = tensor_fmt (c->max_positions * w, "%s.position_embeddings.weight", e);
  fixture.bert.type_emb = tensor_fmt (c->n_token_types * w, "%s.token_type_embeddings.weight", e);
  fixture.bert.emb_ln_w = tensor_fmt (w, "%s.LayerNorm.weight", e);
  fixture.bert.emb_ln_b = tensor_fmt (w, "%s.LayerNorm.bias", e);
  fixture.bert_layers = g_new0 (PlBertLayer, c->n_layers);
  for (int l = 0; l < c->n_layers; l++)
    {
      PlBertLayer *y = &fixture.bert_layers[l];
      const char *p = "text.transformer.encoder.layer";

      y->q_w = tensor_fmt (w * w, "%s.%d.attention.self.query.weight", p, l);
      y->q_b = tensor_fmt (w, "%s.%d.attention.self.query.bias", p, l);
      y->k_w = tensor_fmt (w * w, "%s.%d.attention.self.key.weight", p, l);
      y->k_b = tensor_fmt (w, "%s.%d.attention.self.key.bias", p, l);
      y->v_w = tensor_fmt (w * w, "%s.%d.attention.self.value.weight", p, l);
      y->v_b = tensor_fmt (w, "%s.%d.attention.self.value.bias", p, l);
      y->attn_out_w = tensor_fmt (w * w, "%s.%d.attention.output.dense.weight", p, l);
      y->attn_out_b = tensor_fmt (w, "%s.%d.attention.output.dense.bias", p, l);
      y->attn_ln_w = tensor_fmt (w, "%s.%d.attention.output.LayerNorm.weight", p, l);
      y->attn_ln_b = tensor_fmt (w, "%s.%d.attention.output.LayerNorm.bias", p, l);
      y->inter_w = tensor_fmt (c->ff_dim * w, "%s.%d.intermediate.dense.weight", p, l);
      y->inter_b = tensor_fmt (c->ff_dim, "%s.%d.intermediate.dense.bias", p, l);
      y->out_w = tensor_fmt (w * c->ff_dim, "%s.%d.output.dense.weight", p, l);
      y->out_b = tensor_fmt (w, "%s.%d.output.dense.bias", p, l);
      y->out_ln_w = tensor_fmt (w, "%s.%d.output.LayerNorm.weight", p, l);
      y->out_ln_b = tensor_fmt (w, "%s.%d.output.LayerNorm.bias", p, l);
    }
  fixture.bert.layers = fixture.bert_layers;
  fixture.bert.proj0_w = tensor ("text.proj.0.weight", c->proj_hidden * w);
  fixture.bert.proj2_w = tensor ("text.proj.2.weight", c->embed_dim * c->proj_hidden);
}

static JsonParser *parser;

static void
load_fixture (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = pl_test_fixture_path ("forward/forward.json");

  parser = json_parser_new ();
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  fixture.root = json_node_get_object (json_parser_get_root (parser));
  load_tensor_index ();
  load_vit ();
  load_pixels ();
  load_bert ();
}

static void
free_fixture (void)
{
  g_clear_pointer (&fixture.tensors, g_hash_table_unref);
  g_clear_pointer (&fixture.sizes, g_hash_table_unref);
  g_clear_pointer (&fixture.weights, g_bytes_unref);
  g_clear_pointer (&fixture.pixels_u8, g_bytes_unref);
  g_clear_pointer (&fixture.vit_blocks, g_free);
  g_clear_pointer (&fixture.bert_layers, g_free);
  g_clear_pointer (&fixture.pixels, g_free);
  g_clear_object (&parser);
}

/* --- Helpers ----------------------------------------------------------------------------- */

/* The expected rows in SECTION.MEMBER, as [n_rows, n_cols] floats. */
static float *
expected_rows (const char *section, const char *member, int n_cols, int *n_rows)
{
  JsonArray *rows = json_object_get_array_member (json_object_get_object_member (fixture.root, section), member);
  float *out = g_new (float, json_array_get_length (rows) * n_cols);

  *n_rows = (int) json_array_get_length (rows);
  for (int r = 0; r < *n_rows; r++)
    {
      JsonArray *row = json_array_get_array_element (rows, r);

      g_assert_cmpint (json_array_get_length (row), ==, n_cols);
      for (int c = 0; c < n_cols; c++)
        out[r * n_cols + c] = (float) json_array_get_double_element (row, c);
    }
  return out;
}

static double
max_abs_diff (const float *a, const float *b, gsize n)
{
  double worst = 0;

  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs ((double) a[i] - b[i]));
  return worst;
}

static double
cosine (const float *a, const float *b, int n)
{
  double ab = 0, aa = 0, bb = 0;

  for (int i = 0; i < n; i++)
    {
      ab += (double) a[i] * b[i];
      aa += (double) a[i] * a[i];
      bb += (double) b[i] * b[i];
    }
  return ab / sqrt (aa * bb);
}

static gsize
image_floats (void)
{
  return (gsize) 3 * fixture.vit.config.image_size * fixture.vit.config.image_size;
}

/* The texts of the fixture as ids, offsets and lengths. */
typedef struct {
  int      n_texts;
  int32_t *ids;
  int     *offsets;
  int     *lengths;
} Texts;

static void
texts_load (Texts *texts)
{
  JsonArray *list = json_object_get_array_member (json_object_get_object_member (fixture.root, "bert"), "texts");
  int total = 0;

  texts->n_texts = (int) json_array_get_length (list);
  texts->offsets = g_new (int, texts->n_texts);
  texts->lengths = g_new (int, texts->n_texts);
  for (int i = 0; i < texts->n_texts; i++)
    total += (int) json_array_get_length (json_array_get_array_element (list, i));
  texts->ids = g_new (int32_t, total);
  total = 0;
  for (int i = 0; i < texts->n_texts; i++)
    {
      JsonArray *ids = json_array_get_array_element (list, i);

      texts->offsets[i] = total;
      texts->lengths[i] = (int) json_array_get_length (ids);
      for (int p = 0; p < texts->lengths[i]; p++)
        texts->ids[total + p] = (int32_t) json_array_get_int_element (ids, p);
      total += texts->lengths[i];
    }
}

static void
texts_clear (Texts *texts)
{
  g_clear_pointer (&texts->ids, g_free);
  g_clear_pointer (&texts->offsets, g_free);
  g_clear_pointer (&texts->lengths, g_free);
}

/* --- ViT --------------------------------------------------------------------------------- */

static void
test_vit_matches_pytorch (void)
{
  int dim = fixture.vit.config.embed_dim, n_expected;
  g_autofree float *expected = expected_rows ("vit", "expected", dim, &n_expected);
  g_autofree float *out = g_new (float, fixture.n_images * dim);
  double diff;

  g_assert_cmpint (n_expected, ==, fixture.n_images);
  pl_vit_encode (&fixture.vit, fixture.pixels, fixture.n_images, out);
  diff = max_abs_diff (out, expected, fixture.n_images * dim);
  g_test_message ("vit: max |C - PyTorch| = %.3g", diff);
  g_assert_cmpfloat (diff, <=, TOLERANCE);
}

static void
test_vit_batch_equals_single_images (void)
{
  int dim = fixture.vit.config.embed_dim;
  g_autofree float *batch = g_new (float, fixture.n_images * dim);
  g_autofree float *single = g_new (float, fixture.n_images * dim);

  pl_vit_encode (&fixture.vit, fixture.pixels, fixture.n_images, batch);
  for (int i = 0; i < fixture.n_images; i++)
    pl_vit_encode (&fixture.vit, fixture.pixels + i * image_floats (), 1, single + i * dim);
  g_test_message ("vit: max |batch - single| = %.3g", max_abs_diff (batch, single, fixture.n_images * dim));
  g_assert_cmpfloat (max_abs_diff (batch, single, fixture.n_images * dim), <=, 1e-5);
}

static void
test_vit_flipped_image_matches_pytorch_and_differs (void)
{
  JsonObject *vit = json_object_get_object_member (fixture.root, "vit");
  int image = (int) json_object_get_int_member (vit, "flipped_image");
  int size = fixture.vit.config.image_size, dim = fixture.vit.config.embed_dim, n_expected;
  g_autofree float *expected = expected_rows ("vit", "flipped_expected", dim, &n_expected);
  g_autofree float *flipped = g_new (float, image_floats ());
  g_autofree float *original = g_new (float, dim);
  g_autofree float *out = g_new (float, dim);
  const float *src = fixture.pixels + image * image_floats ();
  double diff;

  for (int c = 0; c < 3; c++)
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++)
        flipped[((gsize) c * size + y) * size + x] = src[((gsize) c * size + y) * size + (size - 1 - x)];
  pl_vit_encode (&fixture.vit, flipped, 1, out);
  pl_vit_encode (&fixture.vit, src, 1, original);

  diff = max_abs_diff (out, expected, dim);
  g_test_message ("vit flipped: max |C - PyTorch| = %.3g; cosine to the original %.4f",
                  diff, cosine (out, original, dim));
  g_assert_cmpfloat (diff, <=, TOLERANCE);
  /* an orientation bug would go unnoticed if a flip barely moved the embedding */
  g_assert_cmpfloat (cosine (out, original, dim), <, 0.995);
  g_assert_cmpfloat (max_abs_diff (out, original, dim), >, 1000 * TOLERANCE);
}

static void
test_vit_flops (void)
{
  PlVitConfig base = { 224, 16, 768, 12, 12, 3072, 512, 1e-6f };
  double t = 197, w = 768, f = 3072;
  /* patch GEMM (with the [CLS] zero row), 11 full blocks, a last block with one query, the head */
  double expected = 2 * (t * w * 768 +
                         11 * (t * w * 3 * w + 2 * t * t * w + t * w * w + 2 * t * w * f) +
                         (t * w * 2 * w + w * w + 2 * t * w + w * w + 2 * w * f) + w * 512);

  g_assert_cmpfloat_with_epsilon (pl_vit_flops_per_image (&base), expected, 1);
  g_assert_cmpfloat (pl_vit_flops_per_image (&base) / 1e9, >, 32);
  g_assert_cmpfloat (pl_vit_flops_per_image (&base) / 1e9, <, 35.2);
}

/* --- BERT -------------------------------------------------------------------------------- */

static void
test_bert_matches_padded_pytorch_batch (void)
{
  int dim = fixture.bert.config.embed_dim, n_expected;
  g_autofree float *expected = expected_rows ("bert", "expected", dim, &n_expected);
  g_autofree float *out = NULL;
  Texts texts;
  double diff;

  texts_load (&texts);
  g_assert_cmpint (n_expected, ==, texts.n_texts);
  out = g_new (float, texts.n_texts * dim);
  pl_bert_encode (&fixture.bert, texts.ids, texts.offsets, texts.lengths, texts.n_texts, out);
  diff = max_abs_diff (out, expected, texts.n_texts * dim);
  g_test_message ("bert (lengths 1 to 300, packed): max |C - padded PyTorch| = %.3g", diff);
  g_assert_cmpfloat (diff, <=, TOLERANCE);
  texts_clear (&texts);
}

static void
test_bert_offsets_may_point_anywhere (void)
{
  int dim = fixture.bert.config.embed_dim, n_expected;
  g_autofree float *expected = expected_rows ("bert", "expected", dim, &n_expected);
  g_autofree float *out = NULL;
  g_autofree int32_t *scattered = NULL;
  g_autofree int *offsets = NULL;
  Texts texts;
  gsize total = 0;
  int at = 0;

  /* the texts stored in reverse order with a gap of 3 junk ids between them */
  texts_load (&texts);
  for (int i = 0; i < texts.n_texts; i++)
    total += (gsize) texts.lengths[i] + 3;
  scattered = g_new (int32_t, total);
  offsets = g_memdup2 (texts.offsets, sizeof (int) * (guint) texts.n_texts);  /* overwritten below */
  for (int i = texts.n_texts - 1; i >= 0; i--)
    {
      scattered[at] = scattered[at + 1] = scattered[at + 2] = -1;
      at += 3;
      offsets[i] = at;
      memcpy (scattered + at, texts.ids + texts.offsets[i], texts.lengths[i] * sizeof (int32_t));
      at += texts.lengths[i];
    }
  out = g_new (float, texts.n_texts * dim);
  pl_bert_encode (&fixture.bert, scattered, offsets, texts.lengths, texts.n_texts, out);
  g_assert_cmpfloat (max_abs_diff (out, expected, texts.n_texts * dim), <=, TOLERANCE);
  texts_clear (&texts);
}

static void
test_bert_batch_equals_single_texts (void)
{
  int dim = fixture.bert.config.embed_dim;
  g_autofree float *batch = NULL;
  g_autofree float *single = NULL;
  Texts texts;

  texts_load (&texts);
  batch = g_new (float, texts.n_texts * dim);
  single = g_new (float, texts.n_texts * dim);
  pl_bert_encode (&fixture.bert, texts.ids, texts.offsets, texts.lengths, texts.n_texts, batch);
  for (int i = 0; i < texts.n_texts; i++)
    pl_bert_encode (&fixture.bert, texts.ids + texts.offsets[i], (int[]) { 0 }, &texts.lengths[i], 1,
                    single + i * dim);
  g_test_message ("bert: max |batch - single| = %.3g", max_abs_diff (batch, single, texts.n_texts * dim));
  g_assert_cmpfloat (max_abs_diff (batch, single, texts.n_texts * dim), <=, 1e-5);
  texts_clear (&texts);
}

static void
test_bert_reordered_text_differs (void)
{
  JsonArray *pair = json_object_get_array_member (json_object_get_object_member (fixture.root, "bert"),
                                                  "reordered_pair");
  int a = (int) json_array_get_int_element (pair, 0), b = (int) json_array_get_int_element (pair, 1);
  int dim = fixture.bert.config.embed_dim;
  g_autofree float *out = NULL;
  Texts texts;

  texts_load (&texts);
  g_assert_cmpint (texts.lengths[a], ==, texts.lengths[b]);
  out = g_new (float, texts.n_texts * dim);
  pl_bert_encode (&fixture.bert, texts.ids, texts.offsets, texts.lengths, texts.n_texts, out);
  g_test_message ("bert: cosine of a text and its reordering %.4f", cosine (out + a * dim, out + b * dim, dim));
  g_assert_cmpfloat (cosine (out + a * dim, out + b * dim, dim), <, 0.995);
  texts_clear (&texts);
}

static void
test_bert_rejects_ids_outside_the_vocabulary (void)
{
  if (g_test_subprocess ())
    {
      int32_t ids[3] = { 2, 100, 3 };  /* vocab_size is 100 */
      int offset = 0, length = 3;
      float out[32];

      pl_bert_encode (&fixture.bert, ids, &offset, &length, 1, out);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*id 100, outside the vocabulary*");
}

static void
test_bert_flops (void)
{
  PlBertConfig base = { 30522, 768, 12, 12, 3072, 512, 2, 640, 512, 1e-12f };
  double w = 768, f = 3072;

  for (int n = 1; n <= 256; n *= 4)
    {
      double t = n;
      double expected = 2 * (11 * (4 * t * w * w + 2 * t * t * w + 2 * t * w * f) +
                             (2 * t * w * w + w * w + 2 * t * w + w * w + 2 * w * f) + w * 640 + 640 * 512);

      g_assert_cmpfloat_with_epsilon (pl_bert_flops_per_text (&base, n), expected, 1);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  load_fixture ();

  g_test_add_func ("/forward/vit/matches-pytorch", test_vit_matches_pytorch);
  g_test_add_func ("/forward/vit/batch-equals-single-images", test_vit_batch_equals_single_images);
  g_test_add_func ("/forward/vit/flipped-image-matches-pytorch-and-differs",
                   test_vit_flipped_image_matches_pytorch_and_differs);
  g_test_add_func ("/forward/vit/flops", test_vit_flops);
  g_test_add_func ("/forward/bert/matches-padded-pytorch-batch", test_bert_matches_padded_pytorch_batch);
  g_test_add_func ("/forward/bert/offsets-may-point-anywhere", test_bert_offsets_may_point_anywhere);
  g_test_add_func ("/forward/bert/batch-equals-single-texts", test_bert_batch_equals_single_texts);
  g_test_add_func ("/forward/bert/reordered-text-differs", test_bert_reordered_text_differs);
  g_test_add_func ("/forward/bert/rejects-ids-outside-the-vocabulary", test_bert_rejects_ids_outside_the_vocabulary);
  g_test_add_func ("/forward/bert/flops", test_bert_flops);

  status = g_test_run ();
  free_fixture ();
  return status;
}
