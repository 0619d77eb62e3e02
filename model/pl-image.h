/* pl-image.h: decoding PNG and JPEG files into 8- or 16-bit pixels, and open_clip's preprocessing
 * with PIL's exact semantics (antialiased bicubic resize of the shortest side, centre crop, RGB,
 * normalise). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The largest image accepted, in pixels (width x height), checked from the header before any
 * pixel is decoded. PIL's own decompression-bomb limit is 2 x 89,478,485; we stay below it. */
#define PL_IMAGE_MAX_PIXELS (89478485u)

/* Pixel layouts, named as PIL names its modes, since preprocessing follows PIL per mode.
 * The decoder gives each file the mode Pillow 9.4 gives it: PNG grey 1-bit -> "1", grey 2/4-bit ->
 * "L" (scaled x85 / x17), grey 16-bit -> I16, grey+alpha 16-bit -> RGBA (high bytes), RGB/RGBA
 * 16-bit -> RGB/RGBA (high bytes, not rounded), palette 1..8-bit -> P; tRNS on grey, RGB or palette
 * images never changes the mode. JPEG: 1 component -> L, 3 -> RGB, 4 -> CMYK. */
typedef enum {
  PL_IMAGE_L,      /* 8-bit grey (also 2/4-bit grey, scaled as PIL does) */
  PL_IMAGE_LA,     /* 8-bit grey + alpha */
  PL_IMAGE_P,      /* 8-bit palette index, palette in palette[] */
  PL_IMAGE_RGB,    /* 8-bit RGB */
  PL_IMAGE_RGBA,   /* 8-bit RGBA */
  PL_IMAGE_I16,    /* 16-bit grey, stored as uint16 host order. Pillow 9.4 opens these PNGs as
                    * mode "I" (32-bit) holding the same values 0..65535; resizing and conversion
                    * to RGB follow mode "I" (so values above 255 become white, as in PIL). */
  PL_IMAGE_1,      /* 1-bit, stored one byte per pixel, 0 or 255 (PIL mode "1") */
  PL_IMAGE_CMYK,   /* 8-bit CMYK as PIL holds it: Adobe's inverted JPEG samples re-inverted, so
                    * 0 is no ink; resized as CMYK, then converted to RGB as PIL does */
} PlImageMode;

typedef struct {
  PlImageMode mode;
  int         width, height;
  int         channels;      /* bytes (or uint16s) per pixel */
  gsize       stride;        /* bytes per row */
  uint8_t    *pixels;
  uint8_t     palette[256 * 4];  /* RGBA, for PL_IMAGE_P; entries past palette_size hold PIL's
                                  * grey ramp (i, i, i, 255), which out-of-range indices get */
  int         palette_size;      /* entries in the file's PLTE */
  gboolean    palette_has_alpha; /* tRNS present; convert("RGB") still ignores it, as PIL does */
} PlImage;

/* Decodes a PNG or JPEG file (detected from its signature). Errors name PATH and the problem. */
PlImage *pl_image_load        (const char    *path,
                               GError       **error);
PlImage *pl_image_load_from_memory (const uint8_t *data,
                                    gsize          length,
                                    const char    *name,
                                    GError       **error);
void     pl_image_free        (PlImage       *image);

/* The name Pillow 9.4 gives the mode of such an image: "L", "LA", "P", "RGB", "RGBA", "I" (for
 * PL_IMAGE_I16, which PIL opens as mode "I"), "1", "CMYK". */
const char *pl_image_mode_name (PlImageMode mode);

/* open_clip's PreprocessCfg.resize_mode: the shortest side to image_size then a centre crop
 * (BiomedCLIP's); the longest side to image_size then the short side padded with 0 (timm's
 * ResizeKeepRatio then CenterCropOrPad); or both sides to image_size, the aspect not kept. */
typedef enum {
  PL_RESIZE_SHORTEST = 0,
  PL_RESIZE_LONGEST,
  PL_RESIZE_SQUASH,
} PlResizeMode;

/* PreprocessCfg.interpolation: PIL's antialiased bicubic (a = -0.5) or bilinear filter. */
typedef enum {
  PL_INTERPOLATION_BICUBIC = 0,
  PL_INTERPOLATION_BILINEAR,
} PlInterpolation;

typedef struct {
  int             image_size;   /* 224 */
  float           mean[3];
  float           std[3];
  PlResizeMode    resize_mode;
  PlInterpolation interpolation;
} PlPreprocessConfig;

void     pl_preprocess_config_init_default (PlPreprocessConfig *config);

/* open_clip's transform: Resize(image_size, bicubic, antialias) of the shortest side -> CenterCrop
 * -> convert to RGB -> ToTensor -> Normalize (or the resize and crop of config's resize_mode and
 * interpolation). OUT: [3, image_size, image_size] f32.
 * If RGB8 is non-NULL it receives the cropped 8-bit RGB pixels (image_size^2 * 3) before normalising.
 * Only the pixels inside the crop are computed (bit-identical to PIL's full resize then crop), so a
 * very thin image costs no more than a square one; the error is PL_ERROR_TOO_LARGE only when the
 * resized long side would not fit in an int (PIL cannot make that image either). */
gboolean pl_image_preprocess  (const PlImage            *image,
                               const PlPreprocessConfig *config,
                               float                    *out,
                               uint8_t                  *rgb8,
                               GError                  **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlImage, pl_image_free)

G_END_DECLS
