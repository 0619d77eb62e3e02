/* pl-ontology-page.h: the HPO as a lazily loaded tree under HP:0000118, and search as you type. */
#pragma once

#include <adwaita.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_ONTOLOGY_PAGE (pl_ontology_page_get_type ())
G_DECLARE_FINAL_TYPE (PlOntologyPage, pl_ontology_page, PL, ONTOLOGY_PAGE, GtkWidget)

void        pl_ontology_page_set_session  (PlOntologyPage *self,
                                           PlSession      *session);
/* Rebuilds the tree from the session's snapshot. */
void        pl_ontology_page_reload       (PlOntologyPage *self);
void        pl_ontology_page_focus_search (PlOntologyPage *self);
GtkEditable *pl_ontology_page_get_search_entry (PlOntologyPage *self);
/* The tree rows (GtkTreeListRow) and the search results (PlTermObject) as shown. */
GListModel *pl_ontology_page_get_tree_model    (PlOntologyPage *self);
GListModel *pl_ontology_page_get_results_model (PlOntologyPage *self);
/* The query the results model holds the matches of (NULL when none): the search runs on a worker,
 * so just after a keystroke the results are still those of the query before. */
const char *pl_ontology_page_get_results_query (PlOntologyPage *self);
/* How long the last search (keystroke to results in the list) and the last node expansion took, in
 * milliseconds. */
double      pl_ontology_page_get_last_search_ms (PlOntologyPage *self);
double      pl_ontology_page_get_last_expand_ms (PlOntologyPage *self);

G_END_DECLS
