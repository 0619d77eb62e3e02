/* pl-image.c: decoding PNG (libpng) and JPEG (libjpeg) files into the pixel layouts Pillow 9.4 gives
 * them, so that preprocessing sees exactly the pixels open_clip sees under Python. */
#include "pl-image.h"

#include "pl-error.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

static const uint8_t png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
static const uint8_t jpeg_signature[3] = { 0xff, 0xd8, 0xff };

const char *
pl_image_mode_name (PlImageMode mode)
{
  switch (mode)
    {
    case PL_IMAGE_L:    return "L";
    case PL_IMAGE_LA:   return "LA";
    case PL_IMAGE_P:    return "P";
    case PL_IMAGE_RGB:  return "RGB";
    case PL_IMAGE_RGBA: return "RGBA";
    case PL_IMAGE_I16:  return "I";
    case PL_IMAGE_1:    return "1";
    case PL_IMAGE_CMYK: return "CMYK";
    default:            return "?";
    }
}

static int
mode_channels (PlImageMode mode)
{
  switch (mode)
    {
    case PL_IMAGE_LA:
      return 2;
    case PL_IMAGE_RGB:
      return 3;
    case PL_IMAGE_RGBA:
    case PL_IMAGE_CMYK:
      return 4;
    case PL_IMAGE_L:
    case PL_IMAGE_P:
    case PL_IMAGE_I16:
    case PL_IMAGE_1:
    default:
      return 1;
    }
}

/* Refuses an empty image or one past the pixel limit, from its header alone. */
static gboolean
check_dimensions (const char *name,
                  guint64     width,
                  guint64     height,
                  GError    **error)
{
  if (width == 0 || height == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: image is %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
                   " pixels; an image needs at least one pixel", name, width, height);
      return FALSE;
    }
  if (width > G_MAXINT || height > G_MAXINT || width * height > PL_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: image is %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
                   " pixels, more than the %u-pixel limit", name, width, height,
                   PL_IMAGE_MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

static PlImage *
image_new (PlImageMode mode,
           int         width,
           int         height,
           const char *name,
           GError    **error)
{
  PlImage *image = g_new0 (PlImage, 1);
  int bytes_per_sample = mode == PL_IMAGE_I16 ? 2 : 1;

  image->mode = mode;
  image->width = width;
  image->height = height;
  image->channels = mode_channels (mode);
  image->stride = (gsize) width * image->channels * bytes_per_sample;
  /* At most 89,478,485 pixels of 4 bytes: no overflow in gsize. */
  image->pixels = g_try_malloc (image->stride * height);
  if (image->pixels == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: not enough memory for a %d x %d image", name, width, height);
      g_free (image);
      return NULL;
    }
  /* Entries a palette does not define read as PIL's initial grey ramp. */
  for (int i = 0; i < 256; i++)
    {
      image->palette[i * 4 + 0] = image->palette[i * 4 + 1] = image->palette[i * 4 + 2] = (uint8_t) i;
      image->palette[i * 4 + 3] = 255;
    }
  return image;
}

void
pl_image_free (PlImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

/* ------------------------------------------------------------------------------------------------ */
/* PNG                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

typedef struct {
  const uint8_t *data;
  gsize          length;
  gsize          offset;
  gboolean       ran_out;        /* libpng asked for bytes past the end of the file */
  char           message[256];   /* libpng's reason for the error */
} PngInput;

static void
png_read_from_memory (png_structp png,
                      png_bytep   out,
                      size_t      count)
{
  PngInput *input = png_get_io_ptr (png);

  if (count > input->length - input->offset)
    {
      input->ran_out = TRUE;
      png_error (png, "the file ends before the image data does");
    }
  memcpy (out, input->data + input->offset, count);
  input->offset += count;
}

G_GNUC_NORETURN static void
png_on_error (png_structp     png,
              png_const_charp message)
{
  PngInput *input = png_get_error_ptr (png);

  g_strlcpy (input->message, message, sizeof input->message);
  png_longjmp (png, 1);
}

static void
png_on_warning (png_structp     png,
                png_const_charp message)
{
  /* gAMA, iCCP and similar complaints do not change the pixels PIL reads: keep them quiet. */
  g_debug ("libpng: %s", message);
}

static guint32
read_be32 (const uint8_t *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* One decoded PNG row (after png_set_packing: one byte per sample below 8 bits, big-endian
 * pairs at 16 bits) into the row of the PIL mode chosen for it. */
static void
png_convert_row (const PlImage *image,
                 int            color_type,
                 int            bit_depth,
                 const uint8_t *in,
                 uint8_t       *out)
{
  int width = image->width;

  switch (image->mode)
    {
    case PL_IMAGE_1:
      for (int x = 0; x < width; x++)
        out[x] = in[x] ? 255 : 0;
      break;
    case PL_IMAGE_L:
      {
        /* Bit replication, as PIL's L;2 and L;4 unpackers: 3 -> 255, 15 -> 255. */
        int scale = bit_depth == 2 ? 0x55 : bit_depth == 4 ? 0x11 : 1;

        for (int x = 0; x < width; x++)
          out[x] = (uint8_t) (in[x] * scale);
      }
      break;
    case PL_IMAGE_I16:
      {
        uint16_t *out16 = (uint16_t *) (void *) out;

        for (int x = 0; x < width; x++)
          out16[x] = (uint16_t) (in[2 * x] << 8 | in[2 * x + 1]);
      }
      break;
    case PL_IMAGE_RGBA:
      if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        {
          /* 16-bit grey + alpha: PIL's "LA;16B" unpacker keeps the high bytes, as RGBA. */
          for (int x = 0; x < width; x++)
            {
              out[4 * x + 0] = out[4 * x + 1] = out[4 * x + 2] = in[4 * x];
              out[4 * x + 3] = in[4 * x + 2];
            }
          break;
        }
      G_GNUC_FALLTHROUGH;
    case PL_IMAGE_LA:
    case PL_IMAGE_RGB:
      if (bit_depth == 16)
        {
          /* PIL keeps the high byte of each sample (truncation, not rounding). */
          int samples = width * image->channels;

          for (int i = 0; i < samples; i++)
            out[i] = in[2 * i];
        }
      else
        memcpy (out, in, (gsize) width * image->channels);
      break;
    case PL_IMAGE_P:
      memcpy (out, in, width);
      break;
    case PL_IMAGE_CMYK:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
png_choose_mode (int          color_type,
                 int          bit_depth,
                 PlImageMode *mode)
{
  switch (color_type)
    {
    case PNG_COLOR_TYPE_GRAY:
      *mode = bit_depth == 1 ? PL_IMAGE_1 : bit_depth == 16 ? PL_IMAGE_I16 : PL_IMAGE_L;
      return TRUE;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      *mode = bit_depth == 16 ? PL_IMAGE_RGBA : PL_IMAGE_LA;
      return TRUE;
    case PNG_COLOR_TYPE_PALETTE:
      *mode = PL_IMAGE_P;
      return TRUE;
    case PNG_COLOR_TYPE_RGB:
      *mode = PL_IMAGE_RGB;
      return TRUE;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      *mode = PL_IMAGE_RGBA;
      return TRUE;
    default:
      return FALSE;
    }
}

static PlImage *
load_png (const uint8_t *data,
          gsize          length,
          const char    *name,
          GError       **error)
{
  PngInput input = { data, length, 0, FALSE, "" };
  png_structp png;
  png_infop info;
  /* Written between setjmp and a possible longjmp, so volatile. */
  PlImage *volatile image = NULL;
  uint8_t *volatile raw = NULL;
  png_bytep *volatile rows = NULL;
  png_uint_32 width, height;
  int bit_depth, color_type, interlace, passes;
  PlImageMode mode;
  gsize rowbytes;

  /* The header's size, before libpng allocates anything for it. */
  if (length >= 24 && memcmp (data + 12, "IHDR", 4) == 0 &&
      !check_dimensions (name, read_be32 (data + 16), read_be32 (data + 20), error))
    return NULL;

  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &input, png_on_error, png_on_warning);
  if (png == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: cannot start libpng", name);
      return NULL;
    }
  info = png_create_info_struct (png);
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: cannot start libpng", name);
      return NULL;
    }

  if (setjmp (png_jmpbuf (png)))
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_free (rows);
      g_free (raw);
      pl_image_free (image);
      g_set_error (error, PL_ERROR, input.ran_out ? PL_ERROR_TRUNCATED : PL_ERROR_FORMAT,
                   "%s: truncated or corrupt PNG: %s", name, input.message);
      return NULL;
    }

  png_set_read_fn (png, &input, png_read_from_memory);
  /* Our own pixel limit applies; libpng's default 1,000,000-pixel side limit would refuse a thin
   * image that PIL opens. */
  png_set_user_limits (png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info (png, info);
  png_get_IHDR (png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);

  if (!check_dimensions (name, width, height, error))
    {
      png_destroy_read_struct (&png, &info, NULL);
      return NULL;
    }
  if (!png_choose_mode (color_type, bit_depth, &mode))
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: PNG colour type %d is not supported", name, color_type);
      return NULL;
    }

  image = image_new (mode, width, height, name, error);
  if (image == NULL)
    {
      png_destroy_read_struct (&png, &info, NULL);
      return NULL;
    }

  if (color_type == PNG_COLOR_TYPE_PALETTE)
    {
      png_colorp palette = NULL;
      int n_palette = 0;
      png_bytep trans_alpha = NULL;
      int n_trans = 0;

      if (png_get_PLTE (png, info, &palette, &n_palette) != 0)
        {
          n_palette = MIN (n_palette, 256);
          for (int i = 0; i < n_palette; i++)
            {
              image->palette[i * 4 + 0] = palette[i].red;
              image->palette[i * 4 + 1] = palette[i].green;
              image->palette[i * 4 + 2] = palette[i].blue;
            }
          image->palette_size = n_palette;
        }
      if (png_get_tRNS (png, info, &trans_alpha, &n_trans, NULL) != 0 && trans_alpha != NULL)
        {
          for (int i = 0; i < MIN (n_trans, 256); i++)
            image->palette[i * 4 + 3] = trans_alpha[i];
          image->palette_has_alpha = TRUE;
        }
    }

  /* No colour transformation: sub-byte samples one per byte, everything else as stored. */
  if (bit_depth < 8)
    png_set_packing (png);
  passes = png_set_interlace_handling (png);
  png_read_update_info (png, info);
  rowbytes = png_get_rowbytes (png, info);

  if (passes > 1)
    {
      /* Adam7 fills rows over several passes: the whole raw image has to be at hand. */
      raw = g_try_malloc (rowbytes * height);
      rows = g_try_new (png_bytep, height);
      if (raw == NULL || rows == NULL)
        goto out_of_memory;
      for (png_uint_32 y = 0; y < height; y++)
        rows[y] = raw + rowbytes * y;
      png_read_image (png, rows);
      for (png_uint_32 y = 0; y < height; y++)
        png_convert_row (image, color_type, bit_depth, rows[y], image->pixels + image->stride * y);
    }
  else
    {
      raw = g_try_malloc (rowbytes);
      if (raw == NULL)
        goto out_of_memory;
      for (png_uint_32 y = 0; y < height; y++)
        {
          png_read_row (png, raw, NULL);
          png_convert_row (image, color_type, bit_depth, raw, image->pixels + image->stride * y);
        }
    }

  /* Chunks after the image data are not read: PIL ignores them too, and a file cut after its last
   * IDAT still has all its pixels. */
  png_destroy_read_struct (&png, &info, NULL);
  g_free (rows);
  g_free (raw);
  return image;

out_of_memory:
  png_destroy_read_struct (&png, &info, NULL);
  g_free (rows);
  g_free (raw);
  pl_image_free (image);
  g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
               "%s: not enough memory to decode a %u x %u PNG", name, width, height);
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* JPEG                                                                                             */
/* ------------------------------------------------------------------------------------------------ */

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
} JpegErrors;

typedef struct {
  struct jpeg_source_mgr pub;
  gboolean               ran_out;   /* libjpeg wanted bytes past the end of the file */
} JpegInput;

static const JOCTET jpeg_fake_eoi[2] = { 0xff, JPEG_EOI };

static void
jpeg_input_nothing (j_decompress_ptr cinfo)
{
}

/* All the data is in memory from the start: being asked for more means the file is truncated.
 * PIL's decoder suspends there and then reports "image file is truncated"; we feed an EOI so that
 * libjpeg stops cleanly, and report it the same way. */
static boolean
jpeg_input_fill (j_decompress_ptr cinfo)
{
  JpegInput *input = (JpegInput *) cinfo->src;

  input->ran_out = TRUE;
  input->pub.next_input_byte = jpeg_fake_eoi;
  input->pub.bytes_in_buffer = sizeof jpeg_fake_eoi;
  return TRUE;
}

static void
jpeg_input_skip (j_decompress_ptr cinfo,
                 long             count)
{
  JpegInput *input = (JpegInput *) cinfo->src;

  if (count <= 0)
    return;
  if ((unsigned long) count > input->pub.bytes_in_buffer)
    {
      input->ran_out = TRUE;
      input->pub.next_input_byte = jpeg_fake_eoi;
      input->pub.bytes_in_buffer = sizeof jpeg_fake_eoi;
      return;
    }
  input->pub.next_input_byte += count;
  input->pub.bytes_in_buffer -= count;
}

G_GNUC_NORETURN static void
jpeg_on_error (j_common_ptr cinfo)
{
  JpegErrors *errors = (JpegErrors *) cinfo->err;

  longjmp (errors->jump, 1);
}

static void
jpeg_on_message (j_common_ptr cinfo)
{
  /* Warnings ("Corrupt JPEG data: N extraneous bytes") are silent in PIL too. */
}

static PlImage *
load_jpeg (const uint8_t *data,
           gsize          length,
           const char    *name,
           GError       **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrors errors;
  JpegInput input;
  PlImage *volatile image = NULL;
  PlImageMode mode;
  int header;

  memset (&cinfo, 0, sizeof cinfo);
  memset (&input, 0, sizeof input);
  cinfo.err = jpeg_std_error (&errors.pub);
  errors.pub.error_exit = jpeg_on_error;
  errors.pub.output_message = jpeg_on_message;

  if (setjmp (errors.jump))
    {
      char message[JMSG_LENGTH_MAX] = "";
      int code = errors.pub.msg_code;

      errors.pub.format_message ((j_common_ptr) &cinfo, message);
      if (code == JERR_EMPTY_IMAGE || code == JERR_IMAGE_TOO_BIG)
        {
          /* libjpeg refuses these while reading the header, after it has read the size. */
          guint64 w = cinfo.image_width, h = cinfo.image_height;

          if (w == 0 || h == 0 || w * h > PL_IMAGE_MAX_PIXELS)
            check_dimensions (name, w, h, error);
          else
            g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE, "%s: %s", name, message);
        }
      else
        g_set_error (error, PL_ERROR, input.ran_out ? PL_ERROR_TRUNCATED : PL_ERROR_FORMAT,
                     "%s: %s JPEG: %s", name, input.ran_out ? "truncated" : "corrupt", message);
      jpeg_destroy_decompress (&cinfo);
      pl_image_free (image);
      return NULL;
    }

  jpeg_create_decompress (&cinfo);
  input.pub.init_source = jpeg_input_nothing;
  input.pub.fill_input_buffer = jpeg_input_fill;
  input.pub.skip_input_data = jpeg_input_skip;
  input.pub.resync_to_restart = jpeg_resync_to_restart;
  input.pub.term_source = jpeg_input_nothing;
  input.pub.next_input_byte = data;
  input.pub.bytes_in_buffer = length;
  cinfo.src = &input.pub;

  /* As PIL: tables-only datastreams before the image are skipped. */
  do
    header = jpeg_read_header (&cinfo, FALSE);
  while (header == JPEG_HEADER_TABLES_ONLY && !input.ran_out);
  if (input.ran_out || header != JPEG_HEADER_OK)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: truncated JPEG: the file ends before the image header does", name);
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }
  if (!check_dimensions (name, cinfo.image_width, cinfo.image_height, error))
    {
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }
  if (cinfo.data_precision != 8)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: %d-bit JPEG samples are not supported (PIL reads 8-bit JPEGs only)",
                   name, cinfo.data_precision);
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }

  /* PIL names the mode from the component count and lets libjpeg pick the source colour space;
   * its decoder keeps libjpeg's defaults (islow DCT, fancy upsampling). */
  switch (cinfo.num_components)
    {
    case 1:
      mode = PL_IMAGE_L;
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case 3:
      mode = PL_IMAGE_RGB;
      cinfo.out_color_space = JCS_RGB;
      break;
    case 4:
      mode = PL_IMAGE_CMYK;
      cinfo.out_color_space = JCS_CMYK;
      break;
    default:
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
                   "%s: JPEG with %d components is not supported", name, cinfo.num_components);
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }

  image = image_new (mode, cinfo.image_width, cinfo.image_height, name, error);
  if (image == NULL)
    {
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }

  jpeg_start_decompress (&cinfo);
  if (cinfo.output_width != (JDIMENSION) image->width ||
      cinfo.output_height != (JDIMENSION) image->height ||
      cinfo.output_components != image->channels)
    ERREXIT (&cinfo, JERR_BAD_LENGTH);

  while (cinfo.output_scanline < cinfo.output_height && !input.ran_out)
    {
      JSAMPROW row = image->pixels + image->stride * cinfo.output_scanline;

      jpeg_read_scanlines (&cinfo, &row, 1);
    }
  if (input.ran_out)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                   "%s: truncated JPEG: the file ends before the image data does "
                   "(PIL: \"image file is truncated\")", name);
      jpeg_destroy_decompress (&cinfo);
      pl_image_free (image);
      return NULL;
    }
  /* Running out while looking for the end marker after the last row is fine, as in PIL. */
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);

  if (mode == PL_IMAGE_CMYK)
    {
      /* PIL assumes Adobe's inverted CMYK ("CMYK;I") for every 4-component JPEG. */
      gsize n = image->stride * image->height;

      for (gsize i = 0; i < n; i++)
        image->pixels[i] = 255 - image->pixels[i];
    }
  return image;
}

/* ------------------------------------------------------------------------------------------------ */

/* Names a few formats people drop on the window by mistake, for a message they can act on. */
static const char *
sniff_other_format (const uint8_t *data,
                    gsize          length)
{
  /* First: a DICOM preamble may itself look like a TIFF header. */
  if (length >= 132 && memcmp (data + 128, "DICM", 4) == 0)
    return "a DICOM file";
  if (length >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    return "a GIF image";
  if (length >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return "a WebP image";
  if (length >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return "a TIFF image";
  if (length >= 2 && memcmp (data, "BM", 2) == 0)
    return "a BMP image";
  if (length >= 12 && memcmp (data, "\0\0\0\x0cjP  ", 8) == 0)
    return "a JPEG 2000 image";
  return NULL;
}

PlImage *
pl_image_load_from_memory (const uint8_t *data,
                           gsize          length,
                           const char    *name,
                           GError       **error)
{
  const char *other;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (length == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: the file is empty, not a PNG or JPEG image", name);
      return NULL;
    }
  if (memcmp (data, png_signature, MIN (length, sizeof png_signature)) == 0)
    {
      if (length < sizeof png_signature)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED,
                       "%s: truncated or corrupt PNG: the file ends inside the signature", name);
          return NULL;
        }
      return load_png (data, length, name, error);
    }
  if (length >= sizeof jpeg_signature && memcmp (data, jpeg_signature, sizeof jpeg_signature) == 0)
    return load_jpeg (data, length, name, error);

  other = sniff_other_format (data, length);
  g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED,
               "%s: %s; only PNG and JPEG images are supported", name,
               other != NULL ? other : "not a PNG or JPEG image");
  return NULL;
}

PlImage *
pl_image_load (const char *path,
               GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GMappedFile) file = NULL;
  g_autofree char *name = NULL;
  const uint8_t *data;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  name = g_filename_display_name (path);
  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot read the image: %s",
                   name, local_error->message);
      return NULL;
    }
  data = (const uint8_t *) g_mapped_file_get_contents (file);
  length = g_mapped_file_get_length (file);
  return pl_image_load_from_memory (data != NULL ? data : (const uint8_t *) "", length, name, error);
}
