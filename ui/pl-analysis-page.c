/* pl-analysis-page.c: shows a PlAnalysis: the ranked phenotypes as rows with a score bar, a
 * copyable id and their ontology paths as clickable breadcrumbs; re-ranks within an organ system. */
#include "pl-config.h"

#include "pl-analysis-page.h"

#include <glib/gi18n.h>

#include "data/pl-term.h"
#include "pl-after-frame.h"
#include "pl-breadcrumbs.h"

/* A term with many paths would fill the page; the term page lists them all. */
#define MAX_PATHS_SHOWN 4

struct _PlAnalysisPage
{
  GtkWidget     parent_instance;

  PlSession    *session;
  PlAnalysis   *analysis;
  PlRanking    *filtered;         /* owned; NULL when unfiltered */
  GPtrArray    *system_ids;       /* char*, parallel to the dropdown; [0] = "" (all) */
  GCancellable *rank_cancellable;
  gboolean      setting_filter;
  /* What the first frame of a ranking leaves out, built after it (show_ranking). */
  PlAfterFrame  deferred;
  PlRanking    *deferred_ranking;  /* the analysis's or filtered */
  gboolean      deferred_systems;

  GtkWidget    *scroller;
  GtkPicture   *picture;
  GtkLabel     *name_label;
  GtkLabel     *meta_label;
  GtkWidget    *demo_label;
  GtkDropDown  *filter_dropdown;
  GtkListBox   *phenotypes_list;
  GtkListBox   *systems_list;
};

G_DEFINE_FINAL_TYPE (PlAnalysisPage, pl_analysis_page, GTK_TYPE_WIDGET)

enum { TERM_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
breadcrumb_activated_cb (PlAnalysisPage *self,
                         const char     *term_id)
{
  g_signal_emit (self, signals[TERM_ACTIVATED], 0, term_id);
}

static GtkWidget *
make_phenotype_row (PlAnalysisPage    *self,
                    guint              rank,
                    PlRankedPhenotype *phenotype,
                    float              best_probability)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *rank_label, *title, *id_button, *bar, *score;
  GtkWidget *bar_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  g_autofree char *rank_text = g_strdup_printf ("%u", rank);
  g_autofree char *score_text = NULL;
  guint n_paths = phenotype->paths != NULL ? phenotype->paths->len : 0;

  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  rank_label = gtk_label_new (rank_text);
  gtk_widget_add_css_class (rank_label, "rank");
  gtk_widget_add_css_class (rank_label, "dim-label");
  gtk_widget_add_css_class (rank_label, "numeric");
  title = gtk_label_new (phenotype->label);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_widget_set_hexpand (title, TRUE);
  gtk_widget_add_css_class (title, "heading");
  id_button = gtk_button_new_with_label (phenotype->term_id);
  gtk_widget_add_css_class (id_button, "flat");
  gtk_widget_add_css_class (id_button, "term-id");
  gtk_widget_set_valign (id_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (id_button, _("Copy the HPO id"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (id_button), "win.copy-text");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (id_button), "s", phenotype->term_id);
  gtk_box_append (GTK_BOX (top), rank_label);
  gtk_box_append (GTK_BOX (top), title);
  gtk_box_append (GTK_BOX (top), id_button);
  gtk_box_append (GTK_BOX (box), top);

  bar = gtk_level_bar_new_for_interval (0, 1);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar),
                           best_probability > 0 ? CLAMP (phenotype->probability / best_probability, 0, 1) : 0);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (bar, "score-bar");
  /* Translators: cosine similarity, then the softmax probability in percent. */
  score_text = g_strdup_printf (_("cosine %.3f · %.2f %%"), phenotype->cosine, 100.0 * phenotype->probability);
  score = gtk_label_new (score_text);
  gtk_widget_add_css_class (score, "numeric");
  gtk_widget_add_css_class (score, "caption");
  gtk_box_append (GTK_BOX (bar_box), bar);
  gtk_box_append (GTK_BOX (bar_box), score);
  gtk_box_append (GTK_BOX (box), bar_box);

  if (n_paths > 0)
    {
      GtkWidget *breadcrumbs = pl_breadcrumbs_new (phenotype->paths, MAX_PATHS_SHOWN);

      gtk_widget_add_css_class (breadcrumbs, "caption");
      g_signal_connect_object (breadcrumbs, "term-activated", G_CALLBACK (breadcrumb_activated_cb), self,
                               G_CONNECT_SWAPPED);
      gtk_box_append (GTK_BOX (box), breadcrumbs);
    }
  if (n_paths > MAX_PATHS_SHOWN)
    {
      g_autofree char *more = g_strdup_printf (g_dngettext (NULL, "and %u more path", "and %u more paths",
                                                            n_paths - MAX_PATHS_SHOWN),
                                               n_paths - MAX_PATHS_SHOWN);
      GtkWidget *label = gtk_label_new (more);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (box), label);
    }

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "term-id", g_strdup (phenotype->term_id), g_free);
  return row;
}

static GtkWidget *
make_system_row (PlSystemScore *system,
                 float          best_cosine)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *title = gtk_label_new (system->label);
  GtkWidget *score, *bar, *best;
  g_autofree char *score_text = g_strdup_printf (_("%.1f %%"), 100.0 * system->probability);
  g_autofree char *best_text = g_strdup_printf (_("Best: %s (cosine %.3f)"),
                                                system->best_term_label != NULL ? system->best_term_label : "",
                                                system->cosine);

  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_widget_set_hexpand (title, TRUE);
  score = gtk_label_new (score_text);
  gtk_widget_add_css_class (score, "numeric");
  gtk_box_append (GTK_BOX (top), title);
  gtk_box_append (GTK_BOX (top), score);
  bar = gtk_level_bar_new_for_interval (0, 1);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (system->probability, 0, 1));
  gtk_widget_add_css_class (bar, "score-bar");
  best = gtk_label_new (best_text);
  gtk_label_set_xalign (GTK_LABEL (best), 0);
  gtk_label_set_ellipsize (GTK_LABEL (best), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (best, "dim-label");
  gtk_widget_add_css_class (best, "caption");
  gtk_box_append (GTK_BOX (box), top);
  gtk_box_append (GTK_BOX (box), bar);
  gtk_box_append (GTK_BOX (box), best);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, _("Rank only within this system"));
  g_object_set_data_full (G_OBJECT (row), "system-id", g_strdup (system->system_id), g_free);
  return row;
}

/* The rows past the first INITIAL_ROWS are built when asked for: laying out 25 rows of wrapped
 * labels and breadcrumbs takes a frame of 150 ms or more, 10 rows a third of that. */
#define INITIAL_ROWS 10

/* The rows built for the frame that first shows a ranking: about what a window's first screen
 * shows (a row with its paths is 100-150 px high). The rest of the INITIAL_ROWS, the Show More row
 * and the organ systems are built once that frame is drawn: all of them in one frame took 45 ms of
 * the main thread's CPU here (tools/bench-ui), the first screen's rows alone under half of it. */
#define FIRST_FRAME_ROWS 4

static void
append_phenotype_rows (PlAnalysisPage *self,
                       PlRanking      *ranking,
                       guint           from,
                       guint           to)
{
  float best_probability = 0;

  for (guint i = 0; i < ranking->phenotypes->len; i++)
    best_probability = MAX (best_probability, ((PlRankedPhenotype *) g_ptr_array_index (ranking->phenotypes, i))->probability);
  for (guint i = from; i < to && i < ranking->phenotypes->len; i++)
    gtk_list_box_append (self->phenotypes_list,
                         make_phenotype_row (self, i + 1, g_ptr_array_index (ranking->phenotypes, i), best_probability));
}

static void
show_more_clicked_cb (GtkButton      *button,
                      PlAnalysisPage *self)
{
  PlRanking *ranking = self->analysis != NULL ? self->analysis->ranking : NULL;
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);

  if (row != NULL)
    gtk_list_box_remove (self->phenotypes_list, row);
  if (ranking != NULL)
    append_phenotype_rows (self, ranking, INITIAL_ROWS, ranking->phenotypes->len);
}

static void
append_show_more_row (PlAnalysisPage *self,
                      PlRanking      *ranking)
{
  guint rest = ranking->phenotypes->len - INITIAL_ROWS;
  g_autofree char *text = g_strdup_printf (g_dngettext (NULL, "Show %u More Phenotype", "Show %u More Phenotypes", rest),
                                           rest);
  GtkWidget *button = gtk_button_new_with_label (text);
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_margin_top (button, 6);
  gtk_widget_set_margin_bottom (button, 6);
  g_signal_connect_object (button, "clicked", G_CALLBACK (show_more_clicked_cb), self, 0);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), button);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_append (self->phenotypes_list, row);
}

static void
show_systems (PlAnalysisPage *self)
{
  PlRanking *ranking = self->analysis != NULL ? self->analysis->ranking : NULL;

  clear_list (self->systems_list);
  if (ranking == NULL || ranking->systems == NULL)
    return;
  for (guint i = 0; i < ranking->systems->len; i++)
    gtk_list_box_append (self->systems_list, make_system_row (g_ptr_array_index (ranking->systems, i), 0));
}

static void
cancel_deferred (PlAnalysisPage *self)
{
  pl_after_frame_cancel (&self->deferred);
  self->deferred_ranking = NULL;
}

/* Builds what the first frame left out: the rest of the first rows, the Show More row, and the organ
 * systems when SYSTEMS. */
static void
finish_ranking (PlAnalysisPage *self,
                PlRanking      *ranking,
                guint           from,
                gboolean        systems)
{
  append_phenotype_rows (self, ranking, from, INITIAL_ROWS);
  if (ranking->phenotypes->len > INITIAL_ROWS)
    append_show_more_row (self, ranking);
  if (systems)
    show_systems (self);
}

static void
first_frame_drawn_cb (GdkFrameClock  *clock,
                      PlAnalysisPage *self)
{
  PlRanking *ranking = self->deferred_ranking;
  gboolean systems = self->deferred_systems;

  cancel_deferred (self);
  finish_ranking (self, ranking, FIRST_FRAME_ROWS, systems);
}

/* Shows RANKING's rows (and the organ systems when SYSTEMS): the first screen's rows at once, the
 * rest right after the frame that shows them. */
static void
show_ranking (PlAnalysisPage *self,
              PlRanking      *ranking,
              gboolean        systems)
{
  cancel_deferred (self);
  clear_list (self->phenotypes_list);
  if (systems)
    clear_list (self->systems_list);
  if (ranking == NULL)
    return;
  append_phenotype_rows (self, ranking, 0, FIRST_FRAME_ROWS);
  if (!pl_after_frame_start (&self->deferred, GTK_WIDGET (self), G_CALLBACK (first_frame_drawn_cb), self))
    {
      /* No window drawing yet: nothing to show first. */
      finish_ranking (self, ranking, FIRST_FRAME_ROWS, systems);
      return;
    }
  self->deferred_ranking = ranking;
  self->deferred_systems = systems;
}

gboolean
pl_analysis_page_is_complete (PlAnalysisPage *self)
{
  g_return_val_if_fail (PL_IS_ANALYSIS_PAGE (self), FALSE);
  return !pl_after_frame_pending (&self->deferred);
}

static void
rank_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PlAnalysisPage *self;
  g_autoptr(GError) error = NULL;
  PlRanking *ranking = pl_session_rank_finish (PL_SESSION (source), result, &error);

  if (ranking == NULL)
    {
      /* Cancelled: the page moved on (and may be gone); user_data is not to be touched. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self = PL_ANALYSIS_PAGE (user_data);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-toast", "s", error->message);
      return;
    }
  self = PL_ANALYSIS_PAGE (user_data);
  g_clear_pointer (&self->filtered, pl_ranking_free);
  self->filtered = ranking;
  show_ranking (self, ranking, FALSE);
}

static void
filter_changed_cb (PlAnalysisPage *self,
                   GParamSpec     *pspec,
                   GtkDropDown    *dropdown)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  const char *under_id;

  if (self->setting_filter || self->analysis == NULL || self->system_ids == NULL)
    return;
  cancel_deferred (self);
  g_cancellable_cancel (self->rank_cancellable);
  g_clear_object (&self->rank_cancellable);
  g_clear_pointer (&self->filtered, pl_ranking_free);
  if (selected == GTK_INVALID_LIST_POSITION || selected == 0 || selected >= self->system_ids->len)
    {
      show_ranking (self, self->analysis->ranking, FALSE);
      return;
    }
  under_id = g_ptr_array_index (self->system_ids, selected);
  self->rank_cancellable = g_cancellable_new ();
  pl_session_rank_async (self->session, self->analysis, under_id, PL_SESSION_DEFAULT_TOP_K,
                         self->rank_cancellable, rank_done_cb, self);
}

void
pl_analysis_page_set_filter (PlAnalysisPage *self,
                             const char     *under_id)
{
  g_return_if_fail (PL_IS_ANALYSIS_PAGE (self));

  for (guint i = 0; self->system_ids != NULL && i < self->system_ids->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->system_ids, i), under_id != NULL ? under_id : "") == 0)
      {
        gtk_drop_down_set_selected (self->filter_dropdown, i);
        return;
      }
}

static void
row_activated_cb (PlAnalysisPage *self,
                  GtkListBoxRow  *row)
{
  const char *term_id = g_object_get_data (G_OBJECT (row), "term-id");

  if (term_id != NULL)
    g_signal_emit (self, signals[TERM_ACTIVATED], 0, term_id);
}

static void
system_activated_cb (PlAnalysisPage *self,
                     GtkListBoxRow  *row)
{
  pl_analysis_page_set_filter (self, g_object_get_data (G_OBJECT (row), "system-id"));
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller)), 0);
}

void
pl_analysis_page_reload (PlAnalysisPage *self)
{
  PlSnapshot *snapshot = self->session != NULL ? pl_session_get_snapshot (self->session) : NULL;
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) systems = NULL;

  g_clear_pointer (&self->system_ids, g_ptr_array_unref);
  self->system_ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->system_ids, g_strdup (""));
  gtk_string_list_append (labels, _("All phenotypes"));
  if (snapshot != NULL && (systems = pl_snapshot_get_children (snapshot, PL_HPO_PHENOTYPIC_ABNORMALITY_ID, NULL)) != NULL)
    for (guint i = 0; i < systems->len; i++)
      {
        PlTermRef *ref = g_ptr_array_index (systems, i);

        g_ptr_array_add (self->system_ids, g_strdup (ref->id));
        gtk_string_list_append (labels, ref->label);
      }
  self->setting_filter = TRUE;
  gtk_drop_down_set_model (self->filter_dropdown, G_LIST_MODEL (labels));
  gtk_drop_down_set_selected (self->filter_dropdown, 0);
  self->setting_filter = FALSE;
}

void
pl_analysis_page_set_session (PlAnalysisPage *self,
                              PlSession      *session)
{
  g_return_if_fail (PL_IS_ANALYSIS_PAGE (self));
  g_set_object (&self->session, session);
  pl_analysis_page_reload (self);
}

void
pl_analysis_page_show (PlAnalysisPage *self,
                       PlAnalysis     *analysis,
                       GdkTexture     *preview)
{
  g_autofree char *meta = NULL;

  g_return_if_fail (PL_IS_ANALYSIS_PAGE (self));
  g_return_if_fail (analysis != NULL);

  cancel_deferred (self);
  g_cancellable_cancel (self->rank_cancellable);
  g_clear_object (&self->rank_cancellable);
  g_clear_pointer (&self->filtered, pl_ranking_free);
  if (self->analysis != analysis)
    {
      g_clear_pointer (&self->analysis, pl_analysis_unref);
      self->analysis = pl_analysis_ref (analysis);
    }
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (preview));
  gtk_label_set_label (self->name_label, analysis->name);
  /* Translators: image width × height in pixels, then the time the model took. */
  meta = g_strdup_printf (_("%d × %d pixels · encoded in %.0f ms · %u phenotypes ranked"),
                          analysis->width, analysis->height, analysis->encode_ms,
                          analysis->ranking != NULL ? analysis->ranking->n_candidates : 0);
  gtk_label_set_label (self->meta_label, meta);
  gtk_widget_set_visible (self->demo_label, analysis->demo);
  self->setting_filter = TRUE;
  gtk_drop_down_set_selected (self->filter_dropdown, 0);
  self->setting_filter = FALSE;
  show_ranking (self, analysis->ranking, TRUE);
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller)), 0);
}

PlAnalysis *
pl_analysis_page_get_analysis (PlAnalysisPage *self)
{
  g_return_val_if_fail (PL_IS_ANALYSIS_PAGE (self), NULL);
  return self->analysis;
}

PlRanking *
pl_analysis_page_get_ranking (PlAnalysisPage *self)
{
  g_return_val_if_fail (PL_IS_ANALYSIS_PAGE (self), NULL);
  if (self->filtered != NULL)
    return self->filtered;
  return self->analysis != NULL ? self->analysis->ranking : NULL;
}

static void
pl_analysis_page_dispose (GObject *object)
{
  PlAnalysisPage *self = PL_ANALYSIS_PAGE (object);

  cancel_deferred (self);
  g_cancellable_cancel (self->rank_cancellable);
  g_clear_object (&self->rank_cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->analysis, pl_analysis_unref);
  g_clear_pointer (&self->filtered, pl_ranking_free);
  g_clear_pointer (&self->system_ids, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), PL_TYPE_ANALYSIS_PAGE);
  G_OBJECT_CLASS (pl_analysis_page_parent_class)->dispose (object);
}

static void
pl_analysis_page_class_init (PlAnalysisPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pl_analysis_page_dispose;

  signals[TERM_ACTIVATED] = g_signal_new ("term-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/phenolip/Explorer/pl-analysis-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, picture);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, name_label);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, meta_label);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, demo_label);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, phenotypes_list);
  gtk_widget_class_bind_template_child (widget_class, PlAnalysisPage, systems_list);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, system_activated_cb);
}

static void
pl_analysis_page_init (PlAnalysisPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_object (self->filter_dropdown, "notify::selected", G_CALLBACK (filter_changed_cb),
                           self, G_CONNECT_SWAPPED);
}
