/* pl-screenshot.c: puts the Explorer window in one of its main views on the embedded demo and
 * captures the screen with ImageMagick's `import -window root` (run by tools/screenshots.sh). */
#include <adwaita.h>
#include <stdlib.h>

#include "pl-application.h"
#include "pl-term-object.h"
#include "pl-window-private.h"

static void
settle (double seconds)
{
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), TRUE);
}

/* Xvfb parks the pointer in the middle of the screen, over whatever is there: no tooltips. */
static void
no_tooltips (GtkWidget *widget)
{
  gtk_widget_set_has_tooltip (widget, FALSE);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    no_tooltips (child);
}

static void
wait_ready (PlSession *session)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while ((!pl_session_get_ready (session) || pl_session_get_busy (session)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static void
open_images (PlWindow   *window,
             const char *shared)
{
  const char *names[] = { "microaneurysms.png", "ihc.png", "retina.jpg" };
  GFile *files[G_N_ELEMENTS (names)];

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (shared, "images", names[i], NULL);
      files[i] = g_file_new_for_path (path);
    }
  /* The first one is shown: put the fundus photograph first. */
  {
    GFile *first[] = { files[2], files[0], files[1] };
    pl_window_open_files (window, first, 3);
  }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_object_unref (files[i]);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *view = NULL;
  g_autofree char *output = NULL;
  gboolean dark = FALSE;
  int width = 1200, height = 800;
  GOptionEntry entries[] = {
    { "view", 0, 0, G_OPTION_ARG_STRING, &view, "analysis, ontology, term or evaluate", "VIEW" },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "Dark style", NULL },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Window width", "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Window height", "PX" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output, "PNG to write", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- screenshot a view of the Explorer window");
  g_autoptr(GError) error = NULL;
  const char *shared = g_getenv ("PL_SHARED_DATA_DIR");
  g_autoptr(PlSession) session = NULL;
  PlWindow *window;
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || view == NULL || output == NULL || shared == NULL)
    {
      g_printerr ("usage: pl-screenshot --view VIEW --output FILE (PL_SHARED_DATA_DIR set)%s%s\n",
                  error != NULL ? ": " : "", error != NULL ? error->message : "");
      return 2;
    }
  gtk_init ();
  adw_init ();
  pl_application_add_style_for_display (gdk_display_get_default ());
  if (dark)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);

  session = pl_session_new ();
  window = pl_window_new_for_session (session, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_decorated (GTK_WINDOW (window), TRUE);
  gtk_window_present (GTK_WINDOW (window));
  pl_window_start (window);
  wait_ready (session);
  open_images (window, shared);
  wait_ready (session);
  settle (0.5);

  if (g_strcmp0 (view, "ontology") == 0)
    {
      GListModel *tree = pl_ontology_page_get_tree_model (window->ontology_page);

      adw_view_stack_set_visible_child_name (window->sidebar_stack, "ontology");
      /* Open "Abnormality of the eye" and show its page. */
      for (guint i = 0; i < g_list_model_get_n_items (tree); i++)
        {
          g_autoptr(GtkTreeListRow) row = g_list_model_get_item (tree, i);
          g_autoptr(GObject) term = gtk_tree_list_row_get_item (row);

          if (g_strcmp0 (pl_term_object_get_id ((PlTermObject *) term), "HP:0000478") == 0)
            gtk_tree_list_row_set_expanded (row, TRUE);
        }
      pl_window_show_term (window, "HP:0000478");
    }
  else if (g_strcmp0 (view, "term") == 0)
    {
      adw_view_stack_set_visible_child_name (window->sidebar_stack, "ontology");
      gtk_editable_set_text (pl_ontology_page_get_search_entry (window->ontology_page), "seizure");
      pl_window_show_term (window, "HP:0001250");
    }
  else if (g_strcmp0 (view, "evaluate") == 0)
    {
      /* Two runs of the fixture benchmark (the second from the cache): metrics, chart, history. */
      g_autofree char *cwd = g_get_current_dir ();
      g_autofree char *manifest = g_build_filename (cwd, "tests", "fixtures", "eval", "bench.csv", NULL);

      gtk_widget_activate_action (GTK_WIDGET (window), "win.show-evaluate", NULL);
      pl_evaluate_page_set_manifest (window->evaluate_page, manifest);
      for (int run = 0; run < 2; run++)
        {
          gint64 end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

          gtk_widget_activate_action (GTK_WIDGET (window->evaluate_page), "evaluate.start", NULL);
          while (pl_evaluate_page_get_running (window->evaluate_page) && g_get_monotonic_time () < end)
            g_main_context_iteration (NULL, TRUE);
        }
    }
  settle (0.3);
  no_tooltips (GTK_WIDGET (window));
  /* A tooltip shown already goes when asked again. */
  gtk_widget_trigger_tooltip_query (GTK_WIDGET (window));
  settle (1.5);
  if (g_getenv ("PL_MEASURE") != NULL)
    {
      GtkWidget *widgets[] = { GTK_WIDGET (window), GTK_WIDGET (window->leaflet), GTK_WIDGET (window->analysis_page),
                               GTK_WIDGET (window->content_stack), GTK_WIDGET (window->demo_revealer),
                               GTK_WIDGET (window->progress_revealer), GTK_WIDGET (window->term_page),
                               GTK_WIDGET (window->ontology_page) };
      for (guint i = 0; i < G_N_ELEMENTS (widgets); i++)
        {
          int min = 0, nat = 0;
          gtk_widget_measure (widgets[i], GTK_ORIENTATION_HORIZONTAL, -1, &min, &nat, NULL, NULL);
          g_printerr ("%s: min %d nat %d\n", G_OBJECT_TYPE_NAME (widgets[i]), min, nat);
        }
    }

  {
    const char *command[] = { "import", "-window", "root", output, NULL };
    if (!g_spawn_sync (NULL, (char **) command, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error))
      {
        g_printerr ("import: %s\n", error->message);
        return 1;
      }
  }
  gtk_window_destroy (GTK_WINDOW (window));
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}
