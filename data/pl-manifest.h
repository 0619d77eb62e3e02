/* pl-manifest.h: a PhenoBench manifest (the authors' CSV, or JSON lines with HPO ids) read against a
 * snapshot: its pairs with resolved phenotypes, the benchmark's phenotype set with their organ
 * systems, and everything that could not be used, counted and listed. */
#pragma once

#include "data/pl-pairs.h"
#include "data/pl-snapshot.h"

G_BEGIN_DECLS

typedef struct {
  guint      line;         /* where the record starts in the manifest */
  char      *image;        /* as written */
  char      *image_path;   /* resolved against the manifest's folder */
  char      *caption;
  GArray    *phenotypes;   /* int: indices into PlManifest.phenotype_ids, distinct, first mention first */
} PlBenchPair;

/* Something the run could not use: a record, a name or an image. */
typedef struct {
  guint  line;      /* first line where it was seen */
  guint  count;     /* occurrences (names) */
  char  *subject;   /* the name, id or image as written; NULL for a malformed record */
  char  *problem;
} PlManifestIssue;

void pl_manifest_issue_free (PlManifestIssue *issue);

typedef struct {
  char          *path;
  char          *sha256;                /* of the manifest file */
  PlPairsFormat  format;
  GPtrArray     *pairs;                 /* PlBenchPair*: records with a readable image file */
  /* The benchmark's phenotype set: every phenotype some pair carries, sorted by id. */
  GPtrArray     *phenotype_ids;         /* char* */
  GPtrArray     *phenotype_labels;      /* char* */
  GPtrArray     *phenotype_systems;     /* GStrv: ids of the HP:0000118 children above each */
  GHashTable    *system_labels;         /* system id -> label */
  guint          n_records;
  guint          n_pairs_without_phenotypes;
  guint          n_unresolved;          /* occurrences of names/ids that matched no live term */
  GPtrArray     *unresolved;            /* PlManifestIssue*: each distinct name once */
  GPtrArray     *bad_records;           /* PlManifestIssue*: malformed records, left out */
  GPtrArray     *missing_images;        /* PlManifestIssue*: image files absent or unreadable, left out */
} PlManifest;

/* Reads PATH. Names are matched case-insensitively to labels and EXACT synonyms of live terms
 * (CSV), or resolved as ids, alt_ids included (JSON lines). Errors (unreadable file, not UTF-8, no
 * header with image_path, caption and full_matches, unterminated quoted field, wrong number of fields)
 * name the file and the line; problems within records are collected in the manifest instead. */
PlManifest *pl_manifest_load (const char  *path,
                              PlSnapshot  *snapshot,
                              GError     **error);
void        pl_manifest_free (PlManifest  *manifest);

/* Lines for people: "12 names matched no phenotype: 'Foo' (line 3, 2x), ..." etc; empty when clean. */
GPtrArray  *pl_manifest_describe_issues (const PlManifest *manifest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlManifest, pl_manifest_free)

G_END_DECLS
