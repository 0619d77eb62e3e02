/* pl-after-frame.h: run a callback once, right after the next frame of a widget's window is
 * painted: how a page shows the first screen's rows with one frame and builds the rest after it. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  GdkFrameClock *clock;    /* NULL when nothing is pending */
  gulong         handler;
} PlAfterFrame;

/* Connects CALLBACK (a GdkFrameClock::after-paint handler) for WIDGET's next painted frame, once
 * the caller cancels it from inside CALLBACK (as it must). Returns FALSE, and connects nothing,
 * when WIDGET has no frame clock yet (no window drawing): the caller then does the work at once. */
gboolean pl_after_frame_start   (PlAfterFrame *after,
                                 GtkWidget    *widget,
                                 GCallback     callback,
                                 gpointer      data);
/* Forgets the pending callback, if any; safe to call from the callback itself. */
void     pl_after_frame_cancel  (PlAfterFrame *after);
gboolean pl_after_frame_pending (const PlAfterFrame *after);

G_END_DECLS
