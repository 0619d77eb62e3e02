/* test-application.c: what the Explorer does as an application, in a real display: it reopens the
 * checkpoint and snapshot its settings name (and falls back to the demo, saying why when a file is
 * unusable), remembers what is opened, analyses an image named on the command line through
 * GApplication's open, and quits on app.quit (Ctrl+Q). */
#include <adwaita.h>
#include <string.h>

#include "data/pl-snapshot.h"
#include "pl-application.h"
#include "pl-test-ui.h"
#include "pl-test-util.h"
#include "pl-window-private.h"

#define SCHEMA_ID "io.github.phenolip.Explorer"

/* A snapshot of the demo ontology of this test's own (writable: the session adds the embeddings of
 * the checkpoint it opens). */
static char *
make_snapshot (const char *name)
{
  g_autofree char *source = g_build_filename (g_getenv ("PL_DEMO_DIR"), "hpo-demo.obo", NULL);
  char *path = g_build_filename (pl_test_tmpdir (), name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_snapshot_import (source, path, NULL, &error));
  g_assert_no_error (error);
  return path;
}

typedef struct {
  GSettings *settings;
  PlSession *session;
  PlWindow  *window;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->settings = g_settings_new (SCHEMA_ID);
  g_settings_reset (fixture->settings, "last-checkpoint");
  g_settings_reset (fixture->settings, "last-snapshot");
  fixture->session = pl_session_new ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  GtkWindow *dialog;

  if (fixture->window != NULL)
    {
      while ((dialog = pl_test_find_message_dialog (GTK_WINDOW (fixture->window))) != NULL)
        gtk_window_destroy (dialog);
      gtk_window_destroy (GTK_WINDOW (fixture->window));
    }
  g_clear_object (&fixture->session);
  g_settings_reset (fixture->settings, "last-checkpoint");
  g_settings_reset (fixture->settings, "last-snapshot");
  g_clear_object (&fixture->settings);
}

/* What PlApplication does on activate: a window over the session and its settings, started. */
static void
start_window (Fixture *fixture)
{
  fixture->window = pl_window_new_for_session (fixture->session, fixture->settings);
  gtk_window_present (GTK_WINDOW (fixture->window));
  pl_window_start (fixture->window);
  pl_test_iterate_until (pl_test_session_settled, fixture->session, "the session", 120);
}

static void
test_restores_the_last_checkpoint_and_snapshot (Fixture       *fixture,
                                                gconstpointer  data)
{
  g_autofree char *snapshot = make_snapshot ("restored.sqlite");
  g_autofree char *checkpoint = pl_test_fixture_path ("tiny/open_clip_pytorch_model.bin");

  g_settings_set_string (fixture->settings, "last-snapshot", snapshot);
  g_settings_set_string (fixture->settings, "last-checkpoint", checkpoint);
  start_window (fixture);

  g_assert_cmpstr (pl_session_get_snapshot_path (fixture->session), ==, snapshot);
  g_assert_cmpstr (pl_session_get_checkpoint_path (fixture->session), ==, checkpoint);
  g_assert_false (pl_session_get_is_demo (fixture->session));
  /* No demo notice, no error. */
  g_assert_false (gtk_revealer_get_reveal_child (fixture->window->demo_revealer));
  g_assert_null (pl_test_find_message_dialog (GTK_WINDOW (fixture->window)));
}

static void
test_missing_last_files_fall_back_to_the_demo (Fixture       *fixture,
                                               gconstpointer  data)
{
  g_autofree char *gone = g_build_filename (pl_test_tmpdir (), "deleted-since.sqlite", NULL);

  g_settings_set_string (fixture->settings, "last-snapshot", gone);
  g_settings_set_string (fixture->settings, "last-checkpoint", gone);
  start_window (fixture);

  g_assert_true (pl_session_get_is_demo (fixture->session));
  g_assert_true (gtk_revealer_get_reveal_child (fixture->window->demo_revealer));
  g_assert_cmpstr (pl_session_get_snapshot_path (fixture->session), !=, gone);
  /* A file that is gone is no error: the demo opens quietly. */
  g_assert_null (pl_test_find_message_dialog (GTK_WINDOW (fixture->window)));
}

static gboolean
dialog_shown (gpointer data)
{
  Fixture *fixture = data;

  return pl_test_find_message_dialog (GTK_WINDOW (fixture->window)) != NULL;
}

static void
test_unusable_last_snapshot_is_reported_and_the_demo_stays (Fixture       *fixture,
                                                            gconstpointer  data)
{
  static const char junk[] = "not a SQLite database, just text";
  g_autofree char *path = pl_test_write_file ("garbage.sqlite", junk, sizeof junk - 1);
  GtkWindow *dialog;

  g_settings_set_string (fixture->settings, "last-snapshot", path);
  start_window (fixture);
  pl_test_iterate_until (dialog_shown, fixture, "the error dialog", 60);

  dialog = pl_test_find_message_dialog (GTK_WINDOW (fixture->window));
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, "Could not restore the last session");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "garbage.sqlite"));
  g_assert_true (pl_session_get_is_demo (fixture->session));
  g_assert_nonnull (pl_session_get_snapshot (fixture->session));
  g_assert_cmpstr (pl_session_get_snapshot_path (fixture->session), !=, path);
}

static gboolean
snapshot_is (gpointer data)
{
  Fixture *fixture = data;
  const char *wanted = g_object_get_data (G_OBJECT (fixture->session), "wanted");

  return !pl_session_get_busy (fixture->session)
         && g_strcmp0 (pl_session_get_snapshot_path (fixture->session), wanted) == 0;
}

static gboolean
settings_name (gpointer data)
{
  Fixture *fixture = data;
  g_autofree char *last = g_settings_get_string (fixture->settings, "last-snapshot");

  return g_strcmp0 (last, g_object_get_data (G_OBJECT (fixture->session), "wanted")) == 0;
}

static void
test_an_opened_snapshot_is_remembered (Fixture       *fixture,
                                       gconstpointer  data)
{
  g_autofree char *snapshot = make_snapshot ("opened.sqlite");
  g_autoptr(GFile) file = g_file_new_for_path (snapshot);

  start_window (fixture);
  g_object_set_data_full (G_OBJECT (fixture->session), "wanted", g_strdup (snapshot), g_free);
  /* What the Open Ontology dialog does with the chosen file. */
  pl_window_open_snapshot (fixture->window, file);
  pl_test_iterate_until (snapshot_is, fixture, "the opened snapshot", 60);
  pl_test_iterate_until (settings_name, fixture, "the settings", 10);

  /* A new window over a new session reopens it. */
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_clear_object (&fixture->session);
  fixture->session = pl_session_new ();
  start_window (fixture);
  g_assert_cmpstr (pl_session_get_snapshot_path (fixture->session), ==, snapshot);
}

/* The command line ------------------------------------------------------------------------------- */

typedef struct {
  GApplication *app;
  char         *image;
  gboolean      analysed;     /* the image was analysed and its ranking shown */
  char         *title;
  char         *item_path;
  gboolean      quit_has_ctrl_q;
  gboolean      timed_out;
  gint64        deadline;
} CommandLine;

static gboolean
watch_command_line (gpointer data)
{
  CommandLine *run = data;
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (run->app));
  PlWindow *window = active != NULL && PL_IS_WINDOW (active) ? PL_WINDOW (active) : NULL;
  g_autoptr(PlImageItem) item = NULL;

  if (g_get_monotonic_time () > run->deadline)
    {
      run->timed_out = TRUE;
      g_application_quit (run->app);
      return G_SOURCE_REMOVE;
    }
  if (window == NULL || g_list_model_get_n_items (G_LIST_MODEL (window->images)) == 0)
    return G_SOURCE_CONTINUE;
  item = g_list_model_get_item (G_LIST_MODEL (window->images), 0);
  if (pl_image_item_get_state (item) != PL_IMAGE_ITEM_DONE
      || g_strcmp0 (gtk_stack_get_visible_child_name (window->content_stack), "analysis") != 0)
    return G_SOURCE_CONTINUE;

  run->analysed = pl_test_shows_label (GTK_WIDGET (window->analysis_page),
                                       ((PlRankedPhenotype *) g_ptr_array_index (pl_image_item_get_analysis (item)->ranking->phenotypes, 0))->label);
  run->title = g_strdup (adw_window_title_get_title (window->content_title));
  run->item_path = g_strdup (pl_image_item_get_path (item));
  {
    g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (run->app), "app.quit");

    run->quit_has_ctrl_q = accels != NULL && g_strv_contains ((const char * const *) accels, "<Control>q");
  }
  /* What Ctrl+Q does. */
  g_action_group_activate_action (G_ACTION_GROUP (run->app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static void
test_command_line_image_is_analysed_and_quit_ends_the_application (void)
{
  g_autoptr(PlApplication) app = pl_application_new ();
  g_autofree char *image = pl_test_shared_data_path ("images/retina.jpg");
  g_autoptr(GFile) file = g_file_new_for_path (image);
  g_autofree char *canonical = g_file_get_path (file);
  char *argv[] = { (char *) "phenolip-explorer", image, NULL };
  CommandLine run = { G_APPLICATION (app), image, FALSE, NULL, NULL, FALSE, FALSE, 0 };
  g_autoptr(GSettings) settings = g_settings_new (SCHEMA_ID);
  int status;

  g_settings_reset (settings, "last-checkpoint");
  g_settings_reset (settings, "last-snapshot");
  run.deadline = g_get_monotonic_time () + (gint64) (120 * pl_test_time_scale () * G_USEC_PER_SEC);
  g_timeout_add (20, watch_command_line, &run);
  /* As main.c runs it: `phenolip-explorer IMAGE` becomes GApplication's open. */
  status = g_application_run (G_APPLICATION (app), 2, argv);

  g_assert_false (run.timed_out);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (run.item_path, ==, canonical);
  g_assert_cmpstr (run.title, ==, "retina.jpg");
  g_assert_true (run.analysed);
  g_assert_true (run.quit_has_ctrl_q);
  /* Quitting closed the window: nothing is left running. */
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_free (run.title);
  g_free (run.item_path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("XDG_DATA_HOME", pl_test_tmpdir (), TRUE);
  if (!gtk_init_check ())
    {
      printf ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();

  g_test_add ("/application/restores-the-last-checkpoint-and-snapshot", Fixture, NULL,
              fixture_set_up, test_restores_the_last_checkpoint_and_snapshot, fixture_tear_down);
  g_test_add ("/application/missing-last-files-fall-back-to-the-demo", Fixture, NULL,
              fixture_set_up, test_missing_last_files_fall_back_to_the_demo, fixture_tear_down);
  g_test_add ("/application/unusable-last-snapshot-is-reported-and-the-demo-stays", Fixture, NULL,
              fixture_set_up, test_unusable_last_snapshot_is_reported_and_the_demo_stays, fixture_tear_down);
  g_test_add ("/application/an-opened-snapshot-is-remembered", Fixture, NULL,
              fixture_set_up, test_an_opened_snapshot_is_remembered, fixture_tear_down);
  g_test_add_func ("/application/command-line-image-is-analysed-and-quit-ends-the-application",
                   test_command_line_image_is_analysed_and_quit_ends_the_application);
  return g_test_run ();
}
