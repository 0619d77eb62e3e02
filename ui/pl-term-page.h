/* pl-term-page.h: everything the snapshot knows about one HPO term, with links to its neighbours. */
#pragma once

#include <adwaita.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_TERM_PAGE (pl_term_page_get_type ())
G_DECLARE_FINAL_TYPE (PlTermPage, pl_term_page, PL, TERM_PAGE, GtkWidget)

void        pl_term_page_set_session (PlTermPage *self,
                                      PlSession  *session);
/* FALSE with an error naming the id when the snapshot has no such term. */
gboolean    pl_term_page_show_term   (PlTermPage  *self,
                                      const char  *term_id,
                                      GError     **error);
const char *pl_term_page_get_term_id (PlTermPage *self);
const char *pl_term_page_get_label   (PlTermPage *self);

G_END_DECLS
