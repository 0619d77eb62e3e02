/* pl-breadcrumbs.h: is_a paths shown as breadcrumbs, a path a line, each step clickable; one Pango
 * layout drawn by a small widget of its own. A GtkLabel with a link per step was measured first
 * (tools/bench-ui): GTK 4.8 lays out a wrapping label at zero width and at every width asked, and
 * styles a CSS node per link, which made ten ranked rows' breadcrumbs 30 ms of CPU per frame. This
 * widget lays its text out once unbounded (its natural width) and once per width it is given. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PL_TYPE_BREADCRUMBS (pl_breadcrumbs_get_type ())
G_DECLARE_FINAL_TYPE (PlBreadcrumbs, pl_breadcrumbs, PL, BREADCRUMBS, GtkWidget)

/* The first N_PATHS of PATHS (each a GPtrArray of PlTermRef*, root first) as
 * "All › Phenotypic abnormality › … › Retinal hemorrhage", a path a line, wrapped to the width
 * given. Emits "term-activated" (const char *term_id) when a step is clicked. */
GtkWidget  *pl_breadcrumbs_new               (GPtrArray     *paths,
                                              guint          n_paths);
/* The text shown, a path a line. */
const char *pl_breadcrumbs_get_text          (PlBreadcrumbs *self);
/* The term id of the step drawn at (X, Y) in the widget's coordinates, or NULL. */
const char *pl_breadcrumbs_get_id_at         (PlBreadcrumbs *self,
                                              double         x,
                                              double         y);
/* Where the first character of step STEP (counted over all lines from 0) is drawn, in the widget's
 * coordinates; FALSE when there is no such step. Tests click there. */
gboolean    pl_breadcrumbs_get_step_position (PlBreadcrumbs *self,
                                              guint          step,
                                              double        *x,
                                              double        *y);
/* What a click at (X, Y) does: emits "term-activated" when it hits a step, and says so. */
gboolean    pl_breadcrumbs_click             (PlBreadcrumbs *self,
                                              double         x,
                                              double         y);

G_END_DECLS
