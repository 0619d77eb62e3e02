/* main.c: the phenolip-explorer executable: set up translations and run the application. */
#include "pl-config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "pl-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PlApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = pl_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
