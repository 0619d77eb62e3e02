/* pl-tensor-file.c: the table of named tensors shared by both checkpoint formats, format
 * detection, and the dtype conversions the model uses to read weights. */
#include "pl-tensor-file-private.h"
#include "pl-error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define MODULE_PREFIX "module."

static const struct {
  const char *name;
  gsize       size;
} dtype_table[] = {
  [PL_DTYPE_F32]  = { "F32", 4 },
  [PL_DTYPE_F16]  = { "F16", 2 },
  [PL_DTYPE_BF16] = { "BF16", 2 },
  [PL_DTYPE_F64]  = { "F64", 8 },
  [PL_DTYPE_I64]  = { "I64", 8 },
  [PL_DTYPE_I32]  = { "I32", 4 },
  [PL_DTYPE_I16]  = { "I16", 2 },
  [PL_DTYPE_I8]   = { "I8", 1 },
  [PL_DTYPE_U8]   = { "U8", 1 },
  [PL_DTYPE_BOOL] = { "BOOL", 1 },
};

gsize
pl_dtype_size (PlDType dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), 0);
  return dtype_table[dtype].size;
}

const char *
pl_dtype_name (PlDType dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_table), "unknown");
  return dtype_table[dtype].name;
}

float
pl_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  float result;

  if (exponent == 0x1f)
    bits = sign | 0x7f800000 | (mantissa << 13);   /* inf, or NaN keeping its payload */
  else if (exponent != 0)
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  else if (mantissa == 0)
    bits = sign;
  else
    {
      /* A subnormal half is mantissa * 2^-24, exactly representable as a normal float. */
      result = (float) mantissa * 0x1p-24f;
      return sign ? -result : result;
    }
  memcpy (&result, &bits, sizeof result);
  return result;
}

float
pl_bf16_to_f32 (uint16_t b)
{
  uint32_t bits = (uint32_t) b << 16;
  float result;

  memcpy (&result, &bits, sizeof result);
  return result;
}

gboolean
pl_shape_n_elements (int            n_dims,
                     const int64_t *shape,
                     int64_t       *n_elements)
{
  int64_t n = 1;
  gboolean empty = FALSE;

  /* Zero-sized dimensions are left out of the product so that the contiguous strides of an
   * empty tensor, which multiply the other dimensions, cannot overflow either. */
  for (int i = 0; i < n_dims; i++)
    {
      if (shape[i] < 0)
        return FALSE;
      if (shape[i] == 0)
        {
          empty = TRUE;
          continue;
        }
      if (n > INT64_MAX / shape[i])
        return FALSE;
      n *= shape[i];
    }
  *n_elements = empty ? 0 : n;
  return TRUE;
}

static void
tensor_info_clear (gpointer data)
{
  PlTensorInfo *info = data;

  g_clear_pointer (&info->name, g_free);
}

gboolean
pl_tensor_file_add_tensor (PlTensorFile   *file,
                           const char     *name,
                           PlDType         dtype,
                           int             n_dims,
                           const int64_t  *shape,
                           const int64_t  *strides,
                           const uint8_t  *data,
                           GError        **error)
{
  PlTensorInfo info = { 0 };

  g_return_val_if_fail (n_dims >= 0 && n_dims <= PL_TENSOR_MAX_DIMS, FALSE);

  if (g_str_has_prefix (name, MODULE_PREFIX))
    name += strlen (MODULE_PREFIX);
  if (g_hash_table_contains (file->by_name, name))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the tensor name “%s” appears twice", file->path, name);
      return FALSE;
    }
  if (!pl_shape_n_elements (n_dims, shape, &info.n_elements))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has an invalid shape", file->path, name);
      return FALSE;
    }
  info.name = g_strdup (name);
  info.dtype = dtype;
  info.n_dims = n_dims;
  for (int i = 0; i < n_dims; i++)
    {
      info.shape[i] = shape[i];
      info.strides[i] = strides[i];
    }
  info.data = data;
  g_array_append_val (file->tensors, info);
  g_hash_table_insert (file->by_name, info.name, GUINT_TO_POINTER (file->tensors->len));
  return TRUE;
}

static char *
describe_start (const uint8_t *bytes,
                gsize          size)
{
  GString *text;

  if (size == 0)
    return g_strdup ("the file is empty");
  if (size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    return g_strdup ("it is gzip-compressed; decompress it first");
  if (bytes[0] == 0x80 && size >= 2 && bytes[1] >= 2 && bytes[1] <= 5)
    return g_strdup ("it is a bare Python pickle, not a file written by torch.save");
  if (size >= 4 && memcmp (bytes, "PK", 2) == 0)
    return g_strdup ("it is a zip archive of an unknown kind");
  text = g_string_new ("it starts with bytes");
  for (gsize i = 0; i < MIN (size, 8); i++)
    g_string_append_printf (text, " %02x", bytes[i]);
  return g_string_free (text, FALSE);
}

static gboolean
is_legacy_torch (const uint8_t *bytes,
                 gsize          size)
{
  /* PROTO 2, then LONG1 with 10 bytes: the magic number torch.save wrote before the zip format. */
  static const uint8_t magic[] = { 0x80, 0x02, 0x8a, 0x0a };

  return size >= sizeof magic && memcmp (bytes, magic, sizeof magic) == 0;
}

static gboolean
is_safetensors (const uint8_t *bytes,
                gsize          size)
{
  /* An 8-byte little-endian header length, then a JSON object. */
  return size >= 9 && bytes[8] == '{';
}

static gboolean
is_zip (const uint8_t *bytes,
        gsize          size)
{
  return size >= 4 && bytes[0] == 'P' && bytes[1] == 'K' &&
         ((bytes[2] == 3 && bytes[3] == 4) || (bytes[2] == 5 && bytes[3] == 6));
}

static gboolean
map_file (PlTensorFile  *file,
          GError       **error)
{
  struct stat st;
  int fd;
  g_autoptr(GError) local_error = NULL;

  fd = g_open (file->path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot open: %s",
                   file->path, g_strerror (saved_errno));
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot read: %s",
                   file->path, g_strerror (saved_errno));
      close (fd);
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO,
                   "%s: is a directory, not a checkpoint file", file->path);
      close (fd);
      return FALSE;
    }
  if (st.st_size > 0)
    {
      file->mapping = g_mapped_file_new_from_fd (fd, FALSE, &local_error);
      if (file->mapping == NULL)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot map the file: %s",
                       file->path, local_error->message);
          close (fd);
          return FALSE;
        }
      file->bytes = (const uint8_t *) g_mapped_file_get_contents (file->mapping);
      file->size = g_mapped_file_get_length (file->mapping);
      if (file->size == 0)
        file->bytes = NULL;
    }
  close (fd);
  return TRUE;
}

PlTensorFile *
pl_tensor_file_open (const char  *path,
                     GError     **error)
{
  PlTensorFile *file;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  file = g_new0 (PlTensorFile, 1);
  file->path = g_strdup (path);
  file->tensors = g_array_new (FALSE, TRUE, sizeof (PlTensorInfo));
  g_array_set_clear_func (file->tensors, tensor_info_clear);
  file->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  file->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
               "%s: checkpoints are little-endian and this machine is not", path);
  pl_tensor_file_free (file);
  return NULL;
#endif

  if (!map_file (file, error))
    {
      pl_tensor_file_free (file);
      return NULL;
    }

  if (is_legacy_torch (file->bytes, file->size))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: this PyTorch checkpoint is in the legacy format of torch older than 1.6, "
                   "which is not read; re-save it in the zip format with torch 1.6 or newer: "
                   "torch.save(torch.load(\"old.pt\"), \"new.pt\")", path);
      ok = FALSE;
    }
  else if (is_zip (file->bytes, file->size))
    {
      file->format = PL_TENSOR_FILE_TORCH_ZIP;
      ok = pl_torch_zip_read (file, error);
    }
  else if (is_safetensors (file->bytes, file->size))
    {
      file->format = PL_TENSOR_FILE_SAFETENSORS;
      ok = pl_safetensors_read (file, error);
    }
  else
    {
      g_autofree char *what = describe_start (file->bytes, file->size);

      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: not a safetensors or PyTorch checkpoint (%s)", path, what);
      ok = FALSE;
    }

  if (!ok)
    {
      pl_tensor_file_free (file);
      return NULL;
    }
  return file;
}

void
pl_tensor_file_free (PlTensorFile *file)
{
  if (file == NULL)
    return;
  g_clear_pointer (&file->by_name, g_hash_table_unref);
  g_clear_pointer (&file->tensors, g_array_unref);
  g_clear_pointer (&file->metadata, g_hash_table_unref);
  g_clear_pointer (&file->buffers, g_ptr_array_unref);
  g_clear_pointer (&file->mapping, g_mapped_file_unref);
  g_free (file->path);
  g_free (file);
}

const char *
pl_tensor_file_get_path (const PlTensorFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->path;
}

PlTensorFileFormat
pl_tensor_file_get_format (const PlTensorFile *file)
{
  g_return_val_if_fail (file != NULL, PL_TENSOR_FILE_SAFETENSORS);
  return file->format;
}

guint64
pl_tensor_file_get_size (const PlTensorFile *file)
{
  g_return_val_if_fail (file != NULL, 0);
  return file->size;
}

guint
pl_tensor_file_get_n_tensors (const PlTensorFile *file)
{
  g_return_val_if_fail (file != NULL, 0);
  return file->tensors->len;
}

const PlTensorInfo *
pl_tensor_file_get_tensor (const PlTensorFile *file,
                           guint               index)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (index < file->tensors->len, NULL);
  return &g_array_index (file->tensors, PlTensorInfo, index);
}

const PlTensorInfo *
pl_tensor_file_lookup (const PlTensorFile *file,
                       const char         *name)
{
  guint index;

  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  index = GPOINTER_TO_UINT (g_hash_table_lookup (file->by_name, name));
  if (index == 0)
    return NULL;
  return &g_array_index (file->tensors, PlTensorInfo, index - 1);
}

GHashTable *
pl_tensor_file_get_metadata (const PlTensorFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->metadata;
}

gboolean
pl_tensor_is_f32_contiguous (const PlTensorInfo *info)
{
  int64_t expected = 1;

  g_return_val_if_fail (info != NULL, FALSE);

  if (info->dtype != PL_DTYPE_F32)
    return FALSE;
  if (info->n_elements == 0)
    return TRUE;
  if (((uintptr_t) info->data) % sizeof (float) != 0)
    return FALSE;
  for (int i = info->n_dims - 1; i >= 0; i--)
    {
      /* As in torch, the stride of a dimension of size 1 never matters. */
      if (info->shape[i] != 1 && info->strides[i] != expected)
        return FALSE;
      expected *= info->shape[i];
    }
  return TRUE;
}

static float
load_float (PlDType        dtype,
            const uint8_t *p)
{
  switch (dtype)
    {
    case PL_DTYPE_F32:
      {
        float v;
        memcpy (&v, p, sizeof v);
        return v;
      }
    case PL_DTYPE_F16:
      {
        uint16_t v;
        memcpy (&v, p, sizeof v);
        return pl_f16_to_f32 (v);
      }
    case PL_DTYPE_BF16:
      {
        uint16_t v;
        memcpy (&v, p, sizeof v);
        return pl_bf16_to_f32 (v);
      }
    case PL_DTYPE_F64:
      {
        double v;
        memcpy (&v, p, sizeof v);
        return (float) v;
      }
    case PL_DTYPE_I64:
    case PL_DTYPE_I32:
    case PL_DTYPE_I16:
    case PL_DTYPE_I8:
    case PL_DTYPE_U8:
    case PL_DTYPE_BOOL:
    default:
      g_assert_not_reached ();
    }
}

gboolean
pl_tensor_to_f32 (const PlTensorInfo  *info,
                  float               *out,
                  GError             **error)
{
  gsize element_size;
  int64_t index[PL_TENSOR_MAX_DIMS] = { 0 };
  int64_t inner_size, inner_stride;
  int n_outer_dims;
  int64_t written = 0;

  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (out != NULL || info->n_elements == 0, FALSE);

  switch (info->dtype)
    {
    case PL_DTYPE_F32:
    case PL_DTYPE_F16:
    case PL_DTYPE_BF16:
    case PL_DTYPE_F64:
      break;
    case PL_DTYPE_I64:
    case PL_DTYPE_I32:
    case PL_DTYPE_I16:
    case PL_DTYPE_I8:
    case PL_DTYPE_U8:
    case PL_DTYPE_BOOL:
    default:
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID,
                   "tensor “%s” holds %s integers, not floating-point numbers",
                   info->name, pl_dtype_name (info->dtype));
      return FALSE;
    }
  if (info->n_elements == 0)
    return TRUE;

  element_size = pl_dtype_size (info->dtype);
  if (info->n_dims == 0)
    {
      out[0] = load_float (info->dtype, info->data);
      return TRUE;
    }

  /* Walk the outer dimensions with an odometer; the innermost one is a strided run. */
  inner_size = info->shape[info->n_dims - 1];
  inner_stride = info->strides[info->n_dims - 1] * (int64_t) element_size;
  n_outer_dims = info->n_dims - 1;
  while (written < info->n_elements)
    {
      int64_t offset = 0;
      const uint8_t *p;

      for (int d = 0; d < n_outer_dims; d++)
        offset += index[d] * info->strides[d];
      p = info->data + offset * (int64_t) element_size;

      if (info->dtype == PL_DTYPE_F32 && inner_stride == (int64_t) sizeof (float))
        memcpy (out + written, p, (gsize) inner_size * sizeof (float));
      else
        for (int64_t i = 0; i < inner_size; i++)
          out[written + i] = load_float (info->dtype, p + i * inner_stride);
      written += inner_size;

      for (int d = n_outer_dims - 1; d >= 0; d--)
        {
          if (++index[d] < info->shape[d])
            break;
          index[d] = 0;
        }
    }
  return TRUE;
}
