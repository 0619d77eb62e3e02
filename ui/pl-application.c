/* pl-application.c: AdwApplication subclass: opens files given on the command line or by the
 * desktop, owns the session the window shows, and the app-wide actions (quit). */
#include "pl-config.h"

#include "pl-application.h"

#include <glib/gi18n.h>

#include "pl-window.h"

struct _PlApplication
{
  AdwApplication  parent_instance;
  PlSession      *session;
  GSettings      *settings;
};

G_DEFINE_FINAL_TYPE (PlApplication, pl_application, ADW_TYPE_APPLICATION)

PlApplication *
pl_application_new (void)
{
  return g_object_new (PL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/phenolip/Explorer",
                       NULL);
}

PlSession *
pl_application_get_session (PlApplication *self)
{
  g_return_val_if_fail (PL_IS_APPLICATION (self), NULL);
  return self->session;
}

GSettings *
pl_application_get_settings (PlApplication *self)
{
  g_return_val_if_fail (PL_IS_APPLICATION (self), NULL);
  return self->settings;
}

void
pl_application_add_style_for_display (GdkDisplay *display)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

  gtk_css_provider_load_from_resource (provider, "/io/github/phenolip/Explorer/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static PlWindow *
get_window (PlApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    {
      window = GTK_WINDOW (pl_window_new (self));
      pl_window_start (PL_WINDOW (window));
    }
  return PL_WINDOW (window);
}

static void
pl_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (get_window (PL_APPLICATION (application))));
}

static void
pl_application_open (GApplication  *application,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  PlWindow *window = get_window (PL_APPLICATION (application));

  pl_window_open_files (window, files, n_files);
  gtk_window_present (GTK_WINDOW (window));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GtkApplication *app = user_data;
  GList *windows = gtk_application_get_windows (app);

  /* Closing the windows lets them save their state; the application then ends on its own. */
  for (GList *l = windows; l != NULL; l = windows)
    {
      windows = l->next;
      gtk_window_close (l->data);
    }
  g_application_quit (G_APPLICATION (app));
}

static void
pl_application_startup (GApplication *application)
{
  PlApplication *self = PL_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const GActionEntry entries[] = {
    { "quit", quit_activated, NULL, NULL, NULL, { 0 } },
  };
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  G_APPLICATION_CLASS (pl_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_window_set_default_icon_name (BASE_APP_ID);

  if (source != NULL && (schema = g_settings_schema_source_lookup (source, BASE_APP_ID, TRUE)) != NULL)
    self->settings = g_settings_new_full (schema, NULL, NULL);
  else
    g_debug ("GSettings schema %s is not installed; settings are not kept", BASE_APP_ID);
}

static void
pl_application_dispose (GObject *object)
{
  PlApplication *self = PL_APPLICATION (object);

  g_clear_object (&self->session);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (pl_application_parent_class)->dispose (object);
}

static void
pl_application_class_init (PlApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pl_application_dispose;
  app_class->activate = pl_application_activate;
  app_class->open = pl_application_open;
  app_class->startup = pl_application_startup;
}

static void
pl_application_init (PlApplication *self)
{
  self->session = pl_session_new ();
  g_set_application_name (_("PhenoLIP Explorer"));
}
