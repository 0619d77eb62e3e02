/* pl-window-actions.c: PlWindow's actions and their shortcuts, file choosers, the clipboard, drag
 * and drop, and the About window. */
#include "pl-config.h"

#include "pl-window-private.h"

#include <glib/gi18n.h>

#include "data/pl-snapshot.h"

/* File choosers -------------------------------------------------------------------------------- */

typedef void (*ChooserDone) (PlWindow *self, GtkFileChooser *chooser);

static void
chooser_response_cb (GtkNativeDialog *native,
                     int              response,
                     PlWindow        *self)
{
  ChooserDone done = g_object_get_data (G_OBJECT (native), "done");

  if (response == GTK_RESPONSE_ACCEPT)
    done (self, GTK_FILE_CHOOSER (native));
  gtk_native_dialog_destroy (native);
  g_object_unref (native);
  g_object_unref (self);
}

static void
run_chooser (PlWindow             *self,
             const char           *title,
             GtkFileChooserAction  action,
             gboolean              multiple,
             GtkFileFilter        *filter,
             ChooserDone           done)
{
  GtkFileChooserNative *native = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, NULL, NULL);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (native), multiple);
  if (filter != NULL)
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  g_object_set_data (G_OBJECT (native), "done", done);
  g_signal_connect (native, "response", G_CALLBACK (chooser_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
images_chosen (PlWindow       *self,
               GtkFileChooser *chooser)
{
  g_autoptr(GListModel) files = gtk_file_chooser_get_files (chooser);
  guint n = g_list_model_get_n_items (files);
  g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (array, g_list_model_get_item (files, i));
  pl_window_open_files (self, (GFile **) array->pdata, array->len);
}

static void
open_images_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("PNG and JPEG images"));
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  run_chooser (PL_WINDOW (widget), _("Open Images"), GTK_FILE_CHOOSER_ACTION_OPEN, TRUE, filter, images_chosen);
  g_object_unref (filter);
}

static void
checkpoint_chosen (PlWindow       *self,
                   GtkFileChooser *chooser)
{
  g_autoptr(GFile) file = gtk_file_chooser_get_file (chooser);

  if (file != NULL)
    pl_window_open_checkpoint (self, file);
}

static void
open_checkpoint_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Checkpoints (.pt, .bin, .safetensors)"));
  gtk_file_filter_add_suffix (filter, "pt");
  gtk_file_filter_add_suffix (filter, "bin");
  gtk_file_filter_add_suffix (filter, "safetensors");
  run_chooser (PL_WINDOW (widget), _("Open Checkpoint"), GTK_FILE_CHOOSER_ACTION_OPEN, FALSE, filter,
               checkpoint_chosen);
  g_object_unref (filter);
}

static void
open_checkpoint_folder_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  run_chooser (PL_WINDOW (widget), _("Open Checkpoint Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, FALSE,
               NULL, checkpoint_chosen);
}

static void
snapshot_chosen (PlWindow       *self,
                 GtkFileChooser *chooser)
{
  g_autoptr(GFile) file = gtk_file_chooser_get_file (chooser);

  if (file != NULL)
    pl_window_open_snapshot (self, file);
}

static void
open_snapshot_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Snapshots and HPO releases (.sqlite, .obo, .json)"));
  gtk_file_filter_add_suffix (filter, "sqlite");
  gtk_file_filter_add_suffix (filter, "obo");
  gtk_file_filter_add_suffix (filter, "json");
  gtk_file_filter_add_suffix (filter, "gz");
  run_chooser (PL_WINDOW (widget), _("Open Ontology"), GTK_FILE_CHOOSER_ACTION_OPEN, FALSE, filter,
               snapshot_chosen);
  g_object_unref (filter);
}

/* Opening checkpoints and snapshots --------------------------------------------------------------- */

typedef struct {
  PlWindow *window;
  char     *path;
} OpenRequest;

static void
open_request_free (OpenRequest *request)
{
  g_object_unref (request->window);
  g_free (request->path);
  g_free (request);
}

static void
open_checkpoint_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  OpenRequest *request = user_data;
  PlWindow *self = request->window;
  g_autoptr(GError) error = NULL;

  if (!pl_session_open_checkpoint_finish (PL_SESSION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pl_window_show_error_dialog (self, _("Could not open the checkpoint"), error);
    }
  else
    {
      g_autofree char *base = g_path_get_basename (request->path);
      g_autofree char *message = g_strdup_printf (_("Opened the checkpoint “%s”"), base);

      if (self->settings != NULL)
        g_settings_set_string (self->settings, "last-checkpoint",
                               pl_session_get_is_demo (self->session) ? "" : request->path);
      pl_window_toast (self, message);
    }
  open_request_free (request);
}

void
pl_window_open_checkpoint (PlWindow *self,
                           GFile    *file)
{
  OpenRequest *request = g_new0 (OpenRequest, 1);

  g_return_if_fail (PL_IS_WINDOW (self));
  request->window = g_object_ref (self);
  request->path = g_file_get_path (file);
  if (request->path == NULL)
    request->path = g_file_get_uri (file);
  pl_session_open_checkpoint_async (self->session, request->path, NULL, open_checkpoint_done, request);
}

static void
open_snapshot_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  OpenRequest *request = user_data;
  PlWindow *self = request->window;
  g_autoptr(GError) error = NULL;

  if (!pl_session_open_snapshot_finish (PL_SESSION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pl_window_show_error_dialog (self, _("Could not open the ontology"), error);
    }
  else if (self->settings != NULL)
    g_settings_set_string (self->settings, "last-snapshot", pl_session_get_snapshot_path (self->session));
  open_request_free (request);
}

void
pl_window_open_snapshot (PlWindow *self,
                         GFile    *file)
{
  OpenRequest *request = g_new0 (OpenRequest, 1);

  g_return_if_fail (PL_IS_WINDOW (self));
  request->window = g_object_ref (self);
  request->path = g_file_get_path (file);
  if (request->path == NULL)
    request->path = g_file_get_uri (file);
  pl_session_open_snapshot_async (self->session, request->path, NULL, open_snapshot_done, request);
}

static void
load_demo_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PlWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pl_session_load_demo_finish (PL_SESSION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pl_window_show_error_dialog (self, _("Could not load the demo"), error);
    }
  else if (self->settings != NULL)
    {
      g_settings_set_string (self->settings, "last-checkpoint", "");
      g_settings_set_string (self->settings, "last-snapshot", "");
    }
}

static void
load_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  PlWindow *self = PL_WINDOW (widget);

  pl_session_load_demo_async (self->session, NULL, load_demo_done, g_object_ref (self));
}

static void
cancel_embeddings_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  pl_session_cancel_embeddings (PL_WINDOW (widget)->session);
}

/* Navigation ---------------------------------------------------------------------------------------- */

static void
go_back_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  pl_window_go (PL_WINDOW (widget), -1);
}

static void
go_forward_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  pl_window_go (PL_WINDOW (widget), +1);
}

static void
show_sidebar_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  adw_leaflet_navigate (PL_WINDOW (widget)->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* The Evaluate view: PhenoBench runs of the open checkpoint (pl-evaluate-page.c). */
static void
show_evaluate_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  PlWindow *self = PL_WINDOW (widget);

  adw_window_title_set_title (self->content_title, _("PhenoBench Evaluation"));
  adw_window_title_set_subtitle (self->content_title, NULL);
  gtk_stack_set_visible_child_name (self->content_stack, "evaluate");
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  gtk_widget_grab_focus (GTK_WIDGET (self->evaluate_page));
}

static void
show_images_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  adw_view_stack_set_visible_child_name (PL_WINDOW (widget)->sidebar_stack, "images");
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PlWindow *self = PL_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->sidebar_stack, "ontology");
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  pl_ontology_page_focus_search (self->ontology_page);
}

static void
show_toast_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  pl_window_toast (PL_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
copy_text_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  const char *text = g_variant_get_string (parameter, NULL);
  g_autofree char *message = g_strdup_printf (_("Copied “%s”"), text);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
  pl_window_toast (PL_WINDOW (widget), message);
}

/* Clipboard ----------------------------------------------------------------------------------------- */

/* Pasted pixels are analysed as a PNG file would be; encoding one is no work for the main loop (a
 * 1411 x 1411 photograph takes longer than a frame). */
static void
encode_png_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  g_task_return_pointer (task, gdk_texture_save_to_png_bytes (GDK_TEXTURE (task_data)),
                         (GDestroyNotify) g_bytes_unref);
}

static void
png_encoded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GBytes) png = g_task_propagate_pointer (G_TASK (result), NULL);

  pl_window_add_pasted (PL_WINDOW (source), png);
}

static void
paste_texture_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(PlWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  GdkTexture *texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), result, &error);
  g_autoptr(GTask) task = NULL;

  if (texture == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("Could not paste the image: %s"), error->message);
          pl_window_toast (self, message);
        }
      return;
    }
  task = g_task_new (self, NULL, png_encoded_cb, NULL);
  g_task_set_task_data (task, texture, g_object_unref);
  g_task_run_in_thread (task, encode_png_thread);
}

static void
paste_files_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PlWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source), result, &error);
  g_autoptr(GPtrArray) files = g_ptr_array_new ();

  if (value == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("Could not paste the files: %s"), error->message);
          pl_window_toast (self, message);
        }
      return;
    }
  for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  pl_window_open_files (self, (GFile **) files->pdata, files->len);
}

static void
paste_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);
  GdkContentFormats *formats = gdk_clipboard_get_formats (clipboard);

  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT, NULL,
                                    paste_files_done, g_object_ref (widget));
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    gdk_clipboard_read_texture_async (clipboard, NULL, paste_texture_done, g_object_ref (widget));
  else
    pl_window_toast (PL_WINDOW (widget), _("The clipboard holds no image"));
}

/* Drag and drop --------------------------------------------------------------------------------------- */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         PlWindow      *self)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new ();

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  pl_window_open_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

/* About --------------------------------------------------------------------------------------------- */

static char *
describe_model (PlSession *session)
{
  const PlClip *clip = pl_session_get_clip (session);
  GString *text;

  if (clip == NULL)
    return g_strdup (_("No checkpoint is open."));
  text = g_string_new (NULL);
  g_string_append_printf (text, _("Checkpoint: %s\n"), pl_clip_get_checkpoint_path (clip));
  if (pl_clip_get_model_name (clip)[0] != '\0')
    g_string_append_printf (text, _("Model: %s\n"), pl_clip_get_model_name (clip));
  {
    g_autofree char *n = g_strdup_printf ("%" G_GUINT64_FORMAT, pl_clip_get_n_parameters (clip));
    g_string_append_printf (text, _("Parameters: %s\n"), n);
  }
  g_string_append_printf (text, _("Fingerprint: %s\n"), pl_clip_get_fingerprint (clip));
  if (pl_clip_is_demo (clip))
    g_string_append (text, _("This is the demo model with random weights: its rankings are meaningless.\n"));
  g_string_append (text, _("PhenoLIP is initialised from BiomedCLIP (a ViT-B/16 image tower and a PubMedBERT text tower)."));
  return g_string_free (text, FALSE);
}

static void
about_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  PlWindow *self = PL_WINDOW (widget);
  PlSnapshot *snapshot = pl_session_get_snapshot (self->session);
  g_autoptr(PlSnapshotInfo) info = NULL;
  g_autofree char *attribution = NULL;
  g_autofree char *model = describe_model (self->session);
  g_autofree char *debug_info = NULL;
  GtkWidget *about;

  if (snapshot != NULL && (info = pl_snapshot_get_info (snapshot, NULL)) != NULL)
    attribution = pl_snapshot_info_attribution (info);
  debug_info = g_strdup_printf ("%s\n\n%s: %s\n", model, _("Ontology snapshot"),
                                snapshot != NULL ? pl_snapshot_get_path (snapshot) : _("none"));
  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", self,
                        "application-name", _("PhenoLIP Explorer"),
                        "application-icon", BASE_APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The PhenoLIP Explorer developers"),
                        "comments", _("Ranks the phenotypes a medical image shows with the PhenoLIP model and the Human Phenotype Ontology, entirely on your own machine."),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "website", PACKAGE_URL,
                        "debug-info", debug_info,
                        NULL);
  adw_about_window_add_legal_section (ADW_ABOUT_WINDOW (about), _("Model"), NULL, GTK_LICENSE_CUSTOM, model);
  adw_about_window_add_legal_section (ADW_ABOUT_WINDOW (about), _("Human Phenotype Ontology"), NULL,
                                      GTK_LICENSE_CUSTOM,
                                      attribution != NULL ? attribution : _("No ontology snapshot is open."));
  gtk_window_present (GTK_WINDOW (about));
}

/* ------------------------------------------------------------------------------------------------ */

void
pl_window_update_actions (PlWindow *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.go-back",
                                 self->history->len > 0 && self->history_index > 0
                                 && self->history_index < self->history->len);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.go-forward",
                                 self->history_index + 1 < self->history->len);
}

void
pl_window_class_init_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open-images", NULL, open_images_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-images", NULL);
  gtk_widget_class_install_action (widget_class, "win.open-checkpoint", NULL, open_checkpoint_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-checkpoint", NULL);
  gtk_widget_class_install_action (widget_class, "win.open-checkpoint-folder", NULL, open_checkpoint_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-snapshot", NULL, open_snapshot_action);
  gtk_widget_class_install_action (widget_class, "win.load-demo", NULL, load_demo_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-embeddings", NULL, cancel_embeddings_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "win.paste", NULL);
  gtk_widget_class_install_action (widget_class, "win.go-back", NULL, go_back_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.go-back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Back, 0, "win.go-back", NULL);
  gtk_widget_class_install_action (widget_class, "win.go-forward", NULL, go_forward_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "win.go-forward", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Forward, 0, "win.go-forward", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.show-images", NULL, show_images_action);
  gtk_widget_class_install_action (widget_class, "win.show-evaluate", NULL, show_evaluate_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.show-evaluate", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-toast", "s", show_toast_action);
  gtk_widget_class_install_action (widget_class, "win.copy-text", "s", copy_text_action);
  gtk_widget_class_install_action (widget_class, "win.about", NULL, about_action);
}

void
pl_window_init_actions (PlWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

  g_signal_connect_object (target, "drop", G_CALLBACK (drop_cb), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
  pl_window_update_actions (self);
}
