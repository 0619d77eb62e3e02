/* test-safetensors.c: the safetensors reader, on hand-written fixtures whose expected values
 * come from torch (tests/reference/make_checkpoint_fixtures.py) and on hostile files built here. */
#include "model/pl-error.h"
#include "model/pl-tensor-file.h"
#include "tests/pl-test-tensors.h"
#include "tests/pl-test-util.h"

#include <json-glib/json-glib.h>
#include <string.h>

static void
assert_file_matches_expected (const char *file_name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *expected = pl_test_expected_tensors (parser, file_name);
  g_autofree char *subpath = g_build_filename ("checkpoints", file_name, NULL);
  g_autofree char *path = pl_test_fixture_path (subpath);
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);
  JsonObjectIter iter;
  const char *name;
  JsonNode *facts;

  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpint (pl_tensor_file_get_format (file), ==, PL_TENSOR_FILE_SAFETENSORS);
  g_assert_cmpuint (pl_tensor_file_get_n_tensors (file), ==, json_object_get_size (expected));
  json_object_iter_init_ordered (&iter, expected);
  while (json_object_iter_next_ordered (&iter, &name, &facts))
    {
      const PlTensorInfo *info = pl_tensor_file_lookup (file, name);

      g_test_message ("tensor %s", name);
      g_assert_nonnull (info);
      g_assert_cmpstr (info->name, ==, name);
      pl_test_assert_tensor_matches (info, json_node_get_object (facts));
    }
  pl_tensor_file_free (file);
}

static void
test_reads_every_dtype_as_torch_wrote_it (void)
{
  assert_file_matches_expected ("tensors.safetensors");
}

static void
test_reads_unaligned_data (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/unaligned.safetensors");
  g_autoptr(GError) error = NULL;
  PlTensorFile *file;

  assert_file_matches_expected ("unaligned.safetensors");
  file = pl_tensor_file_open (path, &error);
  g_assert_no_error (error);
  /* The data start is not 4-byte aligned, so the f32 tensor cannot be used in place. */
  g_assert_false (pl_tensor_is_f32_contiguous (pl_tensor_file_lookup (file, "w")));
  pl_tensor_file_free (file);
}

static void
test_reads_metadata_as_strings (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/tensors.safetensors");
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);
  GHashTable *metadata;

  g_assert_no_error (error);
  metadata = pl_tensor_file_get_metadata (file);
  g_assert_nonnull (metadata);
  g_assert_cmpuint (g_hash_table_size (metadata), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (metadata, "format"), ==, "pt");
  g_assert_cmpstr (g_hash_table_lookup (metadata, "phenolip.note"), ==, "hand-written fixture");
  /* __metadata__ is not a tensor. */
  g_assert_null (pl_tensor_file_lookup (file, "__metadata__"));
  pl_tensor_file_free (file);
}

static void
test_strips_module_prefix (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/tensors.safetensors");
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pl_tensor_file_lookup (file, "embed.weight"));
  g_assert_null (pl_tensor_file_lookup (file, "module.embed.weight"));
  pl_tensor_file_free (file);
}

static void
test_reports_size_and_path (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/tensors.safetensors");
  g_autoptr(GBytes) bytes = pl_test_read_file (path);
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (pl_tensor_file_get_path (file), ==, path);
  g_assert_cmpuint (pl_tensor_file_get_size (file), ==, g_bytes_get_size (bytes));
  pl_tensor_file_free (file);
}

/* ---- hostile files built here ---- */

/* A safetensors file: HEADER as its JSON text, then DATA_SIZE bytes of data (0x3f each). */
static char *
write_safetensors (const char *name,
                   const char *header,
                   gsize       data_size)
{
  gsize header_size = strlen (header);
  g_autofree uint8_t *bytes = g_malloc (8 + header_size + data_size);
  guint64 le = GUINT64_TO_LE ((guint64) header_size);

  memcpy (bytes, &le, 8);
  memcpy (bytes + 8, header, header_size);
  memset (bytes + 8 + header_size, 0x3f, data_size);
  return pl_test_write_file (name, bytes, 8 + header_size + data_size);
}

static void
assert_refused (const char *header,
                gsize       data_size,
                int         code,
                const char *fragment)
{
  g_autofree char *path = write_safetensors ("hostile.safetensors", header, data_size);
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);

  g_assert_null (file);
  g_assert_error (error, PL_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  if (fragment != NULL)
    g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_accepts_a_minimal_hand_built_file (void)
{
  g_autofree char *path = write_safetensors ("ok.safetensors",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}", 11);
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);
  float values[2];

  g_assert_no_error (error);
  g_assert_cmpuint (pl_tensor_file_get_n_tensors (file), ==, 2);
  g_assert_cmpstr (pl_tensor_file_get_tensor (file, 0)->name, ==, "a");
  g_assert_cmpstr (pl_tensor_file_get_tensor (file, 1)->name, ==, "b");
  g_assert_true (pl_tensor_to_f32 (pl_tensor_file_lookup (file, "a"), values, &error));
  /* 0x3f3f3f3f as a float. */
  g_assert_cmpfloat (values[0], ==, 0.7470588088035583f);
  g_assert_null (pl_tensor_file_get_metadata (file));
  pl_tensor_file_free (file);
}

static void
test_rejects_every_truncation (void)
{
  g_autofree char *fixture = pl_test_fixture_path ("checkpoints/tensors.safetensors");
  g_autoptr(GBytes) bytes = pl_test_read_file (fixture);
  gsize size;
  const uint8_t *data = g_bytes_get_data (bytes, &size);

  for (gsize length = 0; length < size; length++)
    {
      g_autofree char *path = pl_test_write_file ("truncated.safetensors", data, length);
      g_autoptr(GError) error = NULL;
      PlTensorFile *file = pl_tensor_file_open (path, &error);

      if (file != NULL)
        g_error ("a %" G_GSIZE_FORMAT "-byte prefix of a %" G_GSIZE_FORMAT "-byte file was accepted",
                 length, size);
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, path));
    }
}

static void
test_survives_every_flipped_byte (void)
{
  g_autofree char *fixture = pl_test_fixture_path ("checkpoints/tensors.safetensors");
  g_autoptr(GBytes) bytes = pl_test_read_file (fixture);
  gsize size;
  const uint8_t *data = g_bytes_get_data (bytes, &size);
  g_autofree uint8_t *copy = g_memdup2 (data, size);

  for (gsize i = 0; i < size; i++)
    for (int variant = 0; variant < 2; variant++)
      {
        g_autofree char *path = NULL;
        g_autoptr(GError) error = NULL;
        PlTensorFile *file;

        copy[i] = variant == 0 ? data[i] ^ 0xff : (uint8_t) (data[i] + 1);
        path = pl_test_write_file ("mutated.safetensors", copy, size);
        file = pl_tensor_file_open (path, &error);
        g_assert_true ((file == NULL) == (error != NULL));
        for (guint t = 0; file != NULL && t < pl_tensor_file_get_n_tensors (file); t++)
          {
            const PlTensorInfo *info = pl_tensor_file_get_tensor (file, t);
            g_autofree float *out = g_new (float, MAX (info->n_elements, 1));

            /* Whatever was accepted must be readable in full. */
            if (info->n_elements < 1000000)
              pl_tensor_to_f32 (info, out, NULL);
          }
        pl_tensor_file_free (file);
        copy[i] = data[i];
      }
}

static void
test_rejects_header_past_end_of_file (void)
{
  guint64 le = GUINT64_TO_LE (4096);
  uint8_t bytes[8 + 20];
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  memcpy (bytes, &le, 8);
  memcpy (bytes + 8, "{\"a\":{\"dtype\":\"F32\",", 20);
  path = pl_test_write_file ("short-header.safetensors", bytes, sizeof bytes);
  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TRUNCATED);
  g_assert_true (g_str_has_prefix (error->message, path));
}

static void
test_rejects_header_above_100_mb (void)
{
  guint64 le = GUINT64_TO_LE ((guint64) 200 * 1000 * 1000);
  uint8_t bytes[16];
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  memcpy (bytes, &le, 8);
  memcpy (bytes + 8, "{\"a\":{}}", 8);
  path = pl_test_write_file ("huge-header.safetensors", bytes, sizeof bytes);
  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TOO_LARGE);
}

static void
test_rejects_offsets_past_the_data (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7,
                  PL_ERROR_FORMAT, "outside");
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775800,9223372036854775807]}}",
                  8, PL_ERROR_FORMAT, NULL);
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
                  PL_ERROR_FORMAT, NULL);
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
                  PL_ERROR_FORMAT, NULL);
}

static void
test_rejects_overlapping_offsets (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  PL_ERROR_FORMAT, "overlap");
  assert_refused ("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12,
                  PL_ERROR_FORMAT, "overlap");
}

static void
test_rejects_byte_count_not_matching_shape (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                  PL_ERROR_FORMAT, "needs 6");
}

static void
test_rejects_unknown_dtype (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                  PL_ERROR_FORMAT, "F17");
  assert_refused ("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
                  PL_ERROR_UNSUPPORTED, "F8_E4M3");
  assert_refused ("{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                  PL_ERROR_FORMAT, "dtype");
}

static void
test_rejects_overflowing_and_negative_shapes (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
                  0, PL_ERROR_FORMAT, "overflows");
  /* Fits in int64 elements, not in int64 bytes. */
  assert_refused ("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}",
                  0, PL_ERROR_FORMAT, "overflows");
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296,4294967296],\"data_offsets\":[0,0]}}",
                  0, PL_ERROR_FORMAT, NULL);
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                  PL_ERROR_FORMAT, "non-negative");
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                  PL_ERROR_FORMAT, NULL);
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                  PL_ERROR_UNSUPPORTED, "dimensions");
}

static void
test_rejects_non_object_json (void)
{
  assert_refused ("{[1,2]", 0, PL_ERROR_FORMAT, "JSON");
  assert_refused ("{\"a\": 1", 0, PL_ERROR_FORMAT, "JSON");
  assert_refused ("{\"a\":[1,2]}", 0, PL_ERROR_FORMAT, "not a JSON object");
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, PL_ERROR_FORMAT, "data_offsets");
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
                  PL_ERROR_FORMAT, "data_offsets");
  assert_refused ("{\"\xff\xfe\":{}}", 0, PL_ERROR_FORMAT, NULL);
}

static void
test_rejects_duplicate_names (void)
{
  assert_refused ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  PL_ERROR_FORMAT, "twice");
  /* The same name once "module."-stripped. */
  assert_refused ("{\"module.a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  PL_ERROR_FORMAT, "twice");
}

static void
test_rejects_bad_metadata (void)
{
  assert_refused ("{\"__metadata__\":{\"epoch\":3}}", 0, PL_ERROR_FORMAT, "__metadata__");
  assert_refused ("{\"__metadata__\":[\"x\"]}", 0, PL_ERROR_FORMAT, "__metadata__");
}

static void
test_rejects_deep_json_nesting (void)
{
  GString *header = g_string_new ("{\"a\":");

  for (int i = 0; i < 100000; i++)
    g_string_append_c (header, '[');
  for (int i = 0; i < 100000; i++)
    g_string_append_c (header, ']');
  g_string_append_c (header, '}');
  assert_refused (header->str, 0, PL_ERROR_FORMAT, "nests");
  g_string_free (header, TRUE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/safetensors/reads-every-dtype-as-torch-wrote-it", test_reads_every_dtype_as_torch_wrote_it);
  g_test_add_func ("/safetensors/reads-unaligned-data", test_reads_unaligned_data);
  g_test_add_func ("/safetensors/reads-metadata-as-strings", test_reads_metadata_as_strings);
  g_test_add_func ("/safetensors/strips-module-prefix", test_strips_module_prefix);
  g_test_add_func ("/safetensors/reports-size-and-path", test_reports_size_and_path);
  g_test_add_func ("/safetensors/accepts-a-minimal-hand-built-file", test_accepts_a_minimal_hand_built_file);
  g_test_add_func ("/safetensors/rejects-every-truncation", test_rejects_every_truncation);
  g_test_add_func ("/safetensors/survives-every-flipped-byte", test_survives_every_flipped_byte);
  g_test_add_func ("/safetensors/rejects-header-past-end-of-file", test_rejects_header_past_end_of_file);
  g_test_add_func ("/safetensors/rejects-header-above-100-mb", test_rejects_header_above_100_mb);
  g_test_add_func ("/safetensors/rejects-offsets-past-the-data", test_rejects_offsets_past_the_data);
  g_test_add_func ("/safetensors/rejects-overlapping-offsets", test_rejects_overlapping_offsets);
  g_test_add_func ("/safetensors/rejects-byte-count-not-matching-shape", test_rejects_byte_count_not_matching_shape);
  g_test_add_func ("/safetensors/rejects-unknown-dtype", test_rejects_unknown_dtype);
  g_test_add_func ("/safetensors/rejects-overflowing-and-negative-shapes", test_rejects_overflowing_and_negative_shapes);
  g_test_add_func ("/safetensors/rejects-non-object-json", test_rejects_non_object_json);
  g_test_add_func ("/safetensors/rejects-duplicate-names", test_rejects_duplicate_names);
  g_test_add_func ("/safetensors/rejects-bad-metadata", test_rejects_bad_metadata);
  g_test_add_func ("/safetensors/rejects-deep-json-nesting", test_rejects_deep_json_nesting);

  return g_test_run ();
}
