/* pl-pairs.h: PhenoKG image-text pairs in a snapshot: importing them from a PhenoBench-style CSV or
 * from JSON lines with explicit HPO ids, and the example pairs of a term. */
#pragma once

#include "data/pl-snapshot.h"

G_BEGIN_DECLS

typedef struct {
  gint64  pair_id;
  char   *image_path;
  char   *caption;
  char   *source;        /* the file the pair was imported from (base name) */
  char   *matched_name;  /* the phenotype name that linked it to the term asked about, if any */
} PlPair;

void pl_pair_free (PlPair *pair);

/* What an import did; names or ids that matched no term are counted and exemplified, never dropped
 * silently. */
typedef struct {
  guint      n_rows;
  guint      n_pairs;
  guint      n_links;                /* (pair, term) rows written */
  guint      n_rows_without_terms;
  guint      n_unmatched;            /* occurrences of names/ids that matched no term */
  guint      n_distinct_unmatched;
  GPtrArray *unmatched_examples;     /* char*: up to PL_PAIRS_MAX_EXAMPLES distinct names, first seen first */
} PlPairsReport;

#define PL_PAIRS_MAX_EXAMPLES 10

void pl_pairs_report_free (PlPairsReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlPairsReport, pl_pairs_report_free)

/* Adds the pairs in PATH in one transaction (all or nothing). PATH is either
 * - CSV (RFC 4180) with a header naming image_path, caption and full_matches, where full_matches is
 *   a Python-literal list whose items' element 0 is a phenotype name, matched case-insensitively to
 *   labels and EXACT synonyms of live terms; or
 * - JSON lines {"image": ..., "caption": ..., "hpo_ids": ["HP:...", ...]} (alt_ids resolve).
 * Errors name the file and line. Fails on a read-only snapshot. */
PlPairsReport *pl_snapshot_import_pairs   (PlSnapshot   *snapshot,
                                           const char   *path,
                                           GCancellable *cancellable,
                                           GError      **error);

/* Up to LIMIT pairs linked to the term ID, oldest first (PlPair*). */
GPtrArray     *pl_snapshot_get_term_pairs (PlSnapshot *snapshot,
                                           const char *id,
                                           guint       limit,
                                           GError    **error);

/* The names (element 0 of each item) in a full_matches literal such as
 * "[('Retinal hemorrhage', 0, 18), ('Microaneurysm', 30, 43)]". Accepts lists, tuples, strings in
 * either quote style with backslash escapes, and integers; anything else is an error. */
GPtrArray     *pl_pairs_parse_full_matches (const char *literal,
                                            GError    **error);

G_END_DECLS
