/* test-torch-zip.c: PyTorch zip checkpoints: files written by torch.save itself
 * (tests/reference/make_checkpoint_fixtures.py) read back with the values torch recorded, and
 * hostile archives and pickles built here, which must be refused without crashing or running
 * anything. */
#include "model/pl-error.h"
#include "model/pl-tensor-file.h"
#include "tests/pl-test-tensors.h"
#include "tests/pl-test-util.h"

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static PlTensorFile *
open_fixture (const char *file_name)
{
  g_autofree char *subpath = g_build_filename ("checkpoints", file_name, NULL);
  g_autofree char *path = pl_test_fixture_path (subpath);
  g_autoptr(GError) error = NULL;
  PlTensorFile *file = pl_tensor_file_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpint (pl_tensor_file_get_format (file), ==, PL_TENSOR_FILE_TORCH_ZIP);
  g_assert_null (pl_tensor_file_get_metadata (file));
  return file;
}

/* Every tensor torch saved, no other, with equal values, shapes and strides; tensors that torch
 * says share a storage point into one region of the mapping. */
static void
assert_file_matches_expected (const char *file_name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *expected = pl_test_expected_tensors (parser, file_name);
  PlTensorFile *file = open_fixture (file_name);
  g_autoptr(GHashTable) storage_starts = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  g_assert_cmpuint (pl_tensor_file_get_n_tensors (file), ==, json_object_get_size (expected));
  json_object_iter_init_ordered (&iter, expected);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      JsonObject *facts = json_node_get_object (node);
      const PlTensorInfo *info = pl_tensor_file_lookup (file, name);
      const char *storage = json_object_get_string_member (facts, "storage");
      const uint8_t *start;

      g_test_message ("tensor %s", name);
      g_assert_nonnull (info);
      g_assert_cmpstr (info->name, ==, name);
      pl_test_assert_tensor_matches (info, facts);
      if (info->n_elements == 0)
        continue;
      start = info->data - json_object_get_int_member (facts, "storage_offset") * (int64_t) pl_dtype_size (info->dtype);
      if (g_hash_table_contains (storage_starts, storage))
        g_assert_true (g_hash_table_lookup (storage_starts, storage) == start);
      else
        g_hash_table_insert (storage_starts, (gpointer) storage, (gpointer) start);
    }
  pl_tensor_file_free (file);
}

static void
test_reads_every_dtype_as_torch_saved_it (void)
{
  assert_file_matches_expected ("tensors.pt");
}

static void
test_reads_transposed_and_offset_views (void)
{
  PlTensorFile *file = open_fixture ("tensors.pt");
  const PlTensorInfo *transposed = pl_tensor_file_lookup (file, "transposed");
  const PlTensorInfo *row = pl_tensor_file_lookup (file, "row_view");
  float out[20];

  /* base is [4, 5]; its transpose [5, 4] has strides (1, 5); row 2 starts at element 10. */
  g_assert_cmpint (transposed->shape[0], ==, 5);
  g_assert_cmpint (transposed->strides[0], ==, 1);
  g_assert_cmpint (transposed->strides[1], ==, 5);
  g_assert_false (pl_tensor_is_f32_contiguous (transposed));
  g_assert_true (pl_tensor_is_f32_contiguous (row));
  g_assert_true (row->data == transposed->data + 10 * sizeof (float));
  g_assert_true (pl_tensor_to_f32 (transposed, out, NULL));
  /* Column 2 of the transpose is row 2 of the base. */
  for (int i = 0; i < 5; i++)
    {
      float value;

      memcpy (&value, row->data + i * sizeof (float), sizeof value);
      g_assert_cmpfloat (out[i * 4 + 2], ==, value);
    }
  pl_tensor_file_free (file);
}

static void
test_reads_shared_storages_once (void)
{
  PlTensorFile *file = open_fixture ("tensors.pt");
  const PlTensorInfo *a = pl_tensor_file_lookup (file, "shared_a");
  const PlTensorInfo *b = pl_tensor_file_lookup (file, "shared_b");
  const PlTensorInfo *step = pl_tensor_file_lookup (file, "strided_step");

  g_assert_true (b->data == a->data + 4 * sizeof (float));
  g_assert_true (step->data == a->data);
  g_assert_cmpint (step->strides[0], ==, 3);
  pl_tensor_file_free (file);
}

static void
test_reads_protocol_4_and_parameters (void)
{
  /* FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL; an nn.Parameter via _rebuild_parameter. */
  assert_file_matches_expected ("protocol4.pt");
}

static void
test_reads_deflated_entries (void)
{
  assert_file_matches_expected ("deflated.pt");
}

static void
test_reads_training_checkpoint_state_dict_only (void)
{
  PlTensorFile *file;

  /* epoch_N.pt: {epoch, name, state_dict (DDP "module." names), optimizer (AdamW), scaler}. */
  assert_file_matches_expected ("epoch_1.pt");
  file = open_fixture ("epoch_1.pt");
  g_assert_nonnull (pl_tensor_file_lookup (file, "visual.proj.weight"));
  g_assert_null (pl_tensor_file_lookup (file, "module.visual.proj.weight"));
  /* The optimizer's exp_avg tensors and step counts are not exposed. */
  for (guint i = 0; i < pl_tensor_file_get_n_tensors (file); i++)
    {
      const char *name = pl_tensor_file_get_tensor (file, i)->name;

      g_assert_false (g_str_has_prefix (name, "optimizer"));
      g_assert_false (g_str_has_prefix (name, "state"));
      g_assert_false (g_str_has_prefix (name, "module."));
    }
  pl_tensor_file_free (file);
}

static void
test_reads_bare_hub_state_dict (void)
{
  assert_file_matches_expected ("open_clip_pytorch_model.bin");
}

static void
assert_fixture_refused (const char *file_name,
                        int         code,
                        const char *fragment)
{
  g_autofree char *subpath = g_build_filename ("checkpoints", file_name, NULL);
  g_autofree char *path = pl_test_fixture_path (subpath);
  g_autoptr(GError) error = NULL;

  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_error (error, PL_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_refuses_pickle_calling_os_system (void)
{
  assert_fixture_refused ("runs-posix-system.pt", PL_ERROR_UNSAFE,
                          "refusing to load: the pickle calls posix.system; "
                          "only tensors, dicts and lists are read");
}

static void
test_explains_how_to_resave_legacy_files (void)
{
  assert_fixture_refused ("legacy.pt", PL_ERROR_UNSUPPORTED,
                          "torch.save(torch.load(");
  assert_fixture_refused ("legacy.pt", PL_ERROR_UNSUPPORTED, "1.6");
}

/* ---- archives and pickles built here ---- */

typedef struct {
  const char *name;
  const void *data;
  gsize       size;
} Entry;

static void
put_u16 (GByteArray *out,
         guint       value)
{
  uint8_t b[2] = { value & 0xff, (value >> 8) & 0xff };

  g_byte_array_append (out, b, 2);
}

static void
put_u32 (GByteArray *out,
         guint32     value)
{
  uint8_t b[4] = { value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, value >> 24 };

  g_byte_array_append (out, b, 4);
}

static void
put_u64 (GByteArray *out,
         guint64     value)
{
  put_u32 (out, (guint32) value);
  put_u32 (out, (guint32) (value >> 32));
}

/* A zip of stored entries as the zip specification lays it out. With ZIP64, every size and
 * offset in the central directory is moved to a ZIP64 extra field and the end record gets its
 * ZIP64 twin and locator, as writers do for archives above 4 GiB. */
static GByteArray *
build_zip (const Entry *entries,
           guint        n_entries,
           gboolean     zip64)
{
  GByteArray *out = g_byte_array_new ();
  g_autofree guint64 *offsets = g_new (guint64, n_entries);
  guint64 directory_offset, directory_size, zip64_offset;

  for (guint i = 0; i < n_entries; i++)
    {
      gsize name_length = strlen (entries[i].name);

      offsets[i] = out->len;
      put_u32 (out, 0x04034b50);
      put_u16 (out, 20);
      put_u16 (out, 0);
      put_u16 (out, 0);       /* stored */
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u32 (out, 0);       /* crc, not checked by the reader */
      put_u32 (out, entries[i].size);
      put_u32 (out, entries[i].size);
      put_u16 (out, name_length);
      put_u16 (out, 0);
      g_byte_array_append (out, (const guint8 *) entries[i].name, name_length);
      g_byte_array_append (out, entries[i].data, entries[i].size);
    }
  directory_offset = out->len;
  for (guint i = 0; i < n_entries; i++)
    {
      gsize name_length = strlen (entries[i].name);

      put_u32 (out, 0x02014b50);
      put_u16 (out, 45);
      put_u16 (out, 45);
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u32 (out, 0);
      put_u32 (out, zip64 ? 0xffffffff : entries[i].size);
      put_u32 (out, zip64 ? 0xffffffff : entries[i].size);
      put_u16 (out, name_length);
      put_u16 (out, zip64 ? 28 : 0);
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u16 (out, 0);
      put_u32 (out, 0);
      put_u32 (out, zip64 ? 0xffffffff : (guint32) offsets[i]);
      g_byte_array_append (out, (const guint8 *) entries[i].name, name_length);
      if (zip64)
        {
          put_u16 (out, 0x0001);
          put_u16 (out, 24);
          put_u64 (out, entries[i].size);
          put_u64 (out, entries[i].size);
          put_u64 (out, offsets[i]);
        }
    }
  directory_size = out->len - directory_offset;
  if (zip64)
    {
      zip64_offset = out->len;
      put_u32 (out, 0x06064b50);
      put_u64 (out, 44);
      put_u16 (out, 45);
      put_u16 (out, 45);
      put_u32 (out, 0);
      put_u32 (out, 0);
      put_u64 (out, n_entries);
      put_u64 (out, n_entries);
      put_u64 (out, directory_size);
      put_u64 (out, directory_offset);
      put_u32 (out, 0x07064b50);
      put_u32 (out, 0);
      put_u64 (out, zip64_offset);
      put_u32 (out, 1);
    }
  put_u32 (out, 0x06054b50);
  put_u16 (out, 0);
  put_u16 (out, 0);
  put_u16 (out, zip64 ? 0xffff : n_entries);
  put_u16 (out, zip64 ? 0xffff : n_entries);
  put_u32 (out, zip64 ? 0xffffffff : (guint32) directory_size);
  put_u32 (out, zip64 ? 0xffffffff : (guint32) directory_offset);
  put_u16 (out, 0);
  return out;
}

/* Pickle opcodes, spelled as in Python's pickletools. */
static void
op (GByteArray *pickle,
    uint8_t     code)
{
  g_byte_array_append (pickle, &code, 1);
}

static void
op_string (GByteArray *pickle,
           const char *text)
{
  op (pickle, 'X');
  put_u32 (pickle, strlen (text));
  g_byte_array_append (pickle, (const guint8 *) text, strlen (text));
}

static void
op_global (GByteArray *pickle,
           const char *module,
           const char *name)
{
  g_autofree char *text = g_strdup_printf ("c%s\n%s\n", module, name);

  g_byte_array_append (pickle, (const guint8 *) text, strlen (text));
}

static void
op_long (GByteArray *pickle,
         int64_t     value)
{
  op (pickle, 0x8a);      /* LONG1, 8 bytes */
  op (pickle, 8);
  put_u64 (pickle, (guint64) value);
}

static void
op_int_tuple (GByteArray    *pickle,
              int            n,
              const int64_t *values)
{
  op (pickle, '(');
  for (int i = 0; i < n; i++)
    op_long (pickle, values[i]);
  op (pickle, 't');
}

/* NAME: _rebuild_tensor_v2(storage KEY of NUMEL floats, OFFSET, SHAPE, STRIDES, False, OrderedDict()) */
static void
op_tensor_item (GByteArray    *pickle,
                const char    *name,
                const char    *key,
                int64_t        numel,
                int64_t        offset,
                int            n_dims,
                const int64_t *shape,
                const int64_t *strides)
{
  op_string (pickle, name);
  op_global (pickle, "torch._utils", "_rebuild_tensor_v2");
  op (pickle, '(');
  op (pickle, '(');
  op_string (pickle, "storage");
  op_global (pickle, "torch", "FloatStorage");
  op_string (pickle, key);
  op_string (pickle, "cpu");
  op_long (pickle, numel);
  op (pickle, 't');
  op (pickle, 'Q');
  op_long (pickle, offset);
  op_int_tuple (pickle, n_dims, shape);
  op_int_tuple (pickle, n_dims, strides);
  op (pickle, 0x89);
  op_global (pickle, "collections", "OrderedDict");
  op (pickle, ')');
  op (pickle, 'R');
  op (pickle, 't');
  op (pickle, 'R');
}

static GByteArray *
pickle_begin (void)
{
  GByteArray *pickle = g_byte_array_new ();

  op (pickle, 0x80);
  op (pickle, 2);
  op (pickle, '}');
  op (pickle, '(');
  return pickle;
}

static void
pickle_end (GByteArray *pickle)
{
  op (pickle, 'u');
  op (pickle, '.');
}

/* Writes archive/data.pkl = PICKLE and archive/data/0 = STORAGE_FLOATS floats 0, 1, 2, ... */
static char *
write_checkpoint (const char *name,
                  GByteArray *pickle,
                  int         storage_floats,
                  gboolean    zip64)
{
  g_autofree float *storage = g_new (float, MAX (storage_floats, 1));
  Entry entries[3] = {
    { "archive/data.pkl", pickle->data, pickle->len },
    { "archive/data/0", storage, storage_floats * sizeof (float) },
    { "archive/version", "3\n", 2 },
  };
  g_autoptr(GByteArray) zip = NULL;

  for (int i = 0; i < storage_floats; i++)
    storage[i] = (float) i;
  zip = build_zip (entries, G_N_ELEMENTS (entries), zip64);
  return pl_test_write_file (name, zip->data, zip->len);
}

static void
assert_checkpoint_refused (GByteArray *pickle,
                           int         storage_floats,
                           int         code,
                           const char *fragment)
{
  g_autofree char *path = write_checkpoint ("hostile.pt", pickle, storage_floats, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, PL_ERROR, code);
  g_assert_true (g_str_has_prefix (error->message, path));
  if (fragment != NULL)
    g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_reads_hand_built_checkpoint_with_strides (void)
{
  g_autoptr(GByteArray) pickle = pickle_begin ();
  int64_t shape[2] = { 3, 2 }, strides[2] = { 1, 3 };
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  PlTensorFile *file;
  const PlTensorInfo *info;
  float out[6];
  /* Storage 0..9, offset 2, [3, 2] with strides (1, 3): rows (2, 5), (3, 6), (4, 7). */
  const float expected[6] = { 2, 5, 3, 6, 4, 7 };

  op_tensor_item (pickle, "module.w", "0", 10, 2, 2, shape, strides);
  pickle_end (pickle);
  path = write_checkpoint ("hand-built.pt", pickle, 10, FALSE);
  file = pl_tensor_file_open (path, &error);
  g_assert_no_error (error);
  info = pl_tensor_file_lookup (file, "w");
  g_assert_nonnull (info);
  g_assert_true (pl_tensor_to_f32 (info, out, &error));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (out[i], ==, expected[i]);
  pl_tensor_file_free (file);
}

static void
test_reads_zip64_records (void)
{
  g_autoptr(GByteArray) pickle = pickle_begin ();
  int64_t shape[1] = { 4 }, strides[1] = { 1 };
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  PlTensorFile *file;
  float out[4];

  op_tensor_item (pickle, "w", "0", 4, 0, 1, shape, strides);
  pickle_end (pickle);
  path = write_checkpoint ("zip64.pt", pickle, 4, TRUE);
  file = pl_tensor_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (pl_tensor_to_f32 (pl_tensor_file_lookup (file, "w"), out, &error));
  g_assert_cmpfloat (out[3], ==, 3.0f);
  pl_tensor_file_free (file);
}

static void
test_refuses_tensor_reaching_past_its_storage (void)
{
  int64_t shape[2] = { 3, 4 }, strides[2] = { 4, 1 };
  int64_t transposed[2] = { 1, 4 };
  g_autoptr(GByteArray) p1 = pickle_begin ();
  g_autoptr(GByteArray) p2 = pickle_begin ();
  g_autoptr(GByteArray) p3 = pickle_begin ();
  g_autoptr(GByteArray) p4 = pickle_begin ();

  /* 12 elements from offset 1 need 13; the storage declares 12. */
  op_tensor_item (p1, "w", "0", 12, 1, 2, shape, strides);
  pickle_end (p1);
  assert_checkpoint_refused (p1, 12, PL_ERROR_FORMAT, "storage of 12 elements");
  /* Strides that reach element (3 - 1) * 1 + (4 - 1) * 4 = 14. */
  op_tensor_item (p2, "w", "0", 12, 0, 2, shape, transposed);
  pickle_end (p2);
  assert_checkpoint_refused (p2, 12, PL_ERROR_FORMAT, "storage of 12 elements");
  /* The storage says 100 floats but its entry holds 12. */
  op_tensor_item (p3, "w", "0", 100, 0, 2, shape, strides);
  pickle_end (p3);
  assert_checkpoint_refused (p3, 12, PL_ERROR_FORMAT, "should hold 400 bytes");
  /* A storage the archive lacks. */
  op_tensor_item (p4, "w", "7", 12, 0, 2, shape, strides);
  pickle_end (p4);
  assert_checkpoint_refused (p4, 12, PL_ERROR_FORMAT, "storage “7”");
}

static void
test_refuses_overflowing_and_negative_shapes (void)
{
  int64_t huge[2] = { INT64_C (1) << 40, INT64_C (1) << 40 }, huge_strides[2] = { 1, 1 };
  int64_t negative[1] = { -1 }, one[1] = { 1 };
  int64_t big_stride[2] = { 2, 2 }, overflow_strides[2] = { INT64_MAX, 1 };
  int64_t nine[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
  g_autoptr(GByteArray) p1 = pickle_begin ();
  g_autoptr(GByteArray) p2 = pickle_begin ();
  g_autoptr(GByteArray) p3 = pickle_begin ();
  g_autoptr(GByteArray) p4 = pickle_begin ();
  g_autoptr(GByteArray) p5 = pickle_begin ();

  op_tensor_item (p1, "w", "0", 4, 0, 2, huge, huge_strides);
  pickle_end (p1);
  assert_checkpoint_refused (p1, 4, PL_ERROR_FORMAT, NULL);
  op_tensor_item (p2, "w", "0", 4, 0, 1, negative, one);
  pickle_end (p2);
  assert_checkpoint_refused (p2, 4, PL_ERROR_FORMAT, "non-negative");
  op_tensor_item (p3, "w", "0", 4, 0, 2, big_stride, overflow_strides);
  pickle_end (p3);
  assert_checkpoint_refused (p3, 4, PL_ERROR_FORMAT, NULL);
  op_tensor_item (p4, "w", "0", 4, 0, 9, nine, nine);
  pickle_end (p4);
  assert_checkpoint_refused (p4, 4, PL_ERROR_UNSUPPORTED, "9 dimensions");
  op_tensor_item (p5, "w", "0", INT64_MAX, 0, 1, one, one);
  pickle_end (p5);
  assert_checkpoint_refused (p5, 4, PL_ERROR_FORMAT, NULL);
}

static void
test_refuses_globals_outside_the_allowed_set (void)
{
  g_autoptr(GByteArray) p1 = pickle_begin ();
  g_autoptr(GByteArray) p2 = pickle_begin ();
  g_autoptr(GByteArray) p3 = pickle_begin ();

  op_string (p1, "x");
  op_global (p1, "builtins", "eval");
  op_string (p1, "1+1");
  op (p1, 0x85);
  op (p1, 'R');
  pickle_end (p1);
  assert_checkpoint_refused (p1, 1, PL_ERROR_UNSAFE, "the pickle calls builtins.eval");

  /* Protocol 4's STACK_GLOBAL names the callable with two strings. */
  op_string (p2, "x");
  op (p2, 0x8c); op (p2, 2); g_byte_array_append (p2, (const guint8 *) "os", 2);
  op (p2, 0x8c); op (p2, 6); g_byte_array_append (p2, (const guint8 *) "system", 6);
  op (p2, 0x93);
  op_string (p2, "echo hi");
  op (p2, 0x85);
  op (p2, 'R');
  pickle_end (p2);
  assert_checkpoint_refused (p2, 1, PL_ERROR_UNSAFE, "the pickle calls os.system");

  /* An allowed global that is not a function may not be called either. */
  op_string (p3, "x");
  op_global (p3, "torch", "FloatStorage");
  op (p3, ')');
  op (p3, 'R');
  pickle_end (p3);
  assert_checkpoint_refused (p3, 1, PL_ERROR_UNSAFE, "torch.FloatStorage");
}

static void
test_refuses_opcodes_outside_the_subset (void)
{
  const uint8_t codes[] = { 0xff, 'i', 'o', 0x81, 'P', 'S', 0x8f };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autoptr(GByteArray) pickle = pickle_begin ();

      op (pickle, codes[i]);
      pickle_end (pickle);
      assert_checkpoint_refused (pickle, 1, PL_ERROR_UNSAFE, "opcode");
    }
}

static void
test_refuses_deep_nesting (void)
{
  g_autoptr(GByteArray) marks = g_byte_array_new ();
  g_autoptr(GByteArray) lists = g_byte_array_new ();

  op (marks, 0x80);
  op (marks, 2);
  for (int i = 0; i < 100000; i++)
    op (marks, '(');
  assert_checkpoint_refused (marks, 1, PL_ERROR_TOO_LARGE, "nests deeper");

  /* 200,000 lists, each appended to the one before: legal, flat to read, not a state dict. */
  op (lists, 0x80);
  op (lists, 2);
  for (int i = 0; i < 200000; i++)
    op (lists, ']');
  for (int i = 0; i < 199999; i++)
    op (lists, 'a');
  op (lists, '.');
  assert_checkpoint_refused (lists, 1, PL_ERROR_FORMAT, "holds a list, not a state dict");
}

static void
test_refuses_malformed_pickles (void)
{
  static const struct {
    const char *bytes;
    gsize       length;
    int         code;
  } cases[] = {
    { "\x80\x02}", 3, PL_ERROR_TRUNCATED },                          /* no STOP */
    { "\x80\x02X\xff\xff\xff\x7f", 8, PL_ERROR_TRUNCATED },          /* string past the end */
    { "\x80\x02h\x05.", 5, PL_ERROR_FORMAT },                       /* memo read before write */
    { "\x80\x02}r\xff\xff\xff\xff.", 9, PL_ERROR_TOO_LARGE },        /* huge memo slot */
    { "\x80\x02.", 3, PL_ERROR_FORMAT },                            /* STOP on an empty stack */
    { "\x80\x02Na.", 5, PL_ERROR_FORMAT },                          /* APPEND to None */
    { "\x80\x02" "a.", 4, PL_ERROR_FORMAT },                           /* APPEND on an empty stack */
    { "\x80\x02}Ns.", 6, PL_ERROR_FORMAT },                         /* SETITEM with one item */
    { "\x80\x02(NNu.", 7, PL_ERROR_FORMAT },                        /* SETITEMS under no dict */
    { "\x80\x02}(N(u.", 8, PL_ERROR_FORMAT },                       /* odd SETITEMS */
    { "\x80\x02(\x85.", 5, PL_ERROR_FORMAT },                       /* TUPLE1 across a mark */
    { "\x80\x02t.", 4, PL_ERROR_FORMAT },                           /* TUPLE without a mark */
    { "\x80\x02NN\x93.", 6, PL_ERROR_FORMAT },                      /* STACK_GLOBAL of None */
    { "\x80\x02NQ.", 5, PL_ERROR_FORMAT },                          /* persistent id not a tuple */
    { "\x80\x02N)R.", 6, PL_ERROR_FORMAT },                         /* REDUCE of None */
    { "\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.", 14, PL_ERROR_UNSUPPORTED },
    { "\x80\x09}.", 4, PL_ERROR_UNSUPPORTED },                      /* protocol 9 */
    { "\x80\x02" "ctorch\n", 8, PL_ERROR_FORMAT },                     /* GLOBAL cut short */
    { "\x80\x02X\x02\x00\x00\x00\xc3\x28.", 10, PL_ERROR_FORMAT },  /* invalid UTF-8 */
    { "\x80\x02]\x8a\x01\xff.", 7, PL_ERROR_FORMAT },               /* a list: not a state dict */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) pickle = g_byte_array_new ();

      g_byte_array_append (pickle, (const guint8 *) cases[i].bytes, cases[i].length);
      assert_checkpoint_refused (pickle, 1, cases[i].code, NULL);
    }
}

static void
test_refuses_zip_without_data_pkl (void)
{
  Entry entries[1] = { { "archive/other", "x", 1 } };
  g_autoptr(GByteArray) zip = build_zip (entries, 1, FALSE);
  g_autofree char *path = pl_test_write_file ("no-pickle.pt", zip->data, zip->len);
  g_autoptr(GError) error = NULL;

  g_assert_null (pl_tensor_file_open (path, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "not a safetensors or PyTorch checkpoint"));
}

static void
test_checks_byte_order_record (void)
{
  g_autoptr(GByteArray) pickle = pickle_begin ();
  int64_t shape[1] = { 1 }, strides[1] = { 1 };
  const float storage[1] = { 1.5f };

  op_tensor_item (pickle, "w", "0", 1, 0, 1, shape, strides);
  pickle_end (pickle);
  for (int big = 0; big < 2; big++)
    {
      /* torch >= 2.1 writes <archive>/byteorder: "little" or "big". */
      Entry entries[3] = {
        { "archive/data.pkl", pickle->data, pickle->len },
        { "archive/byteorder", big ? "big" : "little", big ? 3 : 6 },
        { "archive/data/0", storage, sizeof storage },
      };
      g_autoptr(GByteArray) zip = build_zip (entries, G_N_ELEMENTS (entries), FALSE);
      g_autofree char *path = pl_test_write_file ("byteorder.pt", zip->data, zip->len);
      g_autoptr(GError) error = NULL;
      PlTensorFile *file = pl_tensor_file_open (path, &error);

      if (big)
        {
          g_assert_null (file);
          g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED);
          g_assert_nonnull (strstr (error->message, "big-endian"));
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (pl_tensor_file_lookup (file, "w"));
          pl_tensor_file_free (file);
        }
    }
}

static void
test_refuses_every_truncation (void)
{
  g_autofree char *fixture = pl_test_fixture_path ("checkpoints/tensors.pt");
  g_autoptr(GBytes) bytes = pl_test_read_file (fixture);
  gsize size;
  const uint8_t *data = g_bytes_get_data (bytes, &size);

  for (gsize length = 0; length < size; length++)
    {
      g_autofree char *path = pl_test_write_file ("truncated.pt", data, length);
      g_autoptr(GError) error = NULL;
      PlTensorFile *file = pl_tensor_file_open (path, &error);

      if (file != NULL)
        g_error ("a %" G_GSIZE_FORMAT "-byte prefix of a %" G_GSIZE_FORMAT "-byte zip was accepted",
                 length, size);
      g_assert_true (g_str_has_prefix (error->message, path));
    }
}

static void
test_survives_every_flipped_byte (void)
{
  const char *names[] = { "tensors.pt", "deflated.pt" };

  for (gsize n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autofree char *subpath = g_build_filename ("checkpoints", names[n], NULL);
      g_autofree char *fixture = pl_test_fixture_path (subpath);
      g_autoptr(GBytes) bytes = pl_test_read_file (fixture);
      gsize size;
      const uint8_t *data = g_bytes_get_data (bytes, &size);
      g_autofree uint8_t *copy = g_memdup2 (data, size);

      for (gsize i = 0; i < size; i++)
        {
          g_autofree char *path = NULL;
          g_autoptr(GError) error = NULL;
          PlTensorFile *file;

          copy[i] = data[i] ^ 0xff;
          path = pl_test_write_file ("mutated.pt", copy, size);
          file = pl_tensor_file_open (path, &error);
          g_assert_true ((file == NULL) == (error != NULL));
          for (guint t = 0; file != NULL && t < pl_tensor_file_get_n_tensors (file); t++)
            {
              const PlTensorInfo *info = pl_tensor_file_get_tensor (file, t);
              g_autofree float *out = g_new (float, MAX (info->n_elements, 1));

              /* Whatever was accepted must be readable in full through its strides. */
              pl_tensor_to_f32 (info, out, NULL);
            }
          pl_tensor_file_free (file);
          copy[i] = data[i];
        }
    }
}

static void
test_opens_large_checkpoint_without_reading_it (void)
{
  /* 1000 tensors in one 784 MB storage, like a hub checkpoint's size; the file is sparse, so
   * only a reader that touches the data would take long. */
  const int n_tensors = 1000;
  const int64_t floats_per_tensor = 196000;
  g_autoptr(GByteArray) pickle = pickle_begin ();
  g_autoptr(GByteArray) head = g_byte_array_new ();
  g_autoptr(GByteArray) tail = g_byte_array_new ();
  g_autofree char *path = g_build_filename (pl_test_tmpdir (), "large.pt", NULL);
  g_autoptr(GError) error = NULL;
  guint64 storage_size = (guint64) n_tensors * floats_per_tensor * sizeof (float);
  guint64 storage_offset = 0, directory_offset, pickle_offset = 0;
  guint directory_size;
  gint64 start;
  PlTensorFile *file;
  int fd;

  for (int i = 0; i < n_tensors; i++)
    {
      g_autofree char *name = g_strdup_printf ("visual.trunk.blocks.%d.mlp.fc1.weight", i);
      int64_t shape[2] = { 196, 1000 }, strides[2] = { 1000, 1 };

      op_tensor_item (pickle, name, "0", n_tensors * floats_per_tensor, i * floats_per_tensor,
                      2, shape, strides);
      if (i % 1000 == 999)
        {
          op (pickle, 'u');
          op (pickle, '(');
        }
    }
  pickle_end (pickle);

  /* Local headers: data.pkl, then data/0 whose data runs to the central directory. */
  {
    const char *names[2] = { "archive/data.pkl", "archive/data/0" };
    guint64 sizes[2] = { pickle->len, storage_size };

    for (int e = 0; e < 2; e++)
      {
        if (e == 1)
          storage_offset = head->len;
        put_u32 (head, 0x04034b50);
        put_u16 (head, 20); put_u16 (head, 0); put_u16 (head, 0); put_u16 (head, 0); put_u16 (head, 0);
        put_u32 (head, 0);
        put_u32 (head, (guint32) sizes[e]);
        put_u32 (head, (guint32) sizes[e]);
        put_u16 (head, strlen (names[e]));
        put_u16 (head, 0);
        g_byte_array_append (head, (const guint8 *) names[e], strlen (names[e]));
        if (e == 0)
          g_byte_array_append (head, pickle->data, pickle->len);
      }
    directory_offset = head->len + storage_size;
    for (int e = 0; e < 2; e++)
      {
        put_u32 (tail, 0x02014b50);
        put_u16 (tail, 20); put_u16 (tail, 20); put_u16 (tail, 0); put_u16 (tail, 0);
        put_u16 (tail, 0); put_u16 (tail, 0); put_u32 (tail, 0);
        put_u32 (tail, (guint32) sizes[e]);
        put_u32 (tail, (guint32) sizes[e]);
        put_u16 (tail, strlen (names[e]));
        put_u16 (tail, 0); put_u16 (tail, 0); put_u16 (tail, 0); put_u16 (tail, 0); put_u32 (tail, 0);
        put_u32 (tail, (guint32) (e == 0 ? pickle_offset : storage_offset));
        g_byte_array_append (tail, (const guint8 *) names[e], strlen (names[e]));
      }
    directory_size = tail->len;
    put_u32 (tail, 0x06054b50);
    put_u16 (tail, 0); put_u16 (tail, 0); put_u16 (tail, 2); put_u16 (tail, 2);
    put_u32 (tail, directory_size);
    put_u32 (tail, (guint32) directory_offset);
    put_u16 (tail, 0);
  }
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, head->data, head->len), ==, head->len);
  g_assert_cmpint (pwrite (fd, tail->data, tail->len, (off_t) directory_offset), ==, tail->len);
  close (fd);

  start = g_get_monotonic_time ();
  file = pl_tensor_file_open (path, &error);
  g_assert_no_error (error);
  g_test_message ("opened %d tensors of a %.0f MB checkpoint in %.1f ms", n_tensors,
                  (double) pl_tensor_file_get_size (file) / 1e6,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (pl_tensor_file_get_n_tensors (file), ==, n_tensors);
  g_assert_true (pl_tensor_file_lookup (file, "visual.trunk.blocks.999.mlp.fc1.weight")->data ==
                 pl_tensor_file_lookup (file, "visual.trunk.blocks.0.mlp.fc1.weight")->data +
                 999 * floats_per_tensor * sizeof (float));

  /* Not read: almost none of the storage's pages are in memory. The file's middle is a hole that
   * only a read brings into the page cache (as zeros), so this counts what the open touched,
   * whatever the machine's load; a wall-clock bound here once failed on a busy VM. Readahead
   * around the pickle and the directory may bring in a few MB at the ends. */
  {
    const uint8_t *data = pl_tensor_file_lookup (file, "visual.trunk.blocks.0.mlp.fc1.weight")->data;
    gsize page = (gsize) sysconf (_SC_PAGESIZE);
    const uint8_t *first = (const uint8_t *) ((guintptr) data & ~(guintptr) (page - 1));
    gsize length = (gsize) (data - first) + storage_size;
    gsize n_pages = (length + page - 1) / page, resident = 0;
    g_autofree unsigned char *in_core = g_malloc (n_pages);

    g_assert_cmpint (mincore ((void *) first, length, in_core), ==, 0);
    for (gsize i = 0; i < n_pages; i++)
      resident += in_core[i] & 1;
    g_test_message ("%" G_GSIZE_FORMAT " of the storage's %" G_GSIZE_FORMAT " pages are in memory",
                    resident, n_pages);
    g_assert_cmpuint (resident * page, <, 16 << 20);
  }
  pl_tensor_file_free (file);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/torch-zip/reads-every-dtype-as-torch-saved-it", test_reads_every_dtype_as_torch_saved_it);
  g_test_add_func ("/torch-zip/reads-transposed-and-offset-views", test_reads_transposed_and_offset_views);
  g_test_add_func ("/torch-zip/reads-shared-storages-once", test_reads_shared_storages_once);
  g_test_add_func ("/torch-zip/reads-protocol-4-and-parameters", test_reads_protocol_4_and_parameters);
  g_test_add_func ("/torch-zip/reads-deflated-entries", test_reads_deflated_entries);
  g_test_add_func ("/torch-zip/reads-training-checkpoint-state-dict-only", test_reads_training_checkpoint_state_dict_only);
  g_test_add_func ("/torch-zip/reads-bare-hub-state-dict", test_reads_bare_hub_state_dict);
  g_test_add_func ("/torch-zip/refuses-pickle-calling-os-system", test_refuses_pickle_calling_os_system);
  g_test_add_func ("/torch-zip/explains-how-to-resave-legacy-files", test_explains_how_to_resave_legacy_files);
  g_test_add_func ("/torch-zip/reads-hand-built-checkpoint-with-strides", test_reads_hand_built_checkpoint_with_strides);
  g_test_add_func ("/torch-zip/reads-zip64-records", test_reads_zip64_records);
  g_test_add_func ("/torch-zip/refuses-tensor-reaching-past-its-storage", test_refuses_tensor_reaching_past_its_storage);
  g_test_add_func ("/torch-zip/refuses-overflowing-and-negative-shapes", test_refuses_overflowing_and_negative_shapes);
  g_test_add_func ("/torch-zip/refuses-globals-outside-the-allowed-set", test_refuses_globals_outside_the_allowed_set);
  g_test_add_func ("/torch-zip/refuses-opcodes-outside-the-subset", test_refuses_opcodes_outside_the_subset);
  g_test_add_func ("/torch-zip/refuses-deep-nesting", test_refuses_deep_nesting);
  g_test_add_func ("/torch-zip/refuses-malformed-pickles", test_refuses_malformed_pickles);
  g_test_add_func ("/torch-zip/refuses-zip-without-data-pkl", test_refuses_zip_without_data_pkl);
  g_test_add_func ("/torch-zip/checks-byte-order-record", test_checks_byte_order_record);
  g_test_add_func ("/torch-zip/refuses-every-truncation", test_refuses_every_truncation);
  g_test_add_func ("/torch-zip/survives-every-flipped-byte", test_survives_every_flipped_byte);
  g_test_add_func ("/torch-zip/opens-large-checkpoint-without-reading-it", test_opens_large_checkpoint_without_reading_it);

  return g_test_run ();
}
