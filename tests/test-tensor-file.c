/* test-tensor-file.c: what both checkpoint formats share: format detection and its errors, the
 * tensor table, dtype helpers, half-precision conversion and the strided gather to f32. */
#include "model/pl-error.h"
#include "model/pl-tensor-file.h"
#include "tests/pl-test-util.h"

#include <math.h>
#include <string.h>

/* ---- dtypes and conversions ---- */

static void
test_dtype_sizes_and_names (void)
{
  static const struct {
    PlDType     dtype;
    gsize       size;
    const char *name;
  } cases[] = {
    { PL_DTYPE_F32, 4, "F32" }, { PL_DTYPE_F16, 2, "F16" }, { PL_DTYPE_BF16, 2, "BF16" },
    { PL_DTYPE_F64, 8, "F64" }, { PL_DTYPE_I64, 8, "I64" }, { PL_DTYPE_I32, 4, "I32" },
    { PL_DTYPE_I16, 2, "I16" }, { PL_DTYPE_I8, 1, "I8" }, { PL_DTYPE_U8, 1, "U8" },
    { PL_DTYPE_BOOL, 1, "BOOL" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpuint (pl_dtype_size (cases[i].dtype), ==, cases[i].size);
      g_assert_cmpstr (pl_dtype_name (cases[i].dtype), ==, cases[i].name);
    }
}

static void
test_f16_known_values (void)
{
  g_assert_cmpfloat (pl_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (pl_f16_to_f32 (0xc000), ==, -2.0f);
  g_assert_cmpfloat (pl_f16_to_f32 (0x3555), ==, 0.333251953125f);
  g_assert_cmpfloat (pl_f16_to_f32 (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (pl_f16_to_f32 (0x0400), ==, 0x1p-14f);     /* smallest normal */
  g_assert_cmpfloat (pl_f16_to_f32 (0x0001), ==, 0x1p-24f);     /* smallest subnormal */
  g_assert_cmpfloat (pl_f16_to_f32 (0x03ff), ==, 1023 * 0x1p-24f);
  g_assert_cmpfloat (pl_f16_to_f32 (0x7c00), ==, INFINITY);
  g_assert_cmpfloat (pl_f16_to_f32 (0xfc00), ==, -INFINITY);
  g_assert_true (isnan (pl_f16_to_f32 (0x7e00)));
  g_assert_true (isnan (pl_f16_to_f32 (0xfc01)));
  g_assert_cmpfloat (pl_f16_to_f32 (0x0000), ==, 0.0f);
  g_assert_true (signbit (pl_f16_to_f32 (0x8000)));
}

/* Every half against the definition: (-1)^s * 2^(e - 15) * (1 + m / 1024), subnormals
 * 2^-14 * m / 1024. */
static void
test_f16_every_value_matches_definition (void)
{
  for (guint h = 0; h < 0x10000; h++)
    {
      guint sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
      float got = pl_f16_to_f32 ((uint16_t) h);
      double want;

      if (exponent == 0x1f)
        {
          if (mantissa == 0)
            g_assert_cmpfloat (got, ==, sign ? -INFINITY : INFINITY);
          else
            g_assert_true (isnan (got));
          continue;
        }
      if (exponent == 0)
        want = ldexp ((double) mantissa / 1024.0, -14);
      else
        want = ldexp (1.0 + (double) mantissa / 1024.0, (int) exponent - 15);
      if (sign)
        want = -want;
      g_assert_cmpfloat (got, ==, (float) want);
      g_assert_cmpint (signbit (got) != 0, ==, sign);
    }
}

static void
test_bf16_known_values (void)
{
  g_assert_cmpfloat (pl_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpfloat (pl_bf16_to_f32 (0xc000), ==, -2.0f);
  g_assert_cmpfloat (pl_bf16_to_f32 (0x4049), ==, 3.140625f);
  g_assert_cmpfloat (pl_bf16_to_f32 (0x7f7f), ==, 0x1.fep127f);
  g_assert_cmpfloat (pl_bf16_to_f32 (0x0001), ==, 0x1p-133f);
  g_assert_cmpfloat (pl_bf16_to_f32 (0x7f80), ==, INFINITY);
  g_assert_true (isnan (pl_bf16_to_f32 (0x7fc0)));
}

/* A hand-built tensor over a caller's buffer. */
static PlTensorInfo
make_info (const char    *name,
           PlDType        dtype,
           int            n_dims,
           const int64_t *shape,
           const int64_t *strides,
           const void    *data)
{
  PlTensorInfo info = { 0 };

  info.name = (char *) name;
  info.dtype = dtype;
  info.n_dims = n_dims;
  info.n_elements = 1;
  for (int i = 0; i < n_dims; i++)
    {
      info.shape[i] = shape[i];
      info.strides[i] = strides[i];
      info.n_elements *= shape[i];
    }
  info.data = data;
  return info;
}

static void
test_f32_contiguity (void)
{
  static float storage[13];
  int64_t shape[3] = { 2, 1, 3 };
  int64_t row_major[3] = { 3, 3, 1 };
  int64_t any_stride_for_size_one[3] = { 3, 99, 1 };
  int64_t matrix[2] = { 2, 3 }, transposed[2] = { 1, 2 };
  PlTensorInfo info;

  info = make_info ("w", PL_DTYPE_F32, 3, shape, row_major, storage);
  g_assert_true (pl_tensor_is_f32_contiguous (&info));
  info = make_info ("w", PL_DTYPE_F32, 3, shape, any_stride_for_size_one, storage);
  g_assert_true (pl_tensor_is_f32_contiguous (&info));
  info = make_info ("w", PL_DTYPE_F32, 2, matrix, transposed, storage);
  g_assert_false (pl_tensor_is_f32_contiguous (&info));
  info = make_info ("w", PL_DTYPE_F32, 3, shape, row_major, (const uint8_t *) storage + 2);
  g_assert_false (pl_tensor_is_f32_contiguous (&info));
  info = make_info ("w", PL_DTYPE_F16, 3, shape, row_major, storage);
  g_assert_false (pl_tensor_is_f32_contiguous (&info));
  info = make_info ("scalar", PL_DTYPE_F32, 0, NULL, NULL, storage);
  g_assert_true (pl_tensor_is_f32_contiguous (&info));
}

static void
test_to_f32_gathers_through_strides (void)
{
  /* A [3, 4] matrix 0..11 stored row-major; its transpose [4, 3] has strides (1, 4). */
  float matrix[12];
  int64_t shape[2] = { 4, 3 }, strides[2] = { 1, 4 };
  float out[12];
  PlTensorInfo info;

  for (int i = 0; i < 12; i++)
    matrix[i] = (float) i;
  info = make_info ("w", PL_DTYPE_F32, 2, shape, strides, matrix);
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat (out[r * 3 + c], ==, matrix[c * 4 + r]);
}

static void
test_to_f32_converts_half_bf16_and_double_views (void)
{
  /* f16 1, 2, 3, 4, 5, 6 viewed from element 1 with step 2: 2, 4, 6. */
  const uint16_t halves[6] = { 0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600 };
  const uint16_t bf16[3] = { 0x3f80, 0xc000, 0x4049 };
  const double doubles[2] = { 0.1, -1e300 };
  int64_t three[1] = { 3 }, step[1] = { 2 }, one[1] = { 1 }, two[1] = { 2 };
  float out[3];
  PlTensorInfo info;

  info = make_info ("h", PL_DTYPE_F16, 1, three, step, halves + 1);
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  g_assert_cmpfloat (out[0], ==, 2.0f);
  g_assert_cmpfloat (out[1], ==, 4.0f);
  g_assert_cmpfloat (out[2], ==, 6.0f);

  info = make_info ("b", PL_DTYPE_BF16, 1, three, one, bf16);
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  g_assert_cmpfloat (out[2], ==, 3.140625f);

  info = make_info ("d", PL_DTYPE_F64, 1, two, one, doubles);
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  g_assert_cmpfloat (out[0], ==, 0.1f);
  g_assert_cmpfloat (out[1], ==, -INFINITY);
}

static void
test_to_f32_broadcasts_zero_strides_and_scalars (void)
{
  const float value = 7.5f;
  int64_t shape[2] = { 2, 3 }, zero[2] = { 0, 0 };
  float out[6];
  PlTensorInfo info;

  info = make_info ("expanded", PL_DTYPE_F32, 2, shape, zero, &value);
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (out[i], ==, 7.5f);

  info = make_info ("scalar", PL_DTYPE_F32, 0, NULL, NULL, &value);
  out[0] = 0;
  g_assert_true (pl_tensor_to_f32 (&info, out, NULL));
  g_assert_cmpfloat (out[0], ==, 7.5f);
}

static void
test_to_f32_accepts_empty_tensors (void)
{
  int64_t shape[2] = { 0, 3 }, strides[2] = { 3, 1 };
  PlTensorInfo info = make_info ("empty", PL_DTYPE_F32, 2, shape, strides, NULL);

  g_assert_true (pl_tensor_to_f32 (&info, NULL, NULL));
}

static void
test_to_f32_refuses_integers_naming_the_tensor (void)
{
  const int64_t ids[2] = { 0, 1 };
  int64_t shape[1] = { 2 }, strides[1] = { 1 };
  PlTensorInfo info = make_info ("text.position_ids", PL_DTYPE_I64, 1, shape, strides, ids);
  float out[2];
  g_autoptr(GError) error = NULL;

  g_assert_false (pl_tensor_to_f32 (&info, out, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "text.position_ids"));
}

/* ---- opening files ---- */

static void
assert_open_fails (const char *path,
                   int         code,
                   const char *fragment)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_error (error, PL_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_missing_file_is_an_io_error (void)
{
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), "no-such-checkpoint.pt", NULL);

  assert_open_fails (path, PL_ERROR_IO, "No such file");
  assert_open_fails (pl_test_tmpdir (), PL_ERROR_IO, "directory");
}

static void
test_rejects_files_that_are_neither_format (void)
{
  static const struct {
    const char *name;
    const char *bytes;
    gsize       length;
    const char *fragment;
  } cases[] = {
    { "empty.pt", "", 0, "empty" },
    { "short.pt", "PK", 2, "(" },
    { "text.bin", "<!DOCTYPE html><html>", 21, "3c 21 44 4f" },
    { "gzip.pt.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, "gzip" },
    { "bare.pkl", "\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}.", 13, "pickle" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = pl_test_write_file (cases[i].name, cases[i].bytes, cases[i].length);
      g_autofree char *prefix = g_strconcat (path, ": not a safetensors or PyTorch checkpoint (", NULL);
      g_autoptr(GError) error = NULL;

      g_assert_null (pl_tensor_file_open (path, &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, prefix));
      g_assert_nonnull (strstr (error->message, cases[i].fragment));
    }
}

static void
test_zip_that_is_broken_is_refused (void)
{
  static const char bytes[] = "PK\x03\x04 this is not really a zip archive";
  g_autofree char *path = pl_test_write_file ("broken.zip", bytes, sizeof bytes - 1);

  assert_open_fails (path, PL_ERROR_TRUNCATED, "zip");
}

static void
test_legacy_torch_file_says_how_to_resave (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/legacy.pt");

  assert_open_fails (path, PL_ERROR_UNSUPPORTED, "torch.save(torch.load(");
}

static void
test_detects_each_format (void)
{
  static const struct {
    const char         *name;
    PlTensorFileFormat  format;
  } cases[] = {
    { "checkpoints/tensors.safetensors", PL_TENSOR_FILE_SAFETENSORS },
    { "checkpoints/tensors.pt", PL_TENSOR_FILE_TORCH_ZIP },
    { "checkpoints/open_clip_pytorch_model.bin", PL_TENSOR_FILE_TORCH_ZIP },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = pl_test_fixture_path (cases[i].name);
      g_autoptr(GError) error = NULL;
      PlTensorFile *file = pl_tensor_file_open (path, &error);

      g_assert_no_error (error);
      g_assert_cmpint (pl_tensor_file_get_format (file), ==, cases[i].format);
      pl_tensor_file_free (file);
    }
}

static void
test_table_keeps_file_order_and_looks_names_up (void)
{
  g_autofree char *path = pl_test_fixture_path ("checkpoints/tensors.pt");
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);

  g_assert_no_error (error);
  /* The order torch.save wrote the state dict in (make_checkpoint_fixtures.py). */
  g_assert_cmpstr (pl_tensor_file_get_tensor (file, 0)->name, ==, "weight_f32");
  g_assert_cmpstr (pl_tensor_file_get_tensor (file, 1)->name, ==, "weight_f16");
  for (guint i = 0; i < pl_tensor_file_get_n_tensors (file); i++)
    {
      const PlTensorInfo *info = pl_tensor_file_get_tensor (file, i);

      g_assert_true (pl_tensor_file_lookup (file, info->name) == info);
    }
  g_assert_null (pl_tensor_file_lookup (file, "no.such.tensor"));
  g_assert_null (pl_tensor_file_lookup (file, ""));
  pl_tensor_file_free (file);
  pl_tensor_file_free (NULL);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tensor-file/dtype-sizes-and-names", test_dtype_sizes_and_names);
  g_test_add_func ("/tensor-file/f16-known-values", test_f16_known_values);
  g_test_add_func ("/tensor-file/f16-every-value-matches-definition", test_f16_every_value_matches_definition);
  g_test_add_func ("/tensor-file/bf16-known-values", test_bf16_known_values);
  g_test_add_func ("/tensor-file/f32-contiguity", test_f32_contiguity);
  g_test_add_func ("/tensor-file/to-f32-gathers-through-strides", test_to_f32_gathers_through_strides);
  g_test_add_func ("/tensor-file/to-f32-converts-half-bf16-and-double-views", test_to_f32_converts_half_bf16_and_double_views);
  g_test_add_func ("/tensor-file/to-f32-broadcasts-zero-strides-and-scalars", test_to_f32_broadcasts_zero_strides_and_scalars);
  g_test_add_func ("/tensor-file/to-f32-accepts-empty-tensors", test_to_f32_accepts_empty_tensors);
  g_test_add_func ("/tensor-file/to-f32-refuses-integers-naming-the-tensor", test_to_f32_refuses_integers_naming_the_tensor);
  g_test_add_func ("/tensor-file/missing-file-is-an-io-error", test_missing_file_is_an_io_error);
  g_test_add_func ("/tensor-file/rejects-files-that-are-neither-format", test_rejects_files_that_are_neither_format);
  g_test_add_func ("/tensor-file/zip-that-is-broken-is-refused", test_zip_that_is_broken_is_refused);
  g_test_add_func ("/tensor-file/legacy-torch-file-says-how-to-resave", test_legacy_torch_file_says_how_to_resave);
  g_test_add_func ("/tensor-file/detects-each-format", test_detects_each_format);
  g_test_add_func ("/tensor-file/table-keeps-file-order-and-looks-names-up", test_table_keeps_file_order_and_looks_names_up);

  return g_test_run ();
}
