/* pl-snapshot-queries.c: the ontology queries on a snapshot: a term, its neighbours, ancestors,
 * every path to the root, and a paged subtree. */
#include "data/pl-snapshot-private.h"

#include <string.h>

#include "model/pl-error.h"

#define TERM_REF_COLUMNS "t.id, t.label, t.depth, t.n_children, t.n_descendants"

static const char *
column_text (sqlite3_stmt *statement,
             int           column)
{
  return (const char *) sqlite3_column_text (statement, column);
}

static PlTermRef *
read_term_ref (sqlite3_stmt *statement)
{
  PlTermRef *ref = pl_term_ref_new (column_text (statement, 0), column_text (statement, 1));

  ref->depth = sqlite3_column_int (statement, 2);
  ref->n_children = sqlite3_column_int (statement, 3);
  ref->n_descendants = sqlite3_column_int (statement, 4);
  return ref;
}

/* Runs STATEMENT (bound) to the end, collecting TERM_REF_COLUMNS rows. */
static GPtrArray *
collect_refs (PlSnapshot   *snapshot,
              sqlite3_stmt *statement,
              GError      **error)
{
  g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_term_ref_free);
  int rc;

  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (refs, read_term_ref (statement));
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return NULL;
    }
  return g_steal_pointer (&refs);
}

/* The id of the live or obsolete term that ID (any accepted form, or an alt_id) names. */
static char *
resolve_id (PlSnapshot *snapshot,
            const char *id,
            gboolean   *was_alt_id,
            GError    **error)
{
  g_autofree char *normalized = pl_term_id_normalize (id);
  sqlite3_stmt *statement;

  if (was_alt_id != NULL)
    *was_alt_id = FALSE;
  if (normalized == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID, "'%s' is not an HPO term id (expected HP:0000000)", id);
      return NULL;
    }
  statement = pl_snapshot_statement (snapshot, "SELECT 1 FROM terms WHERE id = ?", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, normalized, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) == SQLITE_ROW)
    return g_steal_pointer (&normalized);
  statement = pl_snapshot_statement (snapshot, "SELECT term_id FROM alt_ids WHERE alt_id = ?", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, normalized, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (statement) == SQLITE_ROW)
    {
      if (was_alt_id != NULL)
        *was_alt_id = TRUE;
      return g_strdup (column_text (statement, 0));
    }
  g_set_error (error, PL_ERROR, PL_ERROR_INVALID, "%s: no term %s in this snapshot", snapshot->path, normalized);
  return NULL;
}

static gboolean
collect_strings (PlSnapshot *snapshot,
                 const char *sql,
                 const char *id,
                 GPtrArray  *into,
                 GError    **error)
{
  sqlite3_stmt *statement = pl_snapshot_statement (snapshot, sql, error);
  int rc;

  if (statement == NULL)
    return FALSE;
  sqlite3_bind_text (statement, 1, id, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (into, g_strdup (column_text (statement, 0)));
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return FALSE;
    }
  return TRUE;
}

PlTerm *
pl_snapshot_get_term (PlSnapshot *snapshot,
                      const char *id,
                      GError    **error)
{
  gboolean was_alt_id = FALSE;
  g_autofree char *term_id = resolve_id (snapshot, id, &was_alt_id, error);
  g_autoptr(PlTerm) term = NULL;
  sqlite3_stmt *statement;
  int rc;

  if (term_id == NULL)
    return NULL;
  statement = pl_snapshot_statement (snapshot,
                                     "SELECT label, definition, comment, obsolete, replaced_by, depth, n_children,"
                                     " n_descendants FROM terms WHERE id = ?", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, term_id, -1, SQLITE_STATIC);
  if (sqlite3_step (statement) != SQLITE_ROW)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return NULL;
    }
  term = pl_term_new (term_id);
  term->label = g_strdup (column_text (statement, 0));
  term->definition = g_strdup (column_text (statement, 1));
  term->comment = g_strdup (column_text (statement, 2));
  term->obsolete = sqlite3_column_int (statement, 3) != 0;
  term->replaced_by = g_strdup (column_text (statement, 4));
  term->depth = sqlite3_column_int (statement, 5);
  term->n_children = sqlite3_column_int (statement, 6);
  term->n_descendants = sqlite3_column_int (statement, 7);
  sqlite3_reset (statement);
  if (was_alt_id)
    term->requested_id = pl_term_id_normalize (id);

  statement = pl_snapshot_statement (snapshot,
                                     "SELECT synonym, scope, type FROM synonyms WHERE term_id = ? ORDER BY position",
                                     error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, term_id, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (statement)) == SQLITE_ROW)
    {
      PlSynonymScope scope = PL_SYNONYM_RELATED;

      pl_synonym_scope_from_string (column_text (statement, 1), &scope);
      g_ptr_array_add (term->synonyms, pl_synonym_new (column_text (statement, 0), scope, column_text (statement, 2)));
    }
  sqlite3_reset (statement);
  if (rc != SQLITE_DONE
      || !collect_strings (snapshot, "SELECT xref FROM xrefs WHERE term_id = ? ORDER BY xref", term_id, term->xrefs, error)
      || !collect_strings (snapshot, "SELECT xref FROM definition_xrefs WHERE term_id = ? ORDER BY xref", term_id,
                           term->definition_xrefs, error)
      || !collect_strings (snapshot, "SELECT alt_id FROM alt_ids WHERE term_id = ? ORDER BY alt_id", term_id,
                           term->alt_ids, error)
      || !collect_strings (snapshot, "SELECT consider_id FROM consider WHERE term_id = ? ORDER BY consider_id",
                           term_id, term->consider, error)
      || !collect_strings (snapshot, "SELECT parent FROM is_a WHERE child = ? ORDER BY parent", term_id,
                           term->parents, error)
      || !collect_strings (snapshot, "SELECT system_id FROM term_systems WHERE term_id = ? ORDER BY system_id",
                           term_id, term->systems, error))
    {
      if (error != NULL && *error == NULL)
        pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return NULL;
    }
  return g_steal_pointer (&term);
}

static GPtrArray *
refs_for_id (PlSnapshot *snapshot,
             const char *sql,
             const char *id,
             GError    **error)
{
  g_autofree char *term_id = resolve_id (snapshot, id, NULL, error);
  sqlite3_stmt *statement;

  if (term_id == NULL)
    return NULL;
  statement = pl_snapshot_statement (snapshot, sql, error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, term_id, -1, SQLITE_TRANSIENT);
  return collect_refs (snapshot, statement, error);
}

GPtrArray *
pl_snapshot_get_roots (PlSnapshot *snapshot,
                       GError    **error)
{
  sqlite3_stmt *statement = pl_snapshot_statement (snapshot,
    "SELECT " TERM_REF_COLUMNS " FROM terms t WHERE t.obsolete = 0"
    " AND NOT EXISTS (SELECT 1 FROM is_a WHERE child = t.id) ORDER BY t.label", error);

  return statement ? collect_refs (snapshot, statement, error) : NULL;
}

GPtrArray *
pl_snapshot_get_parents (PlSnapshot *snapshot,
                         const char *id,
                         GError    **error)
{
  return refs_for_id (snapshot,
                      "SELECT " TERM_REF_COLUMNS " FROM is_a JOIN terms t ON t.id = is_a.parent"
                      " WHERE is_a.child = ? ORDER BY t.label", id, error);
}

GPtrArray *
pl_snapshot_get_children (PlSnapshot *snapshot,
                          const char *id,
                          GError    **error)
{
  return refs_for_id (snapshot,
                      "SELECT " TERM_REF_COLUMNS " FROM is_a JOIN terms t ON t.id = is_a.child"
                      " WHERE is_a.parent = ? ORDER BY t.label", id, error);
}

#define ANCESTORS_CTE \
  "WITH RECURSIVE ancestors (id) AS (SELECT ?1 UNION" \
  " SELECT is_a.parent FROM is_a JOIN ancestors ON is_a.child = ancestors.id) "

GPtrArray *
pl_snapshot_get_ancestors (PlSnapshot *snapshot,
                           const char *id,
                           GError    **error)
{
  return refs_for_id (snapshot,
                      ANCESTORS_CTE "SELECT " TERM_REF_COLUMNS " FROM ancestors JOIN terms t ON t.id = ancestors.id"
                      " WHERE t.id <> ?1 ORDER BY t.depth, t.id", id, error);
}

GPtrArray *
pl_snapshot_list_subtree (PlSnapshot *snapshot,
                          const char *id,
                          guint       offset,
                          guint       limit,
                          guint      *total,
                          GError    **error)
{
  g_autofree char *term_id = resolve_id (snapshot, id, NULL, error);
  sqlite3_stmt *statement;

#define DESCENDANTS_CTE \
  "WITH RECURSIVE descendants (id) AS (SELECT ?1 UNION" \
  " SELECT is_a.child FROM is_a JOIN descendants ON is_a.parent = descendants.id) "

  if (term_id == NULL)
    return NULL;
  if (total != NULL)
    {
      statement = pl_snapshot_statement (snapshot, "SELECT n_descendants FROM terms WHERE id = ?", error);
      if (statement == NULL)
        return NULL;
      sqlite3_bind_text (statement, 1, term_id, -1, SQLITE_TRANSIENT);
      *total = sqlite3_step (statement) == SQLITE_ROW ? (guint) sqlite3_column_int (statement, 0) : 0;
    }
  statement = pl_snapshot_statement (snapshot,
                                     DESCENDANTS_CTE "SELECT " TERM_REF_COLUMNS
                                     " FROM descendants JOIN terms t ON t.id = descendants.id WHERE t.id <> ?1"
                                     " ORDER BY t.depth, t.label, t.id LIMIT ?2 OFFSET ?3", error);
  if (statement == NULL)
    return NULL;
  sqlite3_bind_text (statement, 1, term_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (statement, 2, limit);
  sqlite3_bind_int64 (statement, 3, offset);
  return collect_refs (snapshot, statement, error);
}

/* Paths to the root ------------------------------------------------------------------------------ */

/* An is_a graph held in memory: the ancestor subgraph of one term (pl_snapshot_get_paths, a few
 * dozen nodes) or the whole ontology (pl_snapshot_load_graph). Each node's parents are in id order,
 * as SQLite's ORDER BY gives them, so both enumerate paths in the same order. */
struct _PlTermGraph {
  GPtrArray  *nodes;         /* PlTermRef* */
  GHashTable *index;         /* id (the node's own string) -> index + 1 */
  GArray     *parents;       /* guint node indices, grouped by child */
  guint      *parent_start;  /* [nodes->len + 1]: node i's parents are parents[start[i], start[i + 1]) */
};

void
pl_term_graph_free (PlTermGraph *graph)
{
  if (graph == NULL)
    return;
  g_clear_pointer (&graph->index, g_hash_table_unref);
  g_clear_pointer (&graph->nodes, g_ptr_array_unref);
  g_clear_pointer (&graph->parents, g_array_unref);
  g_free (graph->parent_start);
  g_free (graph);
}

guint
pl_term_graph_get_n_terms (PlTermGraph *graph)
{
  return graph->nodes->len;
}

/* The graph of the terms STATEMENT lists (TERM_REF_COLUMNS) and the (child, parent) rows of
 * EDGES, ordered by child then parent; edges to or from a term that is not listed are left out.
 * Both statements are bound and are run to the end. */
static PlTermGraph *
term_graph_new (PlSnapshot   *snapshot,
                sqlite3_stmt *terms,
                sqlite3_stmt *edges,
                GError      **error)
{
  g_autoptr(PlTermGraph) graph = g_new0 (PlTermGraph, 1);
  g_autoptr(GArray) edge_children = g_array_new (FALSE, FALSE, sizeof (guint));
  gpointer found;
  int rc;

  if ((graph->nodes = collect_refs (snapshot, terms, error)) == NULL)
    return NULL;
  graph->index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      PlTermRef *ref = g_ptr_array_index (graph->nodes, i);

      g_hash_table_insert (graph->index, ref->id, GUINT_TO_POINTER (i + 1));
    }
  graph->parents = g_array_new (FALSE, FALSE, sizeof (guint));
  while ((rc = sqlite3_step (edges)) == SQLITE_ROW)
    {
      guint child, parent;

      if (!g_hash_table_lookup_extended (graph->index, column_text (edges, 0), NULL, &found))
        continue;
      child = GPOINTER_TO_UINT (found) - 1;
      if (!g_hash_table_lookup_extended (graph->index, column_text (edges, 1), NULL, &found))
        continue;
      parent = GPOINTER_TO_UINT (found) - 1;
      g_array_append_val (edge_children, child);
      g_array_append_val (graph->parents, parent);
    }
  if (rc != SQLITE_DONE)
    {
      pl_snapshot_set_sqlite_error (snapshot, "query failed", error);
      return NULL;
    }
  /* Group the parents by child (a counting sort, stable: each child keeps its parents' order). */
  {
    guint n = graph->nodes->len;
    g_autofree guint *fill = g_new0 (guint, n + 1);
    g_autoptr(GArray) grouped = g_array_sized_new (FALSE, FALSE, sizeof (guint), graph->parents->len);

    graph->parent_start = g_new0 (guint, n + 1);
    for (guint e = 0; e < edge_children->len; e++)
      graph->parent_start[g_array_index (edge_children, guint, e) + 1]++;
    for (guint i = 0; i < n; i++)
      graph->parent_start[i + 1] += graph->parent_start[i];
    memcpy (fill, graph->parent_start, (n + 1) * sizeof (guint));
    g_array_set_size (grouped, graph->parents->len);
    for (guint e = 0; e < edge_children->len; e++)
      g_array_index (grouped, guint, fill[g_array_index (edge_children, guint, e)]++)
        = g_array_index (graph->parents, guint, e);
    g_array_unref (graph->parents);
    graph->parents = g_steal_pointer (&grouped);
  }
  return g_steal_pointer (&graph);
}

PlTermGraph *
pl_snapshot_load_graph (PlSnapshot *snapshot,
                        GError    **error)
{
  sqlite3_stmt *terms, *edges;

  terms = pl_snapshot_statement (snapshot, "SELECT " TERM_REF_COLUMNS " FROM terms t", error);
  if (terms == NULL)
    return NULL;
  edges = pl_snapshot_statement (snapshot, "SELECT child, parent FROM is_a ORDER BY child, parent", error);
  if (edges == NULL)
    return NULL;
  return term_graph_new (snapshot, terms, edges, error);
}

typedef struct {
  PlTermGraph *graph;
  GPtrArray   *paths;      /* GArray* of guint, term first */
  guint        budget;
  gboolean     capped;
} PathWalk;

static void
walk_up (PathWalk *walk,
         GArray   *path)
{
  const PlTermGraph *graph = walk->graph;
  guint node = g_array_index (path, guint, path->len - 1);
  guint first = graph->parent_start[node], end = graph->parent_start[node + 1];

  if (walk->paths->len >= walk->budget)
    {
      walk->capped = TRUE;
      return;
    }
  if (first == end)
    {
      GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (guint), path->len);

      g_array_append_vals (copy, path->data, path->len);
      g_ptr_array_add (walk->paths, copy);
      return;
    }
  for (guint k = first; k < end; k++)
    {
      guint parent = g_array_index (graph->parents, guint, k);
      gboolean on_path = FALSE;

      /* The importer refuses is_a cycles, but a snapshot is a file anyone can edit: a parent
       * already on the path is not followed (that way lies no root, and no end). */
      for (guint p = 0; p < path->len && !on_path; p++)
        on_path = g_array_index (path, guint, p) == parent;
      if (on_path)
        continue;
      g_array_append_val (path, parent);
      walk_up (walk, path);
      g_array_set_size (path, path->len - 1);
    }
}

static int
compare_paths (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  const PlTermGraph *graph = user_data;
  GArray *pa = *(GArray *const *) a;
  GArray *pb = *(GArray *const *) b;

  if (pa->len != pb->len)
    return pa->len < pb->len ? -1 : 1;
  /* Ties by the ids from the root down. */
  for (guint k = 0; k < pa->len; k++)
    {
      PlTermRef *ra = g_ptr_array_index (graph->nodes, g_array_index (pa, guint, pa->len - 1 - k));
      PlTermRef *rb = g_ptr_array_index (graph->nodes, g_array_index (pb, guint, pb->len - 1 - k));
      int c = strcmp (ra->id, rb->id);

      if (c != 0)
        return c;
    }
  return 0;
}

static PlTermRef *
copy_ref (const PlTermRef *ref)
{
  PlTermRef *copy = pl_term_ref_new (ref->id, ref->label);

  copy->depth = ref->depth;
  copy->n_children = ref->n_children;
  copy->n_descendants = ref->n_descendants;
  return copy;
}

/* Enumerates a generous multiple of the cap, then keeps the shortest. */
static GPtrArray *
term_graph_paths (PlTermGraph *graph,
                  guint        term_index,
                  guint        max_paths,
                  gboolean    *capped)
{
  g_autoptr(GArray) start = g_array_new (FALSE, FALSE, sizeof (guint));
  PathWalk walk = { .graph = graph };
  GPtrArray *result;

  if (max_paths == 0)
    max_paths = PL_SNAPSHOT_MAX_PATHS;
  walk.paths = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  walk.budget = max_paths > G_MAXUINT / 16 ? G_MAXUINT : max_paths * 16;
  g_array_append_val (start, term_index);
  walk_up (&walk, start);
  g_ptr_array_sort_with_data (walk.paths, compare_paths, graph);

  result = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint p = 0; p < walk.paths->len && p < max_paths; p++)
    {
      GArray *path = g_ptr_array_index (walk.paths, p);
      GPtrArray *refs = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_term_ref_free);

      for (guint k = path->len; k > 0; k--)
        g_ptr_array_add (refs, copy_ref (g_ptr_array_index (graph->nodes, g_array_index (path, guint, k - 1))));
      g_ptr_array_add (result, refs);
    }
  if (capped != NULL)
    *capped = walk.capped || walk.paths->len > max_paths;
  g_ptr_array_unref (walk.paths);
  return result;
}

GPtrArray *
pl_term_graph_get_paths (PlTermGraph *graph,
                         const char  *term_id,
                         guint        max_paths,
                         gboolean    *capped)
{
  gpointer found;

  if (capped != NULL)
    *capped = FALSE;
  if (!g_hash_table_lookup_extended (graph->index, term_id, NULL, &found))
    return NULL;
  return term_graph_paths (graph, GPOINTER_TO_UINT (found) - 1, max_paths, capped);
}

GPtrArray *
pl_snapshot_get_paths (PlSnapshot *snapshot,
                       const char *id,
                       guint       max_paths,
                       gboolean   *capped,
                       GError    **error)
{
  g_autofree char *term_id = resolve_id (snapshot, id, NULL, error);
  g_autoptr(PlTermGraph) graph = NULL;
  sqlite3_stmt *terms, *edges;

  if (capped != NULL)
    *capped = FALSE;
  if (term_id == NULL)
    return NULL;
  /* The ancestor subgraph only: two statements (cached), not one per step up. */
  terms = pl_snapshot_statement (snapshot,
                                 ANCESTORS_CTE "SELECT " TERM_REF_COLUMNS
                                 " FROM ancestors JOIN terms t ON t.id = ancestors.id", error);
  if (terms == NULL)
    return NULL;
  sqlite3_bind_text (terms, 1, term_id, -1, SQLITE_TRANSIENT);
  edges = pl_snapshot_statement (snapshot,
                                 ANCESTORS_CTE "SELECT is_a.child, is_a.parent FROM is_a"
                                 " WHERE is_a.child IN ancestors ORDER BY is_a.child, is_a.parent", error);
  if (edges == NULL)
    return NULL;
  sqlite3_bind_text (edges, 1, term_id, -1, SQLITE_TRANSIENT);
  if ((graph = term_graph_new (snapshot, terms, edges, error)) == NULL)
    return NULL;
  return pl_term_graph_get_paths (graph, term_id, max_paths, capped);
}
