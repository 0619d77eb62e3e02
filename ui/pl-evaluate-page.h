/* pl-evaluate-page.h: PhenoBench evaluations in the window: a manifest run with the open checkpoint
 * and snapshot on the evaluation worker (progress, ETA, cancel, resume), its metrics filling in, its
 * report, a per-organ-system chart, the history of runs, a comparison of two, and exports. */
#pragma once

#include <adwaita.h>

#include "app/pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_EVALUATE_PAGE (pl_evaluate_page_get_type ())
G_DECLARE_FINAL_TYPE (PlEvaluatePage, pl_evaluate_page, PL, EVALUATE_PAGE, GtkWidget)

void        pl_evaluate_page_set_session   (PlEvaluatePage *self,
                                            PlSession      *session);
/* The manifest the next run evaluates (what the file chooser sets). */
void        pl_evaluate_page_set_manifest  (PlEvaluatePage *self,
                                            const char     *path);
const char *pl_evaluate_page_get_manifest  (PlEvaluatePage *self);
/* Workspace database of runs and cached embeddings; NULL: pl_evaluation_default_workspace (). */
void        pl_evaluate_page_set_workspace (PlEvaluatePage *self,
                                            const char     *path);
/* TRUE while a run is queued, waiting for the model worker, or running. */
gboolean    pl_evaluate_page_get_running   (PlEvaluatePage *self);
/* The run shown (the last finished one, or one picked in the history); 0 when none. */
gint64      pl_evaluate_page_get_shown_run (PlEvaluatePage *self);
/* Re-reads the history from the workspace (off the main thread). */
void        pl_evaluate_page_reload        (PlEvaluatePage *self);
/* The text shown for an overall metric named as in pl_bench_metric_names () ("i2t_r10"); for tests. */
char       *pl_evaluate_page_dup_metric_text (PlEvaluatePage *self,
                                              const char     *metric);

G_END_DECLS
