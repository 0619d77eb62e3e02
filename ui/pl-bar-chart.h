/* pl-bar-chart.h: a small horizontal bar chart (one labelled bar per row, values 0..max) drawn with
 * GtkSnapshot in the style's foreground and accent colours, so it reads in light and dark styles. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PL_TYPE_BAR_CHART (pl_bar_chart_get_type ())
G_DECLARE_FINAL_TYPE (PlBarChart, pl_bar_chart, PL, BAR_CHART, GtkWidget)

GtkWidget *pl_bar_chart_new        (void);
/* Removes every bar; MAX is the value of a full bar (100 for percentages). */
void       pl_bar_chart_clear      (PlBarChart *self,
                                    double      max);
/* Adds a bar; NOTE is drawn after the value (e.g. "3 pairs"), may be NULL. */
void       pl_bar_chart_add        (PlBarChart *self,
                                    const char *label,
                                    double      value,
                                    const char *note);
guint      pl_bar_chart_get_n_bars (PlBarChart *self);
double     pl_bar_chart_get_value  (PlBarChart *self,
                                    guint       index);

G_END_DECLS
