/* bench-kg.c: times the PhenoKG snapshot: import of an HPO release, search over 100 varied queries
 * (median, worst) beside a plain LIKE scan and a bare FTS5 query in the same run, and term,
 * children and path queries.  Usage: bench-kg [HP.JSON.GZ] [SNAPSHOT] */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/pl-search.h"

#define N_QUERIES 100
#define SEARCH_LIMIT 20

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct {
  double median_ms, worst_ms;
} Timing;

static Timing
summarize (double *ms,
           int     n)
{
  Timing t;

  qsort (ms, n, sizeof *ms, compare_doubles);
  t.median_ms = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  t.worst_ms = ms[n - 1];
  return t;
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* 100 queries from the snapshot itself: whole labels, prefixes, word pairs out of order, ids in
 * several forms, synonyms, definition words, and hostile strings. */
static GPtrArray *
make_queries (sqlite3 *db)
{
  GPtrArray *queries = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *statement;
  const char *hostile[] = { "\"", "seiz*", "NEAR(retina", "-skin AND", "label:eye", "((heart", "'; DROP TABLE terms" };
  int k = 0;

  sqlite3_prepare_v2 (db, "SELECT t.id, t.label, (SELECT synonym FROM synonyms s WHERE s.term_id = t.id LIMIT 1),"
                      " t.definition FROM terms t WHERE t.obsolete = 0 AND t.num % 97 = 0 ORDER BY t.num LIMIT 93",
                      -1, &statement, NULL);
  while (sqlite3_step (statement) == SQLITE_ROW && queries->len < N_QUERIES - G_N_ELEMENTS (hostile))
    {
      const char *id = (const char *) sqlite3_column_text (statement, 0);
      const char *label = (const char *) sqlite3_column_text (statement, 1);
      const char *synonym = (const char *) sqlite3_column_text (statement, 2);
      const char *definition = (const char *) sqlite3_column_text (statement, 3);
      g_auto(GStrv) words = g_strsplit (label, " ", -1);
      guint n_words = g_strv_length (words);

      switch (k++ % 7)
        {
        case 0: g_ptr_array_add (queries, g_strdup (label)); break;
        case 1: g_ptr_array_add (queries, g_strndup (label, MIN (strlen (label), 5))); break;
        case 2: g_ptr_array_add (queries, n_words > 1 ? g_strdup_printf ("%s %s", words[n_words - 1], words[0])
                                                      : g_strdup (label)); break;
        case 3: g_ptr_array_add (queries, g_strdup (id + 3)); break;
        case 4: g_ptr_array_add (queries, g_strdup (synonym ? synonym : label)); break;
        case 5:
          {
            g_auto(GStrv) def_words = g_strsplit (definition ? definition : label, " ", 4);

            g_ptr_array_add (queries, g_strdup (def_words[g_strv_length (def_words) > 2 ? 2 : 0]));
          }
          break;
        default: g_ptr_array_add (queries, g_ascii_strdown (words[0], -1)); break;
        }
    }
  sqlite3_finalize (statement);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    g_ptr_array_add (queries, g_strdup (hostile[i]));
  return queries;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *default_source = g_build_filename (g_getenv ("PL_SHARED_DATA_DIR") ? g_getenv ("PL_SHARED_DATA_DIR")
                                                      : "../shared/data", "hpo", "hp-2023-01-27.json.gz", NULL);
  const char *source = argc > 1 ? argv[1] : default_source;
  g_autofree char *tmp = g_dir_make_tmp ("bench-kg-XXXXXX", NULL);
  g_autofree char *target = argc > 2 ? g_strdup (argv[2]) : g_build_filename (tmp, "bench.phenokg", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) queries = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *like = NULL, *fts = NULL;
  double import_ms, t0, ours[N_QUERIES], like_ms[N_QUERIES], fts_ms[N_QUERIES];
  double term_ms[N_QUERIES], children_ms[N_QUERIES], paths_ms[N_QUERIES];
  Timing s_ours, s_like, s_fts, s_term, s_children, s_paths;
  int n;

  t0 = now_ms ();
  if (!pl_snapshot_import (source, target, NULL, &error))
    {
      fprintf (stderr, "bench-kg: %s\n", error->message);
      return 1;
    }
  import_ms = now_ms () - t0;
  snapshot = pl_snapshot_open (target, PL_SNAPSHOT_OPEN_READ_ONLY, &error);
  sqlite3_open_v2 (target, &db, SQLITE_OPEN_READONLY, NULL);
  queries = make_queries (db);
  n = (int) MIN (queries->len, N_QUERIES);
  sqlite3_prepare_v2 (db, "SELECT id FROM terms WHERE obsolete = 0 AND (label LIKE '%' || ?1 || '%'"
                      " OR definition LIKE '%' || ?1 || '%') LIMIT 20", -1, &like, NULL);
  sqlite3_prepare_v2 (db, "SELECT rowid FROM term_text WHERE term_text MATCH ?1 ORDER BY rank LIMIT 20", -1, &fts, NULL);

  for (int i = 0; i < n; i++)
    {
      const char *query = g_ptr_array_index (queries, i);
      g_auto(GStrv) words = pl_search_split_words (query);
      g_autoptr(GString) fts_query = g_string_new (NULL);
      g_autoptr(GPtrArray) hits = NULL;

      t0 = now_ms ();
      hits = pl_snapshot_search (snapshot, query, SEARCH_LIMIT, &error);
      ours[i] = now_ms () - t0;
      if (hits == NULL)
        {
          fprintf (stderr, "bench-kg: search '%s': %s\n", query, error->message);
          return 1;
        }

      t0 = now_ms ();
      sqlite3_bind_text (like, 1, query, -1, SQLITE_STATIC);
      while (sqlite3_step (like) == SQLITE_ROW)
        ;
      sqlite3_reset (like);
      like_ms[i] = now_ms () - t0;

      for (guint w = 0; words[w] != NULL; w++)
        g_string_append_printf (fts_query, "%s\"%s\"*", w ? " " : "", words[w]);
      t0 = now_ms ();
      if (fts_query->len > 0)
        {
          sqlite3_bind_text (fts, 1, fts_query->str, -1, SQLITE_STATIC);
          while (sqlite3_step (fts) == SQLITE_ROW)
            ;
          sqlite3_reset (fts);
        }
      fts_ms[i] = now_ms () - t0;

      {
        const char *id = hits->len > 0 ? ((PlSearchHit *) g_ptr_array_index (hits, 0))->id : "HP:0000118";
        g_autoptr(PlTerm) term = NULL;
        g_autoptr(GPtrArray) children = NULL;
        g_autoptr(GPtrArray) paths = NULL;

        t0 = now_ms ();
        term = pl_snapshot_get_term (snapshot, id, NULL);
        term_ms[i] = now_ms () - t0;
        t0 = now_ms ();
        children = pl_snapshot_get_children (snapshot, id, NULL);
        children_ms[i] = now_ms () - t0;
        t0 = now_ms ();
        paths = pl_snapshot_get_paths (snapshot, id, 0, NULL, NULL);
        paths_ms[i] = now_ms () - t0;
      }
    }
  s_ours = summarize (ours, n);
  s_like = summarize (like_ms, n);
  s_fts = summarize (fts_ms, n);
  s_term = summarize (term_ms, n);
  s_children = summarize (children_ms, n);
  s_paths = summarize (paths_ms, n);

  printf ("PhenoKG snapshot benchmark (%s, %d queries)\n", source, n);
  printf ("%-34s %10s %10s\n", "", "median ms", "worst ms");
  printf ("%-34s %10.1f %10s   (target < 5000 ms)\n", "import (parse, check, write)", import_ms, "");
  printf ("%-34s %10.3f %10.3f   (target median < 5 ms)\n", "search, ranked tiers (ours)", s_ours.median_ms, s_ours.worst_ms);
  printf ("%-34s %10.3f %10.3f   ours/LIKE median %.2fx\n", "reference: LIKE scan label+def", s_like.median_ms,
          s_like.worst_ms, s_ours.median_ms / s_like.median_ms);
  printf ("%-34s %10.3f %10.3f   ours/FTS median %.2fx\n", "reference: bare FTS5 MATCH+rank", s_fts.median_ms,
          s_fts.worst_ms, s_ours.median_ms / MAX (s_fts.median_ms, 1e-6));
  printf ("%-34s %10.3f %10.3f\n", "term by id (all fields)", s_term.median_ms, s_term.worst_ms);
  printf ("%-34s %10.3f %10.3f\n", "children with counts", s_children.median_ms, s_children.worst_ms);
  printf ("%-34s %10.3f %10.3f\n", "all paths to the root", s_paths.median_ms, s_paths.worst_ms);

  sqlite3_finalize (like);
  sqlite3_finalize (fts);
  sqlite3_close (db);
  g_clear_pointer (&snapshot, pl_snapshot_free);
  if (argc <= 2)
    g_unlink (target);
  g_rmdir (tmp);
  return 0;
}
