/* test-window.c: the Explorer window in a real display: a dropped or pasted image is analysed off
 * the main loop and its ranked phenotypes shown with their paths as clickable breadcrumbs; search,
 * term pages with their example pairs, history, shortcuts, and a corrupt checkpoint reported in a
 * dialog while the window keeps working. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "data/pl-pairs.h"
#include "data/pl-search.h"
#include "pl-breadcrumbs.h"
#include "pl-test-ui.h"
#include "pl-test-util.h"
#include "pl-term-object.h"
#include "pl-window-private.h"

/* No main-loop iteration may block longer than this while the worker analyses an image (the
 * iteration that receives the result and builds the ranked page included). */
#define MAX_STALL_MS 100.0

static PlWindow *window;
static PlSession *session;
static gint64 last_tick;
static guint n_ticks;
static double longest_stall_ms;

static gboolean
tick (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_tick != 0)
    longest_stall_ms = MAX (longest_stall_ms, (now - last_tick) / 1000.0);
  last_tick = now;
  n_ticks++;
  return G_SOURCE_CONTINUE;
}

/* A 5 ms tick whose gaps are the main loop's iterations; returns once it has ticked, so that the
 * next iteration is measured. */
static guint
start_ticking (void)
{
  guint source;

  last_tick = 0;
  longest_stall_ms = 0;
  n_ticks = 0;
  source = g_timeout_add (5, tick, NULL);
  while (n_ticks == 0)
    g_main_context_iteration (NULL, TRUE);
  return source;
}

/* The gap before the next tick measures the iteration that just ran. */
static void
wait_next_tick (void)
{
  guint ticks = n_ticks;

  while (n_ticks == ticks)
    g_main_context_iteration (NULL, TRUE);
}

/* Every wait here ends within 120 s (x the build's slowdown) or fails the test. */
static void
iterate_until (PlTestCondition  condition,
               gpointer         data,
               const char      *what)
{
  pl_test_iterate_until (condition, data, what, 120);
}

static gboolean
item_finished (gpointer data)
{
  return pl_image_item_get_state (data) != PL_IMAGE_ITEM_WAITING;
}

static gboolean
stack_shows (gpointer data)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (window->content_stack), data) == 0;
}

static gboolean
has_results (gpointer data)
{
  return g_list_model_get_n_items (pl_ontology_page_get_results_model (window->ontology_page)) > 0;
}

static void
drop_files (const char * const *paths)
{
  pl_test_drop_files (GTK_WIDGET (window), paths);
}

static PlImageItem *
last_item (void)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (window->images));

  g_assert_cmpuint (n, >, 0);
  return g_list_model_get_item (G_LIST_MODEL (window->images), n - 1);
}

static guint
count_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

static void
test_starts_on_the_demo (void)
{
  gint64 start = g_get_monotonic_time ();

  pl_window_start (window);
  iterate_until (pl_test_session_settled, session, "the demo");
  g_test_message ("start to usable window on the demo: %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_true (pl_session_get_is_demo (session));
  g_assert_true (gtk_revealer_get_reveal_child (window->demo_revealer));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "welcome");
}

static void
test_dropped_image_is_ranked_with_paths (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  const char *paths[] = { path, NULL };
  g_autoptr(PlImageItem) item = NULL;
  PlAnalysis *analysis;
  PlRanking *ranking;
  guint source;
  gint64 start;
  double elapsed_ms, analysing_stall_ms;

  source = start_ticking ();
  start = g_get_monotonic_time ();
  drop_files (paths);
  item = last_item ();
  /* The worker decodes, encodes and ranks; the main loop must keep running meanwhile. */
  iterate_until (item_finished, item, "the analysis");
  wait_next_tick ();
  analysing_stall_ms = longest_stall_ms;
  iterate_until (stack_shows, (gpointer) "analysis", "the analysis page");
  elapsed_ms = (g_get_monotonic_time () - start) / 1000.0;
  g_source_remove (source);

  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  analysis = pl_image_item_get_analysis (item);
  g_test_message ("drop to ranked list: %.1f ms, of which the model's encoding %.1f ms (decode %.1f, rank %.1f); "
                  "longest main-loop iteration while analysing %.1f ms, including showing the page %.1f ms",
                  elapsed_ms, analysis->encode_ms, analysis->decode_ms, analysis->rank_ms,
                  analysing_stall_ms, longest_stall_ms);
  g_assert_cmpfloat (analysing_stall_ms, <, MAX_STALL_MS * pl_test_time_scale ());

  ranking = pl_analysis_page_get_ranking (window->analysis_page);
  g_assert_true (ranking == analysis->ranking);
  g_assert_cmpuint (ranking->phenotypes->len, >, 0);
  /* One row per ranked phenotype, each with its label, id and every path (up to four) shown. */
  {
    GtkWidget *list = GTK_WIDGET (gtk_widget_get_first_child (GTK_WIDGET (window->analysis_page)));
    g_assert_nonnull (list);
  }
  for (guint i = 0; i < ranking->phenotypes->len; i++)
    {
      PlRankedPhenotype *phenotype = g_ptr_array_index (ranking->phenotypes, i);

      g_assert_cmpuint (phenotype->paths->len, >, 0);
      for (guint p = 0; p < phenotype->paths->len; p++)
        {
          GPtrArray *steps = g_ptr_array_index (phenotype->paths, p);

          g_assert_cmpstr (((PlTermRef *) g_ptr_array_index (steps, 0))->id, ==, "HP:0000001");
          g_assert_cmpstr (((PlTermRef *) g_ptr_array_index (steps, steps->len - 1))->id, ==, phenotype->term_id);
        }
    }
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, "retina.jpg");
}

/* TEXTURE's pixels as R, G, B bytes, through GDK's own download (cairo's ARGB32 order). */
static guint8 *
texture_rgb (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guint8 *argb = g_malloc (stride * height);
  guint8 *rgb = g_malloc ((gsize) width * height * 3);

  gdk_texture_download (texture, argb, stride);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint32 pixel;

      memcpy (&pixel, argb + i * 4, 4);
      g_assert_cmpuint (pixel >> 24, ==, 255);  /* opaque */
      rgb[i * 3 + 0] = (pixel >> 16) & 0xff;
      rgb[i * 3 + 1] = (pixel >> 8) & 0xff;
      rgb[i * 3 + 2] = pixel & 0xff;
    }
  return rgb;
}

static void
test_previews_show_the_pixels_the_model_saw (void)
{
  /* The page's picture is the centre crop the model saw, pixel for pixel; the images list's
   * thumbnail is that crop at the thumbnail's device size, close to gdk-pixbuf's own
   * area-averaging downscale of it. */
  g_autofree char *path = pl_test_shared_data_path ("images/ihc.png");
  const char *paths[] = { path, NULL };
  g_autoptr(PlImageItem) item = NULL;
  g_autoptr(GdkPixbuf) crop = NULL, reference = NULL;
  g_autofree guint8 *preview = NULL, *thumbnail = NULL;
  PlAnalysis *analysis;
  GtkListBoxRow *row;
  GdkPaintable *paintable;
  int size, thumb;
  double total_diff = 0;
  int worst = 0;

  drop_files (paths);
  item = last_item ();
  iterate_until (item_finished, item, "the analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  analysis = pl_image_item_get_analysis (item);
  size = analysis->preview_size;

  g_assert_cmpint (gdk_texture_get_width (pl_image_item_get_preview (item)), ==, size);
  preview = texture_rgb (pl_image_item_get_preview (item));
  g_assert_cmpmem (preview, (gsize) size * size * 3, analysis->preview_rgb, (gsize) size * size * 3);

  row = gtk_list_box_get_row_at_index (window->images_list,
                                       (int) g_list_model_get_n_items (G_LIST_MODEL (window->images)) - 1);
  paintable = gtk_picture_get_paintable (g_object_get_data (G_OBJECT (row), "picture"));
  g_assert_true (GDK_IS_TEXTURE (paintable));
  thumb = gdk_texture_get_width (GDK_TEXTURE (paintable));
  g_assert_cmpint (thumb, ==, 48 * gtk_widget_get_scale_factor (GTK_WIDGET (row)));
  g_assert_cmpint (gdk_texture_get_height (GDK_TEXTURE (paintable)), ==, thumb);
  thumbnail = texture_rgb (GDK_TEXTURE (paintable));

  crop = gdk_pixbuf_new_from_data (analysis->preview_rgb, GDK_COLORSPACE_RGB, FALSE, 8, size, size,
                                   size * 3, NULL, NULL);
  reference = gdk_pixbuf_scale_simple (crop, thumb, thumb, GDK_INTERP_TILES);
  for (int y = 0; y < thumb; y++)
    for (int x = 0; x < thumb; x++)
      for (int c = 0; c < 3; c++)
        {
          int expected = gdk_pixbuf_get_pixels (reference)[y * gdk_pixbuf_get_rowstride (reference) + x * 3 + c];
          int diff = abs (thumbnail[((gsize) y * thumb + x) * 3 + c] - expected);

          total_diff += diff;
          worst = MAX (worst, diff);
        }
  g_test_message ("thumbnail against gdk-pixbuf's TILES downscale: mean |diff| %.2f, worst %d",
                  total_diff / (thumb * thumb * 3), worst);
  g_assert_cmpfloat (total_diff / (thumb * thumb * 3), <, 3.0);
  g_assert_cmpint (worst, <, 64);
}

static guint n_paints;

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  n_paints++;
}

static gboolean
painted (gpointer data)
{
  return n_paints >= GPOINTER_TO_UINT (data);
}

/* Two frames drawn from now: whatever changed has been laid out and shown. */
static void
wait_two_frames (void)
{
  static gboolean connected;

  if (!connected)
    {
      g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                        G_CALLBACK (after_paint_cb), NULL);
      connected = TRUE;
    }
  gtk_widget_queue_draw (GTK_WIDGET (window));
  iterate_until (painted, GUINT_TO_POINTER (n_paints + 2), "two frames");
}

static gboolean
results_are_for (gpointer data)
{
  return g_strcmp0 (pl_ontology_page_get_results_query (window->ontology_page), data) == 0;
}

static void
run_for_ms (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * G_GINT64_CONSTANT (1000);

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static gboolean
leaflet_settled (gpointer data)
{
  return !adw_leaflet_get_child_transition_running (window->leaflet);
}

static gboolean
leaflet_folded (gpointer folded)
{
  return adw_leaflet_get_folded (window->leaflet) == GPOINTER_TO_INT (folded);
}

static void
test_sidebar_keeps_its_width_and_fills_a_narrow_window (void)
{
  /* Sized by its rows, the sidebar once grew and shrank as results came and went, and each change
   * laid out the whole content page again (the slowest keystrokes of tools/bench-ui). */
  static const char *queries[] = { "abnormality of the", "HP:00012", "hypoplasia", "seizure", NULL };
  GtkEditable *entry = pl_ontology_page_get_search_entry (window->ontology_page);
  GtkWidget *sidebar = GTK_WIDGET (window->sidebar_clamp);
  int width;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_editable_set_text (entry, "");
  wait_two_frames ();
  width = gtk_widget_get_width (sidebar);
  g_assert_cmpint (width, ==, 320);
  for (guint i = 0; queries[i] != NULL; i++)
    {
      gtk_editable_set_text (entry, queries[i]);
      iterate_until (results_are_for, (gpointer) queries[i], "the search results");
      wait_two_frames ();
      g_test_message ("\"%s\": %u results, sidebar %d px", queries[i],
                      g_list_model_get_n_items (pl_ontology_page_get_results_model (window->ontology_page)),
                      gtk_widget_get_width (sidebar));
      g_assert_cmpint (gtk_widget_get_width (sidebar), ==, width);
    }
  gtk_editable_set_text (entry, "");
  wait_two_frames ();
  g_assert_cmpint (gtk_widget_get_width (sidebar), ==, width);

  /* At 360 px the leaflet folds, and the sidebar, when shown, takes the whole width. */
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 720);
  iterate_until (leaflet_folded, GINT_TO_POINTER (TRUE), "the folded leaflet");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-sidebar", NULL);
  iterate_until (leaflet_settled, NULL, "the leaflet's slide to the sidebar");
  /* and its fold animation (a fixed duration, 250 ms by default, with no "running" property) */
  run_for_ms (adw_leaflet_get_mode_transition_duration (window->leaflet) + 100);
  wait_two_frames ();
  g_test_message ("folded: window %d px, sidebar %d px", gtk_widget_get_width (GTK_WIDGET (window)),
                  gtk_widget_get_width (sidebar));
  g_assert_cmpint (gtk_widget_get_width (sidebar), ==, gtk_widget_get_width (GTK_WIDGET (window->leaflet)));
  g_assert_cmpint (gtk_widget_get_width (sidebar), >, width);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  iterate_until (leaflet_folded, GINT_TO_POINTER (FALSE), "the unfolded leaflet");
  run_for_ms (adw_leaflet_get_mode_transition_duration (window->leaflet) + 100);
  wait_two_frames ();
  g_assert_cmpint (gtk_widget_get_width (sidebar), ==, width);
}

static gboolean
page_complete (gpointer data)
{
  return pl_analysis_page_is_complete (window->analysis_page);
}

/* "All › Phenotypic abnormality › … › TERM", a path a line, for the first N_PATHS of PATHS. */
static char *
expected_breadcrumbs (GPtrArray *paths,
                      guint      n_paths)
{
  GString *text = g_string_new (NULL);

  for (guint p = 0; p < MIN (n_paths, paths->len); p++)
    {
      GPtrArray *steps = g_ptr_array_index (paths, p);

      if (p > 0)
        g_string_append_c (text, '\n');
      for (guint i = 0; i < steps->len; i++)
        g_string_append_printf (text, "%s%s", i > 0 ? " › " : "", ((PlTermRef *) g_ptr_array_index (steps, i))->label);
    }
  return g_string_free (text, FALSE);
}

static void
test_ranked_rows_show_their_paths_and_a_step_click_opens_it (void)
{
  PlRanking *ranking = pl_analysis_page_get_ranking (window->analysis_page);
  g_autoptr(GPtrArray) crumbs = NULL;
  guint n_rows = MIN (ranking->phenotypes->len, 10);
  PlBreadcrumbs *first;
  GPtrArray *first_path;
  PlTermRef *step;
  double x, y;

  /* Ten rows at first (the first screen's in the first frame, the others right after it). */
  iterate_until (page_complete, NULL, "the rest of the ranked rows");
  crumbs = pl_test_find_widgets (GTK_WIDGET (window->analysis_page), PL_TYPE_BREADCRUMBS, TRUE);
  g_assert_cmpuint (crumbs->len, ==, n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      PlRankedPhenotype *phenotype = g_ptr_array_index (ranking->phenotypes, i);
      g_autofree char *expected = expected_breadcrumbs (phenotype->paths, 4);

      g_assert_true (pl_test_shows_label (GTK_WIDGET (window->analysis_page), phenotype->label));
      g_assert_true (pl_test_shows_label (GTK_WIDGET (window->analysis_page), phenotype->term_id));
      g_assert_cmpstr (pl_breadcrumbs_get_text (g_ptr_array_index (crumbs, i)), ==, expected);
    }

  /* A click on the second step of the best row's first path ("Phenotypic abnormality") opens it. */
  first = g_ptr_array_index (crumbs, 0);
  first_path = g_ptr_array_index (((PlRankedPhenotype *) g_ptr_array_index (ranking->phenotypes, 0))->paths, 0);
  step = g_ptr_array_index (first_path, 1);
  g_assert_true (pl_breadcrumbs_get_step_position (first, 1, &x, &y));
  g_assert_cmpstr (pl_breadcrumbs_get_id_at (first, x, y), ==, step->id);
  /* Between two lines of text there is no step. */
  g_assert_null (pl_breadcrumbs_get_id_at (first, x, -5));
  g_assert_true (pl_breadcrumbs_click (first, x, y));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "term");
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, step->id);
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, step->label);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.go-back", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "analysis");
}

static void
test_activating_a_ranked_row_opens_its_term (void)
{
  PlRanking *ranking = pl_analysis_page_get_ranking (window->analysis_page);
  PlRankedPhenotype *best = g_ptr_array_index (ranking->phenotypes, 0);

  /* What the page emits when a row or a breadcrumb is clicked. */
  g_signal_emit_by_name (window->analysis_page, "term-activated", best->term_id);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "term");
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, best->term_id);
  g_assert_cmpstr (pl_term_page_get_label (window->term_page), ==, best->label);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.go-back", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "analysis");
}

static void
test_search_finds_seizure_and_opens_it (void)
{
  GListModel *results;
  g_autoptr(PlTermObject) first = NULL;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_editable_set_text (pl_ontology_page_get_search_entry (window->ontology_page), "seizure");
  iterate_until (has_results, NULL, "search results");
  g_test_message ("search \"seizure\": %.2f ms", pl_ontology_page_get_last_search_ms (window->ontology_page));

  results = pl_ontology_page_get_results_model (window->ontology_page);
  first = g_list_model_get_item (results, 0);
  /* HP:0001250 "Seizure" is the exact label match, ranked first. */
  g_assert_cmpstr (pl_term_object_get_id (first), ==, "HP:0001250");
  g_assert_cmpstr (pl_term_object_get_label (first), ==, "Seizure");

  /* Enter in the search entry opens the first result. */
  g_signal_emit_by_name (pl_ontology_page_get_search_entry (window->ontology_page), "activate");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "term");
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, "HP:0001250");
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, "Seizure");

  /* A synonym-only query says which synonym matched. */
  gtk_editable_set_text (pl_ontology_page_get_search_entry (window->ontology_page), "epileptic seiz");
  iterate_until (has_results, NULL, "synonym results");
  {
    g_autoptr(PlTermObject) hit = NULL;
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    /* The entry's search delay: wait until the list is this query's. */
    while (g_get_monotonic_time () < deadline)
      {
        g_clear_object (&hit);
        hit = g_list_model_get_item (results, 0);
        if (hit != NULL && pl_term_object_get_matched_synonym (hit) != NULL)
          break;
        g_main_context_iteration (NULL, TRUE);
      }
    g_assert_cmpstr (pl_term_object_get_id (hit), ==, "HP:0001250");
    g_assert_cmpstr (pl_term_object_get_matched_synonym (hit), ==, "Epileptic seizure");
  }
}

static gboolean
results_count_is (gpointer data)
{
  return g_list_model_get_n_items (pl_ontology_page_get_results_model (window->ontology_page))
         == GPOINTER_TO_UINT (data);
}

/* A query with many hits shows the first screen's rows with the keystroke's frame and the rest
 * after it: in the end the list holds every hit of the snapshot's own search, in its order. */
static void
test_many_results_all_arrive_in_order (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = pl_snapshot_search (pl_session_get_snapshot (session), "abnormality", 50, &error);
  GListModel *results = pl_ontology_page_get_results_model (window->ontology_page);

  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, >, 16);  /* more than the first screen */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  gtk_editable_set_text (pl_ontology_page_get_search_entry (window->ontology_page), "");
  gtk_editable_set_text (pl_ontology_page_get_search_entry (window->ontology_page), "abnormality");
  iterate_until (results_are_for, (gpointer) "abnormality", "results for abnormality");
  iterate_until (results_count_is, GUINT_TO_POINTER (hits->len), "every hit listed");
  for (guint i = 0; i < hits->len; i++)
    {
      g_autoptr(PlTermObject) row = g_list_model_get_item (results, i);
      const PlSearchHit *hit = g_ptr_array_index (hits, i);

      g_assert_cmpstr (pl_term_object_get_id (row), ==, hit->id);
    }
}

static void
test_navigating_back_and_forward (void)
{
  /* History so far: retina.jpg, its best term, (back), Seizure: going back shows the image. */
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, "HP:0001250");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.go-back", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "analysis");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.go-forward", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "term");
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, "HP:0001250");
  /* A parent link on the term page goes one step further. */
  g_signal_emit_by_name (window->term_page, "term-activated", "HP:0001250");
  g_signal_emit_by_name (window->term_page, "term-activated", "HP:0012638");
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, "HP:0012638");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.go-back", NULL));
  g_assert_cmpstr (pl_term_page_get_term_id (window->term_page), ==, "HP:0001250");
}

static gboolean
error_dialog_shown (gpointer data)
{
  return (*(GtkWindow **) data = pl_test_find_message_dialog (GTK_WINDOW (window))) != NULL;
}

static void
test_corrupt_checkpoint_shows_an_error_and_the_window_still_works (void)
{
  static const char junk[] = "\x40\0\0\0\0\0\0\0{\"a\": not json at all ...........................}";
  g_autofree char *path = pl_test_write_file ("corrupt.safetensors", junk, sizeof junk - 1);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *image = pl_test_shared_data_path ("images/microaneurysms.png");
  const char *paths[] = { image, NULL };
  g_autoptr(PlImageItem) item = NULL;
  GtkWindow *dialog = NULL;

  pl_window_open_checkpoint (window, file);
  iterate_until (error_dialog_shown, &dialog, "the error dialog");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "corrupt.safetensors"));
  gtk_window_destroy (dialog);

  g_assert_true (pl_session_get_is_demo (session));
  g_assert_true (pl_session_get_ready (session));
  drop_files (paths);
  item = last_item ();
  iterate_until (item_finished, item, "the second analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, "microaneurysms.png");
  g_assert_cmpuint (count_children (GTK_WIDGET (window->images_list)), ==, 2);
}

static void
test_unreadable_image_is_reported_by_name (void)
{
  g_autofree char *path = pl_test_write_file ("not-an-image.jpg", "GIF89a nonsense", 15);
  const char *paths[] = { path, NULL };
  g_autoptr(PlImageItem) item = NULL;

  drop_files (paths);
  item = last_item ();
  iterate_until (item_finished, item, "the failed analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_FAILED);
  g_assert_nonnull (strstr (pl_image_item_get_error (item), "not-an-image.jpg"));
  iterate_until (stack_shows, (gpointer) "failed", "the failure page");
}

static void
test_tree_expands_lazily (void)
{
  GListModel *tree = pl_ontology_page_get_tree_model (window->ontology_page);
  guint before = g_list_model_get_n_items (tree);
  g_autoptr(GtkTreeListRow) row = NULL;

  /* HP:0000118 is expanded at start: it and its systems are the rows. */
  g_assert_cmpuint (before, >, 1);
  row = g_list_model_get_item (tree, 1);
  g_assert_false (gtk_tree_list_row_get_expanded (row));
  gtk_tree_list_row_set_expanded (row, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (tree), >, before);
  g_test_message ("expanding a node: %.2f ms", pl_ontology_page_get_last_expand_ms (window->ontology_page));
}

/* The analysis of the item the window analysed before from the same file, to compare with. */
static PlAnalysis *
analysis_of (const char *name)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (window->images)); i++)
    {
      g_autoptr(PlImageItem) item = g_list_model_get_item (G_LIST_MODEL (window->images), i);

      if (g_strcmp0 (pl_image_item_get_name (item), name) == 0 && pl_image_item_get_state (item) == PL_IMAGE_ITEM_DONE)
        return pl_image_item_get_analysis (item);
    }
  g_assert_not_reached ();
}

static void
assert_same_ranking (PlAnalysis *analysis,
                     PlAnalysis *reference,
                     double      tolerance)
{
  g_assert_cmpuint (analysis->ranking->phenotypes->len, ==, reference->ranking->phenotypes->len);
  for (guint i = 0; i < MIN (5, analysis->ranking->phenotypes->len); i++)
    {
      PlRankedPhenotype *a = g_ptr_array_index (analysis->ranking->phenotypes, i);
      PlRankedPhenotype *b = g_ptr_array_index (reference->ranking->phenotypes, i);

      g_assert_cmpstr (a->term_id, ==, b->term_id);
      g_assert_cmpfloat (fabs (a->cosine - b->cosine), <=, tolerance);
    }
}

static void
test_pasted_image_file_is_analysed_like_a_drop (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/microaneurysms.png");
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  guint before = g_list_model_get_n_items (G_LIST_MODEL (window->images));
  g_autoptr(PlImageItem) item = NULL;
  GSList *files = g_slist_append (NULL, g_file_new_for_path (path));

  /* What a file manager's Copy puts on the clipboard. */
  gdk_clipboard_set (clipboard, GDK_TYPE_FILE_LIST, files);
  g_slist_free_full (files, g_object_unref);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paste", NULL));
  /* The clipboard is read asynchronously. */
  while (g_list_model_get_n_items (G_LIST_MODEL (window->images)) == before)
    g_main_context_iteration (NULL, TRUE);
  item = last_item ();
  {
    g_autoptr(GFile) file = g_file_new_for_path (path);
    g_autofree char *canonical = g_file_get_path (file);

    g_assert_cmpstr (pl_image_item_get_path (item), ==, canonical);
  }
  iterate_until (item_finished, item, "the pasted file's analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  iterate_until (stack_shows, (gpointer) "analysis", "the analysis page");
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, "microaneurysms.png");
  g_assert_true (pl_analysis_page_get_analysis (window->analysis_page) == pl_image_item_get_analysis (item));
  /* The same file dropped before ranks the same. */
  assert_same_ranking (pl_image_item_get_analysis (item), analysis_of ("microaneurysms.png"), 0);
}

static void
test_pasted_pixels_are_analysed_like_the_file (void)
{
  g_autofree char *path = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  guint before = g_list_model_get_n_items (G_LIST_MODEL (window->images));
  g_autoptr(PlImageItem) item = NULL;

  g_assert_no_error (error);
  /* What an image viewer's Copy puts on the clipboard: pixels, no file. */
  gdk_clipboard_set_texture (clipboard, texture);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paste", NULL));
  while (g_list_model_get_n_items (G_LIST_MODEL (window->images)) == before)
    g_main_context_iteration (NULL, TRUE);
  item = last_item ();
  iterate_until (item_finished, item, "the pasted pixels' analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  g_assert_cmpstr (pl_image_item_get_name (item), ==, "Pasted image 1");
  g_assert_nonnull (pl_image_item_get_bytes (item));
  g_assert_cmpint (pl_image_item_get_analysis (item)->width, ==, 1411);
  g_assert_cmpint (pl_image_item_get_analysis (item)->height, ==, 1411);
  iterate_until (stack_shows, (gpointer) "analysis", "the analysis page");
  g_assert_cmpstr (adw_window_title_get_title (window->content_title), ==, "Pasted image 1");
  g_assert_true (pl_test_shows_label (GTK_WIDGET (window->analysis_page),
                                      ((PlRankedPhenotype *) g_ptr_array_index (pl_image_item_get_analysis (item)->ranking->phenotypes, 0))->label));
  /* GDK's JPEG decoding and the model's are both libjpeg's: the pixels, and so the ranking, are
   * those of the file dropped before (to float rounding). */
  assert_same_ranking (pl_image_item_get_analysis (item), analysis_of ("retina.jpg"), 1e-5);
}

static void
test_pasting_large_pixels_keeps_the_main_loop_running (void)
{
  const int side = 2400;
  gsize size = (gsize) side * side * 3;
  guint8 *noise = g_malloc (size);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  guint before = g_list_model_get_n_items (G_LIST_MODEL (window->images));
  g_autoptr(PlImageItem) item = NULL;
  guint source;

  /* Noise compresses worst: PNG-encoding these 5.8 million pixels takes far longer than a frame. */
  for (gsize i = 0; i < size; i += 4)
    {
      guint32 r = g_rand_int (rand);

      memcpy (noise + i, &r, MIN (4, size - i));
    }
  bytes = g_bytes_new_take (noise, size);
  texture = gdk_memory_texture_new (side, side, GDK_MEMORY_R8G8B8, bytes, (gsize) side * 3);
  gdk_clipboard_set_texture (clipboard, texture);
  /* What the previous test showed is drawn and done with first. */
  iterate_until (page_complete, NULL, "the previous analysis page");
  {
    gint64 until = g_get_monotonic_time () + 300 * 1000;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  source = start_ticking ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paste", NULL));
  /* Reading the clipboard and encoding the pixels for the decoder, up to the new item. */
  while (g_list_model_get_n_items (G_LIST_MODEL (window->images)) == before)
    g_main_context_iteration (NULL, TRUE);
  wait_next_tick ();
  g_source_remove (source);
  g_test_message ("longest main-loop iteration from paste to the new item: %.1f ms", longest_stall_ms);
  g_assert_cmpfloat (longest_stall_ms, <, MAX_STALL_MS * pl_test_time_scale ());

  item = last_item ();
  g_assert_cmpstr (pl_image_item_get_name (item), ==, "Pasted image 2");
  iterate_until (item_finished, item, "the large pasted image's analysis");
  g_assert_cmpint (pl_image_item_get_state (item), ==, PL_IMAGE_ITEM_DONE);
  g_assert_cmpint (pl_image_item_get_analysis (item)->width, ==, side);
}

static gboolean
toast_shown (gpointer data)
{
  return pl_test_shows_label (GTK_WIDGET (window->toast_overlay), data);
}

static void
test_paste_without_an_image_says_so (void)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  guint before = g_list_model_get_n_items (G_LIST_MODEL (window->images));

  gdk_clipboard_set_text (clipboard, "Seizure");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paste", NULL));
  iterate_until (toast_shown, (gpointer) "The clipboard holds no image", "the toast");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->images)), ==, before);
}

static void
test_term_page_lists_its_phenokg_example_pairs (void)
{
  GString *lines = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autoptr(PlPairsReport) report = NULL;
  g_autoptr(PlSnapshot) writable = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *page = GTK_WIDGET (window->term_page);

  /* 22 PhenoKG pairs of Seizure (the page shows the first 20) and one of Arrhythmia. */
  for (int i = 1; i <= 22; i++)
    g_string_append_printf (lines, "{\"image\": \"images/eeg-%02d.png\", \"caption\": \"EEG %02d during a seizure\", "
                            "\"hpo_ids\": [\"HP:0001250\"]}\n", i, i);
  g_string_append (lines, "{\"image\": \"images/ecg.png\", \"caption\": \"ECG with an arrhythmia\", \"hpo_ids\": [\"HP:0011675\"]}\n");
  path = pl_test_write_file ("phenokg-pairs.jsonl", lines->str, lines->len);
  g_string_free (lines, TRUE);
  /* Through a writable connection of its own: the session keeps the demo snapshot read-only. */
  writable = pl_snapshot_open (pl_snapshot_get_path (pl_session_get_snapshot (session)), PL_SNAPSHOT_OPEN_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_false (pl_snapshot_is_read_only (writable));
  report = pl_snapshot_import_pairs (writable, path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (report->n_pairs, ==, 23);

  pl_window_show_term (window, "HP:0001250");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "term");
  g_assert_true (pl_test_shows_label (page, "Example Image-Text Pairs"));
  for (int i = 1; i <= 22; i++)
    {
      g_autofree char *caption = g_strdup_printf ("EEG %02d during a seizure", i);
      g_autofree char *where = g_strdup_printf ("images/eeg-%02d.png · phenokg-pairs.jsonl", i);

      g_assert_cmpint (pl_test_shows_label (page, caption), ==, i <= 20);
      g_assert_cmpint (pl_test_shows_label (page, where), ==, i <= 20);
    }
  g_assert_false (pl_test_shows_label (page, "ECG with an arrhythmia"));

  pl_window_show_term (window, "HP:0011675");
  g_assert_true (pl_test_shows_label (page, "ECG with an arrhythmia"));
  g_assert_false (pl_test_shows_label (page, "EEG 01 during a seizure"));
  /* A term without pairs has no such section. */
  pl_window_show_term (window, "HP:0012638");
  g_assert_false (pl_test_shows_label (page, "Example Image-Text Pairs"));
}

/* The window's keyboard shortcuts (its class's, in a GtkShortcutController of each window): the
 * action each triggers. */
static const char *
shortcut_action (const char *accelerator)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  guint key;
  GdkModifierType modifiers;

  g_assert_true (gtk_accelerator_parse (accelerator, &key, &modifiers));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          GtkShortcutAction *action = gtk_shortcut_get_action (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == key
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == modifiers
              && GTK_IS_NAMED_ACTION (action))
            return gtk_named_action_get_action_name (GTK_NAMED_ACTION (action));
        }
    }
  return NULL;
}

static void
test_keyboard_shortcuts_name_their_actions (void)
{
  g_assert_cmpstr (shortcut_action ("<Control>v"), ==, "win.paste");
  g_assert_cmpstr (shortcut_action ("<Control>o"), ==, "win.open-images");
  g_assert_cmpstr (shortcut_action ("<Control><Shift>o"), ==, "win.open-checkpoint");
  g_assert_cmpstr (shortcut_action ("<Control>f"), ==, "win.search");
  g_assert_cmpstr (shortcut_action ("<Alt>Left"), ==, "win.go-back");
  g_assert_cmpstr (shortcut_action ("<Alt>Right"), ==, "win.go-forward");
  g_assert_null (shortcut_action ("<Control>j"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSettings) settings = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("XDG_DATA_HOME", pl_test_tmpdir (), TRUE);
  if (!gtk_init_check ())
    {
      g_test_skip ("no display: run under xvfb-run");
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();

  settings = g_settings_new ("io.github.phenolip.Explorer");
  session = pl_session_new ();
  window = pl_window_new_for_session (session, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));

  g_test_add_func ("/window/starts-on-the-demo-with-its-notice", test_starts_on_the_demo);
  g_test_add_func ("/window/dropped-image-is-ranked-with-paths-without-blocking", test_dropped_image_is_ranked_with_paths);
  g_test_add_func ("/window/ranked-rows-show-their-paths-and-a-step-click-opens-it",
                   test_ranked_rows_show_their_paths_and_a_step_click_opens_it);
  g_test_add_func ("/window/activating-a-ranked-row-opens-its-term", test_activating_a_ranked_row_opens_its_term);
  g_test_add_func ("/window/search-finds-seizure-and-opens-it", test_search_finds_seizure_and_opens_it);
  g_test_add_func ("/window/navigating-back-and-forward", test_navigating_back_and_forward);
  g_test_add_func ("/window/many-results-all-arrive-in-order", test_many_results_all_arrive_in_order);
  g_test_add_func ("/window/corrupt-checkpoint-shows-an-error-and-the-window-still-works",
                   test_corrupt_checkpoint_shows_an_error_and_the_window_still_works);
  g_test_add_func ("/window/unreadable-image-is-reported-by-name", test_unreadable_image_is_reported_by_name);
  g_test_add_func ("/window/tree-expands-lazily", test_tree_expands_lazily);
  g_test_add_func ("/window/pasted-image-file-is-analysed-like-a-drop", test_pasted_image_file_is_analysed_like_a_drop);
  g_test_add_func ("/window/pasted-pixels-are-analysed-like-the-file", test_pasted_pixels_are_analysed_like_the_file);
  g_test_add_func ("/window/pasting-large-pixels-keeps-the-main-loop-running",
                   test_pasting_large_pixels_keeps_the_main_loop_running);
  g_test_add_func ("/window/paste-without-an-image-says-so", test_paste_without_an_image_says_so);
  g_test_add_func ("/window/term-page-lists-its-phenokg-example-pairs", test_term_page_lists_its_phenokg_example_pairs);
  g_test_add_func ("/window/keyboard-shortcuts-name-their-actions", test_keyboard_shortcuts_name_their_actions);
  g_test_add_func ("/window/previews-show-the-pixels-the-model-saw", test_previews_show_the_pixels_the_model_saw);
  g_test_add_func ("/window/sidebar-keeps-its-width-and-fills-a-narrow-window",
                   test_sidebar_keeps_its_width_and_fills_a_narrow_window);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&session);
  return status;
}
