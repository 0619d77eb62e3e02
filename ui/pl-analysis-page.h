/* pl-analysis-page.h: one analysed image: what the model saw, its top phenotypes with score bars and
 * every path to the root, a filter by organ system, and the per-system summary. */
#pragma once

#include <adwaita.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_ANALYSIS_PAGE (pl_analysis_page_get_type ())
G_DECLARE_FINAL_TYPE (PlAnalysisPage, pl_analysis_page, PL, ANALYSIS_PAGE, GtkWidget)

void        pl_analysis_page_set_session (PlAnalysisPage *self,
                                          PlSession      *session);
/* Re-reads the organ systems from the session's snapshot. */
void        pl_analysis_page_reload      (PlAnalysisPage *self);
void        pl_analysis_page_show        (PlAnalysisPage *self,
                                          PlAnalysis     *analysis,
                                          GdkTexture     *preview);
PlAnalysis *pl_analysis_page_get_analysis (PlAnalysisPage *self);
/* The ranking shown (the analysis's own, or a filtered one). */
PlRanking  *pl_analysis_page_get_ranking (PlAnalysisPage *self);
/* FALSE while the rows past the first screen and the organ systems wait for the frame that shows the
 * first screen to be drawn. */
gboolean    pl_analysis_page_is_complete (PlAnalysisPage *self);
/* Restricts the ranking to a subtree (NULL: every phenotype). */
void        pl_analysis_page_set_filter  (PlAnalysisPage *self,
                                          const char     *under_id);

G_END_DECLS
