/* pl-test-tensors.c: comparing tensors read by the checkpoint readers with what torch recorded
 * (tests/fixtures/checkpoints/expected.json, made by tests/reference/make_checkpoint_fixtures.py). */
#include "tests/pl-test-tensors.h"

#include <string.h>

#include "tests/pl-test-util.h"

JsonObject *
pl_test_expected_tensors (JsonParser *parser,
              const char *file_name)
{
  return json_object_get_object_member (pl_test_load_fixture_object (parser, "checkpoints/expected.json"),
                                        file_name);
}

/* Reads element FLAT (row-major) of an integer tensor through its strides. */
static int64_t
integer_at (const PlTensorInfo *info,
            int64_t             flat)
{
  int64_t offset = 0;
  const uint8_t *p;

  for (int d = info->n_dims - 1; d >= 0; d--)
    {
      offset += (flat % info->shape[d]) * info->strides[d];
      flat /= info->shape[d];
    }
  p = info->data + offset * (int64_t) pl_dtype_size (info->dtype);
  switch (info->dtype)
    {
    case PL_DTYPE_I64: { int64_t v; memcpy (&v, p, 8); return v; }
    case PL_DTYPE_I32: { int32_t v; memcpy (&v, p, 4); return v; }
    case PL_DTYPE_I16: { int16_t v; memcpy (&v, p, 2); return v; }
    case PL_DTYPE_I8: return (int8_t) p[0];
    case PL_DTYPE_U8: return p[0];
    case PL_DTYPE_BOOL: return p[0];
    case PL_DTYPE_F32:
    case PL_DTYPE_F16:
    case PL_DTYPE_BF16:
    case PL_DTYPE_F64:
    default:
      g_assert_not_reached ();
    }
}

void
pl_test_assert_tensor_matches (const PlTensorInfo *info,
                       JsonObject         *facts)
{
  JsonArray *shape = json_object_get_array_member (facts, "shape");
  JsonArray *strides = json_object_get_array_member (facts, "strides");
  JsonArray *values = json_object_get_array_member (facts, "values");

  g_assert_cmpstr (pl_dtype_name (info->dtype), ==, json_object_get_string_member (facts, "dtype"));
  g_assert_cmpint (info->n_dims, ==, json_array_get_length (shape));
  for (int d = 0; d < info->n_dims; d++)
    {
      g_assert_cmpint (info->shape[d], ==, json_array_get_int_element (shape, d));
      g_assert_cmpint (info->strides[d], ==, json_array_get_int_element (strides, d));
    }
  g_assert_cmpint (info->n_elements, ==, json_array_get_length (values));
  if (info->n_elements > 0)
    g_assert_nonnull (info->data);

  if (info->dtype == PL_DTYPE_F32 || info->dtype == PL_DTYPE_F16 ||
      info->dtype == PL_DTYPE_BF16 || info->dtype == PL_DTYPE_F64)
    {
      g_autofree float *out = g_new0 (float, MAX (info->n_elements, 1));
      g_autoptr(GError) error = NULL;

      g_assert_true (pl_tensor_to_f32 (info, out, &error));
      g_assert_no_error (error);
      for (int64_t i = 0; i < info->n_elements; i++)
        g_assert_cmpfloat (out[i], ==, (float) json_array_get_double_element (values, i));
    }
  else
    for (int64_t i = 0; i < info->n_elements; i++)
      g_assert_cmpint (integer_at (info, i), ==, json_array_get_int_element (values, i));
}

