/* test-clip.c: a checkpoint opened for inference gives PyTorch's embeddings. The expected values come
 * from tests/reference/make_model_fixtures.py (open_clip v2.23.0 + timm run by Debian's torch). */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "model/pl-clip.h"
#include "model/pl-error.h"
#include "model/pl-parallel.h"
#include "tests/pl-test-util.h"

#define TOLERANCE 1e-4

static JsonObject *expected;
static JsonParser *expected_parser;

static void
load_expected (void)
{
  expected_parser = json_parser_new ();
  expected = pl_test_load_fixture_object (expected_parser, "tiny/expected.json");
}

static char *
image_path (const char *name)
{
  g_autofree char *relative = g_build_filename ("images", name, NULL);

  return pl_test_shared_data_path (relative);
}

static PlClip *
open_fixture (const char *name)
{
  g_autofree char *path = pl_test_fixture_path (name);
  g_autoptr(GError) error = NULL;
  PlClip *clip = pl_clip_load (path, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (clip);
  return clip;
}

static double
max_abs_diff (const float *x,
              JsonArray   *reference,
              int          n)
{
  double worst = 0;

  g_assert_cmpint (json_array_get_length (reference), ==, n);
  for (int i = 0; i < n; i++)
    worst = MAX (worst, fabs (x[i] - json_array_get_double_element (reference, i)));
  return worst;
}

/* An image named in an expected.json: a file of ../shared/data/images (tiny/), or a path from the
 * repository root (variants/). */
static char *
expected_image_path (const char *file)
{
  if (g_str_has_prefix (file, "../shared/data/"))
    return pl_test_shared_data_path (file + strlen ("../shared/data/"));
  if (g_str_has_prefix (file, "tests/fixtures/"))
    return pl_test_fixture_path (file + strlen ("tests/fixtures/"));
  return image_path (file);
}

static void
check_images_of (PlClip *clip, JsonObject *reference, guint min_images)
{
  JsonArray *images = json_object_get_array_member (reference, "images");
  int dim = pl_clip_get_embed_dim (clip), size = pl_clip_get_vit_config (clip)->image_size;
  guint n = json_array_get_length (images);
  g_autofree float *pixels = g_new (float, (gsize) n * 3 * size * size);
  g_autofree float *out = g_new (float, (gsize) n * dim);
  g_autofree float *single = g_new (float, dim);

  g_assert_cmpint (n, >=, min_images);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *image = json_array_get_object_element (images, i);
      g_autofree char *path = expected_image_path (json_object_get_string_member (image, "file"));
      g_autoptr(GError) error = NULL;

      g_assert_true (pl_clip_load_image (clip, path, pixels + (gsize) i * 3 * size * size, &error));
      g_assert_no_error (error);
    }
  /* One batch of all images, and each image alone, both equal PyTorch's. */
  pl_clip_encode_images (clip, pixels, (int) n, out);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *image = json_array_get_object_element (images, i);
      double diff = max_abs_diff (out + (gsize) i * dim, json_object_get_array_member (image, "embedding"), dim);

      g_test_message ("%s: max |engine - torch| = %.2e", json_object_get_string_member (image, "file"), diff);
      g_assert_cmpfloat (diff, <=, TOLERANCE);
      pl_clip_encode_images (clip, pixels + (gsize) i * 3 * size * size, 1, single);
      g_assert_cmpfloat (max_abs_diff (single, json_object_get_array_member (image, "embedding"), dim), <=, TOLERANCE);
    }
}

static void
check_images (PlClip *clip)
{
  check_images_of (clip, expected, 5);
}

static void
check_texts_of (PlClip *clip, JsonObject *reference)
{
  JsonArray *texts = json_object_get_array_member (reference, "texts");
  guint n = json_array_get_length (texts);
  int dim = pl_clip_get_embed_dim (clip);
  g_autofree const char **strings = g_new (const char *, n);
  g_autofree float *out = g_new (float, (gsize) n * dim);
  g_autofree int32_t *ids = g_new (int32_t, pl_clip_get_context_length (clip));

  for (guint i = 0; i < n; i++)
    {
      JsonObject *text = json_array_get_object_element (texts, i);
      JsonArray *expected_ids = json_object_get_array_member (text, "ids");
      int n_ids;

      strings[i] = json_object_get_string_member (text, "text");
      n_ids = pl_clip_tokenize (clip, strings[i], ids);
      g_assert_cmpint (n_ids, ==, json_array_get_length (expected_ids));
      for (int k = 0; k < n_ids; k++)
        g_assert_cmpint (ids[k], ==, json_array_get_int_element (expected_ids, k));
    }
  pl_clip_encode_texts (clip, strings, (int) n, out);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *text = json_array_get_object_element (texts, i);
      double diff = max_abs_diff (out + (gsize) i * dim, json_object_get_array_member (text, "embedding"), dim);

      g_test_message ("\"%.30s\": max |engine - torch| = %.2e", strings[i], diff);
      g_assert_cmpfloat (diff, <=, TOLERANCE);
    }
}

static void
check_texts (PlClip *clip)
{
  check_texts_of (clip, expected);
}

static void
test_hub_checkpoint_matches_pytorch (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");

  g_assert_cmpfloat (fabs (pl_clip_get_logit_scale (clip) - json_object_get_double_member (expected, "logit_scale_exp")),
                     <=, 1e-4);
  g_assert_cmpint (pl_clip_get_context_length (clip), ==, json_object_get_int_member (expected, "context_length"));
  g_assert_false (pl_clip_is_demo (clip));
  check_images (clip);
  check_texts (clip);
}

static void
test_folder_opens_its_checkpoint (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny");

  g_assert_true (g_str_has_suffix (pl_clip_get_checkpoint_path (clip), "open_clip_pytorch_model.bin"));
}

static void
test_training_output_with_module_prefix_matches_pytorch (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny/epoch_1.pt");
  g_autoptr(PlClip) hub = open_fixture ("tiny/open_clip_pytorch_model.bin");

  check_images (clip);
  check_texts (clip);
  /* One AdamW step changed the projection heads (by about 1e-8), and the fingerprint sees it. */
  g_assert_cmpstr (pl_clip_get_fingerprint (clip), !=, pl_clip_get_fingerprint (hub));
}

static void
test_similarity_matches_pytorch (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");
  JsonObject *similarity = json_object_get_object_member (expected, "similarity");
  JsonArray *rows = json_object_get_array_member (similarity, "rows");
  JsonArray *cosine = json_object_get_array_member (similarity, "cosine");
  JsonArray *logits = json_object_get_array_member (similarity, "logits");
  JsonArray *texts = json_object_get_array_member (expected, "texts");
  int dim = pl_clip_get_embed_dim (clip), size = pl_clip_get_vit_config (clip)->image_size;
  guint n_texts = json_array_get_length (texts);
  g_autofree const char **strings = g_new (const char *, n_texts);
  g_autofree float *text_embeddings = g_new (float, (gsize) n_texts * dim);
  g_autofree float *pixels = g_new (float, (gsize) 3 * size * size);
  g_autofree float *image_embedding = g_new (float, dim);

  for (guint t = 0; t < n_texts; t++)
    strings[t] = json_object_get_string_member (json_array_get_object_element (texts, t), "text");
  pl_clip_encode_texts (clip, strings, (int) n_texts, text_embeddings);
  for (guint r = 0; r < json_array_get_length (rows); r++)
    {
      g_autofree char *path = image_path (json_array_get_string_element (rows, r));
      JsonArray *cos_row = json_array_get_array_element (cosine, r);
      JsonArray *logit_row = json_array_get_array_element (logits, r);

      g_assert_true (pl_clip_load_image (clip, path, pixels, NULL));
      pl_clip_encode_images (clip, pixels, 1, image_embedding);
      for (guint t = 0; t < n_texts; t++)
        {
          double c = 0;

          for (int k = 0; k < dim; k++)
            c += (double) image_embedding[k] * text_embeddings[(gsize) t * dim + k];
          g_assert_cmpfloat (fabs (c - json_array_get_double_element (cos_row, t)), <=, TOLERANCE);
          g_assert_cmpfloat (fabs (pl_clip_get_logit_scale (clip) * c - json_array_get_double_element (logit_row, t)),
                             <=, 20 * TOLERANCE);
        }
    }
}

/* Half-precision files: the weights converted to f32 once, as PyTorch's reference did. */
static void
test_half_precision_checkpoints_match_pytorch (void)
{
  JsonArray *cases = json_object_get_array_member (expected, "half_precision");

  g_assert_cmpint (json_array_get_length (cases), >=, 2);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      g_autofree char *name = g_strdup_printf ("tiny/%s", json_object_get_string_member (c, "file"));
      g_autoptr(PlClip) clip = open_fixture (name);
      g_autofree char *image = image_path (json_object_get_string_member (c, "image"));
      const char *text = json_object_get_string_member (c, "text");
      int dim = pl_clip_get_embed_dim (clip), size = pl_clip_get_vit_config (clip)->image_size;
      g_autofree float *pixels = g_new (float, (gsize) 3 * size * size);
      g_autofree float *out = g_new (float, dim);
      g_autofree char *dtypes = pl_clip_describe_dtypes (clip);

      g_test_message ("%s: %s", name, dtypes);
      g_assert_true (strstr (dtypes, "F16") != NULL || strstr (dtypes, "BF16") != NULL);
      g_assert_true (pl_clip_load_image (clip, image, pixels, NULL));
      pl_clip_encode_images (clip, pixels, 1, out);
      g_assert_cmpfloat (max_abs_diff (out, json_object_get_array_member (c, "image_embedding"), dim), <=, TOLERANCE);
      pl_clip_encode_texts (clip, &text, 1, out);
      g_assert_cmpfloat (max_abs_diff (out, json_object_get_array_member (c, "text_embedding"), dim), <=, TOLERANCE);
    }
}

static void
test_unknown_keys_are_listed_not_fatal (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");
  GPtrArray *unused = pl_clip_get_unused_keys (clip);
  gboolean found = FALSE;

  for (guint i = 0; i < unused->len; i++)
    found |= strcmp (unused->pdata[i], "text.transformer.embeddings.position_ids") == 0;
  g_assert_true (found);
}

/* Copies the tiny fixture folder's companions and a checkpoint into a fresh folder, so a test can
 * change one thing about it. Returns the folder. */
static char *
copy_fixture_folder (const char *folder_name,
                     const char *checkpoint,
                     gboolean    with_config,
                     gboolean    with_hf_folder)
{
  g_autofree char *dir = g_build_filename (pl_test_tmpdir (), folder_name, NULL);
  const char *files[] = { "vocab.txt", checkpoint, with_config ? "open_clip_config.json" : NULL };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *src = NULL;
      g_autofree char *dst = NULL;
      g_autoptr(GBytes) bytes = NULL;

      if (files[i] == NULL)
        continue;
      src = g_strdup_printf ("%s/tiny/%s", g_getenv ("PL_FIXTURES_DIR"), files[i]);
      dst = g_build_filename (dir, files[i], NULL);
      bytes = pl_test_read_file (src);
      g_assert_true (g_file_set_contents (dst, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
    }
  if (with_hf_folder)
    {
      g_autofree char *src = g_strdup_printf ("%s/tiny/tiny-bert/config.json", g_getenv ("PL_FIXTURES_DIR"));
      g_autofree char *sub = g_build_filename (dir, "tiny-bert", NULL);
      g_autofree char *dst = g_build_filename (sub, "config.json", NULL);
      g_autoptr(GBytes) bytes = pl_test_read_file (src);

      g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
      g_assert_true (g_file_set_contents (dst, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
    }
  return g_steal_pointer (&dir);
}

static void
write_text (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* The f16 safetensors file with its header edited in place (same length, so offsets stay valid). */
static char *
edited_safetensors (const char *folder_name,
                    const char *from,
                    const char *to)
{
  g_autofree char *dir = copy_fixture_folder (folder_name, "tiny-f16.safetensors", TRUE, TRUE);
  g_autofree char *path = g_build_filename (dir, "tiny-f16.safetensors", NULL);
  g_autofree char *contents = NULL;
  gsize length;
  guint64 header_length;
  char *header, *hit;

  g_assert_cmpuint (strlen (from), ==, strlen (to));
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (&header_length, contents, 8);
  header = g_strndup (contents + 8, header_length);
  hit = strstr (header, from);
  g_assert_nonnull (hit);
  memcpy (contents + 8 + (hit - header), to, strlen (to));
  g_free (header);
  g_assert_true (g_file_set_contents (path, contents, length, NULL));
  return g_steal_pointer (&path);
}

static void
test_missing_tensor_is_named (void)
{
  g_autofree char *path = edited_safetensors ("missing", "\"logit_scale\"", "\"logit_scalX\"");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = pl_clip_load (path, NULL, NULL, &error);

  g_assert_null (clip);
  g_assert_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR);
  g_assert_nonnull (strstr (error->message, "\"logit_scale\""));
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_wrong_shape_names_key_and_both_shapes (void)
{
  /* fc1 [256, 64] and fc2 [64, 256] of block 1 swapped: same bytes, transposed shapes. */
  g_autofree char *dir = copy_fixture_folder ("shape", "tiny-f16.safetensors", TRUE, TRUE);
  g_autofree char *path = g_build_filename (dir, "tiny-f16.safetensors", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;
  gsize length;
  char *fc1, *fc2;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  fc1 = memmem (contents, length, "visual.trunk.blocks.1.mlp.fc1.weight", 36);
  fc2 = memmem (contents, length, "visual.trunk.blocks.1.mlp.fc2.weight", 36);
  g_assert_nonnull (fc1);
  g_assert_nonnull (fc2);
  fc1[strlen ("visual.trunk.blocks.1.mlp.fc")] = '2';
  fc2[strlen ("visual.trunk.blocks.1.mlp.fc")] = '1';
  g_assert_true (g_file_set_contents (path, contents, length, NULL));

  clip = pl_clip_load (path, NULL, NULL, &error);
  g_assert_null (clip);
  g_assert_error (error, PL_ERROR, PL_ERROR_SHAPE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "visual.trunk.blocks.1.mlp.fc"));
  g_assert_nonnull (strstr (error->message, "[64, 256]"));
  g_assert_nonnull (strstr (error->message, "[256, 64]"));
}

static void
test_heads_fall_back_to_width_over_64_with_a_warning (void)
{
  /* No config and no tiny-bert folder: BiomedCLIP's known names say 12 heads, which a width of 64
   * cannot hold; with an unknown text model name the text tower falls back to width / 64. */
  g_autofree char *dir = copy_fixture_folder ("noheads", "open_clip_pytorch_model.bin", FALSE, FALSE);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;

  write_text (dir, "open_clip_config.json",
              "{\"embed_dim\": 32, \"vision_cfg\": {\"timm_model_name\": \"my_vit\", \"image_size\": 224},"
              " \"text_cfg\": {\"hf_model_name\": \"someone/unknown-bert\", \"proj\": \"mlp\","
              " \"pooler_type\": \"cls_last_hidden_state_pooler\", \"context_length\": 256}}");
  clip = pl_clip_load (dir, NULL, warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pl_clip_get_vit_config (clip)->n_heads, ==, 1);
  g_assert_cmpint (pl_clip_get_bert_config (clip)->n_heads, ==, 1);
  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_nonnull (strstr (warnings->pdata[0], "assuming 1 heads"));
}

static void
test_bare_config_with_heads_and_hf_folder_matches_pytorch (void)
{
  /* open_clip's own model_configs/ form (no model_cfg wrapper, proj/pooler_type spellings). */
  g_autofree char *dir = copy_fixture_folder ("bare", "open_clip_pytorch_model.bin", FALSE, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;

  write_text (dir, "open_clip_config.json",
              "{\"embed_dim\": 32, \"vision_cfg\": {\"timm_model_name\": \"vit_base_patch16_224\", \"heads\": 4,"
              " \"timm_pool\": \"\", \"timm_proj\": \"linear\", \"image_size\": 224},"
              " \"text_cfg\": {\"hf_model_name\": \"tiny-bert\", \"proj\": \"mlp\","
              " \"pooler_type\": \"cls_last_hidden_state_pooler\", \"context_length\": 256}}");
  clip = pl_clip_load (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pl_clip_get_vision_heads_source (clip), ==, "vision_cfg.heads");
  {
    /* The same weights, vocabulary and preprocessing elsewhere: the same fingerprint. */
    g_autoptr(PlClip) hub = open_fixture ("tiny/open_clip_pytorch_model.bin");

    g_assert_cmpstr (pl_clip_get_fingerprint (clip), ==, pl_clip_get_fingerprint (hub));
  }
  g_assert_nonnull (strstr (pl_clip_get_text_heads_source (clip), "tiny-bert"));
  check_images (clip);
}

static void
test_preprocess_cfg_overrides_mean_and_std (void)
{
  g_autofree char *dir = copy_fixture_folder ("meanstd", "open_clip_pytorch_model.bin", FALSE, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;
  const PlPreprocessConfig *pre;

  write_text (dir, "open_clip_config.json",
              "{\"model_cfg\": {\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"image_size\": 224},"
              " \"text_cfg\": {\"hf_model_name\": \"tiny-bert\", \"hf_proj_type\": \"mlp\","
              " \"hf_pooler_type\": \"cls_last_hidden_state_pooler\", \"context_length\": 77}},"
              " \"preprocess_cfg\": {\"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.5, 1]}}");
  clip = pl_clip_load (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  pre = pl_clip_get_preprocess_config (clip);
  g_assert_cmpfloat (pre->mean[0], ==, 0.5f);
  g_assert_cmpfloat (pre->std[0], ==, 0.25f);
  g_assert_cmpfloat (pre->std[2], ==, 1.0f);
  g_assert_cmpint (pl_clip_get_context_length (clip), ==, 77);
}

/* tests/fixtures/variants/CASE: a small checkpoint whose config differs from BiomedCLIP's in one
 * field, against what open_clip itself computed from the same files
 * (tests/reference/make_variant_fixtures.py). Its "contrast" says how far off the engine would
 * be if it ignored that field. */
static void
test_variant (gconstpointer data)
{
  const char *name = data;
  g_autofree char *relative = g_build_filename ("variants", name, "expected.json", NULL);
  g_autofree char *folder = g_build_filename ("variants", name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *reference = pl_test_load_fixture_object (parser, relative);
  g_autoptr(PlClip) clip = open_fixture (folder);

  check_images_of (clip, reference, 2);
  check_texts_of (clip, reference);
}

/* "random" interpolation is bicubic at inference (open_clip's image_transform): same pixels. */
static void
test_random_interpolation_is_bicubic (void)
{
  g_autofree char *dir = copy_fixture_folder ("interp-random", "open_clip_pytorch_model.bin", TRUE, TRUE);
  g_autofree char *config_path = g_build_filename (dir, "open_clip_config.json", NULL);
  g_autofree char *config = NULL;
  g_autofree char *edited = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;

  const char *key = "\"preprocess_cfg\": {";
  const char *at;

  g_assert_true (g_file_get_contents (config_path, &config, NULL, NULL));
  at = strstr (config, key);
  g_assert_nonnull (at);
  edited = g_strdup_printf ("%.*s%s\"interpolation\": \"random\", %s", (int) (at - config), config, key,
                            at + strlen (key));
  write_text (dir, "open_clip_config.json", edited);
  clip = pl_clip_load (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  check_images (clip);
}

static void
test_bad_companion_files_are_clear_errors (void)
{
  struct { const char *config; int code; const char *needle; } cases[] = {
    { "not json at all", PL_ERROR_FORMAT, "not a valid JSON" },
    { "[1, 2]", PL_ERROR_FORMAT, "expected a JSON object" },
    { "{\"model_cfg\": 3}", PL_ERROR_FORMAT, "model_cfg" },
    { "{\"embed_dim\": 32}", PL_ERROR_FORMAT, "vision_cfg" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 5}, \"text_cfg\": {}}", PL_ERROR_SHAPE, "not divisible by 5 heads" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": -4}, \"text_cfg\": {}}", PL_ERROR_FORMAT, "out of range" },
    { "{\"embed_dim\": 512, \"vision_cfg\": {\"heads\": 4}, \"text_cfg\": {}}", PL_ERROR_SHAPE, "embed_dim 512" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"image_size\": 384}, \"text_cfg\": {}}", PL_ERROR_SHAPE, "image_size 384" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"timm_pool\": \"map\"}, \"text_cfg\": {}}", PL_ERROR_UNSUPPORTED, "timm_pool \"map\"" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"timm_pool\": \"\"}, \"text_cfg\": {\"pooler_type\": \"cls_pooler\"}}", PL_ERROR_UNSUPPORTED, "cls_pooler" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"timm_proj_bias\": \"yes\"}, \"text_cfg\": {}}", PL_ERROR_FORMAT, "timm_proj_bias" },
    { "{\"embed_dim\": 32, \"vision_cfg\": {\"heads\": 4, \"timm_proj_bias\": true}, \"text_cfg\": {}}", PL_ERROR_MISSING_TENSOR, "visual.head.proj.bias" },
    { "{\"model_cfg\": {\"vision_cfg\": {}, \"text_cfg\": {}}, \"preprocess_cfg\": {\"interpolation\": \"lanczos\"}}", PL_ERROR_UNSUPPORTED, "interpolation \"lanczos\"" },
    { "{\"model_cfg\": {\"vision_cfg\": {}, \"text_cfg\": {}}, \"preprocess_cfg\": {\"fill_color\": 128}}", PL_ERROR_UNSUPPORTED, "fill_color 128" },
    { "{\"model_cfg\": {\"vision_cfg\": {}, \"text_cfg\": {}}, \"preprocess_cfg\": {\"resize_mode\": \"crop\"}}", PL_ERROR_UNSUPPORTED, "resize_mode \"crop\"" },
    { "{\"model_cfg\": {\"vision_cfg\": {}, \"text_cfg\": {}}, \"preprocess_cfg\": {\"mean\": [1, 2]}}", PL_ERROR_FORMAT, "mean" },
    { "{\"model_cfg\": {\"vision_cfg\": {}, \"text_cfg\": {}}, \"preprocess_cfg\": {\"mean\": [0,0,0], \"std\": [1,0,1]}}", PL_ERROR_FORMAT, "std" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("badcfg%zu", i);
      g_autofree char *dir = copy_fixture_folder (name, "open_clip_pytorch_model.bin", FALSE, TRUE);
      g_autoptr(GError) error = NULL;
      g_autoptr(PlClip) clip = NULL;

      write_text (dir, "open_clip_config.json", cases[i].config);
      clip = pl_clip_load (dir, NULL, NULL, &error);
      g_assert_null (clip);
      g_test_message ("%s -> %s", cases[i].config, error->message);
      g_assert_error (error, PL_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }
}

static void
test_missing_vocab_and_empty_folder_are_clear_errors (void)
{
  g_autofree char *dir = copy_fixture_folder ("novocab", "open_clip_pytorch_model.bin", TRUE, TRUE);
  g_autofree char *vocab = g_build_filename (dir, "vocab.txt", NULL);
  g_autofree char *empty = g_build_filename (pl_test_tmpdir (), "empty-folder", NULL);
  g_autoptr(GError) error = NULL;
  PlClip *clip;

  g_assert_cmpint (g_remove (vocab), ==, 0);
  clip = pl_clip_load (dir, NULL, NULL, &error);
  g_assert_null (clip);
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "vocab.txt"));
  g_clear_error (&error);

  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  clip = pl_clip_load (empty, NULL, NULL, &error);
  g_assert_null (clip);
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "holds no checkpoint"));
}

static void
test_vocab_larger_than_embeddings_is_refused (void)
{
  g_autofree char *path = pl_test_fixture_path ("tiny/open_clip_pytorch_model.bin");
  g_autofree char *vocab = pl_test_shared_data_path ("vocab/bert-base-uncased-vocab.txt");
  PlClipOptions options = { NULL, vocab };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = pl_clip_load (path, &options, NULL, &error);

  g_assert_null (clip);
  g_assert_error (error, PL_ERROR, PL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "30522 tokens"));
}

static void
test_flipped_image_moves_the_embedding (void)
{
  /* Guards against orientation bugs: a flip must change the embedding as much as in PyTorch. */
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");
  JsonObject *image = json_array_get_object_element (json_object_get_array_member (expected, "images"), 0);
  g_autofree char *path = image_path (json_object_get_string_member (image, "file"));
  int dim = pl_clip_get_embed_dim (clip), size = pl_clip_get_vit_config (clip)->image_size;
  g_autofree float *pixels = g_new (float, (gsize) 3 * size * size);
  g_autofree float *flipped = g_new (float, (gsize) 3 * size * size);
  g_autofree float *out = g_new (float, dim);

  g_assert_true (pl_clip_load_image (clip, path, pixels, NULL));
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++)
        flipped[((gsize) c * size + y) * size + x] = pixels[((gsize) c * size + y) * size + (size - 1 - x)];
  pl_clip_encode_images (clip, flipped, 1, out);
  g_assert_cmpfloat (max_abs_diff (out, json_object_get_array_member (image, "flipped_input_embedding"), dim), <=, TOLERANCE);
}

static void
test_batches_split_across_threads_match_pytorch (void)
{
  /* With two threads, the five images go two by two through the tower on separate threads and
   * the fifth with each step split; the 21 texts (3 to 40 tokens) are cut into two runs of about
   * equal length, one run a thread. Every embedding must still equal PyTorch's. */
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");

  pl_clip_set_threads (2);
  if (pl_parallel_get_threads () < 2)
    g_test_message ("one core only: the batches run on one thread");
  check_images (clip);
  check_texts (clip);
  pl_clip_set_threads (1);
}

static void
encode_inside_a_pool_job (gpointer data, int index, int count)
{
  /* Part 0 runs on the test's own thread. While this job holds the pool, the encoders' own jobs
   * run whole in their caller, with fewer parts than the threads they were planned for. */
  if (index == 0)
    {
      check_images (data);
      check_texts (data);
    }
}

static void
test_encoding_inside_a_pool_job_matches_pytorch (void)
{
  g_autoptr(PlClip) clip = open_fixture ("tiny/open_clip_pytorch_model.bin");

  pl_clip_set_threads (2);
  pl_parallel_run (encode_inside_a_pool_job, clip, 2);
  pl_clip_set_threads (1);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pl_clip_set_threads (1);
  load_expected ();
  g_test_add_data_func ("/clip/variant/vision-avg-pool", "vision-avg-pool", test_variant);
  g_test_add_data_func ("/clip/variant/vision-proj-bias", "vision-proj-bias", test_variant);
  g_test_add_data_func ("/clip/variant/text-mean-pooler", "text-mean-pooler", test_variant);
  g_test_add_data_func ("/clip/variant/text-pad-mismatch", "text-pad-mismatch", test_variant);
  g_test_add_func ("/clip/config/random-interpolation-is-bicubic", test_random_interpolation_is_bicubic);
  g_test_add_func ("/clip/hub-checkpoint-matches-pytorch", test_hub_checkpoint_matches_pytorch);
  g_test_add_func ("/clip/folder-opens-its-checkpoint", test_folder_opens_its_checkpoint);
  g_test_add_func ("/clip/training-output-with-module-prefix-matches-pytorch",
                   test_training_output_with_module_prefix_matches_pytorch);
  g_test_add_func ("/clip/similarity-matches-pytorch", test_similarity_matches_pytorch);
  g_test_add_func ("/clip/half-precision-checkpoints-match-pytorch", test_half_precision_checkpoints_match_pytorch);
  g_test_add_func ("/clip/unknown-keys-are-listed-not-fatal", test_unknown_keys_are_listed_not_fatal);
  g_test_add_func ("/clip/missing-tensor-is-named", test_missing_tensor_is_named);
  g_test_add_func ("/clip/wrong-shape-names-key-and-both-shapes", test_wrong_shape_names_key_and_both_shapes);
  g_test_add_func ("/clip/heads-fall-back-to-width-over-64-with-a-warning",
                   test_heads_fall_back_to_width_over_64_with_a_warning);
  g_test_add_func ("/clip/bare-config-with-heads-and-hf-folder-matches-pytorch",
                   test_bare_config_with_heads_and_hf_folder_matches_pytorch);
  g_test_add_func ("/clip/preprocess-cfg-overrides-mean-and-std", test_preprocess_cfg_overrides_mean_and_std);
  g_test_add_func ("/clip/bad-companion-files-are-clear-errors", test_bad_companion_files_are_clear_errors);
  g_test_add_func ("/clip/missing-vocab-and-empty-folder-are-clear-errors",
                   test_missing_vocab_and_empty_folder_are_clear_errors);
  g_test_add_func ("/clip/vocab-larger-than-embeddings-is-refused", test_vocab_larger_than_embeddings_is_refused);
  g_test_add_func ("/clip/flipped-image-moves-the-embedding", test_flipped_image_moves_the_embedding);
  g_test_add_func ("/clip/batches-split-across-threads-match-pytorch", test_batches_split_across_threads_match_pytorch);
  g_test_add_func ("/clip/encoding-inside-a-pool-job-matches-pytorch", test_encoding_inside_a_pool_job_matches_pytorch);
  status = g_test_run ();
  g_clear_object (&expected_parser);
  return status;
}
