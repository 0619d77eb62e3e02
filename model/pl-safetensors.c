/* pl-safetensors.c: reads the safetensors format (an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the raw data) from the mapping. */
#include "pl-tensor-file-private.h"
#include "pl-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* The format's own reference reader refuses headers above 100 MB; so do we. */
#define MAX_HEADER_BYTES (100 * 1000 * 1000)
/* A real header nests three levels deep; json-glib's parser recurses once per level. */
#define MAX_JSON_DEPTH 32

typedef struct {
  guint64 begin;
  guint64 end;
  guint   index;
} ByteRange;

static const struct {
  const char *name;
  PlDType     dtype;
} dtype_names[] = {
  { "F32", PL_DTYPE_F32 },
  { "F16", PL_DTYPE_F16 },
  { "BF16", PL_DTYPE_BF16 },
  { "F64", PL_DTYPE_F64 },
  { "I64", PL_DTYPE_I64 },
  { "I32", PL_DTYPE_I32 },
  { "I16", PL_DTYPE_I16 },
  { "I8", PL_DTYPE_I8 },
  { "U8", PL_DTYPE_U8 },
  { "BOOL", PL_DTYPE_BOOL },
};

/* Valid in the format, but not read by this program. */
static const char *const unsupported_dtypes[] = {
  "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
};

/* Deeper nesting than any safetensors header has is refused before json-glib, which recurses,
 * sees it. Brackets inside strings do not count. */
static gboolean
json_depth_ok (const char *text,
               gsize       length)
{
  int depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > MAX_JSON_DEPTH)
            return FALSE;
        }
      else if (c == '}' || c == ']')
        depth--;
    }
  return TRUE;
}

/* json-glib keeps the last of two members with the same name; count members to notice. */
typedef struct {
  GHashTable *member_counts;  /* JsonObject * -> count, while the object is being parsed */
  gboolean    duplicate;
} DuplicateCheck;

static void
on_object_member (JsonParser *parser,
                  JsonObject *object,
                  const char *member_name,
                  gpointer    user_data)
{
  DuplicateCheck *check = user_data;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (check->member_counts, object));

  g_hash_table_insert (check->member_counts, object, GUINT_TO_POINTER (count + 1));
}

static void
on_object_end (JsonParser *parser,
               JsonObject *object,
               gpointer    user_data)
{
  DuplicateCheck *check = user_data;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (check->member_counts, object));

  if (count != json_object_get_size (object))
    check->duplicate = TRUE;
  g_hash_table_remove (check->member_counts, object);
}

static gboolean
read_metadata (PlTensorFile  *file,
               JsonNode      *node,
               GError       **error)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the safetensors __metadata__ is not a JSON object", file->path);
      return FALSE;
    }
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: the safetensors __metadata__ value of “%s” is not a string",
                       file->path, key);
          return FALSE;
        }
      g_hash_table_insert (file->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

static gboolean
get_int (JsonNode *node,
         int64_t  *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_dtype (PlTensorFile  *file,
             const char    *name,
             JsonNode      *node,
             PlDType       *dtype,
             GError       **error)
{
  const char *text;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has no dtype string", file->path, name);
      return FALSE;
    }
  text = json_node_get_string (node);
  for (gsize i = 0; i < G_N_ELEMENTS (dtype_names); i++)
    if (strcmp (text, dtype_names[i].name) == 0)
      {
        *dtype = dtype_names[i].dtype;
        return TRUE;
      }
  for (gsize i = 0; i < G_N_ELEMENTS (unsupported_dtypes); i++)
    if (strcmp (text, unsupported_dtypes[i]) == 0)
      {
        g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                     "%s: tensor “%s” has dtype %s, which this program does not read",
                     file->path, name, text);
        return FALSE;
      }
  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
               "%s: tensor “%s” has an unknown dtype “%s”", file->path, name, text);
  return FALSE;
}

static gboolean
parse_shape (PlTensorFile  *file,
             const char    *name,
             JsonNode      *node,
             int           *n_dims,
             int64_t       *shape,
             GError       **error)
{
  JsonArray *array;
  guint length;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has no shape array", file->path, name);
      return FALSE;
    }
  array = json_node_get_array (node);
  length = json_array_get_length (array);
  if (length > PL_TENSOR_MAX_DIMS)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: tensor “%s” has %u dimensions; at most %d are read",
                   file->path, name, length, PL_TENSOR_MAX_DIMS);
      return FALSE;
    }
  for (guint i = 0; i < length; i++)
    if (!get_int (json_array_get_element (array, i), &shape[i]) || shape[i] < 0)
      {
        g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                     "%s: tensor “%s” has a shape that is not a list of non-negative integers",
                     file->path, name);
        return FALSE;
      }
  *n_dims = (int) length;
  return TRUE;
}

static gboolean
parse_offsets (PlTensorFile  *file,
               const char    *name,
               JsonNode      *node,
               int64_t       *begin,
               int64_t       *end,
               GError       **error)
{
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (array = json_node_get_array (node)) != 2 ||
      !get_int (json_array_get_element (array, 0), begin) ||
      !get_int (json_array_get_element (array, 1), end))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has no data_offsets pair of integers", file->path, name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_tensor (PlTensorFile  *file,
             const char    *name,
             JsonNode      *node,
             const uint8_t *data,
             guint64        data_size,
             ByteRange     *range,
             GError       **error)
{
  JsonObject *object;
  PlDType dtype;
  int n_dims = 0;
  int64_t shape[PL_TENSOR_MAX_DIMS];
  int64_t strides[PL_TENSOR_MAX_DIMS];
  int64_t n_elements, begin, end;
  guint64 n_bytes;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the header entry for tensor “%s” is not a JSON object", file->path, name);
      return FALSE;
    }
  object = json_node_get_object (node);
  if (!parse_dtype (file, name, json_object_get_member (object, "dtype"), &dtype, error) ||
      !parse_shape (file, name, json_object_get_member (object, "shape"), &n_dims, shape, error) ||
      !parse_offsets (file, name, json_object_get_member (object, "data_offsets"), &begin, &end, error))
    return FALSE;

  if (!pl_shape_n_elements (n_dims, shape, &n_elements) ||
      (guint64) n_elements > G_MAXSIZE / pl_dtype_size (dtype) ||
      (guint64) n_elements > (guint64) INT64_MAX / pl_dtype_size (dtype))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has a shape whose element count overflows", file->path, name);
      return FALSE;
    }
  n_bytes = (guint64) n_elements * pl_dtype_size (dtype);
  if (begin < 0 || end < begin || (guint64) end > data_size)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                   "] outside the %" G_GUINT64_FORMAT " bytes of data in the file",
                   file->path, name, begin, end, data_size);
      return FALSE;
    }
  if ((guint64) (end - begin) != n_bytes)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: tensor “%s” has %" G_GINT64_FORMAT " bytes of data but its %s shape "
                   "needs %" G_GUINT64_FORMAT, file->path, name, end - begin,
                   pl_dtype_name (dtype), n_bytes);
      return FALSE;
    }

  {
    int64_t stride = 1;

    for (int i = n_dims - 1; i >= 0; i--)
      {
        strides[i] = stride;
        stride *= shape[i];
      }
  }

  range->begin = (guint64) begin;
  range->end = (guint64) end;
  return pl_tensor_file_add_tensor (file, name, dtype, n_dims, shape, strides,
                                    data + begin, error);
}

static int
compare_ranges (gconstpointer a,
                gconstpointer b)
{
  const ByteRange *ra = a, *rb = b;

  if (ra->begin != rb->begin)
    return ra->begin < rb->begin ? -1 : 1;
  if (ra->end != rb->end)
    return ra->end < rb->end ? -1 : 1;
  return 0;
}

static gboolean
check_overlaps (PlTensorFile  *file,
                GArray        *ranges,
                GError       **error)
{
  guint64 previous_end = 0;
  const ByteRange *previous = NULL;

  g_array_sort (ranges, compare_ranges);
  for (guint i = 0; i < ranges->len; i++)
    {
      const ByteRange *range = &g_array_index (ranges, ByteRange, i);

      if (range->begin == range->end)
        continue;
      if (previous != NULL && range->begin < previous_end)
        {
          const PlTensorInfo *a = pl_tensor_file_get_tensor (file, previous->index);
          const PlTensorInfo *b = pl_tensor_file_get_tensor (file, range->index);

          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: the data of tensors “%s” and “%s” overlap", file->path,
                       a->name, b->name);
          return FALSE;
        }
      previous = range;
      previous_end = range->end;
    }
  return TRUE;
}

gboolean
pl_safetensors_read (PlTensorFile  *file,
                     GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GArray) ranges = NULL;
  DuplicateCheck check = { 0 };
  guint64 header_size, data_size;
  const char *header;
  const uint8_t *data;
  JsonNode *root;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  gboolean parsed;

  g_assert (file->size >= 8);
  memcpy (&header_size, file->bytes, sizeof header_size);
  header_size = GUINT64_FROM_LE (header_size);

  if (header_size > MAX_HEADER_BYTES)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the safetensors header claims %" G_GUINT64_FORMAT " bytes; "
                   "headers above %d bytes are refused", file->path, header_size, MAX_HEADER_BYTES);
      return FALSE;
    }
  if (header_size > file->size - 8)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: the safetensors header is %" G_GUINT64_FORMAT " bytes long but the file "
                   "ends after %" G_GSIZE_FORMAT, file->path, header_size, file->size - 8);
      return FALSE;
    }
  header = (const char *) file->bytes + 8;
  data = file->bytes + 8 + header_size;
  data_size = file->size - 8 - header_size;

  if (!json_depth_ok (header, header_size))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the safetensors header nests deeper than %d levels", file->path,
                   MAX_JSON_DEPTH);
      return FALSE;
    }

  parser = json_parser_new ();
  check.member_counts = g_hash_table_new (NULL, NULL);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &check);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_object_end), &check);
  parsed = json_parser_load_from_data (parser, header, (gssize) header_size, &json_error);
  g_hash_table_unref (check.member_counts);
  if (!parsed)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the safetensors header is not valid JSON: %s", file->path,
                   json_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the safetensors header is not a JSON object", file->path);
      return FALSE;
    }
  if (check.duplicate)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the safetensors header names the same entry twice", file->path);
      return FALSE;
    }

  ranges = g_array_new (FALSE, FALSE, sizeof (ByteRange));
  json_object_iter_init_ordered (&iter, json_node_get_object (root));
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      ByteRange range = { 0 };

      if (strcmp (name, "__metadata__") == 0)
        {
          if (!read_metadata (file, node, error))
            return FALSE;
          continue;
        }
      range.index = file->tensors->len;
      if (!read_tensor (file, name, node, data, data_size, &range, error))
        return FALSE;
      g_array_append_val (ranges, range);
    }
  return check_overlaps (file, ranges, error);
}
