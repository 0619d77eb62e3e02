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

GdkTexture *
pl_analysis_make_preview (PlAnalysis *analysis)
{
  gsize stride = (gsize) analysis->preview_size * 3;
  g_autoptr(GBytes) pixels = g_bytes_new (analysis->preview_rgb, stride * analysis->preview_size);

  return gdk_memory_texture_new (analysis->preview_size, analysis->preview_size,
                                 GDK_MEMORY_R8G8B8, pixels, stride);
}

void
pl_image_item_set_analysis (PlImageItem *self,
                            PlAnalysis  *analysis)
{
  g_clear_pointer (&self->analysis, pl_analysis_unref);
  g_clear_object (&self->preview);
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
