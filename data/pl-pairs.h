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

/* ---- lower-level entry points, shared with PhenoBench manifests (data/pl-manifest.c) ---------- */

typedef enum {
  PL_PAIRS_FORMAT_CSV,
  PL_PAIRS_FORMAT_JSON_LINES,
} PlPairsFormat;

/* One record of a pairs file before any phenotype is resolved. Valid during the callback only. */
typedef struct {
  guint       line;        /* 1-based line where the record starts */
  const char *image_path;  /* as written; NULL when PROBLEM says the record has none */
  const char *caption;     /* NULL likewise */
  GPtrArray  *names;       /* char*: CSV phenotype names, or JSON lines hpo_ids; NULL when PROBLEM is set */
  const char *problem;     /* why the record is unusable ("full_matches: unterminated string at ..."), or NULL */
} PlPairsRow;

typedef gboolean (*PlPairsRowFunc) (const PlPairsRow *row,
                                    gpointer          user_data,
                                    GError          **error);

/* Calls FUNC for each record of DATA (LENGTH bytes, NUL-terminated at DATA[LENGTH]; the text of the
 * file PATH, which only names it in messages): JSON lines if the first non-blank character is '{',
 * otherwise CSV as described above. A record whose own content is malformed (bad full_matches
 * literal, a JSON line that is not the expected object) is handed over with PROBLEM set; errors in
 * the file's structure (not UTF-8, empty, header without the three columns, an unterminated quoted
 * field, a wrong number of fields) stop the reading with an error naming PATH and the line. FUNC
 * returning FALSE stops it too, with FUNC's error. */
gboolean       pl_pairs_read               (const char     *path,
                                            const char     *data,
                                            gsize           length,
                                            PlPairsFormat  *format,
                                            PlPairsRowFunc  func,
                                            gpointer        user_data,
                                            GError        **error);

/* Folded label or EXACT synonym of every live term -> term id (char* -> char*); labels win over
 * synonyms. Look names up with pl_phenotype_names_lookup (case-insensitive, surrounding spaces
 * ignored). */
GHashTable    *pl_snapshot_phenotype_names (PlSnapshot *snapshot,
                                            GError    **error);
const char    *pl_phenotype_names_lookup   (GHashTable *names,
                                            const char *name);

G_END_DECLS
