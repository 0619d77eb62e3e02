/* pl-window-private.h: PlWindow's instance, shared by pl-window.c (pages, history) and
 * pl-window-actions.c (actions, dialogs, clipboard, drag and drop); tests read it too. */
#pragma once

#include "pl-window.h"

#include "pl-analysis-page.h"
#include "pl-evaluate-page.h"
#include "pl-image-item.h"
#include "pl-ontology-page.h"
#include "pl-term-page.h"

G_BEGIN_DECLS

typedef enum {
  PL_HISTORY_IMAGE,
  PL_HISTORY_TERM,
} PlHistoryKind;

typedef struct {
  PlHistoryKind  kind;
  PlImageItem   *image;    /* PL_HISTORY_IMAGE */
  char          *term_id;  /* PL_HISTORY_TERM */
} PlHistoryEntry;

struct _PlWindow
{
  AdwApplicationWindow  parent_instance;

  PlSession            *session;
  GSettings            *settings;
  GListStore           *images;        /* PlImageItem */
  GPtrArray            *history;       /* PlHistoryEntry */
  guint                 history_index; /* the entry shown; history->len when none */
  guint                 n_pasted;
  gboolean              starting;
  gboolean              had_model;     /* the session was ready once: model changes now animate */
  guint                 spinner_timeout;
  guint                 waiting_timeout; /* shows the waiting page (pl-window.c, show_entry) */

  /* template children */
  AdwToastOverlay      *toast_overlay;
  AdwLeaflet           *leaflet;
  AdwClamp             *sidebar_clamp;
  AdwViewStack         *sidebar_stack;
  GtkStack             *images_stack;
  GtkListBox           *images_list;
  PlOntologyPage       *ontology_page;
  AdwWindowTitle       *content_title;
  GtkStack             *content_stack;
  GtkSpinner           *waiting_spinner;
  AdwStatusPage        *welcome_page;
  AdwStatusPage        *failed_page;
  PlAnalysisPage       *analysis_page;
  PlTermPage           *term_page;
  PlEvaluatePage       *evaluate_page;
  GtkRevealer          *demo_revealer;
  GtkRevealer          *progress_revealer;
  GtkLabel             *progress_label;
  GtkProgressBar       *progress_bar;
};

/* pl-window.c */
/* A window without an application (tests); SETTINGS may be NULL. */
PlWindow *pl_window_new_for_session (PlSession *session,
                                     GSettings *settings);
void  pl_window_show_image        (PlWindow    *self,
                                   PlImageItem *item);
void  pl_window_toast             (PlWindow    *self,
                                   const char  *message);
void  pl_window_show_error_dialog (PlWindow    *self,
                                   const char  *heading,
                                   const GError *error);
void  pl_window_analyse_item      (PlWindow    *self,
                                   PlImageItem *item);
void  pl_window_add_pasted        (PlWindow    *self,
                                   GBytes      *png);
/* Moves DELTA entries through the history; FALSE when there is none there. */
gboolean pl_window_go             (PlWindow    *self,
                                   int          delta);

/* pl-window-actions.c */
void  pl_window_class_init_actions (GtkWidgetClass *widget_class);
void  pl_window_init_actions       (PlWindow       *self);
void  pl_window_update_actions     (PlWindow       *self);

G_END_DECLS
