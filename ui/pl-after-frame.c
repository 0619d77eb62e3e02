/* pl-after-frame.c: see pl-after-frame.h. */
#include "pl-after-frame.h"

gboolean
pl_after_frame_start (PlAfterFrame *after,
                      GtkWidget    *widget,
                      GCallback     callback,
                      gpointer      data)
{
  GtkNative *native = gtk_widget_get_native (widget);
  GdkFrameClock *clock = native != NULL ? gtk_widget_get_frame_clock (GTK_WIDGET (native)) : NULL;

  pl_after_frame_cancel (after);
  if (clock == NULL)
    return FALSE;
  after->clock = g_object_ref (clock);
  after->handler = g_signal_connect (clock, "after-paint", callback, data);
  return TRUE;
}

void
pl_after_frame_cancel (PlAfterFrame *after)
{
  /* A clock whose window is gone has dropped its handlers already. */
  if (after->clock != NULL && g_signal_handler_is_connected (after->clock, after->handler))
    g_signal_handler_disconnect (after->clock, after->handler);
  after->handler = 0;
  g_clear_object (&after->clock);
}

gboolean
pl_after_frame_pending (const PlAfterFrame *after)
{
  return after->clock != NULL;
}
