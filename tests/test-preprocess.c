/* test-preprocess.c: open_clip's image transform (Resize 224 bicubic -> CenterCrop 224 -> RGB ->
 * ToTensor -> Normalize) gives PIL + torchvision's 8-bit crop and float tensor for every fixture.
 * Expected values: tests/reference/make_image_fixtures.py (open_clip v2.23.0's image_transform run
 * on Debian's PIL 9.4 and torchvision 0.14.1). */
#include "model/pl-error.h"
#include "model/pl-image.h"
#include "pl-test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define SIZE 224
#define N_PIXELS (SIZE * SIZE)

static JsonObject *
manifest (void)
{
  static JsonParser *parser;

  if (parser == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = pl_test_fixture_path ("images/manifest.json");

      parser = json_parser_new ();
      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
    }
  return json_node_get_object (json_parser_get_root (parser));
}

static char *
entry_path (JsonObject *entry)
{
  const char *file = json_object_get_string_member (entry, "file");

  if (g_strcmp0 (json_object_get_string_member (entry, "where"), "shared") == 0)
    return pl_test_shared_data_path (file);
  return pl_test_fixture_path (file);
}

/* The expected crop as 224 x 224 x 3 bytes (the fixture stores grey crops as grey PNGs). Read
 * with the decoder test-image checks against PIL. */
static uint8_t *
load_expected_crop (JsonObject *entry)
{
  g_autofree char *path = pl_test_fixture_path (json_object_get_string_member (entry, "expected_crop"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);
  uint8_t *rgb = g_malloc (N_PIXELS * 3);

  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, SIZE);
  g_assert_cmpint (image->height, ==, SIZE);
  g_assert_true (image->mode == PL_IMAGE_RGB || image->mode == PL_IMAGE_L);
  for (int i = 0; i < N_PIXELS; i++)
    for (int c = 0; c < 3; c++)
      rgb[3 * i + c] = image->mode == PL_IMAGE_RGB ? image->pixels[3 * i + c] : image->pixels[i];
  return rgb;
}

static void
test_crop_equals_pil_for_every_fixture (void)
{
  JsonArray *images = json_object_get_array_member (manifest (), "images");
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  uint8_t rgb[N_PIXELS * 3];
  int total_differing = 0;

  pl_preprocess_config_init_default (&config);
  for (guint i = 0; i < json_array_get_length (images); i++)
    {
      JsonObject *entry = json_array_get_object_element (images, i);
      g_autofree char *path = entry_path (entry);
      g_autoptr(GError) error = NULL;
      g_autoptr(PlImage) image = pl_image_load (path, &error);
      g_autofree uint8_t *expected = NULL;
      int max_diff = 0, differing = 0;

      g_assert_no_error (error);
      pl_image_preprocess (image, &config, out, rgb, &error);
      g_assert_no_error (error);
      expected = load_expected_crop (entry);
      for (int j = 0; j < N_PIXELS * 3; j++)
        {
          int d = abs ((int) rgb[j] - (int) expected[j]);

          max_diff = MAX (max_diff, d);
          differing += d != 0;
        }
      g_test_message ("%-40s %-4s %5d x %-6d max diff %d, %d of %d samples differ",
                      json_object_get_string_member (entry, "file"),
                      pl_image_mode_name (image->mode), image->width, image->height,
                      max_diff, differing, N_PIXELS * 3);
      total_differing += differing;
      /* The contract is 1/255; the implementation is meant to be bit-exact, and is. */
      g_assert_cmpint (max_diff, <=, 1);
    }
  g_assert_cmpint (total_differing, ==, 0);
}

static void
test_tensor_equals_torch_for_every_fixture (void)
{
  JsonArray *images = json_object_get_array_member (manifest (), "images");
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  uint8_t rgb[N_PIXELS * 3];

  pl_preprocess_config_init_default (&config);
  for (guint i = 0; i < json_array_get_length (images); i++)
    {
      JsonObject *entry = json_array_get_object_element (images, i);
      g_autofree char *path = entry_path (entry);
      g_autoptr(GError) error = NULL;
      g_autoptr(PlImage) image = pl_image_load (path, &error);
      g_autofree char *digest = NULL;
      JsonArray *samples = json_object_get_array_member (entry, "tensor_samples");
      double sum = 0, lo = INFINITY, hi = -INFINITY;

      g_assert_no_error (error);
      pl_image_preprocess (image, &config, out, rgb, &error);
      g_assert_no_error (error);

      for (int j = 0; j < 3 * N_PIXELS; j++)
        {
          sum += out[j];
          lo = MIN (lo, out[j]);
          hi = MAX (hi, out[j]);
        }
      g_assert_cmpfloat_with_epsilon (sum, json_object_get_double_member (entry, "tensor_sum"), 1e-3);
      g_assert_cmpfloat (lo, ==, json_object_get_double_member (entry, "tensor_min"));
      g_assert_cmpfloat (hi, ==, json_object_get_double_member (entry, "tensor_max"));
      for (guint s = 0; s < json_array_get_length (samples); s++)
        {
          JsonArray *sample = json_array_get_array_element (samples, s);
          int c = json_array_get_int_element (sample, 0), y = json_array_get_int_element (sample, 1),
              x = json_array_get_int_element (sample, 2);

          g_assert_cmpfloat (out[c * N_PIXELS + y * SIZE + x], ==,
                             (float) json_array_get_double_element (sample, 3));
        }
      /* float32 arithmetic in torch's order: every bit equal. */
      digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) out,
                                            3 * N_PIXELS * sizeof (float));
      g_assert_cmpstr (digest, ==, json_object_get_string_member (entry, "tensor_sha256"));
    }
}

/* ToTensor then Normalize: (x / 255 - mean) / std per channel, planar [3, 224, 224]. */
/* open_clip's other resize modes and bilinear interpolation at 32 px, crop for crop against
 * tests/fixtures/images/resize-modes.json (tests/reference/make_resize_mode_fixtures.py): squash,
 * longest (upsampling and padding two images smaller than the crop; a palette image pads with
 * its entry 0, RGBA with transparent black) and shortest with the bilinear filter. */
static void
test_resize_modes_equal_pil (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = pl_test_load_fixture_object (parser, "images/resize-modes.json");
  JsonArray *cases = json_object_get_array_member (root, "cases");
  int size = (int) json_object_get_int_member (root, "image_size");
  g_autofree float *out = g_new (float, 3 * size * size);
  g_autofree uint8_t *rgb = g_new (uint8_t, 3 * size * size);
  guint n_padded = 0;

  g_assert_cmpint (json_array_get_length (cases), >=, 50);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *entry = json_array_get_object_element (cases, i);
      const char *file = json_object_get_string_member (entry, "file");
      const char *resize_mode = json_object_get_string_member (entry, "resize_mode");
      const char *interpolation = json_object_get_string_member (entry, "interpolation");
      JsonArray *expected = json_object_get_array_member (entry, "rgb");
      JsonArray *resized = json_object_get_array_member (entry, "resized_size");
      g_autofree char *path = g_str_has_prefix (file, "shared:") ? pl_test_shared_data_path (file + strlen ("shared:"))
                                                                 : pl_test_fixture_path (file);
      g_autoptr(GError) error = NULL;
      g_autoptr(PlImage) image = pl_image_load (path, &error);
      PlPreprocessConfig config;
      int differing = 0;

      g_assert_no_error (error);
      pl_preprocess_config_init_default (&config);
      config.image_size = size;
      config.resize_mode = g_str_equal (resize_mode, "squash") ? PL_RESIZE_SQUASH
                         : g_str_equal (resize_mode, "longest") ? PL_RESIZE_LONGEST : PL_RESIZE_SHORTEST;
      config.interpolation = g_str_equal (interpolation, "bilinear") ? PL_INTERPOLATION_BILINEAR
                                                                      : PL_INTERPOLATION_BICUBIC;
      g_assert_true (pl_image_preprocess (image, &config, out, rgb, &error));
      g_assert_no_error (error);
      g_assert_cmpint (json_array_get_length (expected), ==, 3 * size * size);
      for (int j = 0; j < 3 * size * size; j++)
        differing += rgb[j] != json_array_get_int_element (expected, j);
      g_test_message ("%-36s %-4s %-8s %-8s %d samples differ", file, pl_image_mode_name (image->mode),
                      resize_mode, interpolation, differing);
      g_assert_cmpint (differing, ==, 0);
      if (json_array_get_int_element (resized, 0) < size || json_array_get_int_element (resized, 1) < size)
        n_padded++;
    }
  g_assert_cmpuint (n_padded, >=, 4);  /* the padding is exercised, not only crops */
}

/* "longest" of a 1 x 100000 image would leave a side of 0 pixels: a clear error, as PIL's. */
static void
test_longest_refuses_a_side_of_zero (void)
{
  PlImage image = { 0 };
  PlPreprocessConfig config;
  g_autoptr(GError) error = NULL;
  g_autofree float *out = NULL;
  uint8_t pixels[100000] = { 0 };

  image.mode = PL_IMAGE_L;
  image.width = 1;
  image.height = 100000;
  image.channels = 1;
  image.stride = 1;
  image.pixels = pixels;
  pl_preprocess_config_init_default (&config);
  config.resize_mode = PL_RESIZE_LONGEST;
  out = g_new (float, 3 * config.image_size * config.image_size);
  g_assert_false (pl_image_preprocess (&image, &config, out, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "too thin"));
}

static void
test_normalises_crop_with_clip_statistics (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  uint8_t rgb[N_PIXELS * 3];
  const double mean[3] = { 0.48145466, 0.4578275, 0.40821073 };
  const double std[3] = { 0.26862954, 0.26130258, 0.27577711 };

  pl_preprocess_config_init_default (&config);
  g_assert_cmpint (config.image_size, ==, 224);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpfloat (config.mean[c], ==, (float) mean[c]);
      g_assert_cmpfloat (config.std[c], ==, (float) std[c]);
    }
  g_assert_true (pl_image_preprocess (image, &config, out, rgb, &error));
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < N_PIXELS; i++)
      g_assert_cmpfloat_with_epsilon (out[c * N_PIXELS + i], (rgb[3 * i + c] / 255.0 - mean[c]) / std[c], 2e-6);
}

/* A 1 x 100000 image resizes to 224 x 22,400,000 in PIL; only the crop is computed here. The
 * fixture is a vertical ramp 0..255; the crop comes from the middle rows (values ~127-128). */
static void
test_thin_image_costs_only_its_crop (void)
{
  g_autofree char *path = pl_test_fixture_path ("images/hostile/thin_1x100000.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  uint8_t rgb[N_PIXELS * 3];
  gint64 start;

  g_assert_no_error (error);
  pl_preprocess_config_init_default (&config);
  start = g_get_monotonic_time ();
  g_assert_true (pl_image_preprocess (image, &config, out, rgb, &error));
  g_test_message ("1 x 100000 preprocessed in %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  for (int i = 0; i < N_PIXELS * 3; i++)
    {
      g_assert_cmpint (rgb[i], >=, 127);
      g_assert_cmpint (rgb[i], <=, 128);
    }
}

/* Resizing 1 x 10,000,000 to a short side of 224 would make a side of 2.24e9 pixels, more than an
 * int holds (and more than PIL accepts). */
static void
test_refuses_resize_beyond_int (void)
{
  PlImage image = { 0 };
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  g_autoptr(GError) error = NULL;

  image.mode = PL_IMAGE_L;
  image.width = 10000000;
  image.height = 1;
  image.channels = 1;
  image.stride = image.width;
  image.pixels = g_malloc0 (image.stride);
  pl_preprocess_config_init_default (&config);
  g_assert_false (pl_image_preprocess (&image, &config, out, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TOO_LARGE);
  g_test_message ("%s", error->message);
  g_free (image.pixels);
}

static void
test_refuses_invalid_config (void)
{
  g_autofree char *path = pl_test_fixture_path ("images/input/small_10x7.png");
  g_autoptr(PlImage) image = pl_image_load (path, NULL);
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;

  pl_preprocess_config_init_default (&config);
  config.image_size = 0;
  g_assert_false (pl_image_preprocess (image, &config, out, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
  pl_preprocess_config_init_default (&config);
  config.std[1] = 0.0f;
  g_assert_false (pl_image_preprocess (image, &config, out, NULL, &error2));
  g_assert_error (error2, PL_ERROR, PL_ERROR_INVALID);
}

/* A 1411 x 1411 JPEG (the retina) resizes in a few milliseconds; no per-pixel allocation. */
static void
test_is_fast_on_a_large_photo (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);
  PlPreprocessConfig config;
  g_autofree float *out = g_new (float, 3 * N_PIXELS);
  gint64 best = G_MAXINT64, start;

  g_assert_no_error (error);
  pl_preprocess_config_init_default (&config);
  for (int run = 0; run < 5; run++)
    {
      start = g_get_monotonic_time ();
      g_assert_true (pl_image_preprocess (image, &config, out, NULL, &error));
      best = MIN (best, g_get_monotonic_time () - start);
    }
  g_test_message ("1411 x 1411 RGB preprocessed in %.2f ms (best of 5)", best / 1000.0);
  /* Generous, for sanitizer builds and a busy machine: the normal build takes a few ms. */
  g_assert_cmpint (best, <, 2 * G_USEC_PER_SEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preprocess/crop-equals-pil-for-every-fixture", test_crop_equals_pil_for_every_fixture);
  g_test_add_func ("/preprocess/tensor-equals-torch-bit-for-bit", test_tensor_equals_torch_for_every_fixture);
  g_test_add_func ("/preprocess/resize-modes-and-bilinear-equal-pil", test_resize_modes_equal_pil);
  g_test_add_func ("/preprocess/longest-refuses-a-side-of-zero", test_longest_refuses_a_side_of_zero);
  g_test_add_func ("/preprocess/normalises-with-clip-mean-and-std", test_normalises_crop_with_clip_statistics);
  g_test_add_func ("/preprocess/thin-1x100000-image-computes-only-the-crop", test_thin_image_costs_only_its_crop);
  g_test_add_func ("/preprocess/refuses-resized-side-beyond-int", test_refuses_resize_beyond_int);
  g_test_add_func ("/preprocess/refuses-invalid-config", test_refuses_invalid_config);
  g_test_add_func ("/preprocess/is-fast-on-a-1411x1411-photo", test_is_fast_on_a_large_photo);
  return g_test_run ();
}
