/* pl-breadcrumbs.c: is_a paths as clickable breadcrumbs in one Pango layout (see the header for why
 * not GtkLabel). */
#include "pl-breadcrumbs.h"

#include "data/pl-term.h"

/* The narrowest the breadcrumbs get and their natural width at most, in average characters. */
#define MIN_CHARS 10
#define NATURAL_CHARS 100

#define SEPARATOR " › "

typedef struct {
  int   start;   /* byte range of the step's text */
  int   end;
  char *id;
} Step;

struct _PlBreadcrumbs
{
  GtkWidget      parent_instance;

  char          *text;
  GArray        *steps;          /* Step */
  PangoAttrList *attrs;          /* the separators dimmed */
  int            hovered;        /* index into steps, or -1 */
  int            pressed;        /* likewise */

  /* Measurements, dropped when the font or direction changes. */
  PangoLayout   *layout;         /* wrapped at layout_width (Pango units; -1: unbounded) */
  int            layout_width;
  int            char_width;     /* average character width, pixels; 0: not known yet */
  int            unbounded_width;
  int            unbounded_height;
  PangoFontDescription *font;    /* the font the measurements are for */
};

G_DEFINE_FINAL_TYPE (PlBreadcrumbs, pl_breadcrumbs, GTK_TYPE_WIDGET)

enum { TERM_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
step_clear (gpointer data)
{
  g_free (((Step *) data)->id);
}

static void
forget_layout (PlBreadcrumbs *self)
{
  g_clear_object (&self->layout);
  g_clear_pointer (&self->font, pango_font_description_free);
  self->char_width = 0;
  self->hovered = -1;
}

/* The layout wrapped at WIDTH (Pango units, -1 unbounded); re-broken only when WIDTH changes. */
static PangoLayout *
layout_at (PlBreadcrumbs *self,
           int            width)
{
  if (self->layout == NULL)
    {
      PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
      PangoFontMetrics *metrics;
      int natural_width, natural_height;

      self->font = pango_font_description_copy (pango_context_get_font_description (context));
      self->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->text);
      pango_layout_set_attributes (self->layout, self->attrs);
      pango_layout_set_wrap (self->layout, PANGO_WRAP_WORD_CHAR);
      pango_layout_get_pixel_size (self->layout, &natural_width, &natural_height);
      self->unbounded_width = natural_width;
      self->unbounded_height = natural_height;
      self->layout_width = -1;
      metrics = pango_context_get_metrics (context, self->font, NULL);
      self->char_width = MAX (1, PANGO_PIXELS_CEIL (pango_font_metrics_get_approximate_char_width (metrics)));
      pango_font_metrics_unref (metrics);
    }
  if (width != self->layout_width)
    {
      pango_layout_set_width (self->layout, width);
      self->layout_width = width;
    }
  return self->layout;
}

static GtkSizeRequestMode
pl_breadcrumbs_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
pl_breadcrumbs_measure (GtkWidget      *widget,
                        GtkOrientation  orientation,
                        int             for_size,
                        int            *minimum,
                        int            *natural,
                        int            *minimum_baseline,
                        int            *natural_baseline)
{
  PlBreadcrumbs *self = PL_BREADCRUMBS (widget);
  PangoLayout *layout = layout_at (self, self->layout_width);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      /* Wrapping makes any width work: no layout at zero width to find the narrowest. */
      *minimum = MIN (self->unbounded_width, MIN_CHARS * self->char_width);
      *natural = MAX (*minimum, MIN (self->unbounded_width, NATURAL_CHARS * self->char_width));
    }
  else
    {
      int height;

      if (for_size < 0)
        height = self->unbounded_height;
      else
        {
          layout = layout_at (self, for_size * PANGO_SCALE);
          pango_layout_get_pixel_size (layout, NULL, &height);
        }
      *minimum = *natural = height;
    }
}

static void
pl_breadcrumbs_size_allocate (GtkWidget *widget,
                              int        width,
                              int        height,
                              int        baseline)
{
  layout_at (PL_BREADCRUMBS (widget), width * PANGO_SCALE);
}

static void
pl_breadcrumbs_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  PlBreadcrumbs *self = PL_BREADCRUMBS (widget);
  GdkRGBA color;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  gtk_snapshot_append_layout (snapshot, layout_at (self, gtk_widget_get_width (widget) * PANGO_SCALE), &color);
}

static void
pl_breadcrumbs_css_changed (GtkWidget         *widget,
                            GtkCssStyleChange *change)
{
  PlBreadcrumbs *self = PL_BREADCRUMBS (widget);

  GTK_WIDGET_CLASS (pl_breadcrumbs_parent_class)->css_changed (widget, change);
  /* The parent updated the Pango context from the style: measure again if the font changed. */
  if (self->font != NULL
      && !pango_font_description_equal (self->font, pango_context_get_font_description (gtk_widget_get_pango_context (widget))))
    {
      forget_layout (self);
      gtk_widget_queue_resize (widget);
    }
}

static void
pl_breadcrumbs_direction_changed (GtkWidget        *widget,
                                  GtkTextDirection  previous)
{
  forget_layout (PL_BREADCRUMBS (widget));
  gtk_widget_queue_resize (widget);
}

/* The step whose text lies under (X, Y), or -1. */
static int
step_at (PlBreadcrumbs *self,
         double         x,
         double         y)
{
  PangoLayout *layout = layout_at (self, gtk_widget_get_width (GTK_WIDGET (self)) * PANGO_SCALE);
  int index, trailing;

  if (!pango_layout_xy_to_index (layout, (int) (x * PANGO_SCALE), (int) (y * PANGO_SCALE), &index, &trailing))
    return -1;
  for (guint i = 0; i < self->steps->len; i++)
    {
      Step *step = &g_array_index (self->steps, Step, i);

      if (index >= step->start && index < step->end)
        return (int) i;
    }
  return -1;
}

static void
set_hovered (PlBreadcrumbs *self,
             int            hovered)
{
  g_autoptr(PangoAttrList) attrs = NULL;

  if (hovered == self->hovered)
    return;
  self->hovered = hovered;
  attrs = pango_attr_list_copy (self->attrs);
  if (hovered >= 0)
    {
      Step *step = &g_array_index (self->steps, Step, hovered);
      PangoAttribute *underline = pango_attr_underline_new (PANGO_UNDERLINE_SINGLE);

      underline->start_index = step->start;
      underline->end_index = step->end;
      pango_attr_list_insert (attrs, underline);
    }
  if (self->layout != NULL)
    pango_layout_set_attributes (self->layout, attrs);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), hovered >= 0 ? "pointer" : NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           PlBreadcrumbs            *self)
{
  set_hovered (self, step_at (self, x, y));
}

static void
leave_cb (GtkEventControllerMotion *controller,
          PlBreadcrumbs            *self)
{
  set_hovered (self, -1);
}

/* A press on a step is the breadcrumbs' alone: the row around them must not activate too. */
static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            PlBreadcrumbs   *self)
{
  self->pressed = step_at (self, x, y);
  if (self->pressed >= 0)
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
released_cb (GtkGestureClick *gesture,
             int              n_press,
             double           x,
             double           y,
             PlBreadcrumbs   *self)
{
  int pressed = self->pressed;

  self->pressed = -1;
  if (pressed >= 0 && step_at (self, x, y) == pressed)
    pl_breadcrumbs_click (self, x, y);
}

static gboolean
pl_breadcrumbs_query_tooltip (GtkWidget  *widget,
                              int         x,
                              int         y,
                              gboolean    keyboard,
                              GtkTooltip *tooltip)
{
  const char *id = keyboard ? NULL : pl_breadcrumbs_get_id_at (PL_BREADCRUMBS (widget), x, y);

  if (id == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, id);
  return TRUE;
}

static void
pl_breadcrumbs_finalize (GObject *object)
{
  PlBreadcrumbs *self = PL_BREADCRUMBS (object);

  forget_layout (self);
  g_free (self->text);
  g_array_unref (self->steps);
  pango_attr_list_unref (self->attrs);
  G_OBJECT_CLASS (pl_breadcrumbs_parent_class)->finalize (object);
}

static void
pl_breadcrumbs_class_init (PlBreadcrumbsClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pl_breadcrumbs_finalize;
  widget_class->get_request_mode = pl_breadcrumbs_get_request_mode;
  widget_class->measure = pl_breadcrumbs_measure;
  widget_class->size_allocate = pl_breadcrumbs_size_allocate;
  widget_class->snapshot = pl_breadcrumbs_snapshot;
  widget_class->css_changed = pl_breadcrumbs_css_changed;
  widget_class->direction_changed = pl_breadcrumbs_direction_changed;
  widget_class->query_tooltip = pl_breadcrumbs_query_tooltip;

  signals[TERM_ACTIVATED] = g_signal_new ("term-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_set_css_name (widget_class, "breadcrumbs");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_LABEL);
}

static void
pl_breadcrumbs_init (PlBreadcrumbs *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  self->steps = g_array_new (FALSE, FALSE, sizeof (Step));
  g_array_set_clear_func (self->steps, step_clear);
  self->attrs = pango_attr_list_new ();
  self->hovered = self->pressed = -1;
  self->layout_width = -1;

  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  g_signal_connect (click, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
}

GtkWidget *
pl_breadcrumbs_new (GPtrArray *paths,
                    guint      n_paths)
{
  PlBreadcrumbs *self = g_object_new (PL_TYPE_BREADCRUMBS, NULL);
  GString *text = g_string_new (NULL);

  for (guint p = 0; paths != NULL && p < MIN (n_paths, paths->len); p++)
    {
      GPtrArray *path = g_ptr_array_index (paths, p);

      if (p > 0)
        g_string_append_c (text, '\n');
      for (guint i = 0; i < path->len; i++)
        {
          PlTermRef *ref = g_ptr_array_index (path, i);
          Step step;

          if (i > 0)
            {
              /* Dimmed: what stands out is the terms. */
              PangoAttribute *dim = pango_attr_foreground_alpha_new (G_MAXUINT16 / 2);

              dim->start_index = text->len;
              g_string_append (text, SEPARATOR);
              dim->end_index = text->len;
              pango_attr_list_insert (self->attrs, dim);
            }
          step.start = text->len;
          g_string_append (text, ref->label);
          step.end = text->len;
          step.id = g_strdup (ref->id);
          g_array_append_val (self->steps, step);
        }
    }
  self->text = g_string_free (text, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, self->text, -1);
  return GTK_WIDGET (self);
}

const char *
pl_breadcrumbs_get_text (PlBreadcrumbs *self)
{
  g_return_val_if_fail (PL_IS_BREADCRUMBS (self), NULL);
  return self->text;
}

const char *
pl_breadcrumbs_get_id_at (PlBreadcrumbs *self,
                          double         x,
                          double         y)
{
  int step;

  g_return_val_if_fail (PL_IS_BREADCRUMBS (self), NULL);
  step = step_at (self, x, y);
  return step >= 0 ? g_array_index (self->steps, Step, step).id : NULL;
}

gboolean
pl_breadcrumbs_get_step_position (PlBreadcrumbs *self,
                                  guint          step,
                                  double        *x,
                                  double        *y)
{
  PangoRectangle rect;

  g_return_val_if_fail (PL_IS_BREADCRUMBS (self), FALSE);
  if (step >= self->steps->len)
    return FALSE;
  pango_layout_index_to_pos (layout_at (self, gtk_widget_get_width (GTK_WIDGET (self)) * PANGO_SCALE),
                             g_array_index (self->steps, Step, step).start, &rect);
  *x = (rect.x + rect.width / 2.0) / PANGO_SCALE;
  *y = (rect.y + rect.height / 2.0) / PANGO_SCALE;
  return TRUE;
}

gboolean
pl_breadcrumbs_click (PlBreadcrumbs *self,
                      double         x,
                      double         y)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (PL_IS_BREADCRUMBS (self), FALSE);
  /* A copy: a handler may rebuild the page, and these breadcrumbs with it. */
  id = g_strdup (pl_breadcrumbs_get_id_at (self, x, y));
  if (id == NULL)
    return FALSE;
  g_signal_emit (self, signals[TERM_ACTIVATED], 0, id);
  return TRUE;
}
