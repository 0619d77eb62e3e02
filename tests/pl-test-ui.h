/* pl-test-ui.h: helpers for the UI tests that drive a real window (test-window.c,
 * test-application.c): what a drop delivers, and finding what the window shows. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Runs WINDOW's own GtkDropTarget::drop handler with a file list of PATHS (NULL-terminated): what a
 * real drop of those files runs. */
void       pl_test_drop_files       (GtkWidget          *window,
                                     const char * const *paths);
/* Whether a mapped GtkLabel inside ROOT shows exactly TEXT. */
gboolean   pl_test_shows_label      (GtkWidget          *root,
                                     const char         *text);
/* Every widget of TYPE inside ROOT (ROOT included), in document order; mapped ones only if MAPPED. */
GPtrArray *pl_test_find_widgets     (GtkWidget          *root,
                                     GType               type,
                                     gboolean            mapped);
/* A PlTestCondition: whether the PlSession SESSION has its model and snapshot loaded and no work
 * running. */
gboolean   pl_test_session_settled  (gpointer            session);
/* The AdwMessageDialog transient for PARENT, or NULL. */
GtkWindow *pl_test_find_message_dialog (GtkWindow       *parent);

G_END_DECLS
