/* pl-cli-kg.c: `phenolip kg SUBVERB`: import an HPO release into a snapshot, describe it, search it,
 * show a term and its paths, add PhenoKG pairs. Output for people by default, JSON with --json. */
#include "app/pl-cli-kg.h"

#include <stdio.h>
#include <string.h>

#include "app/pl-cli.h"
#include "data/pl-pairs.h"
#include "data/pl-search.h"
#include "model/pl-error.h"

#define DEFAULT_SEARCH_LIMIT 20

static PlSnapshot *
open_snapshot (const char *path)
{
  g_autoptr(GError) error = NULL;
  PlSnapshot *snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_DEFAULT, &error);

  if (snapshot == NULL)
    pl_cli_print_error (error);
  return snapshot;
}

static PlSnapshot *
open_snapshot_read_only (const char *path)
{
  g_autoptr(GError) error = NULL;
  PlSnapshot *snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_READ_ONLY, &error);

  if (snapshot == NULL)
    pl_cli_print_error (error);
  return snapshot;
}

static int
kg_import (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SOURCE -o SNAPSHOT - build a snapshot from an HPO release");
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "The snapshot file to write (replaced only on success)", "SNAPSHOT" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlSnapshotInfo) info = NULL;
  gint64 start = g_get_monotonic_time ();

  g_option_context_set_summary (context,
    "Reads hp.obo (OBO 1.4) or hp.json (obographs), optionally gzip-compressed, checks it (HP terms,\n"
    "defined parents, no is_a cycle) and writes a new snapshot. A failed import leaves SNAPSHOT as it was.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg import", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 2 || output == NULL)
    return pl_cli_usage_error ("kg import", "expected SOURCE and -o SNAPSHOT");
  if (!pl_snapshot_import (argv[1], output, NULL, &error))
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  if ((snapshot = open_snapshot_read_only (output)) == NULL || (info = pl_snapshot_get_info (snapshot, &error)) == NULL)
    {
      if (error != NULL)
        pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  printf ("%s: %d live terms (%d under HP:0000118), %d synonyms, %d is_a edges; HPO %s; %.2f s\n",
          output, info->n_live_terms, info->n_phenotypic, info->n_synonyms, info->n_is_a,
          info->version_date ? info->version_date : "(no version)", (g_get_monotonic_time () - start) / 1e6);
  return PL_EXIT_OK;
}

static int
kg_info (int    argc,
         char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT - describe a snapshot");
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlSnapshotInfo) info = NULL;
  g_autofree char *attribution = NULL;

  g_option_context_set_summary (context, "Shows the HPO release a snapshot holds, where it came from and its counts.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg info", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 2)
    return pl_cli_usage_error ("kg info", "expected one SNAPSHOT");
  if ((snapshot = open_snapshot_read_only (argv[1])) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((info = pl_snapshot_get_info (snapshot, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  attribution = pl_snapshot_info_attribution (info);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
#define STR(name, value) json_builder_set_member_name (b, name); \
      if (value) json_builder_add_string_value (b, value); else json_builder_add_null_value (b)
#define INT(name, value) json_builder_set_member_name (b, name); json_builder_add_int_value (b, value)
      STR ("snapshot", argv[1]);
      STR ("source", info->source_path);
      STR ("source_sha256", info->source_sha256);
      STR ("format", info->format);
      STR ("data_version", info->data_version);
      STR ("version", info->version_date);
      STR ("import_time", info->import_time);
      INT ("schema_version", info->schema_version);
      INT ("terms", info->n_terms);
      INT ("live_terms", info->n_live_terms);
      INT ("phenotypic_abnormality_terms", info->n_phenotypic);
      INT ("synonyms", info->n_synonyms);
      INT ("is_a_edges", info->n_is_a);
      INT ("alt_ids", info->n_alt_ids);
      INT ("pairs", info->n_pairs);
      STR ("attribution", attribution);
#undef STR
#undef INT
      json_builder_end_object (b);
      pl_cli_print_json_line (b);
      return PL_EXIT_OK;
    }
  printf ("Snapshot:        %s (schema %d)\n", argv[1], info->schema_version);
  printf ("Source:          %s (%s)\n", info->source_path, info->format);
  printf ("Source sha256:   %s\n", info->source_sha256);
  printf ("Data version:    %s\n", info->data_version ? info->data_version : "(none)");
  printf ("Imported:        %s\n", info->import_time);
  printf ("Terms:           %d live, %d obsolete; %d under HP:0000118 Phenotypic abnormality\n",
          info->n_live_terms, info->n_terms - info->n_live_terms, info->n_phenotypic);
  printf ("Synonyms:        %d\nis_a edges:      %d\nalt_ids:         %d\nPhenoKG pairs:   %d\n",
          info->n_synonyms, info->n_is_a, info->n_alt_ids, info->n_pairs);
  printf ("\n%s\n", attribution);
  return PL_EXIT_OK;
}

static int
kg_search (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT QUERY - find terms");
  int limit = DEFAULT_SEARCH_LIMIT;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "At most N hits (default 20)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per hit", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) hits = NULL;

  g_option_context_set_summary (context,
    "Searches ids (HP:0001250, 0001250, HP_0001250), labels and synonyms (exact and prefix) and the\n"
    "words of labels, synonyms and definitions, best first. The query is plain text: quotes, *, -, :\n"
    "and AND/OR/NOT/NEAR are searched as they are.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg search", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc < 3)
    return pl_cli_usage_error ("kg search", "expected SNAPSHOT and QUERY");
  if (limit <= 0)
    return pl_cli_usage_error ("kg search", "--limit must be positive");
  if ((snapshot = open_snapshot_read_only (argv[1])) == NULL)
    return PL_EXIT_INPUT_FAILED;
  {
    g_autofree char *query = g_strjoinv (" ", argv + 2);

    hits = pl_snapshot_search (snapshot, query, (guint) limit, &error);
  }
  if (hits == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  for (guint i = 0; i < hits->len; i++)
    {
      PlSearchHit *hit = g_ptr_array_index (hits, i);

      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, hit->id);
          json_builder_set_member_name (b, "label");
          json_builder_add_string_value (b, hit->label);
          json_builder_set_member_name (b, "match");
          json_builder_add_string_value (b, pl_search_match_to_string (hit->match));
          if (hit->matched_synonym != NULL)
            {
              json_builder_set_member_name (b, "synonym");
              json_builder_add_string_value (b, hit->matched_synonym);
            }
          json_builder_set_member_name (b, "descendants");
          json_builder_add_int_value (b, hit->n_descendants);
          json_builder_end_object (b);
          pl_cli_print_json_line (b);
        }
      else if (hit->matched_synonym != NULL)
        printf ("%s  %s  [%s: %s]\n", hit->id, hit->label, pl_search_match_to_string (hit->match), hit->matched_synonym);
      else
        printf ("%s  %s  [%s]\n", hit->id, hit->label, pl_search_match_to_string (hit->match));
    }
  return PL_EXIT_OK;
}

static void
add_string_array (JsonBuilder *b,
                  const char  *member,
                  GPtrArray   *values)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; i < values->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (values, i));
  json_builder_end_array (b);
}

static void
add_refs (JsonBuilder *b,
          const char  *member,
          GPtrArray   *refs)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; i < refs->len; i++)
    {
      PlTermRef *ref = g_ptr_array_index (refs, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, ref->id);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, ref->label);
      json_builder_set_member_name (b, "descendants");
      json_builder_add_int_value (b, ref->n_descendants);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
print_path (GPtrArray *path)
{
  for (guint k = 0; k < path->len; k++)
    {
      PlTermRef *ref = g_ptr_array_index (path, k);

      printf ("%s%s (%s)", k > 0 ? " > " : "", ref->label, ref->id);
    }
  printf ("\n");
}

static int
kg_show (int    argc,
         char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT HP:ID - show a term");
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlTerm) term = NULL;
  g_autoptr(GPtrArray) parents = NULL;
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  gboolean capped = FALSE;

  g_option_context_set_summary (context,
    "Shows a term's label, definition, synonyms, xrefs, parents, children, top-level systems, its\n"
    "shortest path to the root and example PhenoKG pairs. An alt_id shows the term that carries it.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg show", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 3)
    return pl_cli_usage_error ("kg show", "expected SNAPSHOT and HP:ID");
  if ((snapshot = open_snapshot_read_only (argv[1])) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((term = pl_snapshot_get_term (snapshot, argv[2], &error)) == NULL
      || (parents = pl_snapshot_get_parents (snapshot, term->id, &error)) == NULL
      || (children = pl_snapshot_get_children (snapshot, term->id, &error)) == NULL
      || (paths = pl_snapshot_get_paths (snapshot, term->id, 0, &capped, &error)) == NULL
      || (pairs = pl_snapshot_get_term_pairs (snapshot, term->id, 5, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, term->id);
      if (term->requested_id)
        {
          json_builder_set_member_name (b, "requested_id");
          json_builder_add_string_value (b, term->requested_id);
        }
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b, term->label);
      json_builder_set_member_name (b, "definition");
      if (term->definition) json_builder_add_string_value (b, term->definition); else json_builder_add_null_value (b);
      json_builder_set_member_name (b, "obsolete");
      json_builder_add_boolean_value (b, term->obsolete);
      if (term->replaced_by)
        {
          json_builder_set_member_name (b, "replaced_by");
          json_builder_add_string_value (b, term->replaced_by);
        }
      json_builder_set_member_name (b, "synonyms");
      json_builder_begin_array (b);
      for (guint i = 0; i < term->synonyms->len; i++)
        {
          PlSynonym *synonym = g_ptr_array_index (term->synonyms, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, synonym->text);
          json_builder_set_member_name (b, "scope");
          json_builder_add_string_value (b, pl_synonym_scope_to_string (synonym->scope));
          if (synonym->type)
            {
              json_builder_set_member_name (b, "type");
              json_builder_add_string_value (b, synonym->type);
            }
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      add_string_array (b, "xrefs", term->xrefs);
      add_string_array (b, "alt_ids", term->alt_ids);
      add_string_array (b, "systems", term->systems);
      json_builder_set_member_name (b, "depth");
      json_builder_add_int_value (b, term->depth);
      json_builder_set_member_name (b, "descendants");
      json_builder_add_int_value (b, term->n_descendants);
      add_refs (b, "parents", parents);
      add_refs (b, "children", children);
      json_builder_set_member_name (b, "paths");
      json_builder_begin_array (b);
      for (guint p = 0; p < paths->len; p++)
        {
          GPtrArray *path = g_ptr_array_index (paths, p);

          json_builder_begin_array (b);
          for (guint k = 0; k < path->len; k++)
            json_builder_add_string_value (b, ((PlTermRef *) g_ptr_array_index (path, k))->id);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "paths_capped");
      json_builder_add_boolean_value (b, capped);
      json_builder_end_object (b);
      pl_cli_print_json_line (b);
      return PL_EXIT_OK;
    }
  printf ("%s  %s%s\n", term->id, term->label, term->obsolete ? "  (obsolete)" : "");
  if (term->requested_id)
    printf ("  (%s is an alternative id of this term)\n", term->requested_id);
  if (term->replaced_by)
    printf ("  Replaced by: %s\n", term->replaced_by);
  for (guint i = 0; i < term->consider->len; i++)
    printf ("  Consider: %s\n", (char *) g_ptr_array_index (term->consider, i));
  if (term->definition)
    printf ("\n%s\n", term->definition);
  if (term->comment)
    printf ("\nComment: %s\n", term->comment);
  if (term->synonyms->len > 0)
    printf ("\nSynonyms:\n");
  for (guint i = 0; i < term->synonyms->len; i++)
    {
      PlSynonym *synonym = g_ptr_array_index (term->synonyms, i);

      printf ("  %s (%s%s%s)\n", synonym->text, pl_synonym_scope_to_string (synonym->scope),
              synonym->type ? ", " : "", synonym->type ? synonym->type : "");
    }
  if (term->xrefs->len > 0)
    {
      g_autofree char *xrefs = (g_ptr_array_add (term->xrefs, NULL), g_strjoinv (", ", (char **) term->xrefs->pdata));

      printf ("\nXrefs: %s\n", xrefs);
    }
  if (paths->len > 0)
    {
      printf ("\nPath (%u in all%s):\n  ", paths->len, capped ? ", capped" : "");
      print_path (g_ptr_array_index (paths, 0));
    }
  printf ("\nParents:\n");
  for (guint i = 0; i < parents->len; i++)
    printf ("  %s  %s\n", ((PlTermRef *) g_ptr_array_index (parents, i))->id, ((PlTermRef *) g_ptr_array_index (parents, i))->label);
  printf ("Children (%u; %d descendants):\n", children->len, term->n_descendants);
  for (guint i = 0; i < children->len; i++)
    {
      PlTermRef *ref = g_ptr_array_index (children, i);

      printf ("  %s  %s (%d)\n", ref->id, ref->label, ref->n_descendants);
    }
  if (pairs->len > 0)
    printf ("Example pairs:\n");
  for (guint i = 0; i < pairs->len; i++)
    {
      PlPair *pair = g_ptr_array_index (pairs, i);

      printf ("  %s  %s\n", pair->image_path, pair->caption);
    }
  return PL_EXIT_OK;
}

static int
kg_path (int    argc,
         char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT HP:ID - every path from the root to a term");
  int max = PL_SNAPSHOT_MAX_PATHS;
  GOptionEntry entries[] = {
    { "max", 0, 0, G_OPTION_ARG_INT, &max, "At most N paths (default 1000)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  gboolean capped = FALSE;

  g_option_context_set_summary (context, "Prints every is_a path from the ontology root to the term, shortest first.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "kg path", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 3)
    return pl_cli_usage_error ("kg path", "expected SNAPSHOT and HP:ID");
  if (max <= 0)
    return pl_cli_usage_error ("kg path", "--max must be positive");
  if ((snapshot = open_snapshot_read_only (argv[1])) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((paths = pl_snapshot_get_paths (snapshot, argv[2], (guint) max, &capped, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  for (guint p = 0; p < paths->len; p++)
    print_path (g_ptr_array_index (paths, p));
  if (capped)
    fprintf (stderr, "phenolip: only the first %d paths are shown (--max)\n", max);
  return PL_EXIT_OK;
}

static int
kg_import_pairs (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("SNAPSHOT FILE - add PhenoKG image-text pairs");
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlPairsReport) report = NULL;

  g_option_context_set_summary (context,
    "FILE is a PhenoBench-style CSV (image_path, caption, full_matches) whose phenotype names are\n"
    "matched to labels and EXACT synonyms ignoring case, or JSON lines {\"image\", \"caption\", \"hpo_ids\"}.\n"
    "Names that match no term are counted and listed. All rows are added, or none.");
  if (!pl_cli_parse (context, "kg import-pairs", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 3)
    return pl_cli_usage_error ("kg import-pairs", "expected SNAPSHOT and FILE");
  if ((snapshot = open_snapshot (argv[1])) == NULL)
    return PL_EXIT_INPUT_FAILED;
  if ((report = pl_snapshot_import_pairs (snapshot, argv[2], NULL, &error)) == NULL)
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  printf ("%s: %u rows, %u pairs added, %u term links; %u rows linked to no term\n",
          argv[2], report->n_rows, report->n_pairs, report->n_links, report->n_rows_without_terms);
  if (report->n_unmatched > 0)
    {
      printf ("%u names matched no term (%u distinct), e.g.:\n", report->n_unmatched, report->n_distinct_unmatched);
      for (guint i = 0; i < report->unmatched_examples->len; i++)
        printf ("  %s\n", (char *) g_ptr_array_index (report->unmatched_examples, i));
    }
  return PL_EXIT_OK;
}

static const PlCliVerb kg_verbs[] = {
  { "import", "Build a snapshot from hp.obo or hp.json (gzip allowed)", kg_import },
  { "info", "Describe a snapshot: HPO version, source, counts", kg_info },
  { "search", "Find terms by id, label, synonym or definition words", kg_search },
  { "show", "Show a term: definition, synonyms, parents, children, path", kg_show },
  { "path", "Every is_a path from the root to a term", kg_path },
  { "import-pairs", "Add PhenoKG image-text pairs from CSV or JSON lines", kg_import_pairs },
  { "embed", "Compute phenotype embeddings for a checkpoint (resumable)", pl_cli_kg_embed },
};

static void
print_kg_help (FILE *out)
{
  fprintf (out, "Usage: phenolip kg SUBVERB [OPTION...] ARGUMENTS\n\n"
                "Builds and queries PhenoKG snapshots of the Human Phenotype Ontology.\n\nSub-verbs:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (kg_verbs); i++)
    fprintf (out, "  %-13s %s\n", kg_verbs[i].name, kg_verbs[i].summary);
  fprintf (out, "\n'phenolip kg SUBVERB --help' describes a sub-verb.\n"
                "Exit status: 0 success; 1 a file could not be read or written; 2 usage error.\n");
}

int
pl_cli_kg (int    argc,
           char **argv)
{
  if (argc < 2)
    {
      print_kg_help (stderr);
      return PL_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_kg_help (stdout);
      return PL_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (kg_verbs); i++)
    if (strcmp (argv[1], kg_verbs[i].name) == 0)
      return kg_verbs[i].run (argc - 1, argv + 1);
  fprintf (stderr, "phenolip kg: unknown sub-verb '%s'\n\n", argv[1]);
  print_kg_help (stderr);
  return PL_EXIT_USAGE;
}
