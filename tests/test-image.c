/* test-image.c: PNG and JPEG decoding gives exactly the pixels (and modes) Pillow 9.4 gives, and
 * malformed files fail with messages that name the file, never crash.
 * Expected values: tests/reference/make_image_fixtures.py (Debian's PIL). */
#include "model/pl-error.h"
#include "model/pl-image.h"
#include "pl-test-util.h"

#include <json-glib/json-glib.h>
#include <string.h>

static JsonArray *
manifest_images (void)
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
  return json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "images");
}

static char *
entry_path (JsonObject *entry)
{
  const char *file = json_object_get_string_member (entry, "file");

  if (g_strcmp0 (json_object_get_string_member (entry, "where"), "shared") == 0)
    return pl_test_shared_data_path (file);
  return pl_test_fixture_path (file);
}

/* SHA-256 of the pixels in the layout the fixture script hashes: rows packed, 16-bit samples
 * little-endian. */
static char *
pixels_sha256 (const PlImage *image)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_assert_cmpuint (image->stride, ==,
                    (gsize) image->width * image->channels * (image->mode == PL_IMAGE_I16 ? 2 : 1));
  for (int y = 0; y < image->height; y++)
    {
      const uint8_t *row = image->pixels + image->stride * y;

      if (image->mode == PL_IMAGE_I16)
        {
          g_autofree uint8_t *le = g_malloc (image->stride);
          const uint16_t *v = (const uint16_t *) (const void *) row;

          for (int x = 0; x < image->width; x++)
            {
              le[2 * x] = v[x] & 0xff;
              le[2 * x + 1] = v[x] >> 8;
            }
          g_checksum_update (sum, le, image->stride);
        }
      else
        g_checksum_update (sum, row, image->stride);
    }
  return g_strdup (g_checksum_get_string (sum));
}

static void
test_decodes_every_fixture_as_pil (void)
{
  JsonArray *images = manifest_images ();
  guint n = json_array_get_length (images);

  g_assert_cmpuint (n, >=, 30);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *entry = json_array_get_object_element (images, i);
      g_autofree char *path = entry_path (entry);
      g_autoptr(GError) error = NULL;
      g_autoptr(PlImage) image = pl_image_load (path, &error);
      g_autofree char *digest = NULL;

      g_test_message ("%s", json_object_get_string_member (entry, "file"));
      g_assert_no_error (error);
      g_assert_nonnull (image);
      g_assert_cmpstr (pl_image_mode_name (image->mode), ==, json_object_get_string_member (entry, "mode"));
      g_assert_cmpint (image->width, ==, json_object_get_int_member (entry, "width"));
      g_assert_cmpint (image->height, ==, json_object_get_int_member (entry, "height"));
      digest = pixels_sha256 (image);
      g_assert_cmpstr (digest, ==, json_object_get_string_member (entry, "decoded_sha256"));
      if (image->mode == PL_IMAGE_P)
        {
          g_autofree char *palette = g_compute_checksum_for_data (G_CHECKSUM_SHA256, image->palette,
                                                                  sizeof image->palette);

          g_assert_cmpint (image->palette_size, ==, json_object_get_int_member (entry, "palette_size"));
          g_assert_cmpstr (palette, ==, json_object_get_string_member (entry, "palette_sha256"));
          g_assert_cmpint (!!image->palette_has_alpha, ==,
                           json_object_get_boolean_member (entry, "palette_has_alpha"));
        }
    }
}

/* Every truncated copy the fixture script tried on PIL: a JPEG fails exactly when PIL fails. A PNG
 * fails when PIL fails; libpng and PIL agree on the cuts tried (PIL accepts a PNG cut after its
 * last IDAT chunk, and so do we, since nothing after it is read). */
static void
test_truncated_files_fail_when_pil_fails (void)
{
  JsonArray *images = manifest_images ();

  for (guint i = 0; i < json_array_get_length (images); i++)
    {
      JsonObject *entry = json_array_get_object_element (images, i);
      g_autofree char *path = entry_path (entry);
      g_autoptr(GBytes) bytes = pl_test_read_file (path);
      JsonArray *cuts = json_object_get_array_member (entry, "truncated_pil_loads");
      const char *name = json_object_get_string_member (entry, "file");

      for (guint c = 0; c < json_array_get_length (cuts); c++)
        {
          JsonArray *cut = json_array_get_array_element (cuts, c);
          gsize length = json_array_get_int_element (cut, 0);
          gboolean pil_loads = json_array_get_boolean_element (cut, 1);
          g_autoptr(GError) error = NULL;
          g_autoptr(PlImage) image = NULL;
          /* A copy of exactly LENGTH bytes, so that ASan sees any read past it. */
          g_autofree uint8_t *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), length);

          image = pl_image_load_from_memory (copy, length, name, &error);
          g_test_message ("%s cut to %zu bytes: PIL %s, we %s%s%s", name, length,
                          pil_loads ? "loads" : "fails", image ? "load" : "fail: ",
                          error ? error->message : "", "");
          if (pil_loads)
            g_assert_no_error (error);
          else
            {
              g_assert_null (image);
              g_assert_nonnull (error);
              g_assert_true (g_str_has_prefix (error->message, name));
            }
        }
    }
}

/* Every prefix of a few small files, and random byte corruption: errors or images, never a crash
 * or an out-of-bounds read (run under ASan). */
static void
test_survives_every_prefix_and_corruption (void)
{
  const char *files[] = { "images/input/palette2_interlaced.png", "images/input/grey16_interlaced.png",
                          "images/input/baseline_420_odd.jpg", "images/input/grey1.png",
                          "images/input/rgba16.png", NULL };
  GRand *rand = g_rand_new_with_seed (7);

  for (int f = 0; files[f] != NULL; f++)
    {
      g_autofree char *path = pl_test_fixture_path (files[f]);
      g_autoptr(GBytes) bytes = pl_test_read_file (path);
      gsize length;
      const uint8_t *data = g_bytes_get_data (bytes, &length);
      gsize step = MAX (1, length / 400);

      for (gsize n = 0; n < length; n += step)
        {
          g_autofree uint8_t *copy = g_memdup2 (data, n);
          g_autoptr(GError) error = NULL;
          g_autoptr(PlImage) image = pl_image_load_from_memory (n ? copy : (const uint8_t *) "", n, "cut", &error);

          g_assert_true ((image == NULL) != (error == NULL));
        }
      for (int trial = 0; trial < 300; trial++)
        {
          g_autofree uint8_t *copy = g_memdup2 (data, length);
          g_autoptr(GError) error = NULL;
          g_autoptr(PlImage) image = NULL;
          int flips = g_rand_int_range (rand, 1, 6);

          for (int k = 0; k < flips; k++)
            copy[g_rand_int_range (rand, 8, (gint32) length)] ^= (uint8_t) g_rand_int_range (rand, 1, 256);
          image = pl_image_load_from_memory (copy, length, "corrupt", &error);
          g_assert_true ((image == NULL) != (error == NULL));
          if (error != NULL)
            g_assert_true (g_str_has_prefix (error->message, "corrupt: "));
        }
    }
  g_rand_free (rand);
}

static void
assert_load_fails (const char *fixture,
                   PlError     code,
                   const char *fragment)
{
  g_autofree char *path = pl_test_fixture_path (fixture);
  g_autofree char *name = g_filename_display_name (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);

  g_assert_null (image);
  g_assert_error (error, PL_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, name));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_refuses_header_past_pixel_limit (void)
{
  assert_load_fails ("images/hostile/huge_header.png", PL_ERROR_TOO_LARGE,
                     "image is 100000 x 100000 pixels, more than the 89478485-pixel limit");
  assert_load_fails ("images/hostile/huge_header.jpg", PL_ERROR_TOO_LARGE,
                     "image is 65535 x 65535 pixels, more than the 89478485-pixel limit");
}

static void
test_refuses_empty_dimensions (void)
{
  assert_load_fails ("images/hostile/zero_size.png", PL_ERROR_FORMAT, "image is 0 x 0 pixels");
  assert_load_fails ("images/hostile/zero_height.png", PL_ERROR_FORMAT, "image is 50 x 0 pixels");
  assert_load_fails ("images/hostile/zero_size.jpg", PL_ERROR_FORMAT, "image is 0 x 0 pixels");
}

static void
test_reports_crc_and_zlib_errors (void)
{
  assert_load_fails ("images/hostile/crc_error.png", PL_ERROR_FORMAT, "truncated or corrupt PNG: IDAT: CRC error");
  assert_load_fails ("images/hostile/zlib_error.png", PL_ERROR_FORMAT, "truncated or corrupt PNG: ");
}

static void
test_reports_truncation (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GBytes) bytes = pl_test_read_file (path);
  g_autofree char *png_path = pl_test_fixture_path ("images/input/grey8.png");
  g_autoptr(GBytes) png = pl_test_read_file (png_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) png_error = NULL;
  g_autoptr(PlImage) image = NULL;
  g_autoptr(PlImage) png_image = NULL;

  image = pl_image_load_from_memory (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes) / 2,
                                     "retina.jpg", &error);
  g_assert_null (image);
  g_assert_error (error, PL_ERROR, PL_ERROR_TRUNCATED);
  g_assert_true (g_str_has_prefix (error->message, "retina.jpg: truncated JPEG"));

  png_image = pl_image_load_from_memory (g_bytes_get_data (png, NULL), g_bytes_get_size (png) / 2,
                                         "grey8.png", &png_error);
  g_assert_null (png_image);
  g_assert_error (png_error, PL_ERROR, PL_ERROR_TRUNCATED);
  g_assert_true (g_str_has_prefix (png_error->message, "grey8.png: truncated or corrupt PNG: "));
}

static void
test_names_supported_formats_for_other_files (void)
{
  assert_load_fails ("images/hostile/not_an_image.txt", PL_ERROR_UNSUPPORTED,
                     "not a PNG or JPEG image; only PNG and JPEG images are supported");
  assert_load_fails ("images/hostile/tiny.gif", PL_ERROR_UNSUPPORTED,
                     "a GIF image; only PNG and JPEG images are supported");
  assert_load_fails ("images/hostile/empty.png", PL_ERROR_FORMAT, "the file is empty");
}

static void
test_reports_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load ("/nonexistent/scan.png", &error);

  g_assert_null (image);
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/scan.png: "));
}

static void
test_dicom_is_named (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/CT_small.dcm");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);

  g_assert_null (image);
  g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "a DICOM file; only PNG and JPEG images are supported"));
}

static void
test_thin_image_is_valid (void)
{
  g_autofree char *path = pl_test_fixture_path ("images/hostile/thin_1x100000.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = pl_image_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 1);
  g_assert_cmpint (image->height, ==, 100000);
  g_assert_cmpint (image->pixels[0], ==, 0);
  g_assert_cmpint (image->pixels[99999], ==, 255);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/decodes-every-fixture-as-pil-does", test_decodes_every_fixture_as_pil);
  g_test_add_func ("/image/truncated-files-fail-when-pil-fails", test_truncated_files_fail_when_pil_fails);
  g_test_add_func ("/image/survives-every-prefix-and-random-corruption", test_survives_every_prefix_and_corruption);
  g_test_add_func ("/image/refuses-header-past-pixel-limit-before-decoding", test_refuses_header_past_pixel_limit);
  g_test_add_func ("/image/refuses-zero-width-or-height", test_refuses_empty_dimensions);
  g_test_add_func ("/image/reports-crc-and-zlib-errors", test_reports_crc_and_zlib_errors);
  g_test_add_func ("/image/reports-truncation-with-file-name", test_reports_truncation);
  g_test_add_func ("/image/names-supported-formats-for-other-files", test_names_supported_formats_for_other_files);
  g_test_add_func ("/image/reports-missing-file", test_reports_missing_file);
  g_test_add_func ("/image/names-dicom-as-unsupported", test_dicom_is_named);
  g_test_add_func ("/image/thin-1x100000-png-is-valid", test_thin_image_is_valid);
  return g_test_run ();
}
