/* pl-tensor-file-private.h: what the format readers (safetensors, torch zip) share with the
 * common tensor table in pl-tensor-file.c. Not part of the model layer's public API. */
#pragma once

#include "pl-tensor-file.h"

G_BEGIN_DECLS

struct _PlTensorFile {
  char               *path;
  PlTensorFileFormat  format;
  GMappedFile        *mapping;
  const uint8_t      *bytes;      /* the whole file, or NULL when it is empty */
  gsize               size;
  GArray             *tensors;    /* of PlTensorInfo, in file order */
  GHashTable         *by_name;    /* name (owned by the PlTensorInfo) -> index + 1 */
  GHashTable         *metadata;   /* safetensors __metadata__, or NULL */
  GPtrArray          *buffers;    /* decompressed zip entries that tensors point into */
};

/* Appends one tensor, stripping a leading "module." from NAME. Shape, strides and data must
 * already have been checked by the caller; a name that is already present is an error. */
gboolean pl_tensor_file_add_tensor (PlTensorFile       *file,
                                    const char         *name,
                                    PlDType             dtype,
                                    int                 n_dims,
                                    const int64_t      *shape,
                                    const int64_t      *strides,
                                    const uint8_t      *data,
                                    GError            **error);

/* Element count of SHAPE; FALSE when a dimension is negative or the product of the non-zero
 * dimensions overflows int64. */
gboolean pl_shape_n_elements       (int                 n_dims,
                                    const int64_t      *shape,
                                    int64_t            *n_elements);

gboolean pl_safetensors_read       (PlTensorFile       *file,
                                    GError            **error);
gboolean pl_torch_zip_read         (PlTensorFile       *file,
                                    GError            **error);

G_END_DECLS
