/* bench-ui.c: the Explorer window's speed targets, in one run, each beside a reference measured in the
 * same run: start to usable window (against a bare GTK window), drop to ranked list (against the
 * model's own encoding time), tree expansion and search keystrokes on the full HPO (against the data
 * layer's own queries). Every UI figure runs from the action to the frame that shows its result. */
#include <adwaita.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/pl-search.h"
#include "pl-application.h"
#include "pl-test-ui.h"
#include "pl-term-object.h"
#include "pl-window-private.h"

#define START_TARGET_MS    1500.0
#define OVERHEAD_TARGET_MS 50.0
#define SEARCH_LIMIT       50   /* as the ontology page asks */

/* Frames ------------------------------------------------------------------------------------------ */

/* The end of the last frame the window drew (GdkFrameClock::after-paint): layout and painting done. */
static gint64 last_paint_us;
static guint64 n_paints;

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  last_paint_us = g_get_monotonic_time ();
  n_paints++;
}


static void
watch_frames (GtkWidget *window)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_assert (clock != NULL);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), NULL);
}

static void
iterate_or_die (gint64      deadline,
                const char *what)
{
  if (g_get_monotonic_time () > deadline)
    {
      g_printerr ("bench-ui: timed out waiting for %s\n", what);
      exit (1);
    }
  g_main_context_iteration (NULL, TRUE);
}

/* Waits for the next frame drawn after AFTER_US; returns when it ended. */
static gint64
next_frame_after (gint64      after_us,
                  const char *what)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (last_paint_us <= after_us)
    iterate_or_die (deadline, what);
  return last_paint_us;
}

/* Lets pending work and frames run out (nothing drawn for IDLE_MS). */
static void
settle (double idle_ms)
{
  gint64 deadline = g_get_monotonic_time () + 300 * 1000;

  for (;;)
    {
      guint64 paints = n_paints;
      gint64 until = g_get_monotonic_time () + idle_ms * 1000;

      while (g_get_monotonic_time () < until)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      /* A window that never stops drawing (see the figure printed at rest) gets 300 ms. */
      if (n_paints == paints || g_get_monotonic_time () > deadline)
        return;
    }
}

/* The first frame after START_US in which ROOT shows TEXT; returns its end. */
static gint64
frame_showing (GtkWidget  *root,
               const char *text,
               gint64      start_us,
               const char *what)
{
  gint64 frame = start_us;

  do
    frame = next_frame_after (frame, what);
  while (!pl_test_shows_label (root, text));
  return frame;
}

/* Figures ---------------------------------------------------------------------------------------- */

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (GArray *values)
{
  g_autoptr(GArray) sorted = g_array_copy (values);
  guint n = sorted->len;

  if (n == 0)
    return NAN;
  g_array_sort (sorted, compare_doubles);
  return n % 2 ? g_array_index (sorted, double, n / 2)
               : (g_array_index (sorted, double, n / 2 - 1) + g_array_index (sorted, double, n / 2)) / 2;
}

static double
worst (GArray *values)
{
  double w = -INFINITY;

  for (guint i = 0; i < values->len; i++)
    w = MAX (w, g_array_index (values, double, i));
  return w;
}

/* CPU time of the calling (main) thread, in ms: unlike wall time, untouched by other processes. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
add (GArray *values,
     double  value)
{
  g_array_append_val (values, value);
}

static GArray *
new_values (void)
{
  return g_array_new (FALSE, FALSE, sizeof (double));
}

static const char *
verdict (double value,
         double target)
{
  return value < target ? "met" : "MISSED";
}

/* Start-up, in a child process ------------------------------------------------------------------ */

/* Runs as a fresh process spawned by the parent, which put its clock reading just before the spawn
 * in PL_BENCH_SPAWN_US; prints "FIRST_FRAME_MS USABLE_MS" on stdout. */
static int
run_start_child (const char *kind)
{
  gint64 spawned = g_ascii_strtoll (g_getenv ("PL_BENCH_SPAWN_US"), NULL, 10);
  gint64 deadline, first_frame, usable;
  GtkWidget *window;
  PlSession *session = NULL;

  gtk_init ();
  adw_init ();
  if (g_strcmp0 (kind, "bare") == 0)
    {
      window = gtk_window_new ();
      gtk_window_set_child (GTK_WINDOW (window), gtk_label_new ("PhenoLIP Explorer"));
      gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
      gtk_window_present (GTK_WINDOW (window));
      watch_frames (window);
      first_frame = usable = next_frame_after (0, "the first frame");
    }
  else
    {
      /* What PlApplication does: its style sheet, then on activate a window over a new session,
       * then pl_window_start. */
      pl_application_add_style_for_display (gdk_display_get_default ());
      session = pl_session_new ();
      window = GTK_WIDGET (pl_window_new_for_session (session, NULL));
      gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
      gtk_window_present (GTK_WINDOW (window));
      watch_frames (window);
      pl_window_start (PL_WINDOW (window));
      first_frame = next_frame_after (0, "the first frame");
      deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
      while (!pl_session_get_ready (session) || pl_session_get_busy (session))
        iterate_or_die (deadline, "the demo session");
      /* The frame that shows the ready window: the demo notice revealed, the welcome page. */
      usable = next_frame_after (g_get_monotonic_time (), "the first frame with the session ready");
    }
  g_print ("%.3f %.3f\n", (first_frame - spawned) / 1000.0, (usable - spawned) / 1000.0);
  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&session);
  return 0;
}

static gboolean
spawn_start (const char *self_exe,
             const char *kind,
             const char *data_home,
             double     *first_frame_ms,
             double     *usable_ms)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = g_get_environ ();
  g_autofree char *spawned = NULL;
  const char *argv[] = { self_exe, "--start-child", kind, NULL };
  int status;

  env = g_environ_setenv (env, "XDG_DATA_HOME", data_home, TRUE);
  spawned = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_monotonic_time ());
  env = g_environ_setenv (env, "PL_BENCH_SPAWN_US", spawned, TRUE);
  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error)
      || sscanf (out, "%lf %lf", first_frame_ms, usable_ms) != 2)
    {
      g_printerr ("bench-ui: start-up child (%s): %s\n", kind, error != NULL ? error->message : "no figures printed");
      return FALSE;
    }
  return TRUE;
}

static void
bench_start (const char *self_exe,
             int         repeats)
{
  g_autofree char *data_home = g_dir_make_tmp ("bench-ui-start-XXXXXX", NULL);
  g_autoptr(GArray) ours_first = new_values (), ours_usable = new_values ();
  g_autoptr(GArray) bare = new_values ();
  double cold_first, cold_usable, first, usable;

  /* The first start builds the demo snapshot in the user data folder; later ones reuse it, as on
   * a user's machine from the second start on. */
  if (!spawn_start (self_exe, "ours", data_home, &cold_first, &cold_usable))
    exit (1);
  for (int i = 0; i < repeats; i++)
    {
      /* Interleaved, so that both see the same machine load. */
      if (!spawn_start (self_exe, "bare", data_home, &first, &usable))
        exit (1);
      add (bare, usable);
      if (!spawn_start (self_exe, "ours", data_home, &first, &usable))
        exit (1);
      add (ours_first, first);
      add (ours_usable, usable);
    }
  g_print ("\nStart to usable window on the demo (process spawn to the first frame drawn with the session ready;\n"
           "  a fresh process each time, %d runs interleaved with the reference)\n", repeats);
  g_print ("  Explorer window   median %7.1f ms  worst %7.1f ms  (target < %.0f ms: %s)\n",
           median (ours_usable), worst (ours_usable), START_TARGET_MS, verdict (worst (ours_usable), START_TARGET_MS));
  g_print ("    of which to its first frame (demo still loading): median %.1f ms\n", median (ours_first));
  g_print ("    very first start (builds the demo snapshot):      %.1f ms (first frame %.1f ms)\n", cold_usable, cold_first);
  g_print ("  bare GtkWindow + label, first frame: median %7.1f ms  worst %7.1f ms\n", median (bare), worst (bare));
  g_print ("  ratio Explorer / bare window: %.2fx (difference %.1f ms)\n",
           median (ours_usable) / median (bare), median (ours_usable) - median (bare));
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", data_home);
    (void) !system (cmd);
  }
}

/* The in-process window ------------------------------------------------------------------------- */

static PlWindow *window;
static PlSession *session;

static void
wait_session_idle (const char *what)
{
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  while (pl_session_get_busy (session))
    iterate_or_die (deadline, what);
}

static void
drop_files (const char *path)
{
  const char *paths[] = { path, NULL };

  /* The handler a real drop runs (the window's GtkDropTarget::drop). */
  pl_test_drop_files (GTK_WIDGET (window), paths);
}

/* The first frame drawn after AFTER_US that follows the moment the analysis page had built every row
 * it builds at first (ten, and the organ systems); returns its end. */
static gint64
frame_with_complete_page (gint64 after_us)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint64 complete;

  while (!pl_analysis_page_is_complete (window->analysis_page))
    iterate_or_die (deadline, "the rest of the analysis page");
  complete = MAX (g_get_monotonic_time (), after_us);
  return next_frame_after (complete, "the complete analysis page");
}

static void
bench_drop (char **images,
            int    repeats)
{
  g_autoptr(GArray) total = new_values (), encode = new_values (), overhead = new_values ();
  g_autoptr(GArray) pipeline_overhead = new_values (), complete = new_values ();
  g_autoptr(GArray) decode = new_values (), rank = new_values ();
  g_autoptr(GArray) to_result = new_values (), to_frame = new_values ();
  g_autoptr(GArray) cpu_to_result = new_values (), cpu_to_frame = new_values ();

  for (int r = 0; r < repeats + 1; r++)
    for (guint i = 0; images[i] != NULL; i++)
      {
        g_autoptr(PlImageItem) item = NULL;
        PlAnalysis *analysis;
        PlRankedPhenotype *best;
        gint64 start, done, shown, all_shown, deadline;
        double cpu_start, cpu_done, cpu_shown;
        guint n;

        settle (50);
        cpu_start = thread_cpu_ms ();
        start = g_get_monotonic_time ();
        drop_files (images[i]);
        n = g_list_model_get_n_items (G_LIST_MODEL (window->images));
        item = g_list_model_get_item (G_LIST_MODEL (window->images), n - 1);
        deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
        while (pl_image_item_get_state (item) == PL_IMAGE_ITEM_WAITING)
          iterate_or_die (deadline, "the analysis");
        if (pl_image_item_get_state (item) != PL_IMAGE_ITEM_DONE)
          {
            g_printerr ("bench-ui: %s: %s\n", images[i], pl_image_item_get_error (item));
            exit (1);
          }
        /* The window has built the page's first screen in the same main-loop dispatch that delivered
         * the result: the first frame after now showing the top-ranked row shows the ranked list. */
        done = g_get_monotonic_time ();
        cpu_done = thread_cpu_ms ();
        analysis = pl_image_item_get_analysis (item);
        best = g_ptr_array_index (analysis->ranking->phenotypes, 0);
        shown = frame_showing (GTK_WIDGET (window->analysis_page), best->label, done, "the ranked list");
        cpu_shown = thread_cpu_ms ();
        /* The rest of the first ten rows and the organ systems follow that frame. */
        all_shown = frame_with_complete_page (shown);
        if (!pl_test_shows_label (GTK_WIDGET (window->analysis_page),
                          ((PlRankedPhenotype *) g_ptr_array_index (analysis->ranking->phenotypes,
                                                                    MIN (analysis->ranking->phenotypes->len, 10) - 1))->label))
          {
            g_printerr ("bench-ui: the complete analysis page does not show its tenth row\n");
            exit (1);
          }
        if (r == 0)
          continue;   /* a warm-up round: first use of each code path and font */
        add (total, (shown - start) / 1000.0);
        add (complete, (all_shown - start) / 1000.0);
        add (encode, analysis->encode_ms);
        add (decode, analysis->decode_ms);
        add (rank, analysis->rank_ms);
        add (overhead, (shown - start) / 1000.0 - analysis->encode_ms);
        add (pipeline_overhead, (shown - start) / 1000.0 - analysis->encode_ms - analysis->decode_ms);
        add (to_result, (done - start) / 1000.0);
        add (to_frame, (shown - done) / 1000.0);
        add (cpu_to_result, cpu_done - cpu_start);
        add (cpu_to_frame, cpu_shown - cpu_done);
      }
  g_print ("\nDrop to ranked list on the demo (the window's drop handler with a file list, to the first frame\n"
           "  showing the top-ranked row; %u drops of %u real images after a warm-up round)\n",
           total->len, g_strv_length (images));
  g_print ("  drop to ranked list shown   median %7.1f ms  worst %7.1f ms\n", median (total), worst (total));
  g_print ("    to the frame showing all ten first rows and the organ systems: median %.1f ms, worst %.1f ms\n",
           median (complete), worst (complete));
  g_print ("  the model's encoding        median %7.1f ms  worst %7.1f ms  (decode + preprocess %.1f, rank %.1f)\n",
           median (encode), worst (encode), median (decode), median (rank));
  g_print ("    stages: drop to the result delivered and the first screen built %.1f ms, then to the frame %.1f ms (medians)\n",
           median (to_result), median (to_frame));
  g_print ("    main thread's CPU time in them: %.1f ms and %.1f ms (medians)\n",
           median (cpu_to_result), median (cpu_to_frame));
  g_print ("  difference (all but encoding) median %5.1f ms  worst %7.1f ms  (target < %.0f ms: %s)\n",
           median (overhead), worst (overhead), OVERHEAD_TARGET_MS, verdict (worst (overhead), OVERHEAD_TARGET_MS));
  g_print ("    all but decoding, preprocessing and encoding (the model's whole work on the image): median %.1f ms, worst %.1f ms\n",
           median (pipeline_overhead), worst (pipeline_overhead));
}

typedef struct {
  GError   *error;
  gboolean  done;
} OpenState;

static void
open_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  OpenState *state = user_data;

  pl_session_open_snapshot_finish (PL_SESSION (source), result, &state->error);
  state->done = TRUE;
}

/* Opens a private copy of the full snapshot: the session starts computing the demo model's phenotype
 * embeddings into an opened snapshot, which must not touch the shared file (and is cancelled here, so
 * that no worker competes with the measurements). */
static void
open_full_snapshot (const char *snapshot,
                    const char *tmpdir)
{
  g_autofree char *copy = g_build_filename (tmpdir, "hpo.snapshot", NULL);
  g_autoptr(GFile) from = g_file_new_for_path (snapshot);
  g_autoptr(GFile) to = g_file_new_for_path (copy);
  OpenState state = { NULL, FALSE };
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;

  if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error))
    {
      g_printerr ("bench-ui: %s\n", error->message);
      exit (1);
    }
  pl_session_open_snapshot_async (session, copy, NULL, open_done_cb, &state);
  while (!state.done)
    iterate_or_die (deadline, "the full snapshot");
  if (state.error != NULL)
    {
      g_printerr ("bench-ui: %s: %s\n", snapshot, state.error->message);
      exit (1);
    }
  pl_session_cancel_embeddings (session);
  wait_session_idle ("the cancelled embeddings");
}

static GtkTreeListRow *
find_row (const char *id)
{
  GListModel *tree = pl_ontology_page_get_tree_model (window->ontology_page);

  for (guint i = 0; i < g_list_model_get_n_items (tree); i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (tree, i);
      g_autoptr(PlTermObject) term = gtk_tree_list_row_get_item (row);

      if (g_strcmp0 (pl_term_object_get_id (term), id) == 0)
        return g_steal_pointer (&row);
    }
  return NULL;
}

static void
bench_expand (int repeats)
{
  /* "Abnormality of the eye", then the biggest organ systems. */
  static const char *ids[] = {
    "HP:0000478", "HP:0000707", "HP:0033127", "HP:0040064", "HP:0000152", "HP:0001939", "HP:0000119", NULL
  };
  PlSnapshot *snapshot = pl_session_get_snapshot (session);
  g_autoptr(GArray) ui = new_values (), data = new_values ();
  g_autoptr(GArray) ui_first_round = new_values ();
  GString *names = g_string_new (NULL);

  for (int r = 0; r < repeats; r++)
    for (guint i = 0; ids[i] != NULL; i++)
      {
        g_autoptr(GtkTreeListRow) row = find_row (ids[i]);
        g_autoptr(PlTermObject) term = NULL;
        g_autoptr(GPtrArray) children = NULL;
        PlTermRef *first;
        gint64 start, shown;

        if (row == NULL)
          {
            g_printerr ("bench-ui: %s is not a row of the tree\n", ids[i]);
            exit (1);
          }
        term = gtk_tree_list_row_get_item (row);
        if (r == 0)
          g_string_append_printf (names, "%s%s (%d children)", i > 0 ? ", " : "",
                                  pl_term_object_get_label (term), pl_term_object_get_n_children (term));
        children = pl_snapshot_get_children (snapshot, ids[i], NULL);
        first = g_ptr_array_index (children, 0);
        settle (30);
        start = g_get_monotonic_time ();
        gtk_tree_list_row_set_expanded (row, TRUE);
        /* Its first child is the row just below it. */
        shown = frame_showing (GTK_WIDGET (window->ontology_page), first->label, start, "the expanded node");
        add (r == 0 ? ui_first_round : ui, (shown - start) / 1000.0);
        gtk_tree_list_row_set_expanded (row, FALSE);
        settle (30);

        /* The data layer's own call for the same node, on the same (main-thread) connection. */
        start = g_get_monotonic_time ();
        g_clear_pointer (&children, g_ptr_array_unref);
        children = pl_snapshot_get_children (snapshot, ids[i], NULL);
        add (data, (g_get_monotonic_time () - start) / 1000.0);
      }
  if (repeats == 1)
    g_array_append_vals (ui, ui_first_round->data, ui_first_round->len);
  g_print ("\nExpanding a tree node on the full HPO (gtk_tree_list_row_set_expanded to the first frame showing\n"
           "  its first child; %s; each expanded then collapsed, %d rounds, first round apart)\n",
           names->str, repeats);
  g_print ("  expand to frame     median %7.2f ms  worst %7.2f ms  (target < %.0f ms: %s)\n",
           median (ui), worst (ui), OVERHEAD_TARGET_MS, verdict (worst (ui), OVERHEAD_TARGET_MS));
  g_print ("    first expansion of each node: median %.2f ms, worst %.2f ms\n",
           median (ui_first_round), worst (ui_first_round));
  g_print ("  pl_snapshot_get_children alone  median %7.3f ms  worst %7.3f ms\n", median (data), worst (data));
  g_print ("  ratio UI / data layer (medians): %.1fx\n", median (ui) / median (data));
  g_string_free (names, TRUE);
}

static gboolean
results_are_for (const char *query)
{
  return g_strcmp0 (pl_ontology_page_get_results_query (window->ontology_page), query) == 0;
}

/* What the page shows first for QUERY (NULL when nothing matches), from the data layer. */
static char *
first_hit_label (PlSnapshot *snapshot,
                 const char *query)
{
  g_autoptr(GPtrArray) hits = pl_snapshot_search (snapshot, query, SEARCH_LIMIT, NULL);

  if (hits == NULL || hits->len == 0)
    return NULL;
  return g_strdup (((PlSearchHit *) g_ptr_array_index (hits, 0))->label);
}

static void
bench_search (int repeats)
{
  static const char *words[] = { "seizure", "epileptic seiz", "HP:000125", NULL };
  PlSnapshot *snapshot = pl_session_get_snapshot (session);
  GtkEditable *entry = pl_ontology_page_get_search_entry (window->ontology_page);
  g_autoptr(GArray) ui = new_values (), data = new_values (), to_results = new_values ();
  g_autoptr(GArray) handler_ms = new_values ();

  for (int r = 0; r < repeats + 1; r++)
    for (guint w = 0; words[w] != NULL; w++)
      {
        const char *word = words[w];

        gtk_editable_set_text (entry, "");
        settle (200);
        for (gsize k = 1; k <= strlen (word); k++)
          {
            g_autofree char *query = g_strndup (word, k);
            g_autofree char *label = first_hit_label (snapshot, query);
            int position = k - 1;
            gint64 start, typed, searched, shown, deadline;

            settle (30);
            start = g_get_monotonic_time ();
            /* One typed character: what GtkText does with a key press, inserting at the cursor. */
            gtk_editable_insert_text (entry, word + k - 1, 1, &position);
            gtk_editable_set_position (entry, position);
            typed = g_get_monotonic_time ();
            /* The page searches on the worker: wait until its list holds this query's matches. */
            deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
            while (!results_are_for (query))
              iterate_or_die (deadline, "the search results");
            searched = g_get_monotonic_time ();
            /* The list may look as it did (nothing matches, or the same rows as for the query
             * before, updated in place): still wait for a frame, the next one. */
            gtk_widget_queue_draw (GTK_WIDGET (window->ontology_page));
            shown = label != NULL
                    ? frame_showing (GTK_WIDGET (window->ontology_page), label, searched, "the search results")
                    : next_frame_after (searched, "the empty search");
            if (r == 0)
              continue;
            if (g_getenv ("PL_BENCH_VERBOSE") != NULL)
              g_printerr ("  %-16s keystroke to frame %6.2f ms, to the matches %6.2f ms\n", query,
                          (shown - start) / 1000.0, (searched - start) / 1000.0);
            add (ui, (shown - start) / 1000.0);
            add (handler_ms, (typed - start) / 1000.0);
            add (to_results, (searched - start) / 1000.0);

            start = g_get_monotonic_time ();
            g_ptr_array_unref (pl_snapshot_search (snapshot, query, SEARCH_LIMIT, NULL));
            add (data, (g_get_monotonic_time () - start) / 1000.0);
          }
      }
  gtk_editable_set_text (entry, "");
  g_print ("\nSearch keystrokes on the full HPO (\"seizure\", \"epileptic seiz\", \"HP:000125\" typed one key at a time,\n"
           "  %u keystrokes after a warm-up round; each from the inserted character to the first frame showing\n"
           "  the query's first result; the page lists the best %d matches)\n", ui->len, SEARCH_LIMIT);
  g_print ("  keystroke to frame  median %7.2f ms  worst %7.2f ms  (target < %.0f ms: %s)\n",
           median (ui), worst (ui), OVERHEAD_TARGET_MS, verdict (worst (ui), OVERHEAD_TARGET_MS));
  g_print ("    the keystroke's own handling (insert + cursor): median %.2f ms, worst %.2f ms\n",
           median (handler_ms), worst (handler_ms));
  g_print ("    keystroke to the matches in the list (query on the search worker): median %.2f ms, worst %.2f ms\n",
           median (to_results), worst (to_results));
  g_print ("  pl_snapshot_search alone (limit %d)  median %7.3f ms  worst %7.3f ms\n",
           SEARCH_LIMIT, median (data), worst (data));
  g_print ("  ratio UI / data layer (medians): %.1fx\n", median (ui) / median (data));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *start_child = NULL;
  g_autofree char *snapshot = NULL;
  g_auto(GStrv) images = NULL;
  int repeats = 5;
  gboolean skip_start = FALSE;
  g_autofree char *only = NULL;
  GOptionEntry entries[] = {
    { "snapshot", 0, 0, G_OPTION_ARG_FILENAME, &snapshot, "Full HPO snapshot for the tree and search figures", "FILE" },
    { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "Rounds of each measurement (default 5)", "N" },
    { "no-start", 0, 0, G_OPTION_ARG_NONE, &skip_start, "Skip the start-up figures", NULL },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Only one section (for profiling): start, drop, expand or search", "NAME" },
    { "start-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &start_child, NULL, NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &images, NULL, "IMAGE..." },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("IMAGE... - the Explorer window's speed targets");
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *self_exe = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-ui: %s\n", error->message);
      return 2;
    }
  if (start_child != NULL)
    return run_start_child (start_child);
  if (images == NULL || repeats < 1)
    {
      g_printerr ("usage: bench-ui [--snapshot FULL.snapshot] [--repeats N] IMAGE...\n");
      return 2;
    }
  if (!gtk_init_check ())
    {
      g_printerr ("bench-ui: no display (run it under xvfb-run -a)\n");
      return 1;
    }
  adw_init ();
  pl_application_add_style_for_display (gdk_display_get_default ());
  self_exe = g_file_read_link ("/proc/self/exe", NULL);

  g_print ("Explorer window: GTK %u.%u.%u, libadwaita %u.%u.%u, renderer %s, %s\n",
           gtk_get_major_version (), gtk_get_minor_version (), gtk_get_micro_version (),
           adw_get_major_version (), adw_get_minor_version (), adw_get_micro_version (),
           g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "default",
           g_getenv ("PL_BENCH_XVFB") != NULL ? "under Xvfb" : "on this display");
  if (!skip_start && (only == NULL || strcmp (only, "start") == 0))
    bench_start (self_exe, repeats);
  if (only != NULL && strcmp (only, "start") == 0)
    return 0;

  tmpdir = g_dir_make_tmp ("bench-ui-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  session = pl_session_new ();
  window = pl_window_new_for_session (session, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 900);
  gtk_window_present (GTK_WINDOW (window));
  watch_frames (GTK_WIDGET (window));
  pl_window_start (window);
  {
    gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

    while (!pl_session_get_ready (session) || pl_session_get_busy (session))
      iterate_or_die (deadline, "the demo session");
  }
  {
    /* A window at rest draws nothing; frames here are an animation or a style loop somewhere.
     * The second after ready is left alone first: the load's last animations end in it (their
     * frames stop after a few hundred ms, longer than settle's cap). */
    guint64 before;
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;

    while (g_get_monotonic_time () < until)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    before = n_paints;
    until = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    g_print ("\nFrames drawn in 1 s by the ready window at rest (welcome page, a second after ready): %" G_GUINT64_FORMAT "%s\n",
             n_paints - before, n_paints - before > 2 ? "  -- it keeps redrawing when nothing changes" : "");
  }
  if (only == NULL || strcmp (only, "drop") == 0)
    bench_drop (images, repeats);

  if (snapshot != NULL && (only == NULL || strcmp (only, "expand") == 0 || strcmp (only, "search") == 0))
    {
      open_full_snapshot (snapshot, tmpdir);
      adw_view_stack_set_visible_child_name (window->sidebar_stack, "ontology");
      settle (200);
      if (only == NULL || strcmp (only, "expand") == 0)
        bench_expand (repeats);
      if (only == NULL || strcmp (only, "search") == 0)
        bench_search (repeats);
    }

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&session);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
    (void) !system (cmd);
  }
  return 0;
}
