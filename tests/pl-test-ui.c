/* pl-test-ui.c: helpers for the UI tests that drive a real window. */
#include "pl-test-ui.h"

#include "app/pl-session.h"

void
pl_test_drop_files (GtkWidget          *window,
                    const char * const *paths)
{
  GtkDropTarget *target = NULL;
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (window);
  GSList *files = NULL;
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && target == NULL; i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        target = GTK_DROP_TARGET (controller);
    }
  g_assert_nonnull (target);
  for (guint i = 0; paths[i] != NULL; i++)
    files = g_slist_append (files, g_file_new_for_path (paths[i]));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, files);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);
}

gboolean
pl_test_shows_label (GtkWidget  *root,
                     const char *text)
{
  if (!gtk_widget_get_mapped (root))
    return FALSE;
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (root)), text) == 0)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    if (pl_test_shows_label (child, text))
      return TRUE;
  return FALSE;
}

static void
find_widgets (GtkWidget *root,
              GType      type,
              gboolean   mapped,
              GPtrArray *found)
{
  if (mapped && !gtk_widget_get_mapped (root))
    return;
  if (g_type_is_a (G_OBJECT_TYPE (root), type))
    g_ptr_array_add (found, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    find_widgets (child, type, mapped, found);
}

GPtrArray *
pl_test_find_widgets (GtkWidget *root,
                      GType      type,
                      gboolean   mapped)
{
  GPtrArray *found = g_ptr_array_new ();

  find_widgets (root, type, mapped, found);
  return found;
}

GtkWindow *
pl_test_find_message_dialog (GtkWindow *parent)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (toplevel) && gtk_window_get_transient_for (toplevel) == parent)
        return toplevel;
    }
  return NULL;
}

gboolean
pl_test_session_settled (gpointer session)
{
  return pl_session_get_ready (session) && !pl_session_get_busy (session);
}
