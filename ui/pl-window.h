/* pl-window.h: the Explorer window: images and their ranked phenotypes, the ontology browser and
 * term pages, with back/forward history. */
#pragma once

#include <adwaita.h>

#include "pl-application.h"

G_BEGIN_DECLS

#define PL_TYPE_WINDOW (pl_window_get_type ())
G_DECLARE_FINAL_TYPE (PlWindow, pl_window, PL, WINDOW, AdwApplicationWindow)

PlWindow *pl_window_new        (PlApplication *application);
/* Opens what the settings name, else the embedded demo. */
void      pl_window_start      (PlWindow      *self);
/* Adds images to the analysis list and analyses them (what a drop, Ctrl+O and the command line do). */
void      pl_window_open_files (PlWindow      *self,
                                GFile        **files,
                                int            n_files);
/* Opens a checkpoint; failures are shown in a dialog naming the file and reason. */
void      pl_window_open_checkpoint (PlWindow   *self,
                                     GFile      *file);
void      pl_window_open_snapshot   (PlWindow   *self,
                                     GFile      *file);
void      pl_window_show_term  (PlWindow      *self,
                                const char    *term_id);

G_END_DECLS
