/* test-evaluate-page.c: the Evaluate view in a real window on the embedded demo: a run of a generated
 * benchmark moves the progress bar off the main loop, cancels, resumes from the cached embeddings (and
 * says so), and shows exactly the metrics the core stored; the window keeps analysing dropped images
 * meanwhile, and no main-loop iteration blocks over 100 ms. */
#include <adwaita.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app/pl-evaluation.h"
#include "data/pl-eval-store.h"
#include "pl-bar-chart.h"
#include "pl-test-ui.h"
#include "pl-test-util.h"
#include "pl-window-private.h"

#define MAX_STALL_MS 100.0
/* Distinct generated images: enough for a run that lasts a few hundred reports. */
#define N_IMAGES 160

static PlWindow *window;
static PlSession *session;
static char *manifest;
static guint n_usable_images;
static gint64 last_tick;
static double longest_stall_ms;
/* The frames right after a dropped image's analysis arrives lay out the window's analysis page (its
 * cost is test-window's measurement); they are measured apart until this time. */
static gint64 analysis_frames_until;
static double analysis_frames_ms;

static gboolean
tick (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_tick != 0)
    {
      if (now < analysis_frames_until)
        analysis_frames_ms = MAX (analysis_frames_ms, (now - last_tick) / 1000.0);
      else
        longest_stall_ms = MAX (longest_stall_ms, (now - last_tick) / 1000.0);
    }
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

/* Every wait here ends within 300 s (x the build's slowdown) or fails the test. */
static void
iterate_until (PlTestCondition  condition,
               gpointer         data,
               const char      *what)
{
  pl_test_iterate_until (condition, data, what, 300);
}

static gboolean
page_idle (gpointer data)
{
  return !pl_evaluate_page_get_running (window->evaluate_page);
}

/* The first visible descendant of ROOT of TYPE whose text (a label's, else the tooltip) contains TEXT
 * (NULL: any). */
static GtkWidget *
find_widget (GtkWidget  *root,
             GType       type,
             const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      const char *shown = GTK_IS_LABEL (child) ? gtk_label_get_text (GTK_LABEL (child))
                                               : gtk_widget_get_tooltip_text (child);
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) && gtk_widget_get_visible (child)
          && (text == NULL || (shown != NULL && strstr (shown, text) != NULL)))
        return child;
      if ((found = find_widget (child, type, text)) != NULL)
        return found;
    }
  return NULL;
}

/* A benchmark over N_IMAGES distinct generated PNGs with captions and demo-ontology phenotype names, one
 * unresolved name and one missing image. */
static void
write_benchmark (void)
{
  const char *names[] = { "Retinal hemorrhage", "Retinopathy", "Abnormality of the skin", "Eczema",
                          "Abnormal cerebral morphology", "Seizure" };
  g_autofree char *folder = g_build_filename (pl_test_tmpdir (), "bench", NULL);
  g_autoptr(GString) csv = g_string_new ("image_path,caption,full_matches\n");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 48, 40);
      g_autofree char *name = g_strdup_printf ("image-%03u.png", i);
      g_autofree char *path = g_build_filename (folder, name, NULL);
      guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
      int stride = gdk_pixbuf_get_rowstride (pixbuf);

      for (int y = 0; y < 40; y++)
        for (int x = 0; x < 48; x++)
          {
            guint8 *p = pixels + y * stride + x * 3;

            p[0] = (guint8) (x * 5 + i * 7);
            p[1] = (guint8) (y * 6 + i * 13);
            p[2] = (guint8) ((x ^ y) + i * 29);
          }
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_string_append_printf (csv, "%s,\"Generated image %u of a patient with %s.\",\"[('%s', 0, 5)%s]\"\n",
                              name, i, names[i % G_N_ELEMENTS (names)], names[i % G_N_ELEMENTS (names)],
                              i % 5 == 0 ? ", ('Not a phenotype at all', 0, 1)" : "");
    }
  g_string_append (csv, "missing.png,\"An image that is not there.\",\"[('Seizure', 0, 7)]\"\n");
  n_usable_images = N_IMAGES;
  manifest = g_build_filename (folder, "bench.csv", NULL);
  g_assert_true (g_file_set_contents (manifest, csv->str, -1, &error));
}

static void
test_view_opens_with_the_open_checkpoint (void)
{
  pl_window_start (window);
  iterate_until (pl_test_session_settled, session, "the demo");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-evaluate", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "evaluate");
  /* Without a manifest there is nothing to start. */
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.start", NULL)
                  && pl_evaluate_page_get_running (window->evaluate_page));
  pl_evaluate_page_set_manifest (window->evaluate_page, manifest);
  g_assert_nonnull (find_widget (GTK_WIDGET (window->evaluate_page), ADW_TYPE_ACTION_ROW, NULL));
}

typedef struct {
  GtkProgressBar *bar;
  double          fractions[8];
  guint           n_fractions;
} Watch;

static gboolean
progress_moved_three_times (gpointer data)
{
  Watch *watch = data;
  double fraction;

  if (watch->bar == NULL)
    watch->bar = GTK_PROGRESS_BAR (find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_PROGRESS_BAR, NULL));
  if (watch->bar == NULL)
    return FALSE;
  fraction = gtk_progress_bar_get_fraction (watch->bar);
  if (fraction > 0 && fraction < 1
      && (watch->n_fractions == 0 || fraction > watch->fractions[watch->n_fractions - 1]))
    watch->fractions[watch->n_fractions++] = fraction;
  g_assert_false (page_idle (NULL));   /* the run must not be over yet, or the benchmark is too small */
  if (watch->n_fractions < 3)
    return FALSE;
  /* Cancel among the images, so that some are kept and some are left to resume. */
  {
    GtkWidget *detail = find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL, " images)");
    guint done = 0, total = 0, images_done = 0, images_total = 0;

    return detail != NULL
           && sscanf (gtk_label_get_text (GTK_LABEL (detail)), "%u of %u items (%u of %u images)",
                      &done, &total, &images_done, &images_total) == 4
           && images_done >= 8;
  }
}

static gint64
count_image_embeddings (void)
{
  g_autofree char *path = pl_evaluation_default_workspace ();
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return 0;
  store = pl_eval_store_open (path, &error);
  g_assert_no_error (error);
  return pl_eval_store_count_embeddings (store, PL_EVAL_EMBEDDING_IMAGE,
                                         pl_clip_get_fingerprint (pl_session_get_clip (session)));
}

static gint64 kept_after_cancel;

static void
test_run_moves_the_progress_bar_and_cancels (void)
{
  Watch watch = { 0 };
  guint source;
  g_autofree char *workspace = pl_evaluation_default_workspace ();

  last_tick = 0;
  longest_stall_ms = 0;
  source = g_timeout_add (5, tick, NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.start", NULL));
  g_assert_true (pl_evaluate_page_get_running (window->evaluate_page));
  iterate_until (progress_moved_three_times, &watch, "the progress bar to move");
  g_test_message ("progress seen: %.3f, %.3f, %.3f", watch.fractions[0], watch.fractions[1], watch.fractions[2]);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.cancel", NULL));
  iterate_until (page_idle, NULL, "the cancelled run to stop");
  g_source_remove (source);
  g_test_message ("longest main-loop iteration during the run: %.1f ms", longest_stall_ms);
  g_assert_cmpfloat (longest_stall_ms, <, MAX_STALL_MS * pl_test_time_scale ());

  g_assert_nonnull (find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL, "Cancelled"));
  g_assert_cmpint (pl_evaluate_page_get_shown_run (window->evaluate_page), ==, 0);
  /* Nothing stored as a run, but the embeddings computed so far are kept. */
  {
    g_autoptr(PlEvalStore) store = pl_eval_store_open (workspace, NULL);
    g_autoptr(GPtrArray) runs = pl_eval_store_list_runs (store, NULL);

    g_assert_cmpuint (runs->len, ==, 0);
  }
  kept_after_cancel = count_image_embeddings ();
  g_test_message ("image embeddings kept after the cancel: %" G_GINT64_FORMAT " of %u", kept_after_cancel, n_usable_images);
  g_assert_cmpint (kept_after_cancel, >, 0);
  g_assert_cmpint (kept_after_cancel, <, n_usable_images);
}

/* Drops an image on the window the way a real drop does. */
static void
drop_file (const char *path)
{
  const char *paths[] = { path, NULL };

  pl_test_drop_files (GTK_WIDGET (window), paths);
}

typedef struct {
  char        *resumed;       /* the "Resumed: ..." text, once seen */
  PlImageItem *dropped;
  gboolean     analysed;
  double       analysis_ms;
} ResumeWatch;

static gboolean
resumed_run_done (gpointer data)
{
  ResumeWatch *watch = data;
  GtkWidget *label = find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL, "Resumed:");

  if (label != NULL)
    {
      g_free (watch->resumed);
      watch->resumed = g_strdup (gtk_label_get_text (GTK_LABEL (label)));
    }
  if (!watch->analysed && pl_image_item_get_state (watch->dropped) != PL_IMAGE_ITEM_WAITING)
    {
      /* The window switched to the analysis page; laying that page out for the first time is
       * test-window's measurement, not the evaluation's: come back to the Evaluate view, as a user
       * who keeps watching the run would, and measure the next half second apart. */
      watch->analysed = TRUE;
      watch->analysis_ms = last_tick ? (g_get_monotonic_time () - last_tick) / 1000.0 : 0;
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-evaluate", NULL));
      analysis_frames_until = g_get_monotonic_time () + 500 * 1000;
      last_tick = 0;
    }
  return page_idle (NULL) && watch->analysed;
}

static void
assert_shown_metrics_equal (const PlEvalRun *run)
{
  const char * const *names = pl_bench_metric_names ();
  guint checked = 0;

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *text = pl_evaluate_page_dup_metric_text (window->evaluate_page, names[i]);
      double stored = pl_bench_scores_get (run->metrics->overall, names[i]);

      if (text == NULL)
        continue;   /* counts are not shown in the grid */
      g_test_message ("%s: shown %s, stored %g", names[i], text, stored);
      /* Shown with two decimals (median ranks exactly). */
      g_assert_cmpfloat (fabs (g_ascii_strtod (text, NULL) - stored), <=, 0.005 + 1e-9);
      checked++;
    }
  /* top-1, top-5 and four directions x (R@1, R@5, R@10, R@50, median rank) */
  g_assert_cmpuint (checked, ==, 2 + 4 * 5);
}

static void
test_starting_again_resumes_and_shows_the_stored_metrics (void)
{
  g_autofree char *image = pl_test_shared_data_path ("images/retina.jpg");
  g_autofree char *workspace = pl_evaluation_default_workspace ();
  g_autofree char *expected_resumed = NULL;
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(PlEvalRun) run = NULL;
  g_autoptr(GError) error = NULL;
  ResumeWatch watch = { 0 };
  PlBarChart *chart;
  guint source, n_images;
  gint64 start;

  last_tick = 0;
  longest_stall_ms = 0;
  source = g_timeout_add (5, tick, NULL);
  start = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.start", NULL));
  g_test_message ("starting: %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  /* The rest of the window keeps working: an image dropped during the run is analysed. */
  n_images = g_list_model_get_n_items (G_LIST_MODEL (window->images));
  start = g_get_monotonic_time ();
  drop_file (image);
  g_test_message ("dropping: %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->images)), ==, n_images + 1);
  watch.dropped = g_list_model_get_item (G_LIST_MODEL (window->images), n_images);
  iterate_until (resumed_run_done, &watch, "the resumed run");
  g_source_remove (source);
  g_test_message ("longest main-loop iteration during the resumed run: %.1f ms (apart: receiving the dropped "
                  "image's analysis %.1f ms, the frames laying out its page %.1f ms)", longest_stall_ms,
                  watch.analysis_ms, analysis_frames_ms);
  g_assert_cmpfloat (longest_stall_ms, <, MAX_STALL_MS * pl_test_time_scale ());
  g_assert_cmpint (pl_image_item_get_state (watch.dropped), ==, PL_IMAGE_ITEM_DONE);
  g_clear_object (&watch.dropped);

  g_assert_cmpint (pl_evaluate_page_get_shown_run (window->evaluate_page), >, 0);
  store = pl_eval_store_open (workspace, &error);
  g_assert_no_error (error);
  run = pl_eval_store_get_run (store, pl_evaluate_page_get_shown_run (window->evaluate_page), &error);
  g_assert_no_error (error);
  /* Every image the cancelled run encoded came from the cache, and the page said so. */
  g_assert_cmpuint (run->images_cached, ==, kept_after_cancel);
  g_assert_cmpuint (run->images_cached + run->images_encoded, ==, n_usable_images);
  expected_resumed = g_strdup_printf ("Resumed: %u of %u images already encoded", run->images_cached, n_usable_images);
  g_assert_cmpstr (watch.resumed, ==, expected_resumed);
  g_free (watch.resumed);

  assert_shown_metrics_equal (run);
  /* The per-system chart shows top-1 of each system the run stored. */
  chart = PL_BAR_CHART (find_widget (GTK_WIDGET (window->evaluate_page), PL_TYPE_BAR_CHART, NULL));
  g_assert_nonnull (chart);
  g_assert_cmpuint (pl_bar_chart_get_n_bars (chart), ==, run->metrics->systems->len);
  for (guint i = 0; i < run->metrics->systems->len; i++)
    g_assert_cmpfloat (pl_bar_chart_get_value (chart, i), ==, ((PlBenchScores *) run->metrics->systems->pdata[i])->top1);
  /* The report lists the unresolved name and the missing image. */
  g_assert_nonnull (find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL, "• "));
}

static gboolean
history_has_two_runs (gpointer data)
{
  GtkWidget *dropdown = data;
  GListModel *model = gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown));

  return model != NULL && g_list_model_get_n_items (model) == 2;
}

static void
test_a_repeated_run_encodes_nothing_and_is_compared (void)
{
  GtkWidget *dropdown = find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_DROP_DOWN, "First run");
  g_autofree char *workspace = pl_evaluation_default_workspace ();
  g_autoptr(PlEvalStore) store = NULL;
  g_autoptr(PlEvalRun) run = NULL;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.start", NULL));
  iterate_until (page_idle, NULL, "the repeated run");
  store = pl_eval_store_open (workspace, NULL);
  run = pl_eval_store_get_run (store, pl_evaluate_page_get_shown_run (window->evaluate_page), NULL);
  g_assert_nonnull (run);
  g_assert_cmpuint (run->images_encoded, ==, 0);
  g_assert_nonnull (find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL,
                                 "Resumed: 160 of 160 images already encoded"));
  assert_shown_metrics_equal (run);
  /* The history lists both runs; the comparison shows them side by side. */
  g_assert_nonnull (dropdown);
  iterate_until (history_has_two_runs, dropdown, "the history");
  g_assert_nonnull (find_widget (GTK_WIDGET (window->evaluate_page), GTK_TYPE_LABEL, "Difference"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSettings) settings = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("XDG_DATA_HOME", pl_test_tmpdir (), TRUE);
  g_setenv ("LC_ALL", "C", TRUE);
  if (!gtk_init_check ())
    {
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();
  write_benchmark ();

  settings = g_settings_new ("io.github.phenolip.Explorer");
  session = pl_session_new ();
  window = pl_window_new_for_session (session, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));

  g_test_add_func ("/evaluate-page/opens-with-the-open-checkpoint", test_view_opens_with_the_open_checkpoint);
  g_test_add_func ("/evaluate-page/run-moves-the-progress-bar-off-the-main-loop-and-cancels",
                   test_run_moves_the_progress_bar_and_cancels);
  g_test_add_func ("/evaluate-page/starting-again-resumes-and-shows-the-stored-metrics-while-the-window-works",
                   test_starting_again_resumes_and_shows_the_stored_metrics);
  g_test_add_func ("/evaluate-page/a-repeated-run-encodes-nothing-and-is-compared",
                   test_a_repeated_run_encodes_nothing_and_is_compared);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&session);
  g_free (manifest);
  return status;
}
