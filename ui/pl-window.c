/* pl-window.c: the Explorer window: the image list, the pages, back/forward history and how the
 * session's state (demo weights, background jobs) is shown. */
#include "pl-config.h"

#include "pl-window-private.h"

#include <glib/gi18n.h>

G_DEFINE_FINAL_TYPE (PlWindow, pl_window, ADW_TYPE_APPLICATION_WINDOW)

static void
history_entry_free (gpointer data)
{
  PlHistoryEntry *entry = data;

  g_clear_object (&entry->image);
  g_free (entry->term_id);
  g_free (entry);
}

void
pl_window_toast (PlWindow   *self,
                 const char *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
pl_window_show_error_dialog (PlWindow     *self,
                             const char   *heading,
                             const GError *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* History ------------------------------------------------------------------------------------- */

static void show_entry (PlWindow       *self,
                        PlHistoryEntry *entry);

#define WAITING_PAGE_DELAY_MS 200
#define SIDEBAR_WIDTH         320  /* as sidebar_clamp in pl-window.ui */
#define THUMBNAIL_SIZE        48   /* the images list's thumbnails, in logical pixels */

static gboolean
show_waiting_page_cb (gpointer user_data)
{
  PlWindow *self = user_data;
  PlHistoryEntry *entry = self->history_index < self->history->len
                          ? g_ptr_array_index (self->history, self->history_index) : NULL;

  self->waiting_timeout = 0;
  if (entry != NULL && entry->kind == PL_HISTORY_IMAGE)
    {
      adw_window_title_set_title (self->content_title, pl_image_item_get_name (entry->image));
      adw_window_title_set_subtitle (self->content_title, NULL);
      if (pl_image_item_get_state (entry->image) == PL_IMAGE_ITEM_WAITING)
        gtk_stack_set_visible_child_name (self->content_stack, "waiting");
      else
        show_entry (self, entry);
    }
  return G_SOURCE_REMOVE;
}

static void
show_entry (PlWindow       *self,
            PlHistoryEntry *entry)
{
  if (entry->kind == PL_HISTORY_TERM)
    {
      g_clear_handle_id (&self->waiting_timeout, g_source_remove);
      g_autoptr(GError) error = NULL;

      if (!pl_term_page_show_term (self->term_page, entry->term_id, &error))
        {
          pl_window_toast (self, error->message);
          return;
        }
      adw_window_title_set_title (self->content_title, pl_term_page_get_label (self->term_page));
      adw_window_title_set_subtitle (self->content_title, entry->term_id);
      gtk_stack_set_visible_child_name (self->content_stack, "term");
    }
  else
    {
      PlImageItem *item = entry->image;

      g_clear_handle_id (&self->waiting_timeout, g_source_remove);
      if (pl_image_item_get_state (item) == PL_IMAGE_ITEM_WAITING
          && g_strcmp0 (gtk_stack_get_visible_child_name (self->content_stack), "waiting") != 0)
        {
          /* Most analyses are done before the waiting page would have been drawn: drawing it cost
           * a frame of the main thread's time (and of a core the model wants) in the middle of
           * each (tools/bench-ui). What was shown stays until the result, or WAITING_PAGE_DELAY_MS. */
          self->waiting_timeout = g_timeout_add (WAITING_PAGE_DELAY_MS, show_waiting_page_cb, self);
          adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
          return;
        }
      adw_window_title_set_title (self->content_title, pl_image_item_get_name (item));
      adw_window_title_set_subtitle (self->content_title, NULL);
      switch (pl_image_item_get_state (item))
        {
        case PL_IMAGE_ITEM_WAITING:
          gtk_stack_set_visible_child_name (self->content_stack, "waiting");
          break;
        case PL_IMAGE_ITEM_FAILED:
          adw_status_page_set_description (self->failed_page, pl_image_item_get_error (item));
          gtk_stack_set_visible_child_name (self->content_stack, "failed");
          break;
        case PL_IMAGE_ITEM_DONE:
        default:
          pl_analysis_page_show (self->analysis_page, pl_image_item_get_analysis (item),
                                 pl_image_item_get_preview (item));
          gtk_stack_set_visible_child_name (self->content_stack, "analysis");
          break;
        }
    }
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static gboolean
entry_equal (PlHistoryEntry *a,
             PlHistoryEntry *b)
{
  return a->kind == b->kind && a->image == b->image && g_strcmp0 (a->term_id, b->term_id) == 0;
}

static void
push_entry (PlWindow       *self,
            PlHistoryEntry *entry)
{
  if (self->history_index < self->history->len
      && entry_equal (g_ptr_array_index (self->history, self->history_index), entry))
    {
      history_entry_free (entry);
      show_entry (self, g_ptr_array_index (self->history, self->history_index));
      return;
    }
  /* Going somewhere new drops the forward part, as a browser does. */
  if (self->history_index + 1 < self->history->len)
    g_ptr_array_remove_range (self->history, self->history_index + 1,
                              self->history->len - self->history_index - 1);
  g_ptr_array_add (self->history, entry);
  self->history_index = self->history->len - 1;
  show_entry (self, entry);
  pl_window_update_actions (self);
}

void
pl_window_show_term (PlWindow   *self,
                     const char *term_id)
{
  PlHistoryEntry *entry = g_new0 (PlHistoryEntry, 1);

  g_return_if_fail (PL_IS_WINDOW (self));
  entry->kind = PL_HISTORY_TERM;
  entry->term_id = g_strdup (term_id);
  push_entry (self, entry);
}

void
pl_window_show_image (PlWindow    *self,
                      PlImageItem *item)
{
  PlHistoryEntry *entry = g_new0 (PlHistoryEntry, 1);

  entry->kind = PL_HISTORY_IMAGE;
  entry->image = g_object_ref (item);
  push_entry (self, entry);
}

gboolean
pl_window_go (PlWindow *self,
              int       delta)
{
  gint64 target = (gint64) self->history_index + delta;

  if (target < 0 || target >= self->history->len)
    return FALSE;
  self->history_index = target;
  show_entry (self, g_ptr_array_index (self->history, self->history_index));
  pl_window_update_actions (self);
  return TRUE;
}

static void
term_activated_cb (PlWindow   *self,
                   const char *term_id)
{
  pl_window_show_term (self, term_id);
}

/* Side by side, the sidebar keeps one width (see sidebar_clamp in pl-window.ui); folded, it takes
 * the whole window. */
static void
leaflet_folded_cb (PlWindow *self)
{
  int size = adw_leaflet_get_folded (self->leaflet) ? G_MAXINT / 2 : SIDEBAR_WIDTH;

  adw_clamp_set_maximum_size (self->sidebar_clamp, size);
  adw_clamp_set_tightening_threshold (self->sidebar_clamp, size);
}

/* Images ---------------------------------------------------------------------------------------- */

static void
update_image_row (GtkWidget   *row,
                  PlImageItem *item)
{
  GtkPicture *picture = g_object_get_data (G_OBJECT (row), "picture");
  GtkLabel *subtitle = g_object_get_data (G_OBJECT (row), "subtitle");
  PlAnalysis *analysis = pl_image_item_get_analysis (item);

  switch (pl_image_item_get_state (item))
    {
    case PL_IMAGE_ITEM_DONE:
      gtk_picture_set_paintable (picture, GDK_PAINTABLE (pl_image_item_get_thumbnail (
                                   item, THUMBNAIL_SIZE * gtk_widget_get_scale_factor (row))));
      if (analysis->ranking != NULL && analysis->ranking->phenotypes->len > 0)
        {
          PlRankedPhenotype *best = g_ptr_array_index (analysis->ranking->phenotypes, 0);
          gtk_label_set_label (subtitle, best->label);
        }
      break;
    case PL_IMAGE_ITEM_FAILED:
      gtk_label_set_label (subtitle, pl_image_item_get_error (item));
      break;
    case PL_IMAGE_ITEM_WAITING:
    default:
      gtk_label_set_label (subtitle, _("Waiting…"));
      break;
    }
}

static void
image_item_state_cb (PlImageItem *item,
                     GParamSpec  *pspec,
                     GtkWidget   *row)
{
  update_image_row (row, item);
}

/* Moved to a display of another scale: a thumbnail of the new device size. */
static void
image_row_scale_cb (GtkWidget  *row,
                    GParamSpec *pspec)
{
  update_image_row (row, g_object_get_data (G_OBJECT (row), "item"));
}

static GtkWidget *
create_image_row (gpointer item,
                  gpointer user_data)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *title = gtk_label_new (pl_image_item_get_name (item));
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_widget_set_size_request (picture, THUMBNAIL_SIZE, THUMBNAIL_SIZE);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_add_css_class (picture, "thumbnail");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_set_valign (texts, GTK_ALIGN_CENTER);
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (texts), title);
  gtk_box_append (GTK_BOX (texts), subtitle);
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), texts);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, pl_image_item_get_path (item));
  g_object_set_data (G_OBJECT (row), "picture", picture);
  g_object_set_data (G_OBJECT (row), "subtitle", subtitle);
  g_object_set_data_full (G_OBJECT (row), "item", g_object_ref (item), g_object_unref);
  g_signal_connect_object (item, "notify::state", G_CALLBACK (image_item_state_cb), row, 0);
  g_signal_connect (row, "notify::scale-factor", G_CALLBACK (image_row_scale_cb), NULL);
  update_image_row (row, item);
  return row;
}

static void
images_list_row_activated_cb (PlWindow      *self,
                              GtkListBoxRow *row)
{
  pl_window_show_image (self, g_object_get_data (G_OBJECT (row), "item"));
}

static void
images_changed_cb (PlWindow   *self,
                   guint       position,
                   guint       removed,
                   guint       added,
                   GListModel *model)
{
  gtk_stack_set_visible_child_name (self->images_stack,
                                    g_list_model_get_n_items (model) > 0 ? "list" : "empty");
}

static PlHistoryEntry *
current_entry (PlWindow *self)
{
  return self->history_index < self->history->len ? g_ptr_array_index (self->history, self->history_index) : NULL;
}

typedef struct {
  GWeakRef     window;   /* the window may be closed while the worker runs */
  PlImageItem *item;
} AnalyseRequest;

static void
analyse_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AnalyseRequest *request = user_data;
  g_autoptr(PlWindow) self = g_weak_ref_get (&request->window);
  g_autoptr(PlImageItem) item = request->item;
  g_autoptr(PlAnalysis) analysis = NULL;
  g_autoptr(GError) error = NULL;
  PlHistoryEntry *entry;

  g_weak_ref_clear (&request->window);
  g_free (request);

  analysis = pl_session_analyse_finish (PL_SESSION (source), result, &error);
  if (analysis != NULL)
    pl_image_item_set_analysis (item, analysis);
  else
    pl_image_item_set_error (item, error->message);

  if (self == NULL)
    return;
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *message = g_strdup_printf (_("Could not analyse “%s”: %s"),
                                                  pl_image_item_get_name (item), error->message);
      pl_window_toast (self, message);
    }
  if ((entry = current_entry (self)) != NULL && entry->kind == PL_HISTORY_IMAGE && entry->image == item)
    show_entry (self, entry);
}

void
pl_window_analyse_item (PlWindow    *self,
                        PlImageItem *item)
{
  GBytes *bytes = pl_image_item_get_bytes (item);
  AnalyseRequest *request;

  /* Images dropped while a checkpoint is loading wait for it (see session_ready_cb). */
  if (!pl_session_get_ready (self->session))
    return;
  request = g_new0 (AnalyseRequest, 1);
  g_weak_ref_init (&request->window, self);
  request->item = g_object_ref (item);
  if (bytes != NULL)
    pl_session_analyse_bytes_async (self->session, bytes, pl_image_item_get_path (item), NULL,
                                    analyse_done_cb, request);
  else
    pl_session_analyse_file_async (self->session, pl_image_item_get_path (item), NULL,
                                   analyse_done_cb, request);
}

static void
add_item (PlWindow    *self,
          PlImageItem *item,
          gboolean     show)
{
  g_list_store_append (self->images, item);
  pl_window_analyse_item (self, item);
  if (show)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->images_list,
                                                          g_list_model_get_n_items (G_LIST_MODEL (self->images)) - 1);
      gtk_list_box_select_row (self->images_list, row);
      pl_window_show_image (self, item);
    }
}

void
pl_window_open_files (PlWindow  *self,
                      GFile    **files,
                      int        n_files)
{
  g_return_if_fail (PL_IS_WINDOW (self));

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      g_autoptr(PlImageItem) item = NULL;

      if (path == NULL)
        {
          g_autofree char *uri = g_file_get_uri (files[i]);
          g_autofree char *message = g_strdup_printf (_("Could not open “%s”: only local files can be analysed"), uri);
          pl_window_toast (self, message);
          continue;
        }
      item = pl_image_item_new (path, NULL);
      add_item (self, item, i == 0);
    }
  gtk_widget_activate_action (GTK_WIDGET (self), "win.show-images", NULL);
}

/* Pasted pixels, as PNG bytes from the clipboard. */
void
pl_window_add_pasted (PlWindow *self,
                      GBytes   *png)
{
  g_autofree char *name = NULL;
  g_autoptr(PlImageItem) item = NULL;

  self->n_pasted++;
  name = g_strdup_printf (_("Pasted image %u"), self->n_pasted);
  item = pl_image_item_new (name, png);
  add_item (self, item, TRUE);
}

/* Session state ---------------------------------------------------------------------------------- */

static void
session_ready_cb (PlWindow   *self,
                  GParamSpec *pspec,
                  PlSession  *session)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->images));

  if (!pl_session_get_ready (session))
    return;
  self->had_model = TRUE;
  /* Analyse what waited for the checkpoint, and again what the previous checkpoint ranked. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), i);
      PlAnalysis *analysis = pl_image_item_get_analysis (item);

      if (pl_image_item_get_state (item) == PL_IMAGE_ITEM_WAITING
          || (analysis != NULL && g_strcmp0 (analysis->checkpoint_fingerprint,
                                             pl_clip_get_fingerprint (pl_session_get_clip (session))) != 0))
        pl_window_analyse_item (self, item);
    }
}

static void
session_demo_cb (PlWindow   *self,
                 GParamSpec *pspec,
                 PlSession  *session)
{
  /* The notice for the model the window starts with is part of its first look, so it appears at
   * once: sliding it in as the session became ready re-laid out the whole window (and restyled
   * the status page's clamp) in every frame for 250 ms, 17 frames on an otherwise idle window.
   * A later change of model (the user's doing) slides it in or out. */
  guint duration = gtk_revealer_get_transition_duration (self->demo_revealer);

  if (!self->had_model)
    gtk_revealer_set_transition_duration (self->demo_revealer, 0);
  gtk_revealer_set_reveal_child (self->demo_revealer, pl_session_get_is_demo (session));
  gtk_revealer_set_transition_duration (self->demo_revealer, duration);
}

static void
session_progress_cb (PlWindow   *self,
                     GParamSpec *pspec,
                     PlSession  *session)
{
  const char *status = pl_session_get_status (session);
  double progress = pl_session_get_progress (session);
  double eta = pl_session_get_eta (session);
  /* Short jobs (an image) show in their page; only long ones get the bar. */
  gboolean long_job = status != NULL && progress >= 0;

  gtk_revealer_set_reveal_child (self->progress_revealer, long_job);
  if (!long_job)
    return;
  if (eta >= 0)
    {
      g_autofree char *text = g_strdup_printf (_("%s — about %.0f s left"), status, eta);
      gtk_label_set_label (self->progress_label, text);
    }
  else
    gtk_label_set_label (self->progress_label, status);
  gtk_progress_bar_set_fraction (self->progress_bar, progress);
}

static void
session_snapshot_cb (PlWindow   *self,
                     GParamSpec *pspec,
                     PlSession  *session)
{
  pl_ontology_page_reload (self->ontology_page);
  pl_analysis_page_reload (self->analysis_page);
}

/* Start-up ---------------------------------------------------------------------------------------- */

static void
start_step_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  PlWindow *self = user_data;   /* kept alive by the reference taken in pl_window_start */
  gboolean ok;

  if (g_task_get_source_tag (G_TASK (result)) == pl_session_load_demo_async)
    ok = pl_session_load_demo_finish (PL_SESSION (source), result, &error);
  else if (g_task_get_source_tag (G_TASK (result)) == pl_session_open_snapshot_async)
    ok = pl_session_open_snapshot_finish (PL_SESSION (source), result, &error);
  else
    ok = pl_session_open_checkpoint_finish (PL_SESSION (source), result, &error);
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    pl_window_show_error_dialog (self, _("Could not restore the last session"), error);
  g_object_unref (self);
}

void
pl_window_start (PlWindow *self)
{
  g_autofree char *snapshot = NULL;
  g_autofree char *checkpoint = NULL;

  g_return_if_fail (PL_IS_WINDOW (self));

  if (self->settings != NULL)
    {
      snapshot = g_settings_get_string (self->settings, "last-snapshot");
      checkpoint = g_settings_get_string (self->settings, "last-checkpoint");
    }
  /* The demo first: whatever the settings name may be gone, and the window is usable at once. */
  pl_session_load_demo_async (self->session, NULL, start_step_done, g_object_ref (self));
  if (snapshot != NULL && snapshot[0] != '\0' && g_file_test (snapshot, G_FILE_TEST_EXISTS))
    pl_session_open_snapshot_async (self->session, snapshot, NULL, start_step_done, g_object_ref (self));
  if (checkpoint != NULL && checkpoint[0] != '\0' && g_file_test (checkpoint, G_FILE_TEST_EXISTS))
    pl_session_open_checkpoint_async (self->session, checkpoint, NULL, start_step_done, g_object_ref (self));
}

/* GObject ------------------------------------------------------------------------------------------ */

static gboolean
pl_window_close_request (GtkWindow *window)
{
  PlWindow *self = PL_WINDOW (window);

  if (self->settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (self->settings, "window-width", MAX (width, 360));
      g_settings_set_int (self->settings, "window-height", MAX (height, 294));
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    }
  return GTK_WINDOW_CLASS (pl_window_parent_class)->close_request (window);
}

static void
pl_window_dispose (GObject *object)
{
  PlWindow *self = PL_WINDOW (object);

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_handle_id (&self->spinner_timeout, g_source_remove);
  g_clear_handle_id (&self->waiting_timeout, g_source_remove);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);
  g_clear_object (&self->images);
  g_clear_pointer (&self->history, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), PL_TYPE_WINDOW);
  G_OBJECT_CLASS (pl_window_parent_class)->dispose (object);
}

static void
pl_window_class_init (PlWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pl_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = pl_window_close_request;

  g_type_ensure (PL_TYPE_ANALYSIS_PAGE);
  g_type_ensure (PL_TYPE_ONTOLOGY_PAGE);
  g_type_ensure (PL_TYPE_TERM_PAGE);
  g_type_ensure (PL_TYPE_EVALUATE_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/phenolip/Explorer/pl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PlWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, sidebar_clamp);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, images_stack);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, images_list);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, ontology_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, waiting_spinner);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, welcome_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, failed_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, analysis_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, term_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, evaluate_page);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, demo_revealer);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, PlWindow, progress_bar);
  gtk_widget_class_bind_template_callback (widget_class, term_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, images_list_row_activated_cb);

  pl_window_class_init_actions (widget_class);
}

/* How long the waiting page shows before its spinner starts: each frame of the spinner redraws the
 * window, a software-rendered frame took 18 ms here (tools/bench-ui), and most analyses are over
 * sooner (the demo's in 30 ms; a full-size model's in about a second on two cores). */
#define SPINNER_DELAY_MS 500

static gboolean
start_spinner_cb (gpointer user_data)
{
  PlWindow *self = user_data;

  self->spinner_timeout = 0;
  gtk_spinner_set_spinning (self->waiting_spinner, TRUE);
  return G_SOURCE_REMOVE;
}

/* The spinner animates only while its page shows: a spinning spinner keeps the frame clock (and
 * a core) busy even on a page that is not visible. */
static void
content_page_changed_cb (PlWindow *self)
{
  gboolean waiting = g_strcmp0 (gtk_stack_get_visible_child_name (self->content_stack), "waiting") == 0;

  g_clear_handle_id (&self->spinner_timeout, g_source_remove);
  gtk_spinner_set_spinning (self->waiting_spinner, FALSE);
  if (waiting && !gtk_widget_in_destruction (GTK_WIDGET (self)))
    self->spinner_timeout = g_timeout_add (SPINNER_DELAY_MS, start_spinner_cb, self);
}

static void
pl_window_init (PlWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_object (self->leaflet, "notify::folded", G_CALLBACK (leaflet_folded_cb), self, G_CONNECT_SWAPPED);
  leaflet_folded_cb (self);
  g_signal_connect_object (self->content_stack, "notify::visible-child-name",
                           G_CALLBACK (content_page_changed_cb), self, G_CONNECT_SWAPPED);
  content_page_changed_cb (self);

  self->images = g_list_store_new (PL_TYPE_IMAGE_ITEM);
  self->history = g_ptr_array_new_with_free_func (history_entry_free);
  gtk_list_box_bind_model (self->images_list, G_LIST_MODEL (self->images), create_image_row, NULL, NULL);
  g_signal_connect_object (self->images, "items-changed", G_CALLBACK (images_changed_cb), self, G_CONNECT_SWAPPED);

  if (DEVELOPMENT_BUILD)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

PlWindow *
pl_window_new_for_session (PlSession *session,
                           GSettings *settings)
{
  PlWindow *self = g_object_new (PL_TYPE_WINDOW, NULL);

  self->session = g_object_ref (session);
  if (settings != NULL)
    {
      self->settings = g_object_ref (settings);
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
  else
    gtk_window_set_default_size (GTK_WINDOW (self), 1100, 720);

  pl_analysis_page_set_session (self->analysis_page, self->session);
  pl_ontology_page_set_session (self->ontology_page, self->session);
  pl_term_page_set_session (self->term_page, self->session);
  pl_evaluate_page_set_session (self->evaluate_page, self->session);
  g_signal_connect_object (self->session, "notify::ready", G_CALLBACK (session_ready_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::is-demo", G_CALLBACK (session_demo_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::status", G_CALLBACK (session_progress_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::progress", G_CALLBACK (session_progress_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::snapshot-path", G_CALLBACK (session_snapshot_cb), self, G_CONNECT_SWAPPED);
  session_demo_cb (self, NULL, self->session);
  session_snapshot_cb (self, NULL, self->session);
  pl_window_init_actions (self);
  return self;
}

PlWindow *
pl_window_new (PlApplication *application)
{
  PlWindow *self = pl_window_new_for_session (pl_application_get_session (application),
                                              pl_application_get_settings (application));

  gtk_window_set_application (GTK_WINDOW (self), GTK_APPLICATION (application));
  return self;
}
