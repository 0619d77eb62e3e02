/* pl-pickle.c: unpickles the data-only subset of Python's pickle format that torch.save writes
 * for state dicts and optimizer states. Nothing is ever executed: the few globals a checkpoint
 * needs are recognised by name and interpreted here, everything else is refused. */
#include "pl-pickle.h"
#include "pl-error.h"
#include "pl-tensor-file-private.h"

#include <string.h>

/* Bounds that keep memory and time proportional to a plausible checkpoint whatever the input;
 * a state dict of a thousand tensors with its optimizer state needs a few tens of thousands
 * of values and a nesting depth below ten. */
#define MAX_STACK_DEPTH   (1 << 20)
#define MAX_MARK_DEPTH    1000
#define MAX_MEMO_ENTRIES  (1 << 22)
#define MAX_VALUES        (1 << 22)
#define MAX_ITEMS         (1 << 24)

enum {
  GLOBAL_ORDERED_DICT,
  GLOBAL_REBUILD_TENSOR,
  GLOBAL_REBUILD_TENSOR_V2,
  GLOBAL_REBUILD_PARAMETER,
  GLOBAL_REBUILD_PARAMETER_WITH_STATE,
  GLOBAL_TORCH_SIZE,
  GLOBAL_STORAGE_TYPE,
};

static const struct {
  const char *qualified_name;
  int         which;
  PlDType     dtype;          /* for storage types */
} allowed_globals[] = {
  { "collections.OrderedDict", GLOBAL_ORDERED_DICT, 0 },
  { "torch._utils._rebuild_tensor", GLOBAL_REBUILD_TENSOR, 0 },
  { "torch._utils._rebuild_tensor_v2", GLOBAL_REBUILD_TENSOR_V2, 0 },
  { "torch._utils._rebuild_parameter", GLOBAL_REBUILD_PARAMETER, 0 },
  { "torch._utils._rebuild_parameter_with_state", GLOBAL_REBUILD_PARAMETER_WITH_STATE, 0 },
  { "torch.Size", GLOBAL_TORCH_SIZE, 0 },
  { "torch.FloatStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_F32 },
  { "torch.HalfStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_F16 },
  { "torch.BFloat16Storage", GLOBAL_STORAGE_TYPE, PL_DTYPE_BF16 },
  { "torch.DoubleStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_F64 },
  { "torch.LongStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_I64 },
  { "torch.IntStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_I32 },
  { "torch.ShortStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_I16 },
  { "torch.CharStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_I8 },
  { "torch.ByteStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_U8 },
  { "torch.BoolStorage", GLOBAL_STORAGE_TYPE, PL_DTYPE_BOOL },
};

/* Opcode names, for refusing the ones outside the subset by name. */
static const struct {
  uint8_t     code;
  const char *name;
} opcode_names[] = {
  { 'I', "INT" }, { 'L', "LONG" }, { 'F', "FLOAT" }, { 'S', "STRING" }, { 'V', "UNICODE" },
  { 'g', "GET" }, { 'p', "PUT" }, { 'i', "INST" }, { 'o', "OBJ" }, { 'P', "PERSID" },
  { 0x81, "NEWOBJ" }, { 0x92, "NEWOBJ_EX" }, { 0x82, "EXT1" }, { 0x83, "EXT2" }, { 0x84, "EXT4" },
  { 0x8f, "EMPTY_SET" }, { 0x90, "ADDITEMS" }, { 0x91, "FROZENSET" }, { 0x96, "BYTEARRAY8" },
  { 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" },
};

struct _PlPickle {
  const char          *display_name;
  const uint8_t       *data;
  gsize                length;
  gsize                position;
  gsize                opcode_position;
  PlPickleLoadStorage  load_storage;
  gpointer             user_data;

  GPtrArray           *values;   /* every value, freed together: containers may share or cycle */
  GPtrArray           *stack;
  GArray              *marks;    /* of guint, stack lengths at each MARK */
  GPtrArray           *memo;
  guint64              n_items;
  PlPickleValue       *root;
};

static void
value_free (gpointer data)
{
  PlPickleValue *value = data;

  switch (value->kind)
    {
    case PL_PICKLE_STRING:
    case PL_PICKLE_BYTES:
      g_free (value->string.data);
      break;
    case PL_PICKLE_TUPLE:
    case PL_PICKLE_LIST:
    case PL_PICKLE_DICT:
      g_ptr_array_unref (value->items);
      break;
    case PL_PICKLE_GLOBAL:
      g_free (value->global.qualified_name);
      break;
    case PL_PICKLE_TENSOR:
      g_free (value->tensor);
      break;
    case PL_PICKLE_NONE:
    case PL_PICKLE_BOOL:
    case PL_PICKLE_INT:
    case PL_PICKLE_FLOAT:
    case PL_PICKLE_STORAGE:
    default:
      break;
    }
  g_free (value);
}

static gboolean G_GNUC_PRINTF (3, 4)
fail (PlPickle    *pickle,
      GError     **error,
      const char  *format,
      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: corrupt pickle at byte %" G_GSIZE_FORMAT ": %s",
               pickle->display_name, pickle->opcode_position, message);
  return FALSE;
}

static PlPickleValue *
new_value (PlPickle      *pickle,
           PlPickleKind   kind,
           GError       **error)
{
  PlPickleValue *value;

  if (pickle->values->len >= MAX_VALUES)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the pickle holds more than %d objects; refusing to read further",
                   pickle->display_name, MAX_VALUES);
      return NULL;
    }
  value = g_new0 (PlPickleValue, 1);
  value->kind = kind;
  if (kind == PL_PICKLE_TUPLE || kind == PL_PICKLE_LIST || kind == PL_PICKLE_DICT)
    value->items = g_ptr_array_new ();
  g_ptr_array_add (pickle->values, value);
  return value;
}

static gboolean
count_items (PlPickle  *pickle,
             guint      n,
             GError   **error)
{
  pickle->n_items += n;
  if (pickle->n_items > MAX_ITEMS)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the pickle's containers hold more than %d items; refusing to read further",
                   pickle->display_name, MAX_ITEMS);
      return FALSE;
    }
  return TRUE;
}

static gboolean
push (PlPickle       *pickle,
      PlPickleValue  *value,
      GError        **error)
{
  if (value == NULL)
    return FALSE;
  if (pickle->stack->len >= MAX_STACK_DEPTH)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the pickle's stack grows deeper than %d; refusing to read further",
                   pickle->display_name, MAX_STACK_DEPTH);
      return FALSE;
    }
  g_ptr_array_add (pickle->stack, value);
  return TRUE;
}

static guint
current_mark (PlPickle *pickle)
{
  return pickle->marks->len == 0 ? 0 : g_array_index (pickle->marks, guint, pickle->marks->len - 1);
}

/* The stack above the innermost mark may not be touched by ordinary pops. */
static PlPickleValue *
pop (PlPickle  *pickle,
     GError   **error)
{
  if (pickle->stack->len <= current_mark (pickle))
    {
      fail (pickle, error, "the stack is empty");
      return NULL;
    }
  return g_ptr_array_steal_index (pickle->stack, pickle->stack->len - 1);
}

static PlPickleValue *
top (PlPickle  *pickle,
     GError   **error)
{
  if (pickle->stack->len <= current_mark (pickle))
    {
      fail (pickle, error, "the stack is empty");
      return NULL;
    }
  return g_ptr_array_index (pickle->stack, pickle->stack->len - 1);
}

/* Removes the innermost mark; *FIRST is where the items above it start on the stack. */
static gboolean
pop_mark (PlPickle  *pickle,
          guint     *first,
          GError   **error)
{
  if (pickle->marks->len == 0)
    return fail (pickle, error, "no MARK to pop");
  *first = g_array_index (pickle->marks, guint, pickle->marks->len - 1);
  g_array_set_size (pickle->marks, pickle->marks->len - 1);
  return TRUE;
}

static gboolean
read_bytes (PlPickle       *pickle,
            gsize           n,
            const uint8_t **bytes,
            GError        **error)
{
  if (n > pickle->length - pickle->position)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: the pickle ends in the middle of an opcode at byte %" G_GSIZE_FORMAT,
                   pickle->display_name, pickle->opcode_position);
      return FALSE;
    }
  *bytes = pickle->data + pickle->position;
  pickle->position += n;
  return TRUE;
}

static gboolean
read_uint_le (PlPickle  *pickle,
              gsize      n,
              guint64   *value,
              GError   **error)
{
  const uint8_t *bytes;

  if (!read_bytes (pickle, n, &bytes, error))
    return FALSE;
  *value = 0;
  for (gsize i = 0; i < n; i++)
    *value |= (guint64) bytes[i] << (8 * i);
  return TRUE;
}

static gboolean
push_string (PlPickle      *pickle,
             PlPickleKind   kind,
             gsize          length_size,
             GError       **error)
{
  guint64 length;
  const uint8_t *bytes;
  PlPickleValue *value;

  if (!read_uint_le (pickle, length_size, &length, error))
    return FALSE;
  if (length > pickle->length - pickle->position)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: a string in the pickle at byte %" G_GSIZE_FORMAT " is %" G_GUINT64_FORMAT
                   " bytes long but only %" G_GSIZE_FORMAT " bytes remain",
                   pickle->display_name, pickle->opcode_position, length,
                   pickle->length - pickle->position);
      return FALSE;
    }
  if (!read_bytes (pickle, length, &bytes, error))
    return FALSE;
  if (kind == PL_PICKLE_STRING && !g_utf8_validate ((const char *) bytes, length, NULL))
    return fail (pickle, error, "a string is not valid UTF-8");
  value = new_value (pickle, kind, error);
  if (value == NULL)
    return FALSE;
  value->string.data = g_strndup ((const char *) bytes, length);
  value->string.length = length;
  if (kind == PL_PICKLE_STRING && strlen (value->string.data) != length)
    return fail (pickle, error, "a string contains a NUL character");
  return push (pickle, value, error);
}

static gboolean
push_int (PlPickle  *pickle,
          int64_t    integer,
          GError   **error)
{
  PlPickleValue *value = new_value (pickle, PL_PICKLE_INT, error);

  if (value == NULL)
    return FALSE;
  value->integer = integer;
  return push (pickle, value, error);
}

/* LONG1/LONG4: a little-endian two's complement integer of N bytes; wider than 64 bits is
 * more than any checkpoint needs. */
static gboolean
push_long (PlPickle  *pickle,
           gsize      length_size,
           GError   **error)
{
  guint64 length, bits = 0;
  const uint8_t *bytes;

  if (!read_uint_le (pickle, length_size, &length, error))
    return FALSE;
  if (length > 8)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: the pickle holds an integer wider than 64 bits at byte %" G_GSIZE_FORMAT,
                   pickle->display_name, pickle->opcode_position);
      return FALSE;
    }
  if (!read_bytes (pickle, length, &bytes, error))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    bits |= (guint64) bytes[i] << (8 * i);
  if (length > 0 && length < 8 && (bytes[length - 1] & 0x80))
    bits |= ~(guint64) 0 << (8 * length);   /* sign extension */
  return push_int (pickle, (int64_t) bits, error);
}

static gboolean
refuse_global (PlPickle    *pickle,
               const char  *qualified_name,
               GError     **error)
{
  g_set_error (error, PL_ERROR, PL_ERROR_UNSAFE,
               "%s: refusing to load: the pickle calls %s; only tensors, dicts and lists are read",
               pickle->display_name, qualified_name);
  return FALSE;
}

static gboolean
push_global (PlPickle    *pickle,
             const char  *module,
             gsize        module_length,
             const char  *name,
             gsize        name_length,
             GError     **error)
{
  g_autofree char *qualified_name = NULL;
  PlPickleValue *value;

  qualified_name = g_strdup_printf ("%.*s.%.*s", (int) module_length, module,
                                    (int) name_length, name);
  /* Keep the message printable whatever bytes the pickle holds. */
  if (!g_utf8_validate (qualified_name, -1, NULL) || strlen (qualified_name) != module_length + 1 + name_length)
    {
      g_free (qualified_name);
      qualified_name = g_strdup ("a global with a non-text name");
    }

  for (gsize i = 0; i < G_N_ELEMENTS (allowed_globals); i++)
    if (strcmp (qualified_name, allowed_globals[i].qualified_name) == 0)
      {
        value = new_value (pickle, PL_PICKLE_GLOBAL, error);
        if (value == NULL)
          return FALSE;
        value->global.which = (int) i;
        value->global.qualified_name = g_steal_pointer (&qualified_name);
        return push (pickle, value, error);
      }

  if (g_str_has_prefix (qualified_name, "torch.") && g_str_has_suffix (qualified_name, "Storage") &&
      strchr (qualified_name + strlen ("torch."), '.') == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: the checkpoint holds a %s, a tensor type this program does not read",
                   pickle->display_name, qualified_name);
      return FALSE;
    }
  return refuse_global (pickle, qualified_name, error);
}

/* GLOBAL: "module\nname\n" in the opcode stream. */
static gboolean
read_global (PlPickle  *pickle,
             GError   **error)
{
  const char *start = (const char *) pickle->data + pickle->position;
  gsize remaining = pickle->length - pickle->position;
  const char *newline1 = memchr (start, '\n', remaining);
  const char *newline2;

  if (newline1 == NULL)
    return fail (pickle, error, "GLOBAL without a module name");
  newline2 = memchr (newline1 + 1, '\n', remaining - (gsize) (newline1 + 1 - start));
  if (newline2 == NULL)
    return fail (pickle, error, "GLOBAL without a name");
  pickle->position += (gsize) (newline2 + 1 - start);
  return push_global (pickle, start, (gsize) (newline1 - start), newline1 + 1,
                      (gsize) (newline2 - newline1 - 1), error);
}

static gboolean
stack_global (PlPickle  *pickle,
              GError   **error)
{
  PlPickleValue *name, *module;

  if ((name = pop (pickle, error)) == NULL || (module = pop (pickle, error)) == NULL)
    return FALSE;
  if (name->kind != PL_PICKLE_STRING || module->kind != PL_PICKLE_STRING)
    return fail (pickle, error, "STACK_GLOBAL needs two strings");
  return push_global (pickle, module->string.data, module->string.length,
                      name->string.data, name->string.length, error);
}

static gboolean
memo_put (PlPickle       *pickle,
          guint64         index,
          GError        **error)
{
  PlPickleValue *value = top (pickle, error);

  if (value == NULL)
    return FALSE;
  if (index >= MAX_MEMO_ENTRIES)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the pickle uses memo slot %" G_GUINT64_FORMAT "; at most %d are allowed",
                   pickle->display_name, index, MAX_MEMO_ENTRIES);
      return FALSE;
    }
  if (index >= pickle->memo->len)
    g_ptr_array_set_size (pickle->memo, (guint) index + 1);
  g_ptr_array_index (pickle->memo, index) = value;
  return TRUE;
}

static gboolean
memo_get (PlPickle  *pickle,
          guint64    index,
          GError   **error)
{
  if (index >= pickle->memo->len || g_ptr_array_index (pickle->memo, index) == NULL)
    return fail (pickle, error, "memo slot %" G_GUINT64_FORMAT " is read before it is written", index);
  return push (pickle, g_ptr_array_index (pickle->memo, index), error);
}

/* Moves the stack items from FIRST on into a new container of KIND. */
static gboolean
collect (PlPickle      *pickle,
         PlPickleKind   kind,
         guint          first,
         GError       **error)
{
  PlPickleValue *value;
  guint n = pickle->stack->len - first;

  if (kind == PL_PICKLE_DICT && n % 2 != 0)
    return fail (pickle, error, "DICT with an odd number of items");
  value = new_value (pickle, kind, error);
  if (value == NULL || !count_items (pickle, n, error))
    return FALSE;
  for (guint i = first; i < pickle->stack->len; i++)
    g_ptr_array_add (value->items, g_ptr_array_index (pickle->stack, i));
  g_ptr_array_set_size (pickle->stack, first);
  return push (pickle, value, error);
}

static gboolean
make_tuple_of (PlPickle  *pickle,
               guint      n,
               GError   **error)
{
  if (pickle->stack->len < current_mark (pickle) + n)
    return fail (pickle, error, "TUPLE%u with too few items on the stack", n);
  return collect (pickle, PL_PICKLE_TUPLE, pickle->stack->len - n, error);
}

/* APPEND(S), SETITEM(S): add the stack items from FIRST on to the container just below them. */
static gboolean
add_to_container (PlPickle      *pickle,
                  PlPickleKind   kind,
                  guint          first,
                  GError       **error)
{
  PlPickleValue *container;
  guint n = pickle->stack->len - first;

  if (first == 0 || first > pickle->stack->len || first <= current_mark (pickle))
    return fail (pickle, error, "nothing to add items to");
  container = g_ptr_array_index (pickle->stack, first - 1);
  if (container->kind != kind)
    return fail (pickle, error, kind == PL_PICKLE_LIST ? "APPEND to something that is not a list"
                                                       : "SETITEM on something that is not a dict");
  if (kind == PL_PICKLE_DICT && n % 2 != 0)
    return fail (pickle, error, "SETITEMS with an odd number of items");
  if (!count_items (pickle, n, error))
    return FALSE;
  for (guint i = first; i < pickle->stack->len; i++)
    g_ptr_array_add (container->items, g_ptr_array_index (pickle->stack, i));
  g_ptr_array_set_size (pickle->stack, first);
  return TRUE;
}

static gboolean
get_int_item (const PlPickleValue *tuple,
              guint                index,
              int64_t             *value)
{
  const PlPickleValue *item;

  if (index >= tuple->items->len)
    return FALSE;
  item = g_ptr_array_index (tuple->items, index);
  if (item->kind != PL_PICKLE_INT)
    return FALSE;
  *value = item->integer;
  return TRUE;
}

/* BINPERSID: torch's persistent id ('storage', storage type, key, location, n_elements). */
static gboolean
load_persistent (PlPickle  *pickle,
                 GError   **error)
{
  PlPickleValue *pid, *value;
  const PlPickleValue *tag, *type, *key;
  int64_t n_elements;
  PlDType dtype;
  const uint8_t *data = NULL;
  guint64 n_bytes;

  if ((pid = pop (pickle, error)) == NULL)
    return FALSE;
  if (pid->kind != PL_PICKLE_TUPLE || pid->items->len != 5)
    return fail (pickle, error, "a persistent id is not a 5-tuple");
  tag = g_ptr_array_index (pid->items, 0);
  type = g_ptr_array_index (pid->items, 1);
  key = g_ptr_array_index (pid->items, 2);
  if (tag->kind != PL_PICKLE_STRING || strcmp (tag->string.data, "storage") != 0)
    return fail (pickle, error, "a persistent id is not a storage");
  if (type->kind != PL_PICKLE_GLOBAL ||
      allowed_globals[type->global.which].which != GLOBAL_STORAGE_TYPE)
    return fail (pickle, error, "a storage's type is not a torch storage class");
  if (key->kind != PL_PICKLE_STRING)
    return fail (pickle, error, "a storage's key is not a string");
  if (!get_int_item (pid, 4, &n_elements) || n_elements < 0)
    return fail (pickle, error, "a storage's size is not a non-negative integer");

  dtype = allowed_globals[type->global.which].dtype;
  if ((guint64) n_elements > G_MAXUINT64 / pl_dtype_size (dtype) ||
      (guint64) n_elements * pl_dtype_size (dtype) > G_MAXSIZE)
    return fail (pickle, error, "a storage's size overflows");
  n_bytes = (guint64) n_elements * pl_dtype_size (dtype);
  if (!pickle->load_storage (key->string.data, dtype, n_bytes, &data, pickle->user_data, error))
    return FALSE;

  value = new_value (pickle, PL_PICKLE_STORAGE, error);
  if (value == NULL)
    return FALSE;
  value->storage.dtype = dtype;
  value->storage.data = data;
  value->storage.n_bytes = n_bytes;
  return push (pickle, value, error);
}

static gboolean
read_int_tuple (PlPickle            *pickle,
                const PlPickleValue *tuple,
                const char          *what,
                int64_t             *values,
                int                 *n,
                GError             **error)
{
  if (tuple->kind != PL_PICKLE_TUPLE)
    return fail (pickle, error, "a tensor's %s is not a tuple", what);
  if (tuple->items->len > PL_TENSOR_MAX_DIMS)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: the checkpoint holds a tensor with %u dimensions; at most %d are read",
                   pickle->display_name, tuple->items->len, PL_TENSOR_MAX_DIMS);
      return FALSE;
    }
  for (guint i = 0; i < tuple->items->len; i++)
    if (!get_int_item (tuple, i, &values[i]) || values[i] < 0)
      return fail (pickle, error, "a tensor's %s is not a tuple of non-negative integers", what);
  *n = (int) tuple->items->len;
  return TRUE;
}

/* _rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...): the tensor's last element
 * must lie inside the storage, so every later read through data and strides stays in bounds. */
static PlPickleValue *
rebuild_tensor (PlPickle             *pickle,
                const PlPickleValue  *args,
                GError              **error)
{
  const PlPickleValue *storage;
  PlPickleValue *value;
  PlPickleTensor tensor = { 0 };
  int n_strides = 0;
  int64_t offset, n_elements, last = 0;
  gsize element_size;
  guint64 storage_elements;

  if (args->items->len < 4)
    {
      fail (pickle, error, "_rebuild_tensor with %u arguments", args->items->len);
      return NULL;
    }
  storage = g_ptr_array_index (args->items, 0);
  if (storage->kind != PL_PICKLE_STORAGE)
    {
      fail (pickle, error, "a tensor is rebuilt from something that is not a storage");
      return NULL;
    }
  if (!get_int_item (args, 1, &offset) || offset < 0)
    {
      fail (pickle, error, "a tensor's storage offset is not a non-negative integer");
      return NULL;
    }
  if (!read_int_tuple (pickle, g_ptr_array_index (args->items, 2), "size", tensor.shape,
                       &tensor.n_dims, error) ||
      !read_int_tuple (pickle, g_ptr_array_index (args->items, 3), "stride", tensor.strides,
                       &n_strides, error))
    return NULL;
  if (n_strides != tensor.n_dims)
    {
      fail (pickle, error, "a tensor has %d sizes but %d strides", tensor.n_dims, n_strides);
      return NULL;
    }
  if (!pl_shape_n_elements (tensor.n_dims, tensor.shape, &n_elements))
    {
      fail (pickle, error, "a tensor's element count overflows");
      return NULL;
    }

  element_size = pl_dtype_size (storage->storage.dtype);
  storage_elements = storage->storage.n_bytes / element_size;
  if (n_elements > 0)
    {
      /* Index of the last element: offset + sum (size - 1) * stride, each step checked. */
      last = offset;
      for (int i = 0; i < tensor.n_dims; i++)
        {
          int64_t step;

          if (tensor.strides[i] != 0 && tensor.shape[i] - 1 > INT64_MAX / tensor.strides[i])
            last = INT64_MAX;
          else
            {
              step = (tensor.shape[i] - 1) * tensor.strides[i];
              last = step > INT64_MAX - last ? INT64_MAX : last + step;
            }
        }
      if ((guint64) last >= storage_elements)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: a tensor reaches element %" G_GINT64_FORMAT " of a storage of %"
                       G_GUINT64_FORMAT " elements", pickle->display_name, last, storage_elements);
          return NULL;
        }
    }
  else if ((guint64) offset > storage_elements)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: an empty tensor starts at element %" G_GINT64_FORMAT " of a storage of %"
                   G_GUINT64_FORMAT " elements", pickle->display_name, offset, storage_elements);
      return NULL;
    }

  tensor.dtype = storage->storage.dtype;
  tensor.data = storage->storage.data == NULL ? NULL
                : storage->storage.data + (gsize) offset * element_size;
  value = new_value (pickle, PL_PICKLE_TENSOR, error);
  if (value == NULL)
    return NULL;
  value->tensor = g_memdup2 (&tensor, sizeof tensor);
  return value;
}

/* REDUCE: interprets a call to one of the allowed globals; nothing else can be called. */
static gboolean
reduce (PlPickle  *pickle,
        GError   **error)
{
  PlPickleValue *args, *callable, *result = NULL;
  int which;

  if ((args = pop (pickle, error)) == NULL || (callable = pop (pickle, error)) == NULL)
    return FALSE;
  if (callable->kind != PL_PICKLE_GLOBAL)
    return fail (pickle, error, "REDUCE calls something that is not a global");
  if (args->kind != PL_PICKLE_TUPLE)
    return fail (pickle, error, "REDUCE arguments are not a tuple");

  which = allowed_globals[callable->global.which].which;
  switch (which)
    {
    case GLOBAL_ORDERED_DICT:
      if (args->items->len != 0)
        return fail (pickle, error, "OrderedDict is called with arguments");
      result = new_value (pickle, PL_PICKLE_DICT, error);
      break;
    case GLOBAL_REBUILD_TENSOR:
    case GLOBAL_REBUILD_TENSOR_V2:
      result = rebuild_tensor (pickle, args, error);
      break;
    case GLOBAL_REBUILD_PARAMETER:
    case GLOBAL_REBUILD_PARAMETER_WITH_STATE:
      /* (data, requires_grad, backward_hooks[, state]): the parameter is its data. */
      if (args->items->len < 1 ||
          ((PlPickleValue *) g_ptr_array_index (args->items, 0))->kind != PL_PICKLE_TENSOR)
        return fail (pickle, error, "a parameter is rebuilt from something that is not a tensor");
      result = g_ptr_array_index (args->items, 0);
      break;
    case GLOBAL_TORCH_SIZE:
      if (args->items->len != 1 ||
          ((PlPickleValue *) g_ptr_array_index (args->items, 0))->kind != PL_PICKLE_TUPLE)
        return fail (pickle, error, "torch.Size is not called with a tuple");
      result = g_ptr_array_index (args->items, 0);
      break;
    case GLOBAL_STORAGE_TYPE:
    default:
      return refuse_global (pickle, callable->global.qualified_name, error);
    }
  if (result == NULL)
    return FALSE;
  return push (pickle, result, error);
}

static const char *
opcode_name (uint8_t code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (opcode_names); i++)
    if (opcode_names[i].code == code)
      return opcode_names[i].name;
  return "unknown";
}

static gboolean
run (PlPickle  *pickle,
     GError   **error)
{
  while (pickle->position < pickle->length)
    {
      uint8_t code;
      guint64 n = 0;
      guint first = 0;  /* set wherever it is read: -O3 cannot tell */
      const uint8_t *bytes;
      PlPickleValue *value;

      pickle->opcode_position = pickle->position;
      code = pickle->data[pickle->position++];
      switch (code)
        {
        case 0x80:  /* PROTO */
          if (!read_uint_le (pickle, 1, &n, error))
            return FALSE;
          if (n < 2 || n > 5)
            {
              g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                           "%s: pickle protocol %u is not read (2 to 5 are)",
                           pickle->display_name, (guint) n);
              return FALSE;
            }
          break;
        case 0x95:  /* FRAME: only a buffering hint */
          if (!read_uint_le (pickle, 8, &n, error))
            return FALSE;
          break;
        case '.':   /* STOP */
          if ((pickle->root = pop (pickle, error)) == NULL)
            return FALSE;
          return TRUE;
        case '}':   /* EMPTY_DICT */
          if (!push (pickle, new_value (pickle, PL_PICKLE_DICT, error), error))
            return FALSE;
          break;
        case ']':   /* EMPTY_LIST */
          if (!push (pickle, new_value (pickle, PL_PICKLE_LIST, error), error))
            return FALSE;
          break;
        case ')':   /* EMPTY_TUPLE */
          if (!push (pickle, new_value (pickle, PL_PICKLE_TUPLE, error), error))
            return FALSE;
          break;
        case 'N':   /* NONE */
          if (!push (pickle, new_value (pickle, PL_PICKLE_NONE, error), error))
            return FALSE;
          break;
        case 0x88:  /* NEWTRUE */
        case 0x89:  /* NEWFALSE */
          value = new_value (pickle, PL_PICKLE_BOOL, error);
          if (value == NULL)
            return FALSE;
          value->boolean = code == 0x88;
          if (!push (pickle, value, error))
            return FALSE;
          break;
        case '(':   /* MARK */
          if (pickle->marks->len >= MAX_MARK_DEPTH)
            {
              g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                           "%s: the pickle nests deeper than %d levels; refusing to read further",
                           pickle->display_name, MAX_MARK_DEPTH);
              return FALSE;
            }
          g_array_append_val (pickle->marks, pickle->stack->len);
          break;
        case '0':   /* POP */
          if (pop (pickle, error) == NULL)
            return FALSE;
          break;
        case '1':   /* POP_MARK */
          if (!pop_mark (pickle, &first, error))
            return FALSE;
          g_ptr_array_set_size (pickle->stack, first);
          break;
        case '2':   /* DUP */
          if ((value = top (pickle, error)) == NULL || !push (pickle, value, error))
            return FALSE;
          break;
        case 'X':   /* BINUNICODE */
          if (!push_string (pickle, PL_PICKLE_STRING, 4, error))
            return FALSE;
          break;
        case 0x8c:  /* SHORT_BINUNICODE */
          if (!push_string (pickle, PL_PICKLE_STRING, 1, error))
            return FALSE;
          break;
        case 0x8d:  /* BINUNICODE8 */
          if (!push_string (pickle, PL_PICKLE_STRING, 8, error))
            return FALSE;
          break;
        case 'T':   /* BINSTRING: a Python 2 str, read as text like torch.load does */
          if (!push_string (pickle, PL_PICKLE_STRING, 4, error))
            return FALSE;
          break;
        case 'U':   /* SHORT_BINSTRING */
          if (!push_string (pickle, PL_PICKLE_STRING, 1, error))
            return FALSE;
          break;
        case 'B':   /* BINBYTES */
          if (!push_string (pickle, PL_PICKLE_BYTES, 4, error))
            return FALSE;
          break;
        case 'C':   /* SHORT_BINBYTES */
          if (!push_string (pickle, PL_PICKLE_BYTES, 1, error))
            return FALSE;
          break;
        case 0x8e:  /* BINBYTES8 */
          if (!push_string (pickle, PL_PICKLE_BYTES, 8, error))
            return FALSE;
          break;
        case 'q':   /* BINPUT */
          if (!read_uint_le (pickle, 1, &n, error) || !memo_put (pickle, n, error))
            return FALSE;
          break;
        case 'r':   /* LONG_BINPUT */
          if (!read_uint_le (pickle, 4, &n, error) || !memo_put (pickle, n, error))
            return FALSE;
          break;
        case 0x94:  /* MEMOIZE */
          if (!memo_put (pickle, pickle->memo->len, error))
            return FALSE;
          break;
        case 'h':   /* BINGET */
          if (!read_uint_le (pickle, 1, &n, error) || !memo_get (pickle, n, error))
            return FALSE;
          break;
        case 'j':   /* LONG_BINGET */
          if (!read_uint_le (pickle, 4, &n, error) || !memo_get (pickle, n, error))
            return FALSE;
          break;
        case 'c':   /* GLOBAL */
          if (!read_global (pickle, error))
            return FALSE;
          break;
        case 0x93:  /* STACK_GLOBAL */
          if (!stack_global (pickle, error))
            return FALSE;
          break;
        case 'J':   /* BININT */
          if (!read_uint_le (pickle, 4, &n, error) || !push_int (pickle, (int32_t) (uint32_t) n, error))
            return FALSE;
          break;
        case 'K':   /* BININT1 */
          if (!read_uint_le (pickle, 1, &n, error) || !push_int (pickle, (int64_t) n, error))
            return FALSE;
          break;
        case 'M':   /* BININT2 */
          if (!read_uint_le (pickle, 2, &n, error) || !push_int (pickle, (int64_t) n, error))
            return FALSE;
          break;
        case 0x8a:  /* LONG1 */
          if (!push_long (pickle, 1, error))
            return FALSE;
          break;
        case 0x8b:  /* LONG4 */
          if (!push_long (pickle, 4, error))
            return FALSE;
          break;
        case 'G':   /* BINFLOAT: big-endian IEEE 754 double */
          {
            guint64 bits = 0;

            if (!read_bytes (pickle, 8, &bytes, error))
              return FALSE;
            for (int i = 0; i < 8; i++)
              bits = (bits << 8) | bytes[i];
            value = new_value (pickle, PL_PICKLE_FLOAT, error);
            if (value == NULL)
              return FALSE;
            memcpy (&value->real, &bits, sizeof value->real);
            if (!push (pickle, value, error))
              return FALSE;
          }
          break;
        case 't':   /* TUPLE */
          if (!pop_mark (pickle, &first, error) || !collect (pickle, PL_PICKLE_TUPLE, first, error))
            return FALSE;
          break;
        case 0x85:  /* TUPLE1 */
        case 0x86:  /* TUPLE2 */
        case 0x87:  /* TUPLE3 */
          if (!make_tuple_of (pickle, code - 0x85 + 1, error))
            return FALSE;
          break;
        case 'l':   /* LIST */
          if (!pop_mark (pickle, &first, error) || !collect (pickle, PL_PICKLE_LIST, first, error))
            return FALSE;
          break;
        case 'd':   /* DICT */
          if (!pop_mark (pickle, &first, error) || !collect (pickle, PL_PICKLE_DICT, first, error))
            return FALSE;
          break;
        case 'a':   /* APPEND */
          if (!add_to_container (pickle, PL_PICKLE_LIST, pickle->stack->len - 1, error))
            return FALSE;
          break;
        case 'e':   /* APPENDS */
          if (!pop_mark (pickle, &first, error) ||
              !add_to_container (pickle, PL_PICKLE_LIST, first, error))
            return FALSE;
          break;
        case 's':   /* SETITEM */
          if (pickle->stack->len < 2)
            return fail (pickle, error, "SETITEM with too few items on the stack");
          if (!add_to_container (pickle, PL_PICKLE_DICT, pickle->stack->len - 2, error))
            return FALSE;
          break;
        case 'u':   /* SETITEMS */
          if (!pop_mark (pickle, &first, error) ||
              !add_to_container (pickle, PL_PICKLE_DICT, first, error))
            return FALSE;
          break;
        case 'Q':   /* BINPERSID */
          if (!load_persistent (pickle, error))
            return FALSE;
          break;
        case 'R':   /* REDUCE */
          if (!reduce (pickle, error))
            return FALSE;
          break;
        case 'b':   /* BUILD: object state (e.g. a state dict's _metadata); kept out of the data */
          if (pop (pickle, error) == NULL || top (pickle, error) == NULL)
            return FALSE;
          break;
        default:
          g_set_error (error, PL_ERROR, PL_ERROR_UNSAFE,
                       "%s: refusing to load: the pickle uses opcode %s (0x%02x) at byte %"
                       G_GSIZE_FORMAT ", which this reader does not run; only tensors, dicts "
                       "and lists are read", pickle->display_name, opcode_name (code), code,
                       pickle->opcode_position);
          return FALSE;
        }
    }
  g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
               "%s: the pickle ends without a STOP opcode", pickle->display_name);
  return FALSE;
}

PlPickle *
pl_pickle_load (const char           *display_name,
                const uint8_t        *data,
                gsize                 length,
                PlPickleLoadStorage   load_storage,
                gpointer              user_data,
                GError              **error)
{
  g_autoptr(PlPickle) pickle = g_new0 (PlPickle, 1);

  pickle->display_name = display_name;
  pickle->data = data;
  pickle->length = length;
  pickle->load_storage = load_storage;
  pickle->user_data = user_data;
  pickle->values = g_ptr_array_new_with_free_func (value_free);
  pickle->stack = g_ptr_array_new ();
  pickle->marks = g_array_new (FALSE, FALSE, sizeof (guint));
  pickle->memo = g_ptr_array_new ();

  if (!run (pickle, error))
    return NULL;
  /* Only what the root reaches is kept; the working state can go now. */
  g_clear_pointer (&pickle->stack, g_ptr_array_unref);
  g_clear_pointer (&pickle->marks, g_array_unref);
  g_clear_pointer (&pickle->memo, g_ptr_array_unref);
  return g_steal_pointer (&pickle);
}

void
pl_pickle_free (PlPickle *pickle)
{
  if (pickle == NULL)
    return;
  g_clear_pointer (&pickle->stack, g_ptr_array_unref);
  g_clear_pointer (&pickle->marks, g_array_unref);
  g_clear_pointer (&pickle->memo, g_ptr_array_unref);
  g_clear_pointer (&pickle->values, g_ptr_array_unref);
  g_free (pickle);
}

const PlPickleValue *
pl_pickle_get_root (const PlPickle *pickle)
{
  g_return_val_if_fail (pickle != NULL, NULL);
  return pickle->root;
}

const PlPickleValue *
pl_pickle_dict_lookup (const PlPickleValue *dict,
                       const char          *key)
{
  const PlPickleValue *found = NULL;

  g_return_val_if_fail (dict != NULL && dict->kind == PL_PICKLE_DICT, NULL);

  for (guint i = 0; i + 1 < dict->items->len; i += 2)
    {
      const PlPickleValue *k = g_ptr_array_index (dict->items, i);

      if (k->kind == PL_PICKLE_STRING && strcmp (k->string.data, key) == 0)
        found = g_ptr_array_index (dict->items, i + 1);
    }
  return found;
}
