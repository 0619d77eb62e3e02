/* pl-torch-zip.c: reads the zip container torch.save writes (<archive>/data.pkl plus one
 * <archive>/data/KEY entry per storage) straight from the mapping, and exposes the tensors of
 * the state dict the pickle describes. */
#include "pl-tensor-file-private.h"
#include "pl-error.h"
#include "pl-pickle.h"

#include <gio/gio.h>
#include <string.h>

#define EOCD_SIGNATURE            0x06054b50u
#define EOCD_SIZE                 22
#define ZIP64_LOCATOR_SIGNATURE   0x07064b50u
#define ZIP64_LOCATOR_SIZE        20
#define ZIP64_EOCD_SIGNATURE      0x06064b50u
#define ZIP64_EOCD_SIZE           56
#define CENTRAL_SIGNATURE         0x02014b50u
#define CENTRAL_HEADER_SIZE       46
#define LOCAL_SIGNATURE           0x04034b50u
#define LOCAL_HEADER_SIZE         30
#define ZIP64_EXTRA_ID            0x0001
#define MAX_COMMENT_SIZE          0xffff
#define METHOD_STORED             0
#define METHOD_DEFLATED           8
/* Deflate cannot expand data by more than about 1032 to 1; a larger claim is a lie. */
#define MAX_DEFLATE_RATIO         1032

typedef struct {
  char          *name;
  guint16        method;
  guint16        flags;
  guint64        compressed_size;
  guint64        size;
  guint64        local_header_offset;
  const uint8_t *data;              /* resolved on first use */
} ZipEntry;

typedef struct {
  PlTensorFile *file;
  GHashTable   *entries;            /* name -> ZipEntry */
  char         *prefix;             /* "<archive>/" */
} ZipArchive;

static void
zip_entry_free (gpointer data)
{
  ZipEntry *entry = data;

  g_free (entry->name);
  g_free (entry);
}

static guint16
read_u16 (const uint8_t *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
read_u32 (const uint8_t *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
read_u64 (const uint8_t *p)
{
  return (guint64) read_u32 (p) | ((guint64) read_u32 (p + 4) << 32);
}

/* TRUE when [offset, offset + length) lies inside the file. */
static gboolean
in_file (const PlTensorFile *file,
         guint64             offset,
         guint64             length)
{
  return offset <= file->size && length <= file->size - offset;
}

static gboolean
zip_error (PlTensorFile  *file,
           GError       **error,
           int            code,
           const char    *problem)
{
  g_set_error (error, PL_ERROR, code, "%s: not a valid zip archive: %s", file->path, problem);
  return FALSE;
}

/* The end-of-central-directory record is the last thing in the file, followed only by a
 * comment of up to 64 KiB, so it is searched for backwards. */
static gboolean
find_end_record (PlTensorFile  *file,
                 guint64       *eocd_offset,
                 GError       **error)
{
  guint64 lowest;

  if (file->size < EOCD_SIZE)
    return zip_error (file, error, PL_ERROR_TRUNCATED,
                      "the file is too short; it is truncated");
  lowest = file->size - EOCD_SIZE > MAX_COMMENT_SIZE ? file->size - EOCD_SIZE - MAX_COMMENT_SIZE : 0;
  for (guint64 offset = file->size - EOCD_SIZE + 1; offset-- > lowest;)
    {
      const uint8_t *p = file->bytes + offset;

      if (read_u32 (p) == EOCD_SIGNATURE && offset + EOCD_SIZE + read_u16 (p + 20) <= file->size)
        {
          *eocd_offset = offset;
          return TRUE;
        }
    }
  return zip_error (file, error, PL_ERROR_TRUNCATED,
                    "there is no end-of-central-directory record; the file is truncated or corrupt");
}

static gboolean
read_directory_location (PlTensorFile  *file,
                         guint64        eocd_offset,
                         guint64       *n_entries,
                         guint64       *directory_offset,
                         guint64       *directory_size,
                         GError       **error)
{
  const uint8_t *eocd = file->bytes + eocd_offset;
  guint64 locator_offset, zip64_offset;
  const uint8_t *locator, *zip64;

  if (read_u16 (eocd + 4) != 0 || read_u16 (eocd + 6) != 0)
    return zip_error (file, error, PL_ERROR_UNSUPPORTED, "it spans several disks");
  *n_entries = read_u16 (eocd + 10);
  *directory_size = read_u32 (eocd + 12);
  *directory_offset = read_u32 (eocd + 16);

  /* ZIP64: a locator just before the record points at a record with 64-bit fields. */
  if (eocd_offset < ZIP64_LOCATOR_SIZE)
    return TRUE;
  locator_offset = eocd_offset - ZIP64_LOCATOR_SIZE;
  locator = file->bytes + locator_offset;
  if (read_u32 (locator) != ZIP64_LOCATOR_SIGNATURE)
    return TRUE;
  zip64_offset = read_u64 (locator + 8);
  if (zip64_offset > locator_offset || locator_offset - zip64_offset < ZIP64_EOCD_SIZE)
    return zip_error (file, error, PL_ERROR_FORMAT, "its ZIP64 locator points outside the file");
  zip64 = file->bytes + zip64_offset;
  if (read_u32 (zip64) != ZIP64_EOCD_SIGNATURE)
    return zip_error (file, error, PL_ERROR_FORMAT, "its ZIP64 end-of-central-directory record is missing");
  if (read_u32 (zip64 + 16) != 0 || read_u32 (zip64 + 20) != 0)
    return zip_error (file, error, PL_ERROR_UNSUPPORTED, "it spans several disks");
  *n_entries = read_u64 (zip64 + 32);
  *directory_size = read_u64 (zip64 + 40);
  *directory_offset = read_u64 (zip64 + 48);
  return TRUE;
}

/* Replaces the 32-bit fields that are saturated with their values from the ZIP64 extra field,
 * which holds exactly those fields, in this order. */
static gboolean
apply_zip64_extra (PlTensorFile  *file,
                   ZipEntry      *entry,
                   const uint8_t *extra,
                   gsize          extra_length,
                   gboolean       need_size,
                   gboolean       need_compressed_size,
                   gboolean       need_offset,
                   GError       **error)
{
  gsize position = 0;

  while (position + 4 <= extra_length)
    {
      guint16 id = read_u16 (extra + position);
      guint16 length = read_u16 (extra + position + 2);
      const uint8_t *field = extra + position + 4;
      gsize used = 0;

      if (length > extra_length - position - 4)
        break;
      if (id == ZIP64_EXTRA_ID)
        {
          if (need_size)
            {
              if (used + 8 > length)
                return zip_error (file, error, PL_ERROR_FORMAT, "a ZIP64 extra field is too short");
              entry->size = read_u64 (field + used);
              used += 8;
            }
          if (need_compressed_size)
            {
              if (used + 8 > length)
                return zip_error (file, error, PL_ERROR_FORMAT, "a ZIP64 extra field is too short");
              entry->compressed_size = read_u64 (field + used);
              used += 8;
            }
          if (need_offset)
            {
              if (used + 8 > length)
                return zip_error (file, error, PL_ERROR_FORMAT, "a ZIP64 extra field is too short");
              entry->local_header_offset = read_u64 (field + used);
            }
          return TRUE;
        }
      position += 4 + (gsize) length;
    }
  if (need_size || need_compressed_size || need_offset)
    return zip_error (file, error, PL_ERROR_FORMAT, "an entry lacks its ZIP64 extra field");
  return TRUE;
}

static gboolean
read_central_directory (ZipArchive  *archive,
                        GError     **error)
{
  PlTensorFile *file = archive->file;
  guint64 eocd_offset, n_entries, directory_offset, directory_size, position;

  if (!find_end_record (file, &eocd_offset, error) ||
      !read_directory_location (file, eocd_offset, &n_entries, &directory_offset, &directory_size, error))
    return FALSE;
  if (!in_file (file, directory_offset, directory_size) || directory_offset + directory_size > eocd_offset)
    return zip_error (file, error, PL_ERROR_TRUNCATED,
                      "its central directory lies outside the file; the file is truncated or corrupt");
  if (n_entries > directory_size / CENTRAL_HEADER_SIZE)
    return zip_error (file, error, PL_ERROR_FORMAT,
                      "its central directory is too small for the number of entries it claims");

  position = directory_offset;
  for (guint64 i = 0; i < n_entries; i++)
    {
      const uint8_t *header = file->bytes + position;
      guint64 end = directory_offset + directory_size;
      guint16 name_length, extra_length, comment_length;
      guint32 size32, compressed32, offset32;
      ZipEntry *entry;

      if (end - position < CENTRAL_HEADER_SIZE || read_u32 (header) != CENTRAL_SIGNATURE)
        return zip_error (file, error, PL_ERROR_FORMAT, "its central directory is corrupt");
      name_length = read_u16 (header + 28);
      extra_length = read_u16 (header + 30);
      comment_length = read_u16 (header + 32);
      if (end - position - CENTRAL_HEADER_SIZE < (guint64) name_length + extra_length + comment_length)
        return zip_error (file, error, PL_ERROR_FORMAT, "its central directory is corrupt");

      entry = g_new0 (ZipEntry, 1);
      entry->name = g_strndup ((const char *) header + CENTRAL_HEADER_SIZE, name_length);
      entry->flags = read_u16 (header + 8);
      entry->method = read_u16 (header + 10);
      compressed32 = read_u32 (header + 20);
      size32 = read_u32 (header + 24);
      offset32 = read_u32 (header + 42);
      entry->compressed_size = compressed32;
      entry->size = size32;
      entry->local_header_offset = offset32;
      if (!apply_zip64_extra (file, entry, header + CENTRAL_HEADER_SIZE + name_length, extra_length,
                              size32 == G_MAXUINT32, compressed32 == G_MAXUINT32,
                              offset32 == G_MAXUINT32, error))
        {
          zip_entry_free (entry);
          return FALSE;
        }
      if (strlen (entry->name) != name_length || g_hash_table_contains (archive->entries, entry->name))
        {
          zip_entry_free (entry);
          return zip_error (file, error, PL_ERROR_FORMAT, "an entry name is repeated or holds a NUL");
        }
      g_hash_table_insert (archive->entries, entry->name, entry);
      if (i == 0)
        {
          const char *slash = strchr (entry->name, '/');

          if (slash != NULL)
            archive->prefix = g_strndup (entry->name, (gsize) (slash - entry->name) + 1);
        }
      position += CENTRAL_HEADER_SIZE + (guint64) name_length + extra_length + comment_length;
    }
  return TRUE;
}

static gboolean
inflate_entry (PlTensorFile   *file,
               ZipEntry       *entry,
               const uint8_t  *compressed,
               GError        **error)
{
  g_autoptr(GZlibDecompressor) decompressor = NULL;
  g_autoptr(GError) local_error = NULL;
  guint8 *buffer;
  gsize read_total = 0, written_total = 0;

  if (entry->size / MAX_DEFLATE_RATIO > entry->compressed_size + 1)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: zip entry %s claims to inflate %" G_GUINT64_FORMAT " bytes into %"
                   G_GUINT64_FORMAT ", which deflate cannot do", file->path, entry->name,
                   entry->compressed_size, entry->size);
      return FALSE;
    }
  buffer = entry->size > G_MAXSIZE ? NULL : g_try_malloc (MAX (entry->size, 1));
  if (buffer == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: not enough memory to decompress zip entry %s (%" G_GUINT64_FORMAT " bytes)",
                   file->path, entry->name, entry->size);
      return FALSE;
    }

  decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  for (;;)
    {
      gsize bytes_read = 0, bytes_written = 0;
      GConverterResult result;
      guint8 spare;
      gboolean full = written_total == entry->size;

      /* Once the buffer is full, a one-byte spare catches a stream longer than declared. */
      result = g_converter_convert (G_CONVERTER (decompressor),
                                    compressed + read_total, entry->compressed_size - read_total,
                                    full ? &spare : buffer + written_total,
                                    full ? 1 : entry->size - written_total,
                                    G_CONVERTER_INPUT_AT_END, &bytes_read, &bytes_written,
                                    &local_error);
      if (result == G_CONVERTER_ERROR || (full && bytes_written > 0))
        {
          g_free (buffer);
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: zip entry %s does not inflate to its declared %" G_GUINT64_FORMAT
                       " bytes%s%s", file->path, entry->name, entry->size,
                       local_error ? ": " : "", local_error ? local_error->message : "");
          return FALSE;
        }
      read_total += bytes_read;
      written_total += bytes_written;
      if (result == G_CONVERTER_FINISHED)
        break;
      if (bytes_read == 0 && bytes_written == 0)
        {
          g_free (buffer);
          g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                       "%s: zip entry %s ends in the middle of its compressed data",
                       file->path, entry->name);
          return FALSE;
        }
    }
  if (written_total != entry->size)
    {
      g_free (buffer);
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: zip entry %s inflates to %" G_GSIZE_FORMAT " bytes, not its declared %"
                   G_GUINT64_FORMAT, file->path, entry->name, written_total, entry->size);
      return FALSE;
    }
  g_ptr_array_add (file->buffers, g_bytes_new_take (buffer, entry->size));
  entry->data = buffer;
  return TRUE;
}

/* Finds where an entry's data starts (after its local header, whose extra field may differ from
 * the central one: torch pads it to align the data) and checks that the data is in the file. */
static gboolean
resolve_entry (PlTensorFile  *file,
               ZipEntry      *entry,
               GError       **error)
{
  const uint8_t *local;
  guint64 data_offset;

  if (entry->data != NULL)
    return TRUE;
  if (entry->flags & 0x1)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED, "%s: zip entry %s is encrypted",
                   file->path, entry->name);
      return FALSE;
    }
  if (!in_file (file, entry->local_header_offset, LOCAL_HEADER_SIZE) ||
      read_u32 (local = file->bytes + entry->local_header_offset) != LOCAL_SIGNATURE)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: zip entry %s has no local header where the directory says", file->path,
                   entry->name);
      return FALSE;
    }
  data_offset = entry->local_header_offset + LOCAL_HEADER_SIZE + read_u16 (local + 26) + read_u16 (local + 28);
  if (!in_file (file, data_offset, entry->compressed_size))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: zip entry %s reaches past the end of the file; it is truncated",
                   file->path, entry->name);
      return FALSE;
    }

  switch (entry->method)
    {
    case METHOD_STORED:
      if (entry->compressed_size != entry->size)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: stored zip entry %s has different stored and real sizes",
                       file->path, entry->name);
          return FALSE;
        }
      /* An empty entry may sit at the very end of the file: keep a non-NULL pointer. */
      entry->data = file->bytes + data_offset;
      return TRUE;
    case METHOD_DEFLATED:
      return inflate_entry (file, entry, file->bytes + data_offset, error);
    default:
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: zip entry %s uses compression method %u; only stored and deflated "
                   "entries are read", file->path, entry->name, entry->method);
      return FALSE;
    }
}

static ZipEntry *
lookup_record (ZipArchive *archive,
               const char *record)
{
  g_autofree char *name = g_strconcat (archive->prefix, record, NULL);

  return g_hash_table_lookup (archive->entries, name);
}

static gboolean
load_storage (const char     *key,
              PlDType         dtype,
              guint64         n_bytes,
              const uint8_t **data,
              gpointer        user_data,
              GError        **error)
{
  ZipArchive *archive = user_data;
  PlTensorFile *file = archive->file;
  g_autofree char *record = g_strconcat ("data/", key, NULL);
  ZipEntry *entry = lookup_record (archive, record);

  if (entry == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the pickle refers to storage “%s”, which the archive lacks",
                   file->path, key);
      return FALSE;
    }
  if (!resolve_entry (file, entry, error))
    return FALSE;
  if (entry->size < n_bytes)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: storage “%s” should hold %" G_GUINT64_FORMAT " bytes of %s but its "
                   "entry has %" G_GUINT64_FORMAT, file->path, key, n_bytes,
                   pl_dtype_name (dtype), entry->size);
      return FALSE;
    }
  *data = entry->data;
  return TRUE;
}

static gboolean
check_byte_order (ZipArchive  *archive,
                  GError     **error)
{
  ZipEntry *entry = lookup_record (archive, "byteorder");

  if (entry == NULL)
    return TRUE;   /* written only since torch 2.1; before that always little-endian */
  if (!resolve_entry (archive->file, entry, error))
    return FALSE;
  if (entry->size == 6 && memcmp (entry->data, "little", 6) == 0)
    return TRUE;
  g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
               "%s: the checkpoint was saved on a big-endian machine, which is not supported",
               archive->file->path);
  return FALSE;
}

static const char *
describe_kind (PlPickleKind kind)
{
  switch (kind)
    {
    case PL_PICKLE_NONE: return "None";
    case PL_PICKLE_BOOL: return "a boolean";
    case PL_PICKLE_INT: return "an integer";
    case PL_PICKLE_FLOAT: return "a number";
    case PL_PICKLE_STRING: return "a string";
    case PL_PICKLE_BYTES: return "a byte string";
    case PL_PICKLE_TUPLE: return "a tuple";
    case PL_PICKLE_LIST: return "a list";
    case PL_PICKLE_DICT: return "a dict";
    case PL_PICKLE_GLOBAL: return "a class";
    case PL_PICKLE_STORAGE: return "a storage";
    case PL_PICKLE_TENSOR: return "a tensor";
    default: return "a value";
    }
}

/* Exposes the tensors of the state dict: the value of a top-level "state_dict" entry when
 * that is a dict (a training checkpoint), otherwise the top-level dict itself. */
static gboolean
add_state_dict (PlTensorFile         *file,
                const PlPickleValue  *root,
                GError              **error)
{
  const PlPickleValue *state_dict = root, *nested;

  if (root->kind != PL_PICKLE_DICT)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the checkpoint holds %s, not a state dict of tensors", file->path,
                   describe_kind (root->kind));
      return FALSE;
    }
  nested = pl_pickle_dict_lookup (root, "state_dict");
  if (nested != NULL && nested->kind == PL_PICKLE_DICT)
    state_dict = nested;

  for (guint i = 0; i + 1 < state_dict->items->len; i += 2)
    {
      const PlPickleValue *key = g_ptr_array_index (state_dict->items, i);
      const PlPickleValue *value = g_ptr_array_index (state_dict->items, i + 1);
      const PlPickleTensor *tensor;

      if (key->kind != PL_PICKLE_STRING || value->kind != PL_PICKLE_TENSOR)
        continue;
      tensor = value->tensor;
      if (!pl_tensor_file_add_tensor (file, key->string.data, tensor->dtype, tensor->n_dims,
                                      tensor->shape, tensor->strides, tensor->data, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
pl_torch_zip_read (PlTensorFile  *file,
                   GError       **error)
{
  ZipArchive archive = { 0 };
  g_autoptr(PlPickle) pickle = NULL;
  ZipEntry *data_pkl;
  gboolean ok = FALSE;

  archive.file = file;
  archive.entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, zip_entry_free);
  if (!read_central_directory (&archive, error))
    goto out;

  data_pkl = archive.prefix != NULL ? lookup_record (&archive, "data.pkl") : NULL;
  if (data_pkl == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: not a safetensors or PyTorch checkpoint (a zip archive without "
                   "<archive>/data.pkl)", file->path);
      goto out;
    }
  if (!check_byte_order (&archive, error) || !resolve_entry (file, data_pkl, error))
    goto out;

  pickle = pl_pickle_load (file->path, data_pkl->data, data_pkl->size, load_storage, &archive, error);
  if (pickle == NULL)
    goto out;
  ok = add_state_dict (file, pl_pickle_get_root (pickle), error);

out:
  g_hash_table_unref (archive.entries);
  g_free (archive.prefix);
  return ok;
}
