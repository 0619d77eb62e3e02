/* pl-resample.c: open_clip v2.23.0's inference transform (torchvision 0.14 Resize(224, BICUBIC) of the
 * shortest side -> CenterCrop(224) -> convert("RGB") -> ToTensor -> Normalize) with the exact
 * integer and floating-point arithmetic of Pillow 9.4, so the 8-bit crop is bit-identical to PIL's.
 * Its other PreprocessCfg settings too: resize_mode "squash" (Resize((224, 224))) and "longest"
 * (timm's ResizeKeepRatio, then CenterCropOrPad padding with 0 in the image's own mode), and
 * bilinear interpolation (PIL's triangle filter, support 1, widened the same way).
 *
 * What PIL does, and so what this file does:
 * - resize: separable, horizontal pass first (into an 8-bit image: its values are rounded and
 *   clipped), then vertical; bicubic kernel with a = -0.5 whose support is widened by the
 *   downscaling factor (antialiasing); weights normalised to sum 1 in double, then rounded to
 *   fixed point with 22 fraction bits; sums start at half a unit and are shifted and clipped.
 * - LA and RGBA are resized premultiplied ("La", "RGBa") and divided back afterwards; P and 1 are
 *   resized with nearest neighbour whatever filter is asked; mode I (16-bit grey PNG) is resized
 *   with double weights and rounded to integers, and its conversion to RGB clips at 255.
 * - an image whose size would not change is not resized at all (torchvision returns it as is).
 * Only the output pixels inside the crop are computed: each is a function of its own weights and
 * input rows, so the result equals the full resize followed by the crop. */
#include "pl-image.h"

#include "pl-error.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Pillow's PRECISION_BITS: 32 bits less 8 for the sample and 2 for sums past 0..255. */
#define WEIGHT_BITS 22
#define BICUBIC_A (-0.5)
#define BICUBIC_SUPPORT 2.0
#define BILINEAR_SUPPORT 1.0
/* A crop side beyond this is not an image size any CLIP model uses. */
#define MAX_CROP_SIZE 4096

void
pl_preprocess_config_init_default (PlPreprocessConfig *config)
{
  /* OpenAI's CLIP statistics, which BiomedCLIP keeps. The double values are rounded to float as
   * torch.as_tensor(mean, dtype=torch.float32) rounds them. */
  static const double mean[3] = { 0.48145466, 0.4578275, 0.40821073 };
  static const double std[3] = { 0.26862954, 0.26130258, 0.27577711 };

  config->image_size = 224;
  config->resize_mode = PL_RESIZE_SHORTEST;
  config->interpolation = PL_INTERPOLATION_BICUBIC;
  for (int c = 0; c < 3; c++)
    {
      config->mean[c] = (float) mean[c];
      config->std[c] = (float) std[c];
    }
}

/* Keys' cubic convolution kernel, written term by term in PIL's order so that every double
 * rounding is the same. */
static double
bicubic (double x)
{
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((BICUBIC_A + 2.0) * x - (BICUBIC_A + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
  return 0.0;
}

/* PIL's bilinear (triangle) filter, support 1. */
static double
bilinear (double x)
{
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return 1.0 - x;
  return 0.0;
}

/* The weights of one axis of the resize, for the output samples [out_first, out_first + count). */
typedef struct {
  int      taps;     /* weight slots per output sample */
  int     *first;    /* [count] first input sample read */
  int     *n;        /* [count] input samples read */
  double  *weight;   /* [count * taps] normalised weights (mode I) */
  int32_t *fixed;    /* [count * taps] the same in WEIGHT_BITS fixed point (8-bit modes) */
  /* The fixed-point weights split as hi * 2^11 + lo, both fitting int16, zero-padded to a multiple
   * of 8 taps: sums of 16-bit products (SSE2's pmaddwd) then add up to exactly PIL's 32-bit sum. */
  int      taps8;
  int16_t *fixed_hi; /* [count * taps8] */
  int16_t *fixed_lo; /* [count * taps8] */
  /* Taps 2p and 2p+1 of hi (and lo) as two int16 in one int32, four times: a ready pmaddwd
   * operand for interleaved pixels. [count * taps8 / 2 * 4] */
  int32_t *pair_hi;
  int32_t *pair_lo;
} Axis;

#define SPLIT_BITS 11

static void
axis_clear (Axis *axis)
{
  g_clear_pointer (&axis->first, g_free);
  g_clear_pointer (&axis->n, g_free);
  g_clear_pointer (&axis->weight, g_free);
  g_clear_pointer (&axis->fixed, g_free);
  g_clear_pointer (&axis->fixed_hi, g_free);
  g_clear_pointer (&axis->fixed_lo, g_free);
  g_clear_pointer (&axis->pair_hi, g_free);
  g_clear_pointer (&axis->pair_lo, g_free);
}

static gboolean
axis_init (Axis            *axis,
           int              in_size,
           int              out_size,
           int              out_first,
           int              count,
           PlInterpolation  interpolation)
{
  gboolean is_bilinear = interpolation == PL_INTERPOLATION_BILINEAR;
  /* PIL passes the source box as floats: (0, 0, width, height). */
  float box_start = 0.0f, box_end = (float) in_size;
  double scale, filterscale, support, inv_filterscale;

  memset (axis, 0, sizeof *axis);
  scale = (double) (box_end - box_start) / out_size;
  filterscale = scale < 1.0 ? 1.0 : scale;
  support = (is_bilinear ? BILINEAR_SUPPORT : BICUBIC_SUPPORT) * filterscale;
  inv_filterscale = 1.0 / filterscale;
  axis->taps = (int) ceil (support) * 2 + 1;

  axis->first = g_try_new (int, count);
  axis->n = g_try_new (int, count);
  axis->weight = g_try_new0 (double, (gsize) count * axis->taps);
  axis->fixed = g_try_new0 (int32_t, (gsize) count * axis->taps);
  axis->taps8 = (axis->taps + 7) / 8 * 8;
  axis->fixed_hi = g_try_new0 (int16_t, (gsize) count * axis->taps8);
  axis->fixed_lo = g_try_new0 (int16_t, (gsize) count * axis->taps8);
  axis->pair_hi = g_try_new0 (int32_t, (gsize) count * axis->taps8 * 2);
  axis->pair_lo = g_try_new0 (int32_t, (gsize) count * axis->taps8 * 2);
  if (axis->first == NULL || axis->n == NULL || axis->weight == NULL || axis->fixed == NULL ||
      axis->fixed_hi == NULL || axis->fixed_lo == NULL || axis->pair_hi == NULL || axis->pair_lo == NULL)
    {
      axis_clear (axis);
      return FALSE;
    }

  for (int i = 0; i < count; i++)
    {
      int xx = out_first + i;
      double center = box_start + (xx + 0.5) * scale;
      double total = 0.0;
      double *w = axis->weight + (gsize) i * axis->taps;
      int32_t *fixed = axis->fixed + (gsize) i * axis->taps;
      int xmin, xmax;

      /* "+ 0.5" then truncation: PIL's rounding of the window ends. */
      xmin = (int) (center - support + 0.5);
      if (xmin < 0)
        xmin = 0;
      xmax = (int) (center + support + 0.5);
      if (xmax > in_size)
        xmax = in_size;
      xmax -= xmin;
      for (int x = 0; x < xmax; x++)
        {
          double t = (x + xmin - center + 0.5) * inv_filterscale;

          w[x] = is_bilinear ? bilinear (t) : bicubic (t);
          total += w[x];
        }
      for (int x = 0; x < xmax; x++)
        if (total != 0.0)
          w[x] /= total;
      for (int x = 0; x < xmax; x++)
        {
          fixed[x] = (int32_t) (w[x] < 0 ? -0.5 + w[x] * (1 << WEIGHT_BITS)
                                         : 0.5 + w[x] * (1 << WEIGHT_BITS));
          /* Normalised bicubic weights lie in about [-0.1, 1], so hi fits int16 easily. */
          axis->fixed_hi[(gsize) i * axis->taps8 + x] = (int16_t) (fixed[x] >> SPLIT_BITS);
          axis->fixed_lo[(gsize) i * axis->taps8 + x] = (int16_t) (fixed[x] & ((1 << SPLIT_BITS) - 1));
        }
      for (int t = 0; t < axis->taps8; t += 2)
        {
          const int16_t *hi = axis->fixed_hi + (gsize) i * axis->taps8 + t;
          const int16_t *lo = axis->fixed_lo + (gsize) i * axis->taps8 + t;
          int32_t *pair_hi = axis->pair_hi + ((gsize) i * axis->taps8 + t) * 2;
          int32_t *pair_lo = axis->pair_lo + ((gsize) i * axis->taps8 + t) * 2;

          for (int lane = 0; lane < 4; lane++)
            {
              pair_hi[lane] = (int32_t) ((uint32_t) (uint16_t) hi[0] | (uint32_t) (uint16_t) hi[1] << 16);
              pair_lo[lane] = (int32_t) ((uint32_t) (uint16_t) lo[0] | (uint32_t) (uint16_t) lo[1] << 16);
            }
        }
      axis->first[i] = xmin;
      axis->n[i] = xmax;
    }
  return TRUE;
}

static inline uint8_t
clip_fixed (int32_t sum)
{
  /* An arithmetic shift (floor), as PIL's lookup table is indexed. */
  int32_t v = sum >> WEIGHT_BITS;

  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t) v;
}

static inline uint8_t
clip8 (int v)
{
  return v <= 0 ? 0 : v < 256 ? (uint8_t) v : 255;
}

/* (a * b + 127) / 255 rounded as PIL's MULDIV255 does it. */
static inline unsigned int
mul_div255 (unsigned int a,
            unsigned int b)
{
  unsigned int t = a * b + 128;

  return ((t >> 8) + t) >> 8;
}

/* Horizontal pass of one row of CHANNELS interleaved 8-bit samples: count output samples. A
 * constant CHANNELS lets the compiler unroll the channel loop. */
static inline __attribute__ ((always_inline)) void
resample_row_u8 (const uint8_t *in,
                 uint8_t       *out,
                 const Axis    *axis,
                 int            count,
                 const int      channels)
{
  for (int i = 0; i < count; i++)
    {
      const int32_t *k = axis->fixed + (gsize) i * axis->taps;
      const uint8_t *p = in + (gsize) axis->first[i] * channels;
      int n = axis->n[i];
      int32_t sum[4] = { 1 << (WEIGHT_BITS - 1), 1 << (WEIGHT_BITS - 1),
                         1 << (WEIGHT_BITS - 1), 1 << (WEIGHT_BITS - 1) };

      for (int x = 0; x < n; x++)
        for (int c = 0; c < channels; c++)
          sum[c] += p[x * channels + c] * k[x];
      for (int c = 0; c < channels; c++)
        out[i * channels + c] = clip_fixed (sum[c]);
    }
}

#ifdef __SSE2__
static inline int32_t
sum_lanes (__m128i v)
{
  v = _mm_add_epi32 (v, _mm_shuffle_epi32 (v, _MM_SHUFFLE (1, 0, 3, 2)));
  v = _mm_add_epi32 (v, _mm_shuffle_epi32 (v, _MM_SHUFFLE (2, 3, 0, 1)));
  return _mm_cvtsi128_si32 (v);
}

/* The same sums as resample_row_u8 for one channel, 8 taps at a time, on a PLANE that is readable
 * (and zero) for taps8 samples past its end. Integer sums: the order does not matter, the result is
 * PIL's exactly. */
static void
resample_plane_sse2 (const uint8_t *plane,
                     uint8_t       *out,
                     int            out_step,
                     const Axis    *axis,
                     int            count)
{
  const __m128i zero = _mm_setzero_si128 ();

  for (int i = 0; i < count; i++)
    {
      const int16_t *hi = axis->fixed_hi + (gsize) i * axis->taps8;
      const int16_t *lo = axis->fixed_lo + (gsize) i * axis->taps8;
      const uint8_t *p = plane + axis->first[i];
      int n = axis->n[i];
      __m128i acc_hi = zero, acc_lo = zero;
      gint64 sum;

      for (int x = 0; x < n; x += 8)
        {
          __m128i v = _mm_unpacklo_epi8 (_mm_loadl_epi64 ((const __m128i *) (const void *) (p + x)), zero);

          acc_hi = _mm_add_epi32 (acc_hi, _mm_madd_epi16 (v, _mm_loadu_si128 ((const __m128i *) (const void *) (hi + x))));
          acc_lo = _mm_add_epi32 (acc_lo, _mm_madd_epi16 (v, _mm_loadu_si128 ((const __m128i *) (const void *) (lo + x))));
        }
      sum = (gint64) (1 << (WEIGHT_BITS - 1)) + (gint64) sum_lanes (acc_hi) * (1 << SPLIT_BITS) +
            sum_lanes (acc_lo);
      out[i * out_step] = clip_fixed ((int32_t) sum);
    }
}
#endif

#ifdef __SSE2__
/* Horizontal pass for 2 to 4 interleaved channels, one output pixel per vector: two neighbouring
 * input pixels' bytes interleaved by channel (r0 r1 g0 g1 b0 b1 ..) meet their two weights in
 * pmaddwd, so each 32-bit lane sums one channel and no lane-crossing sum is needed. ROW must be
 * readable for 2 pixels + 4 bytes past its end; lanes past CHANNELS are ignored. */
static void
resample_pixels_sse2 (const uint8_t *row,
                      uint8_t       *out,
                      const Axis    *axis,
                      int            count,
                      int            channels)
{
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi32 (1 << (WEIGHT_BITS - 1));

  for (int i = 0; i < count; i++)
    {
      const uint8_t *p = row + (gsize) axis->first[i] * channels;
      const int32_t *pair_hi = axis->pair_hi + (gsize) i * axis->taps8 * 2;
      const int32_t *pair_lo = axis->pair_lo + (gsize) i * axis->taps8 * 2;
      int n = axis->n[i];
      __m128i acc_hi = zero, acc_lo = zero, sum;
      uint32_t a32, b32, packed;

      for (int t = 0; t < n; t += 2)
        {
          __m128i ab;

          /* Past the last tap the weight is zero, so pixel n's bytes do not count. */
          memcpy (&a32, p + t * channels, 4);
          memcpy (&b32, p + (t + 1) * channels, 4);
          ab = _mm_unpacklo_epi8 (_mm_unpacklo_epi8 (_mm_cvtsi32_si128 ((int) a32), _mm_cvtsi32_si128 ((int) b32)), zero);
          acc_hi = _mm_add_epi32 (acc_hi, _mm_madd_epi16 (ab, _mm_loadu_si128 ((const __m128i *) (const void *) (pair_hi + 2 * t))));
          acc_lo = _mm_add_epi32 (acc_lo, _mm_madd_epi16 (ab, _mm_loadu_si128 ((const __m128i *) (const void *) (pair_lo + 2 * t))));
        }
      sum = _mm_add_epi32 (_mm_add_epi32 (_mm_slli_epi32 (acc_hi, SPLIT_BITS), acc_lo), half);
      sum = _mm_srai_epi32 (sum, WEIGHT_BITS);
      sum = _mm_packs_epi32 (sum, sum);
      packed = (uint32_t) _mm_cvtsi128_si32 (_mm_packus_epi16 (sum, sum));
      memcpy (out + (gsize) i * channels, &packed, channels);
    }
}

/* Vertical pass for output row I: the same sums as the scalar loop, two taps and eight samples at
 * a time (the two rows' bytes interleaved so that pmaddwd multiplies each by its own weight). */
static void
resample_rows_sse2 (const uint8_t *rows,
                    gsize          row_samples,
                    const Axis    *axis,
                    int            i,
                    uint8_t       *dst)
{
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi32 (1 << (WEIGHT_BITS - 1));
  const int16_t *hi = axis->fixed_hi + (gsize) i * axis->taps8;
  const int16_t *lo = axis->fixed_lo + (gsize) i * axis->taps8;
  const int32_t *k = axis->fixed + (gsize) i * axis->taps;
  int n = axis->n[i];
  gsize j = 0;

  for (; j + 8 <= row_samples; j += 8)
    {
      __m128i acc_hi0 = zero, acc_hi1 = zero, acc_lo0 = zero, acc_lo1 = zero, s0, s1;

      for (int t = 0; t < n; t += 2)
        {
          /* hi[n] and lo[n] are zero padding, so an odd last tap pairs with a zero row. */
          __m128i a = _mm_loadl_epi64 ((const __m128i *) (const void *) (rows + t * row_samples + j));
          __m128i b = t + 1 < n ? _mm_loadl_epi64 ((const __m128i *) (const void *) (rows + (t + 1) * row_samples + j))
                                : zero;
          __m128i ab = _mm_unpacklo_epi8 (a, b);
          __m128i ab0 = _mm_unpacklo_epi8 (ab, zero), ab1 = _mm_unpackhi_epi8 (ab, zero);
          __m128i w_hi = _mm_set1_epi32 ((int) ((uint32_t) (uint16_t) hi[t] | (uint32_t) (uint16_t) hi[t + 1] << 16));
          __m128i w_lo = _mm_set1_epi32 ((int) ((uint32_t) (uint16_t) lo[t] | (uint32_t) (uint16_t) lo[t + 1] << 16));

          acc_hi0 = _mm_add_epi32 (acc_hi0, _mm_madd_epi16 (ab0, w_hi));
          acc_hi1 = _mm_add_epi32 (acc_hi1, _mm_madd_epi16 (ab1, w_hi));
          acc_lo0 = _mm_add_epi32 (acc_lo0, _mm_madd_epi16 (ab0, w_lo));
          acc_lo1 = _mm_add_epi32 (acc_lo1, _mm_madd_epi16 (ab1, w_lo));
        }
      /* hi * 2^11 + lo + half is PIL's 32-bit sum; shift, then saturate to 0..255 as clip8. */
      s0 = _mm_add_epi32 (_mm_add_epi32 (_mm_slli_epi32 (acc_hi0, SPLIT_BITS), acc_lo0), half);
      s1 = _mm_add_epi32 (_mm_add_epi32 (_mm_slli_epi32 (acc_hi1, SPLIT_BITS), acc_lo1), half);
      s0 = _mm_packs_epi32 (_mm_srai_epi32 (s0, WEIGHT_BITS), _mm_srai_epi32 (s1, WEIGHT_BITS));
      _mm_storel_epi64 ((__m128i *) (void *) (dst + j), _mm_packus_epi16 (s0, s0));
    }
  for (; j < row_samples; j++)
    {
      int32_t sum = 1 << (WEIGHT_BITS - 1);

      for (int t = 0; t < n; t++)
        sum += rows[t * row_samples + j] * k[t];
      dst[j] = clip_fixed (sum);
    }
}
#endif

/* Horizontal pass of one interleaved row. PLANES: scratch for a padded copy of the row, zero past
 * it (NULL without SSE2). */
static void
resample_row_u8_any (const uint8_t *in,
                     uint8_t       *out,
                     const Axis    *axis,
                     int            count,
                     int            channels,
                     int            width,
                     uint8_t       *planes)
{
#ifdef __SSE2__
  /* A padded copy of the row: both kernels read a little past the last pixel. */
  memcpy (planes, in, (gsize) width * channels);
  if (channels == 1)
    resample_plane_sse2 (planes, out, 1, axis, count);
  else
    resample_pixels_sse2 (planes, out, axis, count, channels);
  return;
#endif
  switch (channels)
    {
    case 1: resample_row_u8 (in, out, axis, count, 1); break;
    case 2: resample_row_u8 (in, out, axis, count, 2); break;
    case 3: resample_row_u8 (in, out, axis, count, 3); break;
    default: resample_row_u8 (in, out, axis, count, 4); break;
    }
}

/* The source rows in the layout that gets resampled: 8-bit samples, LA and RGBA premultiplied
 * by alpha when they are resized (PIL's "La" and "RGBa"), I16 widened to int32. */
typedef struct {
  const PlImage *image;
  gboolean       premultiply;
  uint8_t       *scratch;    /* one row, when the source row needs converting */
} Source;

static const uint8_t *
source_row (const Source *source,
            int           y)
{
  const PlImage *image = source->image;
  const uint8_t *row = image->pixels + image->stride * y;
  int width = image->width;

  if (image->mode == PL_IMAGE_I16)
    {
      const uint16_t *in = (const uint16_t *) (const void *) row;
      int32_t *out = (int32_t *) (void *) source->scratch;

      for (int x = 0; x < width; x++)
        out[x] = in[x];
      return source->scratch;
    }
  if (!source->premultiply)
    return row;
  if (image->mode == PL_IMAGE_LA)
    for (int x = 0; x < width; x++)
      {
        source->scratch[2 * x] = (uint8_t) mul_div255 (row[2 * x], row[2 * x + 1]);
        source->scratch[2 * x + 1] = row[2 * x + 1];
      }
  else
    for (int x = 0; x < width; x++)
      {
        const uint8_t *p = row + 4 * x;
        uint8_t *q = source->scratch + 4 * x;

        q[0] = (uint8_t) mul_div255 (p[0], p[3]);
        q[1] = (uint8_t) mul_div255 (p[1], p[3]);
        q[2] = (uint8_t) mul_div255 (p[2], p[3]);
        q[3] = p[3];
      }
  return source->scratch;
}

/* PIL's rounding of double sums for mode I (ROUND_UP with a float 0.5). */
static inline int32_t
round_half_away (double v)
{
  return (int32_t) (v >= 0.0 ? v + 0.5f : v - 0.5f);
}

/* The crop [crop_x, +crop_w) x [crop_y, +crop_h) of SOURCE resized to out_w x out_h with PIL's
 * antialiased filter, in the working layout: OUT holds crop_w * crop_h * channels samples,
 * uint8 or (mode I) int32. */
static gboolean
resample_crop (const Source    *source,
               int              channels,
               int              out_w,
               int              out_h,
               int              crop_x,
               int              crop_y,
               int              crop_w,
               int              crop_h,
               PlInterpolation  interpolation,
               void            *out)
{
  const PlImage *image = source->image;
  gboolean wide = image->mode == PL_IMAGE_I16;
  gsize sample_bytes = wide ? sizeof (int32_t) : 1;
  gsize row_samples = (gsize) crop_w * channels;
  gboolean need_h = out_w != image->width, need_v = out_h != image->height;
  Axis ah = { 0 }, av = { 0 };
  g_autofree uint8_t *temp = NULL;
  g_autofree int32_t *acc = NULL;
  g_autofree double *acc_d = NULL;
  g_autofree uint8_t *planes = NULL;
  int y0, y1;
  gboolean ok = FALSE;

  if ((need_h && !axis_init (&ah, image->width, out_w, crop_x, crop_w, interpolation)) ||
      (need_v && !axis_init (&av, image->height, out_h, crop_y, crop_h, interpolation)))
    goto out;

  /* The source rows the crop's output rows read. */
  if (need_v)
    {
      y0 = av.first[0];
      y1 = av.first[crop_h - 1] + av.n[crop_h - 1];
    }
  else
    {
      y0 = crop_y;
      y1 = crop_y + crop_h;
    }

  temp = g_try_malloc ((gsize) (y1 - y0) * row_samples * sample_bytes);
  acc = g_try_new (int32_t, row_samples);
  acc_d = g_try_new (double, row_samples);
  if (temp == NULL || acc == NULL || acc_d == NULL)
    goto out;
  if (need_h && !wide)
    {
      /* A row copy readable for taps8 samples past its end: the padding stays zero. */
      planes = g_try_malloc0 (((gsize) image->width + ah.taps8 + 16) * channels);
      if (planes == NULL)
        goto out;
    }

  /* Horizontal pass: each needed source row, resampled (PIL stores the result at the source's
   * sample type, which rounds and clips) or, when the width does not change, copied. */
  for (int y = y0; y < y1; y++)
    {
      const uint8_t *row = source_row (source, y);
      uint8_t *dst = temp + (gsize) (y - y0) * row_samples * sample_bytes;

      if (!need_h)
        memcpy (dst, row + (gsize) crop_x * channels * sample_bytes, row_samples * sample_bytes);
      else if (!wide)
        resample_row_u8_any (row, dst, &ah, crop_w, channels, image->width, planes);
      else
        {
          const int32_t *in = (const int32_t *) (const void *) row;
          int32_t *o = (int32_t *) (void *) dst;

          for (int i = 0; i < crop_w; i++)
            {
              const double *k = ah.weight + (gsize) i * ah.taps;
              const int32_t *p = in + ah.first[i];
              double sum = 0.0;

              for (int x = 0; x < ah.n[i]; x++)
                sum += p[x] * k[x];
              o[i] = round_half_away (sum);
            }
        }
    }

  /* Vertical pass over the horizontally resampled rows. */
  for (int i = 0; i < crop_h; i++)
    {
      uint8_t *dst = (uint8_t *) out + (gsize) i * row_samples * sample_bytes;

      if (!need_v)
        {
          memcpy (dst, temp + (gsize) i * row_samples * sample_bytes, row_samples * sample_bytes);
          continue;
        }
      if (!wide)
        {
#ifdef __SSE2__
          resample_rows_sse2 (temp + (gsize) (av.first[i] - y0) * row_samples, row_samples, &av, i, dst);
          continue;
#endif
          const int32_t *k = av.fixed + (gsize) i * av.taps;

          for (gsize j = 0; j < row_samples; j++)
            acc[j] = 1 << (WEIGHT_BITS - 1);
          for (int t = 0; t < av.n[i]; t++)
            {
              const uint8_t *r = temp + (gsize) (av.first[i] + t - y0) * row_samples;
              int32_t kt = k[t];

              for (gsize j = 0; j < row_samples; j++)
                acc[j] += r[j] * kt;
            }
          for (gsize j = 0; j < row_samples; j++)
            dst[j] = clip_fixed (acc[j]);
        }
      else
        {
          const double *k = av.weight + (gsize) i * av.taps;
          int32_t *o = (int32_t *) (void *) dst;

          for (gsize j = 0; j < row_samples; j++)
            acc_d[j] = 0.0;
          for (int t = 0; t < av.n[i]; t++)
            {
              const int32_t *r = (const int32_t *) (const void *)
                (temp + (gsize) (av.first[i] + t - y0) * row_samples * sample_bytes);
              double kt = k[t];

              for (gsize j = 0; j < row_samples; j++)
                acc_d[j] += r[j] * kt;
            }
          for (gsize j = 0; j < row_samples; j++)
            o[j] = round_half_away (acc_d[j]);
        }
    }
  ok = TRUE;

out:
  axis_clear (&ah);
  axis_clear (&av);
  return ok;
}

/* PIL's nearest-neighbour resize (ImagingScaleAffine): source positions accumulate a double step
 * from half a step, output pixels past the source are 0. OUT: crop_w * crop_h samples. */
static gboolean
nearest_crop (const PlImage *image,
              int            out_w,
              int            out_h,
              int            crop_x,
              int            crop_y,
              int            crop_w,
              int            crop_h,
              uint8_t       *out)
{
  double step_x = (double) ((float) image->width - 0.0f) / out_w;
  double step_y = (double) ((float) image->height - 0.0f) / out_h;
  g_autofree int *xin = g_try_new (int, crop_w);
  double pos;

  if (xin == NULL)
    return FALSE;
  /* Repeated addition, not multiplication, so that the rounding drifts exactly as PIL's does. */
  pos = 0.0 + step_x * 0.5;
  for (int x = 0; x < crop_x + crop_w; x++)
    {
      if (x >= crop_x)
        {
          int v = pos < 0.0 ? -1 : (int) pos;

          xin[x - crop_x] = v < image->width ? v : -1;
        }
      pos += step_x;
    }
  pos = 0.0 + step_y * 0.5;
  for (int y = 0; y < crop_y + crop_h; y++)
    {
      if (y >= crop_y)
        {
          int yi = pos < 0.0 ? -1 : (int) pos;
          uint8_t *dst = out + (gsize) (y - crop_y) * crop_w;

          if (yi < 0 || yi >= image->height)
            memset (dst, 0, crop_w);
          else
            {
              const uint8_t *row = image->pixels + image->stride * yi;

              for (int i = 0; i < crop_w; i++)
                dst[i] = xin[i] >= 0 ? row[xin[i]] : 0;
            }
        }
      pos += step_y;
    }
  return TRUE;
}

/* convert("RGB") of the cropped pixels in the working layout; PREMULTIPLIED says whether LA/RGBA
 * went through "La"/"RGBa" and must be divided back first (PIL's La->LA, RGBa->RGBA). */
static void
convert_to_rgb (const PlImage *image,
                const void    *crop,
                gsize          n_pixels,
                gboolean       premultiplied,
                uint8_t       *rgb)
{
  const uint8_t *in = crop;

  for (gsize i = 0; i < n_pixels; i++)
    {
      uint8_t *o = rgb + 3 * i;

      switch (image->mode)
        {
        case PL_IMAGE_L:
          o[0] = o[1] = o[2] = in[i];
          break;
        case PL_IMAGE_1:
          o[0] = o[1] = o[2] = in[i] != 0 ? 255 : 0;
          break;
        case PL_IMAGE_P:
          memcpy (o, image->palette + 4 * in[i], 3);
          break;
        case PL_IMAGE_I16:
          {
            int32_t v = ((const int32_t *) crop)[i];

            o[0] = o[1] = o[2] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t) v;
          }
          break;
        case PL_IMAGE_LA:
          {
            unsigned int l = in[2 * i], a = in[2 * i + 1];

            if (premultiplied && a != 0 && a != 255)
              l = clip8 ((int) ((255 * l) / a));
            o[0] = o[1] = o[2] = (uint8_t) l;
          }
          break;
        case PL_IMAGE_RGB:
          memcpy (o, in + 3 * i, 3);
          break;
        case PL_IMAGE_RGBA:
          {
            const uint8_t *p = in + 4 * i;
            unsigned int a = p[3];

            for (int c = 0; c < 3; c++)
              o[c] = premultiplied && a != 0 && a != 255 ? clip8 ((int) ((255 * p[c]) / a)) : p[c];
          }
          break;
        case PL_IMAGE_CMYK:
          {
            const uint8_t *p = in + 4 * i;
            unsigned int no_black = 255 - p[3];

            for (int c = 0; c < 3; c++)
              o[c] = clip8 ((int) no_black - (int) mul_div255 (p[c], no_black));
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

/* Python's round() of d / 2 for a whole d >= 0: halves go to the even neighbour. */
static int
half_round_even (gint64 d)
{
  gint64 k = d / 2;

  if (d % 2 == 0 || k % 2 == 0)
    return (int) k;
  return (int) k + 1;
}

gboolean
pl_image_preprocess (const PlImage            *image,
                     const PlPreprocessConfig *config,
                     float                    *out,
                     uint8_t                  *rgb8,
                     GError                  **error)
{
  int size, w, h, out_w, out_h, off_x, off_y, rx0, ry0, rw, rh, channels;
  gboolean resize, premultiply, padded;
  gsize n_pixels, pixel_bytes;
  g_autofree uint8_t *crop = NULL;
  g_autofree uint8_t *region_own = NULL;
  uint8_t *region;
  g_autofree uint8_t *rgb_own = NULL;
  g_autofree uint8_t *scratch = NULL;
  uint8_t *rgb;

  g_return_val_if_fail (image != NULL && config != NULL && out != NULL, FALSE);

  size = config->image_size;
  if (size < 1 || size > MAX_CROP_SIZE)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID,
                   "image size %d is not between 1 and %d", size, MAX_CROP_SIZE);
      return FALSE;
    }
  for (int c = 0; c < 3; c++)
    if (!(config->std[c] != 0.0f) || !isfinite (config->std[c]) || !isfinite (config->mean[c]))
      {
        g_set_error (error, PL_ERROR, PL_ERROR_INVALID,
                     "normalisation std[%d] = %g, mean[%d] = %g: std must be finite and non-zero",
                     c, config->std[c], c, config->mean[c]);
        return FALSE;
      }

  w = image->width;
  h = image->height;
  switch (config->resize_mode)
    {
    case PL_RESIZE_SQUASH:
      /* Resize((size, size)): both sides to SIZE */
      out_w = out_h = size;
      break;
    case PL_RESIZE_LONGEST:
      {
        /* timm's ResizeKeepRatio with longest = 1: each side divided by the larger of the two
         * side / size ratios, then Python's round (halves to even) */
        double ratio = MAX ((double) h / size, (double) w / size);
        double new_w = nearbyint (w / ratio), new_h = nearbyint (h / ratio);

        if (new_w < 1.0 || new_h < 1.0)
          {
            g_set_error (error, PL_ERROR, PL_ERROR_INVALID,
                         "a %d x %d image fitted into %d x %d pixels would be %.0f x %.0f: too thin to "
                         "resize (PIL cannot either)", w, h, size, size, new_w, new_h);
            return FALSE;
          }
        out_w = (int) new_w;
        out_h = (int) new_h;
      }
      break;
    case PL_RESIZE_SHORTEST:
    default:
      {
        /* torchvision's Resize(size): the short side becomes SIZE and the long side
         * int(size * long / short), a true division then truncation. */
        int short_side = MIN (w, h), long_side = MAX (w, h);
        double new_long = (double) ((gint64) size * long_side) / (double) short_side;

        if (new_long > G_MAXINT)
          {
            g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                         "a %d x %d image resized to %d pixels on its short side would be %.0f pixels "
                         "long, more than %d (PIL cannot resize it either)",
                         w, h, size, floor (new_long), G_MAXINT);
            return FALSE;
          }
        out_w = w <= h ? size : (int) new_long;
        out_h = w <= h ? (int) new_long : size;
      }
      break;
    }
  resize = out_w != w || out_h != h;
  /* CenterCrop / CenterCropOrPad: a side shorter than SIZE is first padded with zeros,
   * (size - side) / 2 of them (rounded down) before it; the crop offset is then
   * round((side - size) / 2) with Python's rounding. Output pixel (x, y) is pixel
   * (x + off_x, y + off_y) of the resized image, and only the rectangle [rx0, +rw) x [ry0, +rh)
   * of the output lies on it: the rest is padding. */
  off_x = half_round_even ((gint64) MAX (out_w, size) - size) - (out_w < size ? (size - out_w) / 2 : 0);
  off_y = half_round_even ((gint64) MAX (out_h, size) - size) - (out_h < size ? (size - out_h) / 2 : 0);
  rx0 = MAX (0, -off_x);
  ry0 = MAX (0, -off_y);
  rw = MIN (size, out_w - off_x) - rx0;
  rh = MIN (size, out_h - off_y) - ry0;

  n_pixels = (gsize) size * size;
  premultiply = resize && (image->mode == PL_IMAGE_LA || image->mode == PL_IMAGE_RGBA);
  channels = image->channels;
  pixel_bytes = (gsize) channels * (image->mode == PL_IMAGE_I16 ? sizeof (int32_t) : 1);
  padded = rw != size || rh != size;
  crop = padded ? g_try_malloc0 (n_pixels * pixel_bytes) : g_try_malloc (n_pixels * pixel_bytes);
  region = padded ? (region_own = g_try_malloc ((gsize) rw * rh * pixel_bytes)) : crop;
  scratch = g_try_malloc ((gsize) image->width * MAX (channels, (int) sizeof (int32_t)));
  rgb = rgb8 != NULL ? rgb8 : (rgb_own = g_try_malloc (n_pixels * 3));
  if (crop == NULL || region == NULL || scratch == NULL || rgb == NULL)
    goto out_of_memory;

  if (image->mode == PL_IMAGE_P || image->mode == PL_IMAGE_1)
    {
      if (!nearest_crop (image, out_w, out_h, rx0 + off_x, ry0 + off_y, rw, rh, region))
        goto out_of_memory;
    }
  else
    {
      Source source = { image, premultiply, scratch };

      if (!resample_crop (&source, channels, out_w, out_h, rx0 + off_x, ry0 + off_y, rw, rh,
                          config->interpolation, region))
        goto out_of_memory;
    }
  if (padded)
    for (int y = 0; y < rh; y++)
      memcpy (crop + ((gsize) (ry0 + y) * size + rx0) * pixel_bytes, region + (gsize) y * rw * pixel_bytes,
              (gsize) rw * pixel_bytes);
  convert_to_rgb (image, crop, n_pixels, premultiply, rgb);

  /* ToTensor then Normalize, in float32 as torch computes them: x / 255, - mean, / std. */
  for (int c = 0; c < 3; c++)
    {
      float *plane = out + (gsize) c * n_pixels;
      float mean = config->mean[c], std = config->std[c];

      for (gsize i = 0; i < n_pixels; i++)
        plane[i] = ((float) rgb[3 * i + c] / 255.0f - mean) / std;
    }
  return TRUE;

out_of_memory:
  g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
               "not enough memory to preprocess a %d x %d image", w, h);
  return FALSE;
}
