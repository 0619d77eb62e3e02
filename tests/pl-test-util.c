/* pl-test-util.c: helpers shared by the test programs. */
#include "pl-test-util.h"

#include <glib/gstdio.h>
#include <stdlib.h>

static char *tmpdir;

static char *
env_dir (const char *variable)
{
  const char *value = g_getenv (variable);

  if (value == NULL)
    g_error ("%s is not set: run the tests with `meson test`", variable);
  return g_strdup (value);
}

char *
pl_test_fixture_path (const char *name)
{
  g_autofree char *dir = env_dir ("PL_FIXTURES_DIR");

  return g_build_filename (dir, name, NULL);
}

char *
pl_test_shared_data_path (const char *name)
{
  g_autofree char *dir = env_dir ("PL_SHARED_DATA_DIR");

  return g_build_filename (dir, name, NULL);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir == NULL)
    {
      g_remove (path);
      return;
    }
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_remove (child);
    }
  g_dir_close (dir);
  g_rmdir (path);
}

static void
remove_tmpdir (void)
{
  if (tmpdir != NULL)
    remove_tree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

const char *
pl_test_tmpdir (void)
{
  if (tmpdir == NULL)
    {
      g_autoptr(GError) error = NULL;

      tmpdir = g_dir_make_tmp ("phenolip-test-XXXXXX", &error);
      g_assert_no_error (error);
      atexit (remove_tmpdir);
    }
  return tmpdir;
}

char *
pl_test_write_file (const char *name,
                    const void *data,
                    gsize       length)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (pl_test_tmpdir (), name, NULL);

  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
  return path;
}

GBytes *
pl_test_read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

double
pl_test_time_scale (void)
{
  const char *value = g_getenv ("PL_TEST_TIME_SCALE");
  double scale = value != NULL ? g_ascii_strtod (value, NULL) : 1.0;

  return scale >= 1.0 ? scale : 1.0;
}

void
pl_test_iterate_until (PlTestCondition condition,
                       gpointer        data,
                       const char     *what,
                       guint           timeout_seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_seconds * pl_test_time_scale () * G_USEC_PER_SEC);

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
}

JsonObject *
pl_test_load_fixture_object (JsonParser *parser,
                             const char *name)
{
  g_autofree char *path = pl_test_fixture_path (name);
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}
