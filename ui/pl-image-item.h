/* pl-image-item.h: one image in the analysis list: where it came from, and its analysis or error. */
#pragma once

#include <gdk/gdk.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

typedef enum {
  PL_IMAGE_ITEM_WAITING,
  PL_IMAGE_ITEM_DONE,
  PL_IMAGE_ITEM_FAILED,
} PlImageItemState;

#define PL_TYPE_IMAGE_ITEM (pl_image_item_get_type ())
G_DECLARE_FINAL_TYPE (PlImageItem, pl_image_item, PL, IMAGE_ITEM, GObject)

PlImageItem      *pl_image_item_new          (const char  *path,
                                              GBytes      *bytes);
const char       *pl_image_item_get_path     (PlImageItem *self);
const char       *pl_image_item_get_name     (PlImageItem *self);
GBytes           *pl_image_item_get_bytes    (PlImageItem *self);
PlImageItemState  pl_image_item_get_state    (PlImageItem *self);
PlAnalysis       *pl_image_item_get_analysis (PlImageItem *self);
const char       *pl_image_item_get_error    (PlImageItem *self);
/* The centre crop the model saw, as a texture (NULL until analysed). */
GdkTexture       *pl_image_item_get_preview  (PlImageItem *self);
/* The same, SIZE pixels square (the list's thumbnail at its device size; NULL until analysed). */
GdkTexture       *pl_image_item_get_thumbnail (PlImageItem *self,
                                               int          size);
void              pl_image_item_set_analysis (PlImageItem *self,
                                              PlAnalysis  *analysis);
void              pl_image_item_set_error    (PlImageItem *self,
                                              const char  *message);

/* A texture of ANALYSIS's preview pixels. */
GdkTexture       *pl_analysis_make_preview   (PlAnalysis  *analysis);

G_END_DECLS
