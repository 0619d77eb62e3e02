/* test-metainfo.c: the built AppStream metainfo points at the project's own repository in one form:
 * its homepage is the About window's website, and every screenshot is a file of docs/screenshots/
 * served from the repository's main branch. (appstream-util validates the rest: validate-metainfo.) */
#include <string.h>

#include "pl-config.h"
#include "pl-test-util.h"

typedef struct {
  GString   *text;        /* of the element being read */
  char      *homepage;
  GPtrArray *images;      /* char*, in order */
  gboolean   default_first;
  guint      n_screenshots;
} Metainfo;

static void
start_element (GMarkupParseContext  *context,
               const char           *element,
               const char          **names,
               const char          **values,
               gpointer              user_data,
               GError              **error)
{
  Metainfo *info = user_data;

  g_string_truncate (info->text, 0);
  if (strcmp (element, "screenshot") == 0)
    {
      for (guint i = 0; names[i] != NULL; i++)
        if (strcmp (names[i], "type") == 0 && strcmp (values[i], "default") == 0 && info->n_screenshots == 0)
          info->default_first = TRUE;
      info->n_screenshots++;
    }
  if (strcmp (element, "url") == 0)
    for (guint i = 0; names[i] != NULL; i++)
      if (strcmp (names[i], "type") == 0 && strcmp (values[i], "homepage") == 0)
        g_string_assign (info->text, "homepage:");
}

static void
end_element (GMarkupParseContext  *context,
             const char           *element,
             gpointer              user_data,
             GError              **error)
{
  Metainfo *info = user_data;

  if (strcmp (element, "image") == 0)
    g_ptr_array_add (info->images, g_strstrip (g_strdup (info->text->str)));
  else if (strcmp (element, "url") == 0 && g_str_has_prefix (info->text->str, "homepage:"))
    info->homepage = g_strstrip (g_strdup (info->text->str + strlen ("homepage:")));
}

static void
text (GMarkupParseContext  *context,
      const char           *chars,
      gsize                 length,
      gpointer              user_data,
      GError              **error)
{
  g_string_append_len (((Metainfo *) user_data)->text, chars, length);
}

/* The metainfo meson built (its name carries the app id, .Devel in development builds). */
static char *
built_metainfo_path (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("PL_BUILD_DIR"), "ui", "data", NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_suffix (name, ".metainfo.xml"))
      return g_build_filename (dir, name, NULL);
  g_assert_not_reached ();
}

static void
test_screenshots_are_the_repository_files (void)
{
  static const GMarkupParser parser = { start_element, end_element, text, NULL, NULL };
  g_autofree char *path = built_metainfo_path ();
  g_autofree char *contents = NULL;
  g_autofree char *raw_base = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  Metainfo info = { g_string_new (NULL), NULL, g_ptr_array_new_with_free_func (g_free), FALSE, 0 };
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  context = g_markup_parse_context_new (&parser, 0, &info, NULL);
  g_assert_true (g_markup_parse_context_parse (context, contents, length, &error));
  g_assert_no_error (error);

  /* One repository: the About window's website is the homepage. */
  g_assert_cmpstr (info.homepage, ==, PACKAGE_URL);
  g_assert_true (g_str_has_prefix (info.homepage, "https://github.com/"));
  raw_base = g_strdup_printf ("https://raw.githubusercontent.com/%s/main/docs/screenshots/",
                              info.homepage + strlen ("https://github.com/"));

  g_assert_true (info.default_first);
  g_assert_cmpuint (info.images->len, ==, info.n_screenshots);
  g_assert_cmpuint (info.images->len, >=, 5);
  /* The default is the view README.md opens with. */
  g_assert_cmpstr (g_ptr_array_index (info.images, 0), ==, "https://raw.githubusercontent.com/phenolip/phenolip-explorer/main/docs/screenshots/analysis.png");
  for (guint i = 0; i < info.images->len; i++)
    {
      const char *url = g_ptr_array_index (info.images, i);
      g_autofree char *file = NULL;
      g_autoptr(GBytes) bytes = NULL;

      g_test_message ("%s", url);
      g_assert_true (g_str_has_prefix (url, raw_base));
      file = g_build_filename (g_getenv ("PL_SOURCE_DIR"), "docs", "screenshots", url + strlen (raw_base), NULL);
      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
      bytes = pl_test_read_file (file);
      g_assert_cmpuint (g_bytes_get_size (bytes), >, 8);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), 8, "\x89PNG\r\n\x1a\n", 8);
    }
  g_string_free (info.text, TRUE);
  g_free (info.homepage);
  g_ptr_array_unref (info.images);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metainfo/screenshots-are-the-repository-files", test_screenshots_are_the_repository_files);
  return g_test_run ();
}
