/* pl-ontology.c: the in-memory HPO release: graph checks (not HPO, undefined parent, is_a cycle) and
 * the derived data the snapshot stores (depth, children and descendant counts, top-level systems). */
#include "data/pl-ontology.h"

#include <string.h>

#include "model/pl-error.h"

PlOntology *
pl_ontology_new (PlOntologyFormat format,
                 const char      *source_path)
{
  PlOntology *ontology = g_new0 (PlOntology, 1);

  ontology->format = format;
  ontology->source_path = g_strdup (source_path);
  ontology->terms = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_term_free);
  ontology->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  return ontology;
}

void
pl_ontology_free (PlOntology *ontology)
{
  if (ontology == NULL)
    return;
  g_hash_table_unref (ontology->by_id);
  g_ptr_array_unref (ontology->terms);
  g_free (ontology->source_path);
  g_free (ontology->source_sha256);
  g_free (ontology->data_version);
  g_free (ontology->version_date);
  g_free (ontology);
}

const char *
pl_ontology_format_to_string (PlOntologyFormat format)
{
  switch (format)
    {
    case PL_ONTOLOGY_FORMAT_OBO: return "obo";
    case PL_ONTOLOGY_FORMAT_OBOGRAPHS: return "obographs-json";
    default: return "unknown";
    }
}

char *
pl_ontology_date_of_version (const char *version)
{
  g_auto(GStrv) parts = NULL;

  if (version == NULL)
    return NULL;
  parts = g_strsplit (version, "/", -1);
  for (int i = (int) g_strv_length (parts) - 1; i >= 0; i--)
    if (strlen (parts[i]) == 10 && g_ascii_isdigit (parts[i][0]) && parts[i][4] == '-' && parts[i][7] == '-')
      return g_strdup (parts[i]);
  return NULL;
}

gboolean
pl_ontology_add_term (PlOntology *ontology,
                      PlTerm     *term,
                      GError    **error)
{
  if (g_hash_table_contains (ontology->by_id, term->id))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: term %s is defined twice",
                   ontology->source_path, term->id);
      pl_term_free (term);
      return FALSE;
    }
  g_hash_table_insert (ontology->by_id, term->id, term);
  g_ptr_array_add (ontology->terms, term);
  return TRUE;
}

/* The graph of live terms as index arrays, so the passes below are plain loops. */
typedef struct {
  guint    n;
  PlTerm **term;       /* [n] */
  GArray **parents;    /* [n] of guint */
  GArray **children;   /* [n] of guint */
} Graph;

static void
graph_clear (Graph *graph)
{
  for (guint i = 0; i < graph->n; i++)
    {
      g_array_unref (graph->parents[i]);
      g_array_unref (graph->children[i]);
    }
  g_free (graph->term);
  g_free (graph->parents);
  g_free (graph->children);
}

/* Reports one cycle among the nodes Kahn's algorithm could not order (all have an unordered parent). */
static void
set_cycle_error (PlOntology *ontology,
                 Graph      *graph,
                 const int  *remaining_parents,
                 GError    **error)
{
  g_autofree int *seen_at = g_new (int, graph->n);
  g_autoptr(GArray) walk = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GString) names = g_string_new (NULL);
  guint start = 0, node;

  for (guint i = 0; i < graph->n; i++)
    seen_at[i] = -1;
  while (start < graph->n && remaining_parents[start] == 0)
    start++;
  node = start;
  while (seen_at[node] < 0)
    {
      seen_at[node] = (int) walk->len;
      g_array_append_val (walk, node);
      for (guint k = 0; k < graph->parents[node]->len; k++)
        {
          guint parent = g_array_index (graph->parents[node], guint, k);

          if (remaining_parents[parent] > 0)
            {
              node = parent;
              break;
            }
        }
    }
  for (guint k = (guint) seen_at[node]; k < walk->len; k++)
    {
      PlTerm *term = graph->term[g_array_index (walk, guint, k)];

      g_string_append_printf (names, "%s (%s) is_a ", term->id, term->label ? term->label : "");
    }
  g_string_append (names, graph->term[node]->id);
  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: is_a cycle: %s",
               ontology->source_path, names->str);
}

static void
bfs_depth (Graph      *graph,
           const guint *sources,
           guint       n_sources,
           int        *depth)
{
  g_autofree guint *queue = g_new (guint, graph->n);
  guint head = 0, tail = 0;

  for (guint s = 0; s < n_sources; s++)
    {
      depth[sources[s]] = 0;
      queue[tail++] = sources[s];
    }
  while (head < tail)
    {
      guint node = queue[head++];

      for (guint k = 0; k < graph->children[node]->len; k++)
        {
          guint child = g_array_index (graph->children[node], guint, k);

          if (depth[child] < 0)
            {
              depth[child] = depth[node] + 1;
              queue[tail++] = child;
            }
        }
    }
}

gboolean
pl_ontology_finish (PlOntology *ontology,
                    GError    **error)
{
  Graph graph = { 0 };
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree int *remaining_parents = NULL;
  g_autofree guint *order = NULL;
  g_autofree guint *roots = NULL;
  g_autofree int *depth_pa = NULL;
  g_autofree int *depth_root = NULL;
  g_autofree guint *stamp = NULL;
  g_autofree guint *stack = NULL;
  g_autofree guint64 *system_bits = NULL;
  g_autoptr(GArray) systems = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n_roots = 0, n_ordered = 0, head = 0, n_hp = 0, words;
  gpointer found;
  int pa = -1;
  gboolean ok = FALSE;

  for (guint i = 0; i < ontology->terms->len; i++)
    {
      PlTerm *term = g_ptr_array_index (ontology->terms, i);

      if (term->obsolete)
        continue;
      if (g_str_has_prefix (term->id, "HP:"))
        n_hp++;
      g_hash_table_insert (index, term->id, GUINT_TO_POINTER (graph.n));
      graph.n++;
    }
  if (n_hp == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: no HP: terms found; this is not the Human Phenotype Ontology",
                   ontology->source_path);
      return FALSE;
    }
  ontology->n_live = (int) graph.n;
  graph.term = g_new0 (PlTerm *, graph.n);
  graph.parents = g_new0 (GArray *, graph.n);
  graph.children = g_new0 (GArray *, graph.n);
  for (guint i = 0; i < graph.n; i++)
    {
      graph.parents[i] = g_array_new (FALSE, FALSE, sizeof (guint));
      graph.children[i] = g_array_new (FALSE, FALSE, sizeof (guint));
    }
  for (guint i = 0, n = 0; i < ontology->terms->len; i++)
    {
      PlTerm *term = g_ptr_array_index (ontology->terms, i);

      if (!term->obsolete)
        graph.term[n++] = term;
    }

  for (guint i = 0; i < graph.n; i++)
    {
      PlTerm *term = graph.term[i];

      for (guint k = 0; k < term->parents->len; k++)
        {
          const char *parent_id = g_ptr_array_index (term->parents, k);
          guint parent;

          if (!g_hash_table_lookup_extended (index, parent_id, NULL, &found))
            {
              PlTerm *other = g_hash_table_lookup (ontology->by_id, parent_id);

              g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                           "%s: term %s is_a %s, which %s", ontology->source_path, term->id,
                           parent_id, other ? "is obsolete" : "the file does not define");
              goto out;
            }
          parent = GPOINTER_TO_UINT (found);
          if (parent == i)
            {
              g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: is_a cycle: %s is_a itself",
                           ontology->source_path, term->id);
              goto out;
            }
          g_array_append_val (graph.parents[i], parent);
          g_array_append_val (graph.children[parent], i);
        }
    }

  /* Kahn's algorithm: parents before children; what it cannot order lies on or below a cycle. */
  remaining_parents = g_new0 (int, graph.n);
  order = g_new (guint, graph.n);
  roots = g_new (guint, graph.n);
  for (guint i = 0; i < graph.n; i++)
    {
      remaining_parents[i] = (int) graph.parents[i]->len;
      if (remaining_parents[i] == 0)
        {
          order[n_ordered++] = i;
          roots[n_roots++] = i;
        }
    }
  while (head < n_ordered)
    {
      guint node = order[head++];

      for (guint k = 0; k < graph.children[node]->len; k++)
        {
          guint child = g_array_index (graph.children[node], guint, k);

          if (--remaining_parents[child] == 0)
            order[n_ordered++] = child;
        }
    }
  if (n_ordered < graph.n)
    {
      set_cycle_error (ontology, &graph, remaining_parents, error);
      goto out;
    }

  /* Depth: to HP:0000118 inside the phenotypic-abnormality branch, to a root elsewhere. */
  depth_pa = g_new (int, graph.n);
  depth_root = g_new (int, graph.n);
  for (guint i = 0; i < graph.n; i++)
    depth_pa[i] = depth_root[i] = -1;
  bfs_depth (&graph, roots, n_roots, depth_root);
  if (g_hash_table_lookup_extended (index, PL_HPO_PHENOTYPIC_ABNORMALITY_ID, NULL, &found))
    {
      guint source = GPOINTER_TO_UINT (found);

      pa = (int) source;
      bfs_depth (&graph, &source, 1, depth_pa);
      for (guint k = 0; k < graph.children[source]->len; k++)
        g_array_append_val (systems, g_array_index (graph.children[source], guint, k));
    }
  ontology->n_phenotypic = 0;
  for (guint i = 0; i < graph.n; i++)
    {
      graph.term[i]->depth = depth_pa[i] >= 0 ? depth_pa[i] : depth_root[i];
      graph.term[i]->n_children = (int) graph.children[i]->len;
      if (depth_pa[i] > 0)
        ontology->n_phenotypic++;
    }

  /* Descendant counts: one DFS per term with a visit stamp; HPO's DAG keeps this to ~0.2M steps. */
  stamp = g_new0 (guint, graph.n);
  stack = g_new (guint, graph.n);
  for (guint i = 0; i < graph.n; i++)
    {
      guint top = 0;
      int count = 0;

      stack[top++] = i;
      stamp[i] = i + 1;
      while (top > 0)
        {
          guint node = stack[--top];

          for (guint k = 0; k < graph.children[node]->len; k++)
            {
              guint child = g_array_index (graph.children[node], guint, k);

              if (stamp[child] != i + 1)
                {
                  stamp[child] = i + 1;
                  stack[top++] = child;
                  count++;
                }
            }
        }
      graph.term[i]->n_descendants = count;
    }

  /* Top-level systems: a bit set per term, unioned down the topological order. */
  words = (systems->len + 63) / 64;
  if (words > 0)
    {
      system_bits = g_new0 (guint64, (gsize) graph.n * words);
      for (guint s = 0; s < systems->len; s++)
        {
          guint node = g_array_index (systems, guint, s);

          system_bits[(gsize) node * words + s / 64] |= G_GUINT64_CONSTANT (1) << (s % 64);
        }
      for (guint o = 0; o < graph.n; o++)
        {
          guint node = order[o];

          if ((int) node == pa)
            continue;
          for (guint k = 0; k < graph.parents[node]->len; k++)
            {
              guint parent = g_array_index (graph.parents[node], guint, k);

              for (guint w = 0; w < words; w++)
                system_bits[(gsize) node * words + w] |= system_bits[(gsize) parent * words + w];
            }
          for (guint s = 0; s < systems->len; s++)
            if (system_bits[(gsize) node * words + s / 64] & (G_GUINT64_CONSTANT (1) << (s % 64)))
              g_ptr_array_add (graph.term[node]->systems,
                               g_strdup (graph.term[g_array_index (systems, guint, s)]->id));
        }
    }
  ok = TRUE;

out:
  graph_clear (&graph);
  return ok;
}

PlOntology *
pl_ontology_load (const char   *path,
                  GCancellable *cancellable,
                  GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GInputStream) buffered = NULL;
  g_autoptr(PlOntology) ontology = NULL;
  const guint8 *peek;
  gsize peeked = 0;
  gssize filled;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  raw = g_memory_input_stream_new_from_data (contents, length, NULL);
  if (length >= 2 && (guint8) contents[0] == 0x1f && (guint8) contents[1] == 0x8b)
    {
      g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      GInputStream *converted = g_converter_input_stream_new (raw, G_CONVERTER (gunzip));

      g_object_unref (raw);
      raw = converted;
    }
  buffered = g_buffered_input_stream_new_sized (raw, 64 * 1024);
  filled = g_buffered_input_stream_fill (G_BUFFERED_INPUT_STREAM (buffered), 4096, cancellable, &local_error);
  if (filled < 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TRUNCATED, "%s: cannot decompress: %s", path, local_error->message);
      return NULL;
    }
  peek = g_buffered_input_stream_peek_buffer (G_BUFFERED_INPUT_STREAM (buffered), &peeked);
  while (peeked > 0 && g_ascii_isspace (*peek))
    peek++, peeked--;
  if (peeked == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: the file is empty", path);
      return NULL;
    }
  /* obographs is a JSON object; an OBO file starts with a tag or a [Stanza]. */
  if (*peek == '{')
    ontology = pl_obographs_parse (buffered, path, cancellable, error);
  else
    ontology = pl_obo_parse (buffered, path, cancellable, error);
  if (ontology == NULL)
    return NULL;
  ontology->source_sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
  if (!pl_ontology_finish (ontology, error))
    return NULL;
  return g_steal_pointer (&ontology);
}
