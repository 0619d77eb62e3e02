/* pl-image-item.c: an image in the analysis list; notifies "state" when its analysis completes. */
#include "pl-image-item.h"

struct _PlImageItem
{
  GObject           parent_instance;
  char             *path;
  char             *name;
  GBytes           *bytes;
  PlImageItemState  state;
  PlAnalysis       *analysis;
  GdkTexture       *preview;
  GdkTexture       *thumbnail;  /* THUMBNAIL_SIZE pixels square, made when first asked for */
  int               thumbnail_size;
  char             *error;
};

G_DEFINE_FINAL_TYPE (PlImageItem, pl_image_item, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
pl_image_item_finalize (GObject *object)
{
  PlImageItem *self = PL_IMAGE_ITEM (object);

  g_free (self->path);
  g_free (self->name);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->analysis, pl_analysis_unref);
  g_clear_object (&self->preview);
  g_clear_object (&self->thumbnail);
  g_free (self->error);
  G_OBJECT_CLASS (pl_image_item_parent_class)->finalize (object);
}

static void
pl_image_item_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PlImageItem *self = PL_IMAGE_ITEM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_image_item_class_init (PlImageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_image_item_finalize;
  object_class->get_property = pl_image_item_get_property;
  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, 0, PL_IMAGE_ITEM_FAILED, 0,
                                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_image_item_init (PlImageItem *self)
{
}

PlImageItem *
pl_image_item_new (const char *path,
                   GBytes     *bytes)
{
  PlImageItem *self = g_object_new (PL_TYPE_IMAGE_ITEM, NULL);

  self->path = g_strdup (path);
  self->name = g_path_get_basename (path);
  self->bytes = bytes != NULL ? g_bytes_ref (bytes) : NULL;
  return self;
}

const char *
pl_image_item_get_path (PlImageItem *self)
{
  return self->path;
}

const char *
pl_image_item_get_name (PlImageItem *self)
{
  return self->name;
}

GBytes *
pl_image_item_get_bytes (PlImageItem *self)
{
  return self->bytes;
}

PlImageItemState
pl_image_item_get_state (PlImageItem *self)
{
  return self->state;
}

PlAnalysis *
pl_image_item_get_analysis (PlImageItem *self)
{
  return self->analysis;
}

const char *
pl_image_item_get_error (PlImageItem *self)
{
  return self->error;
}

GdkTexture *
pl_image_item_get_preview (PlImageItem *self)
{
  return self->preview;
}

/* SIZE x SIZE RGB pixels, area-averaged from the SOURCE x SOURCE RGB preview, as a texture in
 * GDK's default format. That is the memory layout of cairo's ARGB32: the software renderer then
 * copies it each frame instead of converting every pixel, and at its drawn size it scales nothing. */
static GdkTexture *
texture_from_rgb (const guint8 *rgb, int source, int size)
{
  gsize stride = (gsize) size * 4;
  guint8 *pixels = g_malloc (stride * size);

  for (int y = 0; y < size; y++)
    {
      int y0 = y * source / size, y1 = MAX (y0 + 1, (y + 1) * source / size);

      for (int x = 0; x < size; x++)
        {
          int x0 = x * source / size, x1 = MAX (x0 + 1, (x + 1) * source / size);
          guint sum[3] = { 0, 0, 0 }, n = (guint) ((y1 - y0) * (x1 - x0));
          guint8 *out = pixels + y * stride + (gsize) x * 4;

          for (int sy = y0; sy < y1; sy++)
            for (int sx = x0; sx < x1; sx++)
              for (int c = 0; c < 3; c++)
                sum[c] += rgb[((gsize) sy * source + sx) * 3 + c];
          /* B, G, R, A: opaque, so premultiplying changes nothing */
          out[0] = (guint8) ((sum[2] + n / 2) / n);
          out[1] = (guint8) ((sum[1] + n / 2) / n);
          out[2] = (guint8) ((sum[0] + n / 2) / n);
          out[3] = 255;
        }
    }
  {
    g_autoptr(GBytes) bytes = g_bytes_new_take (pixels, stride * size);

    return gdk_memory_texture_new (size, size, GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes, stride);
  }
}

GdkTexture *
pl_analysis_make_preview (PlAnalysis *analysis)
{
  return texture_from_rgb (analysis->preview_rgb, analysis->preview_size, analysis->preview_size);
}

GdkTexture *
pl_image_item_get_thumbnail (PlImageItem *self,
                             int          size)
{
  g_return_val_if_fail (PL_IS_IMAGE_ITEM (self), NULL);
  g_return_val_if_fail (size > 0, NULL);

  if (self->analysis == NULL)
    return NULL;
  if (self->thumbnail == NULL || self->thumbnail_size != size)
    {
      g_clear_object (&self->thumbnail);
      self->thumbnail = texture_from_rgb (self->analysis->preview_rgb, self->analysis->preview_size, size);
      self->thumbnail_size = size;
    }
  return self->thumbnail;
}

void
pl_image_item_set_analysis (PlImageItem *self,
                            PlAnalysis  *analysis)
{
  g_clear_pointer (&self->analysis, pl_analysis_unref);
  g_clear_object (&self->preview);
  g_clear_object (&self->thumbnail);
  self->analysis = pl_analysis_ref (analysis);
  self->preview = pl_analysis_make_preview (analysis);
  self->state = PL_IMAGE_ITEM_DONE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
pl_image_item_set_error (PlImageItem *self,
                         const char  *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  self->state = PL_IMAGE_ITEM_FAILED;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}
