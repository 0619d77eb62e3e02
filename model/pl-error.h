/* pl-error.h: the error domain every layer of PhenoLIP Explorer reports through. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PL_ERROR (pl_error_quark ())

typedef enum {
  PL_ERROR_IO,              /* the file could not be read or written */
  PL_ERROR_FORMAT,          /* the file is not in the expected format, or is corrupt */
  PL_ERROR_TRUNCATED,       /* the file ends before its own header says it should */
  PL_ERROR_UNSUPPORTED,     /* a valid file using a feature this program does not read */
  PL_ERROR_UNSAFE,          /* a pickle asks to run code or import something outside the allowed set */
  PL_ERROR_MISSING_TENSOR,  /* a checkpoint lacks a tensor the model needs */
  PL_ERROR_SHAPE,           /* a tensor has a shape the model cannot use */
  PL_ERROR_TOO_LARGE,       /* an image or tensor exceeds a documented limit */
  PL_ERROR_INVALID,         /* an argument or configuration value is invalid */
} PlError;

GQuark pl_error_quark (void);

G_END_DECLS
