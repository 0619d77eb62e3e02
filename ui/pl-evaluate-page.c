/* pl-evaluate-page.c: the Evaluate view. A run goes to the evaluation worker (PlEvaluator); its
 * reports arrive on the main loop, which only updates labels, the bar and the chart — it never does
 * model work nor waits on a worker. The history is read from the workspace in a GTask thread.
 *
 * Sharing the cores with the session's worker (which analyses dropped images):
 * - a run starts only when the session's worker is idle, so it never overlaps loading a checkpoint
 *   or computing phenotype embeddings, which are long and use every core; while the session is
 *   busy the run waits ("Waiting for the model worker…") and starts by itself when it is done;
 * - during the run the evaluation's encoder gets cores − 2 OpenBLAS threads (at least 1): one core
 *   is left to the run's decoder thread and one to the session's worker, so an image dropped during
 *   a run is analysed at once, and the two never ask for more threads than there are cores. (With
 *   one or two cores they share: the OpenBLAS thread count is process-wide.)
 * Resume is the core's: a cancelled run keeps the embeddings it computed; the next run of the same
 * checkpoint counts them as cached, which the page shows as "resumed: N of M already encoded". */
#include "pl-config.h"

#include "pl-evaluate-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "app/pl-evaluation.h"
#include "data/pl-eval-store.h"
#include "pl-bar-chart.h"

/* The retrieval directions shown, as in pl_bench_metric_names (). */
static const char * const directions[] = { "i2t", "t2i", "i2p", "p2i" };
static const char * const recall_suffixes[] = { "r1", "r5", "r10", "r50", "median_rank" };
/* The per-system chart's metrics, in the dropdown's order. */
static const char * const chart_metrics[] = {
  "classification_top1", "classification_top5", "i2t_r10", "t2i_r10", "i2p_r10", "p2i_r10",
};

struct _PlEvaluatePage
{
  GtkWidget       parent_instance;

  PlSession      *session;
  PlEvaluator    *evaluator;
  GCancellable   *cancellable;      /* of the current run */
  char           *manifest_path;
  char           *workspace_path;   /* NULL: the default */
  gboolean        waiting;          /* for the session's worker to become idle */
  gboolean        running;          /* queued on the evaluator */
  gulong          busy_handler;
  GPtrArray      *runs;             /* PlEvalRun*, full, newest first */
  PlEvalRun      *finished;         /* the last run finished here (owned) */
  const PlEvalRun *shown;           /* FINISHED or one of RUNS */
  PlBenchMetrics *partial;          /* the latest partial metrics of the current run (owned) */
  GCancellable   *history_cancellable;
  GHashTable     *metric_labels;    /* metric name -> GtkLabel */

  /* template children */
  GtkWidget      *scroller;   /* bound so that dispose_template unparents it */
  AdwActionRow   *manifest_row;
  AdwActionRow   *checkpoint_row;
  AdwActionRow   *snapshot_row;
  GtkWidget      *progress_box;
  GtkLabel       *status_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *detail_label;
  GtkLabel       *resumed_label;
  GtkLabel       *error_label;
  AdwPreferencesGroup *metrics_group;
  GtkGrid        *metrics_grid;
  GtkDropDown    *system_metric_dropdown;
  GtkStack       *chart_stack;
  PlBarChart     *chart;
  GtkWidget      *report_group;
  GtkLabel       *report_label;
  GtkListBox     *history_list;
  GtkDropDown    *compare_a_dropdown;
  GtkDropDown    *compare_b_dropdown;
  GtkGrid        *compare_grid;
};

G_DEFINE_FINAL_TYPE (PlEvaluatePage, pl_evaluate_page, GTK_TYPE_WIDGET)

static void update_actions (PlEvaluatePage *self);

/* ---- formatting ------------------------------------------------------------------------------ */

static char *
format_duration (double seconds)
{
  int s = (int) (seconds + 0.5);

  if (s >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return g_strdup_printf ("%d:%02d", s / 60, s % 60);
}

static char *
format_metric (const PlBenchScores *scores,
               const char          *metric)
{
  double value = pl_bench_scores_get (scores, metric);
  const PlRetrievalScores *r = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (directions); i++)
    if (g_str_has_prefix (metric, directions[i]))
      r = (const PlRetrievalScores *[]) { &scores->i2t, &scores->t2i, &scores->i2p, &scores->p2i }[i];
  /* Partial metrics may lack a direction (paired retrieval needs every caption and image). */
  if ((r != NULL && r->n_queries == 0) || (r == NULL && scores->n_classified == 0))
    return g_strdup ("—");
  if (g_str_has_suffix (metric, "median_rank"))
    return g_strdup_printf ("%g", value);
  return g_strdup_printf ("%.2f", value);
}

static char *
describe_run (const PlEvalRun *run)
{
  g_autofree char *checkpoint = g_path_get_basename (run->checkpoint_path);
  g_autofree char *manifest = g_path_get_basename (run->manifest_path);
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, run->id);

  /* TRANSLATORS: run number, date, checkpoint file, manifest file */
  return g_strdup_printf (_("Run %s · %s · %s on %s"), id, run->started, checkpoint, manifest);
}

/* ---- metrics and chart ----------------------------------------------------------------------- */

static void
add_grid_label (GtkGrid    *grid,
                const char *text,
                int         column,
                int         row,
                gboolean    heading,
                const char *metric,
                GHashTable *labels)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0 : 1);
  if (column == 0)
    gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (label, heading ? "heading" : "numeric");
  gtk_grid_attach (grid, label, column, row, 1, 1);
  if (metric != NULL && labels != NULL)
    g_hash_table_insert (labels, g_strdup (metric), label);
}

static void
build_metrics_grid (PlEvaluatePage *self)
{
  const char *direction_names[] = {
    N_("Image → caption"), N_("Caption → image"), N_("Image → phenotype"), N_("Phenotype → image"),
  };
  const char *recall_names[] = { N_("R@1"), N_("R@5"), N_("R@10"), N_("R@50"), N_("Median rank") };
  GtkGrid *grid = self->metrics_grid;

  add_grid_label (grid, _("Zero-shot classification"), 0, 0, TRUE, NULL, NULL);
  add_grid_label (grid, _("Top-1 %"), 1, 0, TRUE, NULL, NULL);
  add_grid_label (grid, _("Top-5 %"), 2, 0, TRUE, NULL, NULL);
  add_grid_label (grid, _("all images with a phenotype"), 0, 1, FALSE, NULL, NULL);
  add_grid_label (grid, "—", 1, 1, FALSE, "classification_top1", self->metric_labels);
  add_grid_label (grid, "—", 2, 1, FALSE, "classification_top5", self->metric_labels);
  add_grid_label (grid, _("Retrieval"), 0, 2, TRUE, NULL, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (recall_names); k++)
    add_grid_label (grid, _(recall_names[k]), 1 + k, 2, TRUE, NULL, NULL);
  for (guint d = 0; d < G_N_ELEMENTS (directions); d++)
    {
      add_grid_label (grid, _(direction_names[d]), 0, 3 + d, FALSE, NULL, NULL);
      for (guint k = 0; k < G_N_ELEMENTS (recall_suffixes); k++)
        {
          g_autofree char *metric = g_strdup_printf ("%s_%s", directions[d], recall_suffixes[k]);

          add_grid_label (grid, "—", 1 + k, 3 + d, FALSE, metric, self->metric_labels);
        }
    }
}

static void
show_chart (PlEvaluatePage       *self,
            const PlBenchMetrics *metrics)
{
  guint selected = gtk_drop_down_get_selected (self->system_metric_dropdown);
  const char *metric = chart_metrics[MIN (selected, G_N_ELEMENTS (chart_metrics) - 1)];

  if (metrics == NULL || metrics->systems->len == 0)
    {
      gtk_stack_set_visible_child_name (self->chart_stack, "empty");
      return;
    }
  pl_bar_chart_clear (self->chart, 100);
  for (guint i = 0; i < metrics->systems->len; i++)
    {
      const PlBenchScores *s = metrics->systems->pdata[i];
      /* TRANSLATORS: how many image-caption pairs a bar of the per-system chart is computed over */
      g_autofree char *note = g_strdup_printf (ngettext ("%u pair", "%u pairs", s->n_pairs), s->n_pairs);

      pl_bar_chart_add (self->chart, s->system_label ? s->system_label : s->system_id,
                        pl_bench_scores_get (s, metric), note);
    }
  gtk_stack_set_visible_child_name (self->chart_stack, "chart");
}

static void
show_metrics (PlEvaluatePage       *self,
              const PlBenchMetrics *metrics,
              const char           *description)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->metric_labels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree char *text = metrics ? format_metric (metrics->overall, key) : g_strdup ("—");

      gtk_label_set_text (value, text);
    }
  adw_preferences_group_set_description (self->metrics_group, description);
  show_chart (self, metrics);
}

static void
show_report (PlEvaluatePage  *self,
             const PlEvalRun *run)
{
  g_autoptr(GPtrArray) lines = run ? pl_evaluation_describe_report (run) : NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; lines != NULL && i < lines->len; i++)
    g_string_append_printf (text, "%s• %s", i ? "\n" : "", (const char *) lines->pdata[i]);
  gtk_label_set_text (self->report_label, text->str);
  gtk_widget_set_visible (self->report_group, text->len > 0);
}

static void
show_run (PlEvaluatePage  *self,
          const PlEvalRun *run)
{
  g_autofree char *title = NULL, *description = NULL, *duration = NULL;

  self->shown = run;
  if (run == NULL)
    {
      show_metrics (self, NULL, _("No run yet"));
      show_report (self, NULL);
      update_actions (self);
      return;
    }
  title = describe_run (run);
  duration = format_duration (run->duration);
  /* TRANSLATORS: the run's title; pairs evaluated; duration; images encoded by this run, taken from the cache */
  description = g_strdup_printf (_("%s\n%u pairs, %u phenotypes, %s; images: %u encoded, %u from the cache%s"),
                                 title, run->n_pairs, run->n_phenotypes, duration, run->images_encoded,
                                 run->images_cached,
                                 run->demo ? _(" — demo checkpoint: random weights, meaningless scores") : "");
  show_metrics (self, run->metrics, description);
  show_report (self, run);
  update_actions (self);
}

static PlBenchMetrics *
metrics_copy (const PlBenchMetrics *metrics)
{
  PlBenchMetrics *copy = g_new0 (PlBenchMetrics, 1);

  copy->partial = metrics->partial;
  copy->overall = g_memdup2 (metrics->overall, sizeof (PlBenchScores));
  copy->overall->system_id = g_strdup (metrics->overall->system_id);
  copy->overall->system_label = g_strdup (metrics->overall->system_label);
  copy->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_bench_scores_free);
  for (guint i = 0; i < metrics->systems->len; i++)
    {
      PlBenchScores *s = g_memdup2 (metrics->systems->pdata[i], sizeof (PlBenchScores));

      s->system_id = g_strdup (s->system_id);
      s->system_label = g_strdup (s->system_label);
      g_ptr_array_add (copy->systems, s);
    }
  return copy;
}

static void
system_metric_changed_cb (PlEvaluatePage *self)
{
  show_chart (self, self->running && self->partial ? self->partial
                    : self->shown ? self->shown->metrics : NULL);
}

/* ---- comparison ------------------------------------------------------------------------------ */

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static void
compare_changed_cb (PlEvaluatePage *self)
{
  guint a = gtk_drop_down_get_selected (self->compare_a_dropdown);
  guint b = gtk_drop_down_get_selected (self->compare_b_dropdown);
  const PlEvalRun *x, *y;
  g_autofree char *head_a = NULL, *head_b = NULL;
  const char * const *names = pl_bench_metric_names ();
  int row = 0;

  clear_grid (self->compare_grid);
  if (self->runs == NULL || a >= self->runs->len || b >= self->runs->len)
    {
      add_grid_label (self->compare_grid, _("Two finished runs are needed"), 0, 0, FALSE, NULL, NULL);
      return;
    }
  x = self->runs->pdata[a];
  y = self->runs->pdata[b];
  head_a = g_strdup_printf ("#%" G_GINT64_FORMAT, x->id);
  head_b = g_strdup_printf ("#%" G_GINT64_FORMAT, y->id);
  add_grid_label (self->compare_grid, _("Metric"), 0, row, TRUE, NULL, NULL);
  add_grid_label (self->compare_grid, head_a, 1, row, TRUE, NULL, NULL);
  add_grid_label (self->compare_grid, head_b, 2, row, TRUE, NULL, NULL);
  add_grid_label (self->compare_grid, _("Difference"), 3, row++, TRUE, NULL, NULL);
  if (g_strcmp0 (x->manifest_sha256, y->manifest_sha256) != 0)
    {
      GtkWidget *warning = gtk_label_new (_("The runs scored different manifests: their figures are not comparable"));

      gtk_label_set_wrap (GTK_LABEL (warning), TRUE);
      gtk_label_set_xalign (GTK_LABEL (warning), 0);
      gtk_widget_add_css_class (warning, "warning");
      gtk_grid_attach (self->compare_grid, warning, 0, row++, 4, 1);
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      double u = pl_bench_scores_get (x->metrics->overall, names[i]);
      double v = pl_bench_scores_get (y->metrics->overall, names[i]);
      g_autofree char *a_text = format_metric (x->metrics->overall, names[i]);
      g_autofree char *b_text = format_metric (y->metrics->overall, names[i]);
      g_autofree char *diff = g_strdup_printf ("%+.2f", v - u);

      add_grid_label (self->compare_grid, names[i], 0, row, FALSE, NULL, NULL);
      add_grid_label (self->compare_grid, a_text, 1, row, FALSE, NULL, NULL);
      add_grid_label (self->compare_grid, b_text, 2, row, FALSE, NULL, NULL);
      add_grid_label (self->compare_grid, diff, 3, row++, FALSE, NULL, NULL);
    }
}

/* ---- history --------------------------------------------------------------------------------- */

static void
load_history_thread (GTask        *task,
                     gpointer      source,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_eval_run_free);
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(GPtrArray) list = NULL;
  GError *error = NULL;

  /* Showing the window must not create a workspace. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_task_return_pointer (task, g_steal_pointer (&runs), (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  if ((store = pl_eval_store_open (path, &error)) == NULL
      || (list = pl_eval_store_list_runs (store, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < list->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      PlEvalRun *run = pl_eval_store_get_run (store, ((PlEvalRun *) list->pdata[i])->id, &error);

      if (run == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      g_ptr_array_add (runs, run);
    }
  g_task_return_pointer (task, g_steal_pointer (&runs), (GDestroyNotify) g_ptr_array_unref);
}

static GtkWidget *
history_row_new (const PlEvalRun *run)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *title = describe_run (run);
  g_autofree char *top1 = format_metric (run->metrics->overall, "classification_top1");
  g_autofree char *i2t = format_metric (run->metrics->overall, "i2t_r10");
  g_autofree char *i2p = format_metric (run->metrics->overall, "i2p_r10");
  /* TRANSLATORS: pairs; classification accuracy; image->caption and image->phenotype recall at 10 */
  g_autofree char *subtitle = g_strdup_printf (_("%u pairs · top-1 %s %% · I2T R@10 %s · I2P R@10 %s%s"),
                                               run->n_pairs, top1, i2t, i2p,
                                               run->demo ? _(" · demo checkpoint") : "");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  return row;
}

static void
history_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  gint64 shown_id = self->shown ? self->shown->id : 0;
  GtkWidget *child;

  if (runs == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->error_label, error->message);
          gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
        }
      return;
    }
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))) != NULL)
    gtk_list_box_remove (self->history_list, child);
  if (self->shown != self->finished)
    self->shown = NULL;   /* it pointed into the old list */
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  self->runs = g_steal_pointer (&runs);
  for (guint i = 0; i < self->runs->len; i++)
    {
      PlEvalRun *run = self->runs->pdata[i];
      /* Short: a dropdown is as wide as its longest item. */
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, run->id);
      /* TRANSLATORS: run number, its date */
      g_autofree char *name = g_strdup_printf (_("Run %s (%.10s)"), id, run->started);

      gtk_list_box_append (self->history_list, history_row_new (run));
      gtk_string_list_append (names, name);
      if (self->shown == NULL && run->id == shown_id)
        show_run (self, run);
    }
  if (self->runs->len == 0)
    {
      GtkWidget *empty = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (empty), _("No runs yet"));
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (empty), FALSE);
      gtk_list_box_append (self->history_list, empty);
    }
  g_signal_handlers_block_by_func (self->compare_a_dropdown, compare_changed_cb, self);
  g_signal_handlers_block_by_func (self->compare_b_dropdown, compare_changed_cb, self);
  gtk_drop_down_set_model (self->compare_a_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_model (self->compare_b_dropdown, G_LIST_MODEL (names));
  /* The newest run against the one before it. */
  gtk_drop_down_set_selected (self->compare_a_dropdown, self->runs->len > 1 ? 1 : 0);
  gtk_drop_down_set_selected (self->compare_b_dropdown, 0);
  g_signal_handlers_unblock_by_func (self->compare_a_dropdown, compare_changed_cb, self);
  g_signal_handlers_unblock_by_func (self->compare_b_dropdown, compare_changed_cb, self);
  compare_changed_cb (self);
  if (self->shown == NULL && self->runs->len > 0 && !self->running)
    show_run (self, self->runs->pdata[0]);
}

void
pl_evaluate_page_reload (PlEvaluatePage *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PL_IS_EVALUATE_PAGE (self));
  g_cancellable_cancel (self->history_cancellable);
  g_clear_object (&self->history_cancellable);
  self->history_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->history_cancellable, history_loaded, NULL);
  g_task_set_source_tag (task, pl_evaluate_page_reload);
  g_task_set_task_data (task, self->workspace_path ? g_strdup (self->workspace_path)
                                                   : pl_evaluation_default_workspace (), g_free);
  g_task_run_in_thread (task, load_history_thread);
}

static void
history_row_activated_cb (PlEvaluatePage *self,
                          GtkListBoxRow  *row)
{
  int index = gtk_list_box_row_get_index (row);

  if (self->runs != NULL && index >= 0 && (guint) index < self->runs->len)
    show_run (self, self->runs->pdata[index]);
}

/* ---- a run ----------------------------------------------------------------------------------- */

static void
update_actions (PlEvaluatePage *self)
{
  gboolean can_start = !self->running && !self->waiting && self->manifest_path != NULL && self->session != NULL
                       && pl_session_get_checkpoint_path (self->session) != NULL
                       && pl_session_get_snapshot_path (self->session) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.start", can_start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.cancel", self->running || self->waiting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluate.export", self->shown != NULL);
}

static void
set_status (PlEvaluatePage *self,
            const char     *status)
{
  gtk_label_set_text (self->status_label, status);
  gtk_widget_set_visible (self->progress_box, TRUE);
}

/* The progress data is a weak reference: the evaluator may free it in its worker thread, where the
 * page's last reference must never be dropped. */
static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
on_progress (const PlEvalProgress *progress,
             gpointer              user_data)
{
  g_autoptr(PlEvaluatePage) self = g_weak_ref_get (user_data);
  g_autoptr(GString) detail = g_string_new (NULL);
  const char *phase;

  if (self == NULL || !self->running)
    return;   /* a report still in flight after the page let the run go */
  switch (progress->phase)
    {
    case PL_EVAL_PHASE_LOADING: phase = _("Loading the checkpoint, ontology and manifest…"); break;
    case PL_EVAL_PHASE_TEXTS: phase = _("Encoding captions and phenotype names…"); break;
    case PL_EVAL_PHASE_IMAGES: phase = _("Encoding images…"); break;
    case PL_EVAL_PHASE_METRICS: default: phase = _("Computing the metrics…"); break;
    }
  set_status (self, phase);
  if (progress->total > 0)
    gtk_progress_bar_set_fraction (self->progress_bar, (double) progress->done / progress->total);
  else
    gtk_progress_bar_pulse (self->progress_bar);
  /* TRANSLATORS: texts and images handled of all */
  g_string_append_printf (detail, _("%u of %u items (%u of %u images)"), progress->done, progress->total,
                          progress->images_done, progress->images_total);
  if (progress->images_per_second > 0)
    g_string_append_printf (detail, _(" · %.1f images/s"), progress->images_per_second);
  if (progress->eta >= 0)
    {
      g_autofree char *eta = format_duration (progress->eta);

      /* TRANSLATORS: time left, as m:ss */
      g_string_append_printf (detail, _(" · %s left"), eta);
    }
  gtk_label_set_text (self->detail_label, detail->str);
  if (progress->images_cached > 0)
    {
      /* TRANSLATORS: images whose embeddings an earlier (e.g. cancelled) run of this checkpoint stored */
      g_autofree char *resumed = g_strdup_printf (_("Resumed: %u of %u images already encoded"),
                                                  progress->images_cached, progress->images_total);

      gtk_label_set_text (self->resumed_label, resumed);
      gtk_widget_set_visible (GTK_WIDGET (self->resumed_label), TRUE);
    }
  if (progress->partial != NULL)
    {
      g_autofree char *description = NULL;

      g_clear_pointer (&self->partial, pl_bench_metrics_free);
      self->partial = metrics_copy (progress->partial);
      /* TRANSLATORS: partial metrics of a running evaluation */
      description = g_strdup_printf (_("So far, over the %u pairs whose images are done"),
                                     progress->partial->overall->n_pairs);
      show_metrics (self, self->partial, description);
    }
}

static void
run_finished (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PlEvaluatePage) self = user_data;
  g_autoptr(GError) error = NULL;
  PlEvalRun *run = pl_evaluator_run_finish (PL_EVALUATOR (source), result, &error);

  self->running = FALSE;
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->partial, pl_bench_metrics_free);
  if (gtk_widget_in_destruction (GTK_WIDGET (self)) || self->session == NULL)
    {
      g_clear_pointer (&run, pl_eval_run_free);
      return;
    }
  if (run == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      set_status (self, _("Cancelled: the embeddings computed so far are kept, and starting again resumes from them"));
      show_run (self, self->shown);
    }
  else if (run == NULL)
    {
      gtk_widget_set_visible (self->progress_box, FALSE);
      gtk_label_set_text (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      show_run (self, self->shown);
    }
  else
    {
      g_autofree char *done = NULL, *duration = format_duration (run->duration);
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, run->id);

      gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
      /* TRANSLATORS: run number, duration */
      done = g_strdup_printf (_("Run %s finished in %s"), id, duration);
      set_status (self, done);
      g_clear_pointer (&self->finished, pl_eval_run_free);
      self->finished = run;
      show_run (self, run);
      pl_evaluate_page_reload (self);
    }
  update_actions (self);
}

static int
encoder_threads (void)
{
  /* One core for the run's decoder thread, one for the session's worker (see the top of the file). */
  return MAX (1, (int) g_get_num_processors () - 2);
}

static void
start_run (PlEvaluatePage *self)
{
  PlEvalRequest request = { 0 };
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  self->waiting = FALSE;
  self->running = TRUE;
  self->cancellable = g_cancellable_new ();
  if (self->evaluator == NULL)
    self->evaluator = pl_evaluator_new ();
  request.manifest_path = self->manifest_path;
  request.checkpoint_path = pl_session_get_checkpoint_path (self->session);
  request.snapshot_path = pl_session_get_snapshot_path (self->session);
  request.workspace_path = self->workspace_path;
  request.threads = encoder_threads ();
  set_status (self, _("Starting…"));
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->detail_label, "");
  gtk_widget_set_visible (GTK_WIDGET (self->resumed_label), FALSE);
  show_metrics (self, NULL, _("Appear as images are scored"));
  show_report (self, NULL);
  pl_evaluator_run_async (self->evaluator, &request, self->cancellable,
                          on_progress, weak, weak_ref_free,
                          run_finished, g_object_ref (self));
  update_actions (self);
}

static void
session_busy_changed_cb (PlEvaluatePage *self)
{
  if (self->waiting && !pl_session_get_busy (self->session))
    start_run (self);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (widget);

  if (self->running || self->waiting || self->manifest_path == NULL)
    return;
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  self->shown = NULL;
  if (pl_session_get_busy (self->session))
    {
      /* Loading a checkpoint or computing phenotype embeddings uses every core: start after it. */
      self->waiting = TRUE;
      set_status (self, _("Waiting for the model worker to finish its current job…"));
      gtk_progress_bar_set_fraction (self->progress_bar, 0);
      update_actions (self);
      return;
    }
  start_run (self);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (widget);

  if (self->waiting)
    {
      self->waiting = FALSE;
      set_status (self, _("Cancelled before it started"));
    }
  else if (self->cancellable != NULL)
    {
      set_status (self, _("Cancelling…"));
      g_cancellable_cancel (self->cancellable);
    }
  update_actions (self);
}

/* ---- files ----------------------------------------------------------------------------------- */

static void
manifest_chosen_cb (GtkNativeDialog *native,
                    int              response,
                    PlEvaluatePage  *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        pl_evaluate_page_set_manifest (self, path);
    }
  gtk_native_dialog_destroy (native);
  g_object_unref (native);
  g_object_unref (self);
}

static GtkWindow *
parent_window (PlEvaluatePage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
choose_manifest_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (widget);
  GtkFileChooserNative *native = gtk_file_chooser_native_new (_("Choose a PhenoBench Manifest"), parent_window (self),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), NULL);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("PhenoBench manifests (CSV, JSON lines)"));
  gtk_file_filter_add_pattern (filter, "*.csv");
  gtk_file_filter_add_pattern (filter, "*.jsonl");
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect (native, "response", G_CALLBACK (manifest_chosen_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
export_written_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(PlEvaluatePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      g_autofree char *path = g_file_get_path (G_FILE (source));
      g_autofree char *message = g_strdup_printf (_("Could not export to %s: %s"), path, error->message);

      gtk_label_set_text (self->error_label, message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
    }
}

static void
export_chosen_cb (GtkNativeDialog *native,
                  int              response,
                  PlEvaluatePage  *self)
{
  const char *format = g_object_get_data (G_OBJECT (native), "format");

  if (response == GTK_RESPONSE_ACCEPT && self->shown != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      char *text = g_str_equal (format, "csv") ? pl_eval_run_to_csv (self->shown) : pl_eval_run_to_json (self->shown);
      g_autoptr(GBytes) bytes = g_bytes_new_take (text, strlen (text));

      g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                           export_written_cb, g_object_ref (self));
    }
  gtk_native_dialog_destroy (native);
  g_object_unref (native);
  g_object_unref (self);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (widget);
  const char *format = g_variant_get_string (parameter, NULL);
  gboolean csv = g_str_equal (format, "csv");
  GtkFileChooserNative *native;
  g_autofree char *name = NULL;

  if (self->shown == NULL)
    return;
  native = gtk_file_chooser_native_new (csv ? _("Export the Run as CSV") : _("Export the Run as JSON"),
                                        parent_window (self), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  name = g_strdup_printf ("phenobench-run-%" G_GINT64_FORMAT ".%s", self->shown->id, csv ? "csv" : "json");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_object_set_data (G_OBJECT (native), "format", (gpointer) (csv ? "csv" : "json"));
  g_signal_connect (native, "response", G_CALLBACK (export_chosen_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

/* ---- the session ----------------------------------------------------------------------------- */

static void
session_paths_changed_cb (PlEvaluatePage *self)
{
  const char *checkpoint = pl_session_get_checkpoint_path (self->session);
  const char *snapshot = pl_session_get_snapshot_path (self->session);
  g_autofree char *checkpoint_text = NULL;

  if (checkpoint != NULL && pl_session_get_is_demo (self->session))
    /* TRANSLATORS: the checkpoint path, then a note */
    checkpoint_text = g_strdup_printf (_("%s (demo: random weights)"), checkpoint);
  adw_action_row_set_subtitle (self->checkpoint_row, checkpoint_text ? checkpoint_text
                                                     : checkpoint ? checkpoint : _("None open"));
  adw_action_row_set_subtitle (self->snapshot_row, snapshot ? snapshot : _("None open"));
  update_actions (self);
}

void
pl_evaluate_page_set_session (PlEvaluatePage *self,
                              PlSession      *session)
{
  g_return_if_fail (PL_IS_EVALUATE_PAGE (self));
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  if (session == NULL)
    return;
  g_signal_connect_swapped (session, "notify::checkpoint-path", G_CALLBACK (session_paths_changed_cb), self);
  g_signal_connect_swapped (session, "notify::snapshot-path", G_CALLBACK (session_paths_changed_cb), self);
  g_signal_connect_swapped (session, "notify::is-demo", G_CALLBACK (session_paths_changed_cb), self);
  g_signal_connect_swapped (session, "notify::busy", G_CALLBACK (session_busy_changed_cb), self);
  session_paths_changed_cb (self);
  pl_evaluate_page_reload (self);
}

void
pl_evaluate_page_set_manifest (PlEvaluatePage *self,
                               const char     *path)
{
  g_return_if_fail (PL_IS_EVALUATE_PAGE (self));
  g_free (self->manifest_path);
  self->manifest_path = g_strdup (path);
  adw_action_row_set_subtitle (self->manifest_row, path ? path : _("PhenoBench CSV or JSON lines; none chosen"));
  update_actions (self);
}

const char *
pl_evaluate_page_get_manifest (PlEvaluatePage *self)
{
  g_return_val_if_fail (PL_IS_EVALUATE_PAGE (self), NULL);
  return self->manifest_path;
}

void
pl_evaluate_page_set_workspace (PlEvaluatePage *self,
                                const char     *path)
{
  g_return_if_fail (PL_IS_EVALUATE_PAGE (self));
  g_free (self->workspace_path);
  self->workspace_path = g_strdup (path);
  pl_evaluate_page_reload (self);
}

gboolean
pl_evaluate_page_get_running (PlEvaluatePage *self)
{
  g_return_val_if_fail (PL_IS_EVALUATE_PAGE (self), FALSE);
  return self->running || self->waiting;
}

gint64
pl_evaluate_page_get_shown_run (PlEvaluatePage *self)
{
  g_return_val_if_fail (PL_IS_EVALUATE_PAGE (self), 0);
  return self->shown ? self->shown->id : 0;
}

char *
pl_evaluate_page_dup_metric_text (PlEvaluatePage *self,
                                  const char     *metric)
{
  GtkLabel *label;

  g_return_val_if_fail (PL_IS_EVALUATE_PAGE (self), NULL);
  label = g_hash_table_lookup (self->metric_labels, metric);
  return label ? g_strdup (gtk_label_get_text (label)) : NULL;
}

/* ---- the class ------------------------------------------------------------------------------- */

static void
pl_evaluate_page_dispose (GObject *object)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (object);

  /* A run in progress stops at its next batch; what it computed stays in the workspace. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->history_cancellable);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), PL_TYPE_EVALUATE_PAGE);
  G_OBJECT_CLASS (pl_evaluate_page_parent_class)->dispose (object);
}

static void
pl_evaluate_page_finalize (GObject *object)
{
  PlEvaluatePage *self = PL_EVALUATE_PAGE (object);

  g_clear_object (&self->evaluator);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->history_cancellable);
  g_free (self->manifest_path);
  g_free (self->workspace_path);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_pointer (&self->finished, pl_eval_run_free);
  g_clear_pointer (&self->partial, pl_bench_metrics_free);
  g_hash_table_unref (self->metric_labels);
  G_OBJECT_CLASS (pl_evaluate_page_parent_class)->finalize (object);
}

static void
pl_evaluate_page_class_init (PlEvaluatePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pl_evaluate_page_dispose;
  object_class->finalize = pl_evaluate_page_finalize;

  g_type_ensure (PL_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/phenolip/Explorer/pl-evaluate-page.ui");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, scroller);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, manifest_row);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, checkpoint_row);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, snapshot_row);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, progress_box);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, detail_label);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, resumed_label);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, metrics_group);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, metrics_grid);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, system_metric_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, chart_stack);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, chart);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, report_group);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, report_label);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, history_list);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, compare_a_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, compare_b_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PlEvaluatePage, compare_grid);
  gtk_widget_class_bind_template_callback (widget_class, system_metric_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, compare_changed_cb);

  gtk_widget_class_install_action (widget_class, "evaluate.choose-manifest", NULL, choose_manifest_action);
  gtk_widget_class_install_action (widget_class, "evaluate.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "evaluate.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "evaluate.cancel", NULL);
  gtk_widget_class_install_action (widget_class, "evaluate.export", "s", export_action);
}

static void
pl_evaluate_page_init (PlEvaluatePage *self)
{
  self->metric_labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->history_cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  build_metrics_grid (self);
  compare_changed_cb (self);
  update_actions (self);
}
