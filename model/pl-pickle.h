/* pl-pickle.h: a reader for the subset of Python's pickle format that torch.save uses for state
 * dicts and optimizer states. It builds plain values and never executes anything: any opcode or
 * global outside that subset is refused with PL_ERROR_UNSAFE. Private to the model layer. */
#pragma once

#include "pl-tensor-file.h"

G_BEGIN_DECLS

typedef enum {
  PL_PICKLE_NONE,
  PL_PICKLE_BOOL,
  PL_PICKLE_INT,
  PL_PICKLE_FLOAT,
  PL_PICKLE_STRING,   /* str (UTF-8), or a protocol-2 byte string */
  PL_PICKLE_BYTES,
  PL_PICKLE_TUPLE,
  PL_PICKLE_LIST,
  PL_PICKLE_DICT,     /* dict or collections.OrderedDict; keys and values in insertion order */
  PL_PICKLE_GLOBAL,   /* an allowed global that has not been called (e.g. torch.FloatStorage) */
  PL_PICKLE_STORAGE,  /* what a persistent id resolved to */
  PL_PICKLE_TENSOR,   /* torch._utils._rebuild_tensor_v2 / _rebuild_parameter */
} PlPickleKind;

typedef struct _PlPickleValue PlPickleValue;

typedef struct {
  PlDType        dtype;
  int            n_dims;
  int64_t        shape[PL_TENSOR_MAX_DIMS];
  int64_t        strides[PL_TENSOR_MAX_DIMS]; /* in elements */
  const uint8_t *data;                        /* first element, inside its storage */
} PlPickleTensor;

struct _PlPickleValue {
  PlPickleKind kind;
  union {
    gboolean   boolean;
    int64_t    integer;
    double     real;
    struct {
      char    *data;                   /* NUL-terminated as well */
      gsize    length;
    } string;
    GPtrArray *items;                  /* tuple, list; dict as key, value, key, value, ... */
    struct {
      int      which;
      char    *qualified_name;         /* "module.name" */
    } global;
    struct {
      PlDType        dtype;
      const uint8_t *data;
      guint64        n_bytes;
    } storage;
    PlPickleTensor *tensor;
  };
};

/* Resolves a torch persistent id ('storage', type, KEY, location, N_ELEMENTS) to N_BYTES of
 * data (n_elements * element size, already checked not to overflow). Returns FALSE with an
 * error when the storage is missing or shorter than that. */
typedef gboolean (*PlPickleLoadStorage) (const char     *key,
                                         PlDType         dtype,
                                         guint64         n_bytes,
                                         const uint8_t **data,
                                         gpointer        user_data,
                                         GError        **error);

typedef struct _PlPickle PlPickle;

/* Unpickles DATA; errors begin with DISPLAY_NAME. The values live as long as the PlPickle. */
PlPickle            *pl_pickle_load        (const char          *display_name,
                                            const uint8_t       *data,
                                            gsize                length,
                                            PlPickleLoadStorage  load_storage,
                                            gpointer             user_data,
                                            GError             **error);
void                 pl_pickle_free        (PlPickle            *pickle);
const PlPickleValue *pl_pickle_get_root    (const PlPickle      *pickle);

/* The value of the last KEY (a string) in dict DICT, or NULL. */
const PlPickleValue *pl_pickle_dict_lookup (const PlPickleValue *dict,
                                            const char          *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlPickle, pl_pickle_free)

G_END_DECLS
