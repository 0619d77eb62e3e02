/* pl-application.h: the phenolip-explorer application: one session, its window, app-wide actions. */
#pragma once

#include <adwaita.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_APPLICATION (pl_application_get_type ())
G_DECLARE_FINAL_TYPE (PlApplication, pl_application, PL, APPLICATION, AdwApplication)

PlApplication *pl_application_new         (void);
PlSession     *pl_application_get_session (PlApplication *self);
/* The application's settings, or NULL when the schema is not installed (running uninstalled). */
GSettings     *pl_application_get_settings (PlApplication *self);
/* The application's style sheet (ui/style.css) on DISPLAY, as AdwApplication adds it from its
 * resource base path: for programs that show the window without the application (tests, tools). */
void           pl_application_add_style_for_display (GdkDisplay *display);

G_END_DECLS
