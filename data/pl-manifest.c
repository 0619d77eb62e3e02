/* pl-manifest.c: reading a PhenoBench manifest through pl-pairs' record reader and resolving its
 * phenotype names against a snapshot. */
#include "data/pl-manifest.h"

#include <string.h>
#include <unistd.h>

#include "model/pl-error.h"

void
pl_manifest_issue_free (PlManifestIssue *issue)
{
  if (issue == NULL)
    return;
  g_free (issue->subject);
  g_free (issue->problem);
  g_free (issue);
}

static void
bench_pair_free (PlBenchPair *pair)
{
  g_free (pair->image);
  g_free (pair->image_path);
  g_free (pair->caption);
  g_array_unref (pair->phenotypes);
  g_free (pair);
}

void
pl_manifest_free (PlManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_free (manifest->path);
  g_free (manifest->sha256);
  g_clear_pointer (&manifest->pairs, g_ptr_array_unref);
  g_clear_pointer (&manifest->phenotype_ids, g_ptr_array_unref);
  g_clear_pointer (&manifest->phenotype_labels, g_ptr_array_unref);
  g_clear_pointer (&manifest->phenotype_systems, g_ptr_array_unref);
  g_clear_pointer (&manifest->system_labels, g_hash_table_unref);
  g_clear_pointer (&manifest->unresolved, g_ptr_array_unref);
  g_clear_pointer (&manifest->bad_records, g_ptr_array_unref);
  g_clear_pointer (&manifest->missing_images, g_ptr_array_unref);
  g_free (manifest);
}

static PlManifestIssue *
issue_new (guint       line,
           const char *subject,
           const char *problem)
{
  PlManifestIssue *issue = g_new0 (PlManifestIssue, 1);

  issue->line = line;
  issue->count = 1;
  issue->subject = g_strdup (subject);
  issue->problem = g_strdup (problem);
  return issue;
}

typedef struct {
  PlManifest *manifest;
  PlSnapshot *snapshot;
  char       *folder;
  GHashTable *names;        /* folded name -> id (CSV) */
  GHashTable *resolved;     /* name/id as written -> term id (owned), or NULL value when unresolved */
  GHashTable *unresolved;   /* name -> PlManifestIssue* (in manifest->unresolved) */
  GHashTable *term_pairs;   /* term id -> GArray of pair indices (int), filled in order */
  GPtrArray  *pair_terms;   /* per pair: GPtrArray of term ids */
} Reading;

static const char *
resolve (Reading    *reading,
         const char *name)
{
  gpointer value;
  const char *id = NULL;

  if (g_hash_table_lookup_extended (reading->resolved, name, NULL, &value))
    return value;
  if (reading->manifest->format == PL_PAIRS_FORMAT_CSV)
    id = pl_phenotype_names_lookup (reading->names, name);
  else
    {
      g_autoptr(PlTerm) term = pl_snapshot_get_term (reading->snapshot, name, NULL);

      if (term != NULL && !term->obsolete)
        {
          g_hash_table_insert (reading->resolved, g_strdup (name), g_strdup (term->id));
          return g_hash_table_lookup (reading->resolved, name);
        }
    }
  g_hash_table_insert (reading->resolved, g_strdup (name), g_strdup (id));
  return g_hash_table_lookup (reading->resolved, name);
}

static gboolean
read_row (const PlPairsRow *row,
          gpointer          user_data,
          GError          **error)
{
  Reading *reading = user_data;
  PlManifest *manifest = reading->manifest;
  g_autoptr(GPtrArray) term_ids = NULL;
  g_autofree char *image_path = NULL;
  PlBenchPair *pair;

  manifest->n_records++;
  if (row->problem != NULL)
    {
      g_ptr_array_add (manifest->bad_records, issue_new (row->line, NULL, row->problem));
      return TRUE;
    }
  if (*row->image_path == '\0')
    {
      g_ptr_array_add (manifest->bad_records, issue_new (row->line, NULL, "empty image_path"));
      return TRUE;
    }
  term_ids = g_ptr_array_new ();
  for (guint i = 0; i < row->names->len; i++)
    {
      const char *name = row->names->pdata[i];
      const char *id = resolve (reading, name);
      PlManifestIssue *issue;

      if (id != NULL)
        {
          if (!g_ptr_array_find_with_equal_func (term_ids, id, g_str_equal, NULL))
            g_ptr_array_add (term_ids, (gpointer) id);
          continue;
        }
      manifest->n_unresolved++;
      if ((issue = g_hash_table_lookup (reading->unresolved, name)) != NULL)
        issue->count++;
      else
        {
          issue = issue_new (row->line, name, manifest->format == PL_PAIRS_FORMAT_CSV
                             ? "matches no label or exact synonym of a live phenotype"
                             : "is not the id of a live phenotype");
          g_ptr_array_add (manifest->unresolved, issue);
          g_hash_table_insert (reading->unresolved, issue->subject, issue);
        }
    }
  image_path = g_path_is_absolute (row->image_path) ? g_strdup (row->image_path)
                                                    : g_build_filename (reading->folder, row->image_path, NULL);
  if (access (image_path, R_OK) != 0 || !g_file_test (image_path, G_FILE_TEST_IS_REGULAR))
    {
      g_ptr_array_add (manifest->missing_images,
                       issue_new (row->line, row->image_path,
                                  g_file_test (image_path, G_FILE_TEST_EXISTS) ? "cannot be read" : "does not exist"));
      return TRUE;
    }
  if (term_ids->len == 0)
    manifest->n_pairs_without_phenotypes++;
  pair = g_new0 (PlBenchPair, 1);
  pair->line = row->line;
  pair->image = g_strdup (row->image_path);
  pair->image_path = g_steal_pointer (&image_path);
  pair->caption = g_strdup (row->caption);
  pair->phenotypes = g_array_new (FALSE, FALSE, sizeof (int));
  g_ptr_array_add (manifest->pairs, pair);
  g_ptr_array_add (reading->pair_terms, g_steal_pointer (&term_ids));
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* The phenotype set (sorted ids), each pair's indices into it, labels and systems. */
static gboolean
index_phenotypes (Reading  *reading,
                  GError  **error)
{
  PlManifest *manifest = reading->manifest;
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < reading->pair_terms->len; i++)
    {
      GPtrArray *ids = reading->pair_terms->pdata[i];

      for (guint k = 0; k < ids->len; k++)
        if (g_hash_table_add (index, ids->pdata[k]))
          g_ptr_array_add (manifest->phenotype_ids, g_strdup (ids->pdata[k]));
    }
  g_ptr_array_sort (manifest->phenotype_ids, compare_strings);
  for (guint p = 0; p < manifest->phenotype_ids->len; p++)
    {
      g_autoptr(PlTerm) term = pl_snapshot_get_term (reading->snapshot, manifest->phenotype_ids->pdata[p], error);
      GStrv systems;

      if (term == NULL)
        return FALSE;
      g_hash_table_insert (index, manifest->phenotype_ids->pdata[p], GINT_TO_POINTER (p));
      g_ptr_array_add (manifest->phenotype_labels, g_strdup (term->label));
      systems = g_new0 (char *, term->systems->len + 1);
      for (guint s = 0; s < term->systems->len; s++)
        {
          const char *system = term->systems->pdata[s];

          systems[s] = g_strdup (system);
          if (!g_hash_table_contains (manifest->system_labels, system))
            {
              g_autoptr(PlTerm) info = pl_snapshot_get_term (reading->snapshot, system, NULL);

              g_hash_table_insert (manifest->system_labels, g_strdup (system),
                                   g_strdup (info != NULL ? info->label : system));
            }
        }
      g_ptr_array_add (manifest->phenotype_systems, systems);
    }
  for (guint i = 0; i < manifest->pairs->len; i++)
    {
      PlBenchPair *pair = manifest->pairs->pdata[i];
      GPtrArray *ids = reading->pair_terms->pdata[i];

      for (guint k = 0; k < ids->len; k++)
        {
          int p = GPOINTER_TO_INT (g_hash_table_lookup (index, ids->pdata[k]));

          g_array_append_val (pair->phenotypes, p);
        }
    }
  return TRUE;
}

PlManifest *
pl_manifest_load (const char  *path,
                  PlSnapshot  *snapshot,
                  GError     **error)
{
  g_autoptr(PlManifest) manifest = g_new0 (PlManifest, 1);
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GHashTable) resolved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) unresolved = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) pair_terms = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;
  Reading reading;

  manifest->path = g_strdup (path);
  manifest->pairs = g_ptr_array_new_with_free_func ((GDestroyNotify) bench_pair_free);
  manifest->phenotype_ids = g_ptr_array_new_with_free_func (g_free);
  manifest->phenotype_labels = g_ptr_array_new_with_free_func (g_free);
  manifest->phenotype_systems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  manifest->system_labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  manifest->unresolved = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_manifest_issue_free);
  manifest->bad_records = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_manifest_issue_free);
  manifest->missing_images = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_manifest_issue_free);
  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  manifest->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
  if ((names = pl_snapshot_phenotype_names (snapshot, error)) == NULL)
    return NULL;
  manifest->format = data[strspn (data, " \t\r\n")] == '{' ? PL_PAIRS_FORMAT_JSON_LINES : PL_PAIRS_FORMAT_CSV;
  reading = (Reading) { manifest, snapshot, folder, names, resolved, unresolved, NULL, pair_terms };
  if (!pl_pairs_read (path, data, length, NULL, read_row, &reading, error))
    return NULL;
  if (manifest->n_records == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: no records", path);
      return NULL;
    }
  if (!index_phenotypes (&reading, error))
    return NULL;
  return g_steal_pointer (&manifest);
}

static void
describe (GPtrArray  *lines,
          GPtrArray  *issues,
          guint       total,
          const char *what)
{
  GString *text;

  if (issues->len == 0)
    return;
  text = g_string_new (NULL);
  g_string_append_printf (text, "%u %s:", total, what);
  for (guint i = 0; i < issues->len; i++)
    {
      PlManifestIssue *issue = issues->pdata[i];

      if (i == 20)
        {
          g_string_append_printf (text, " ... and %u more", issues->len - 20);
          break;
        }
      g_string_append_printf (text, "%s line %u", i ? ";" : "", issue->line);
      if (issue->subject != NULL)
        g_string_append_printf (text, " '%s'", issue->subject);
      if (issue->count > 1)
        g_string_append_printf (text, " (%ux)", issue->count);
      if (issue->problem != NULL && issue->subject == NULL)
        g_string_append_printf (text, " %s", issue->problem);
    }
  g_ptr_array_add (lines, g_string_free (text, FALSE));
}

GPtrArray *
pl_manifest_describe_issues (const PlManifest *manifest)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  describe (lines, manifest->bad_records, manifest->bad_records->len, "malformed records left out");
  describe (lines, manifest->missing_images, manifest->missing_images->len, "missing or unreadable images left out");
  describe (lines, manifest->unresolved, manifest->n_unresolved,
            manifest->format == PL_PAIRS_FORMAT_CSV ? "phenotype names matched no phenotype"
                                                    : "HPO ids matched no live phenotype");
  if (manifest->n_pairs_without_phenotypes > 0)
    g_ptr_array_add (lines, g_strdup_printf ("%u pairs have no resolved phenotype (used for image-caption retrieval only)",
                                             manifest->n_pairs_without_phenotypes));
  return lines;
}
