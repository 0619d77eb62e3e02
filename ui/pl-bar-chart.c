/* pl-bar-chart.c: horizontal bars with their labels and values, drawn with GtkSnapshot. The colours
 * come from the widget's style (foreground, accent) so that light, dark and high-contrast styles work. */
#include "pl-bar-chart.h"

#include <glib/gi18n.h>

#define ROW_HEIGHT 26
#define BAR_HEIGHT 10
#define LABEL_SHARE 0.42   /* of the width, for the labels */
#define VALUE_WIDTH 120    /* for "100.0 %  (12 pairs)" */
#define GAP 8

typedef struct {
  char   *label;
  double  value;
  char   *note;
} Bar;

struct _PlBarChart
{
  GtkWidget  parent_instance;
  GArray    *bars;   /* Bar */
  double     max;
};

G_DEFINE_FINAL_TYPE (PlBarChart, pl_bar_chart, GTK_TYPE_WIDGET)

static void
bar_clear (gpointer data)
{
  Bar *bar = data;

  g_free (bar->label);
  g_free (bar->note);
}

static void
get_colors (GtkWidget *widget,
            GdkRGBA   *fg,
            GdkRGBA   *accent)
{
  GtkStyleContext *context;

  /* GTK 4.8: the style context is the way to the theme's named colours. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  context = gtk_widget_get_style_context (widget);
  gtk_style_context_get_color (context, fg);
  if (!gtk_style_context_lookup_color (context, "accent_bg_color", accent))
    *accent = *fg;
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
draw_text (GtkSnapshot   *snapshot,
           PangoLayout   *layout,
           const char    *text,
           double         x,
           double         y,
           int            width,
           PangoAlignment alignment,
           const GdkRGBA *color)
{
  int text_height;

  pango_layout_set_text (layout, text, -1);
  pango_layout_set_width (layout, MAX (width, 1) * PANGO_SCALE);
  pango_layout_set_alignment (layout, alignment);
  pango_layout_get_pixel_size (layout, NULL, &text_height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y + (ROW_HEIGHT - text_height) / 2.0));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
pl_bar_chart_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  PlBarChart *self = PL_BAR_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int label_width = (int) (width * LABEL_SHARE);
  int value_width = MIN (VALUE_WIDTH, width / 4);
  int bar_x = label_width + GAP;
  int bar_width = MAX (width - bar_x - GAP - value_width, 10);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  GdkRGBA fg, accent, trough;

  get_colors (widget, &fg, &accent);
  trough = fg;
  trough.alpha *= 0.12f;
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = &g_array_index (self->bars, Bar, i);
      double y = i * ROW_HEIGHT;
      double bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2.0;
      double share = self->max > 0 ? CLAMP (bar->value / self->max, 0, 1) : 0;
      g_autofree char *value = bar->note ? g_strdup_printf ("%.1f  %s", bar->value, bar->note)
                                         : g_strdup_printf ("%.1f", bar->value);
      GskRoundedRect rect;

      draw_text (snapshot, layout, bar->label, 0, y, label_width, PANGO_ALIGN_RIGHT, &fg);
      gsk_rounded_rect_init_from_rect (&rect, &GRAPHENE_RECT_INIT (bar_x, bar_y, bar_width, BAR_HEIGHT), BAR_HEIGHT / 2.0);
      gtk_snapshot_push_rounded_clip (snapshot, &rect);
      gtk_snapshot_append_color (snapshot, &trough, &GRAPHENE_RECT_INIT (bar_x, bar_y, bar_width, BAR_HEIGHT));
      gtk_snapshot_append_color (snapshot, &accent, &GRAPHENE_RECT_INIT (bar_x, bar_y, bar_width * share, BAR_HEIGHT));
      gtk_snapshot_pop (snapshot);
      draw_text (snapshot, layout, value, bar_x + bar_width + GAP, y, value_width, PANGO_ALIGN_LEFT, &fg);
    }
}

static void
pl_bar_chart_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  PlBarChart *self = PL_BAR_CHART (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 200;
      *natural = 560;
    }
  else
    *minimum = *natural = (int) self->bars->len * ROW_HEIGHT;
}

static void
pl_bar_chart_css_changed (GtkWidget         *widget,
                          GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (pl_bar_chart_parent_class)->css_changed (widget, change);
  /* The colours are the style's: redraw when it changes (light <-> dark). */
  gtk_widget_queue_draw (widget);
}

static void
pl_bar_chart_finalize (GObject *object)
{
  PlBarChart *self = PL_BAR_CHART (object);

  g_array_unref (self->bars);
  G_OBJECT_CLASS (pl_bar_chart_parent_class)->finalize (object);
}

static void
pl_bar_chart_class_init (PlBarChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pl_bar_chart_finalize;
  widget_class->snapshot = pl_bar_chart_snapshot;
  widget_class->measure = pl_bar_chart_measure;
  widget_class->css_changed = pl_bar_chart_css_changed;
  gtk_widget_class_set_css_name (widget_class, "barchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pl_bar_chart_init (PlBarChart *self)
{
  self->bars = g_array_new (FALSE, TRUE, sizeof (Bar));
  g_array_set_clear_func (self->bars, bar_clear);
  self->max = 100;
}

GtkWidget *
pl_bar_chart_new (void)
{
  return g_object_new (PL_TYPE_BAR_CHART, NULL);
}

/* The chart's content for screen readers: one "label: value" line per bar. */
static void
update_description (PlBarChart *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = &g_array_index (self->bars, Bar, i);

      g_string_append_printf (text, "%s%s: %.1f", i ? "; " : "", bar->label, bar->value);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str, -1);
}

void
pl_bar_chart_clear (PlBarChart *self,
                    double      max)
{
  g_return_if_fail (PL_IS_BAR_CHART (self));
  g_array_set_size (self->bars, 0);
  self->max = max;
  update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
pl_bar_chart_add (PlBarChart *self,
                  const char *label,
                  double      value,
                  const char *note)
{
  Bar bar = { g_strdup (label), value, g_strdup (note) };

  g_return_if_fail (PL_IS_BAR_CHART (self));
  g_array_append_val (self->bars, bar);
  update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

guint
pl_bar_chart_get_n_bars (PlBarChart *self)
{
  g_return_val_if_fail (PL_IS_BAR_CHART (self), 0);
  return self->bars->len;
}

double
pl_bar_chart_get_value (PlBarChart *self,
                        guint       index)
{
  g_return_val_if_fail (PL_IS_BAR_CHART (self) && index < self->bars->len, 0);
  return g_array_index (self->bars, Bar, index).value;
}
