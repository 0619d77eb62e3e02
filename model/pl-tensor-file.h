/* pl-tensor-file.h: a read-only view of the named tensors in a checkpoint file.
 *
 * Both on-disk formats (safetensors and PyTorch's zip container) are memory-mapped and
 * described by the same table of PlTensorInfo, whose data pointers point into the mapping.
 * Nothing is copied at open time; every offset, shape and stride has been checked against
 * the bytes actually present before a PlTensorInfo is handed out. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

G_BEGIN_DECLS

#define PL_TENSOR_MAX_DIMS 8

typedef enum {
  PL_DTYPE_F32,
  PL_DTYPE_F16,
  PL_DTYPE_BF16,
  PL_DTYPE_F64,
  PL_DTYPE_I64,
  PL_DTYPE_I32,
  PL_DTYPE_I16,
  PL_DTYPE_I8,
  PL_DTYPE_U8,
  PL_DTYPE_BOOL,
} PlDType;

typedef enum {
  PL_TENSOR_FILE_SAFETENSORS,
  PL_TENSOR_FILE_TORCH_ZIP,
} PlTensorFileFormat;

typedef struct {
  char          *name;        /* key as stored, with any "module." prefix already removed */
  PlDType        dtype;
  int            n_dims;
  int64_t        shape[PL_TENSOR_MAX_DIMS];
  int64_t        strides[PL_TENSOR_MAX_DIMS]; /* in elements; row-major contiguous for safetensors */
  const uint8_t *data;        /* first element, inside the mapping; never NULL for n_elements > 0 */
  int64_t        n_elements;
} PlTensorInfo;

typedef struct _PlTensorFile PlTensorFile;

/* Opens PATH, detecting the format from its first bytes. A legacy (pre-1.6, non-zip) torch
 * file gets an error that says how to re-save it. */
PlTensorFile       *pl_tensor_file_open          (const char          *path,
                                                  GError             **error);
void                pl_tensor_file_free          (PlTensorFile        *file);
const char         *pl_tensor_file_get_path      (const PlTensorFile  *file);
PlTensorFileFormat  pl_tensor_file_get_format    (const PlTensorFile  *file);
guint64             pl_tensor_file_get_size      (const PlTensorFile  *file);
guint               pl_tensor_file_get_n_tensors (const PlTensorFile  *file);
const PlTensorInfo *pl_tensor_file_get_tensor    (const PlTensorFile  *file,
                                                  guint                index);
/* Looks NAME up; returns NULL when absent. */
const PlTensorInfo *pl_tensor_file_lookup        (const PlTensorFile  *file,
                                                  const char          *name);
/* safetensors "__metadata__" (string to string); NULL for torch files. */
GHashTable         *pl_tensor_file_get_metadata  (const PlTensorFile  *file);

gsize               pl_dtype_size                (PlDType              dtype);
const char         *pl_dtype_name                (PlDType              dtype);

/* TRUE when INFO is f32, row-major contiguous and 4-byte aligned, so it can be used in place. */
gboolean            pl_tensor_is_f32_contiguous  (const PlTensorInfo  *info);
/* Converts any floating tensor (f32/f16/bf16/f64, any strides) to a row-major f32 array of
 * info->n_elements floats at OUT. Integer dtypes are an error naming the tensor. */
gboolean            pl_tensor_to_f32             (const PlTensorInfo  *info,
                                                  float               *out,
                                                  GError             **error);

float               pl_f16_to_f32                (uint16_t             h);
float               pl_bf16_to_f32               (uint16_t             b);

G_END_DECLS
