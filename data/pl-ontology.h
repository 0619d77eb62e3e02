/* pl-ontology.h: an HPO release held in memory between an importer and the snapshot writer, with the
 * checks (HPO terms present, parents defined, no is_a cycle) and the derived data (depth, descendant
 * counts, top-level systems) computed once per import. */
#pragma once

#include <gio/gio.h>

#include "data/pl-term.h"

G_BEGIN_DECLS

typedef enum {
  PL_ONTOLOGY_FORMAT_OBO,
  PL_ONTOLOGY_FORMAT_OBOGRAPHS,
} PlOntologyFormat;

typedef struct {
  PlOntologyFormat  format;
  char             *source_path;
  char             *source_sha256;
  char             *data_version;   /* "releases/2017-04-13" or the obographs version IRI; may be NULL */
  char             *version_date;   /* "2017-04-13" / "2023-01-27" when it can be read; may be NULL */
  GPtrArray        *terms;          /* PlTerm*, in file order, live and obsolete */
  GHashTable       *by_id;          /* id -> PlTerm* (borrowed) */
  int               n_live;
  int               n_phenotypic;   /* live descendants of HP:0000118 */
} PlOntology;

PlOntology *pl_ontology_new  (PlOntologyFormat format,
                              const char      *source_path);
void        pl_ontology_free (PlOntology *ontology);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlOntology, pl_ontology_free)

/* Adds TERM (taking it); FALSE with an error naming the file if its id was already defined. */
gboolean    pl_ontology_add_term (PlOntology *ontology,
                                  PlTerm     *term,
                                  GError    **error);

/* Checks the graph and computes depth, n_children, n_descendants and systems of every live term.
 * Errors: no HP: terms (not HPO), an is_a to an undefined term, an is_a cycle (its terms listed). */
gboolean    pl_ontology_finish (PlOntology *ontology,
                                GError    **error);

/* Reads PATH (gzip-compressed or not; OBO 1.4 or obographs JSON, told apart by content),
 * then pl_ontology_finish. */
PlOntology *pl_ontology_load (const char   *path,
                              GCancellable *cancellable,
                              GError      **error);

/* The two parsers behind pl_ontology_load; DISPLAY_PATH names the file in errors. */
PlOntology *pl_obo_parse        (GInputStream *stream,
                                 const char   *display_path,
                                 GCancellable *cancellable,
                                 GError      **error);
PlOntology *pl_obographs_parse  (GInputStream *stream,
                                 const char   *display_path,
                                 GCancellable *cancellable,
                                 GError      **error);

/* "2023-01-27" from ".../releases/2023-01-27/hp.json" or "releases/2017-04-13"; NULL if none. */
char       *pl_ontology_date_of_version  (const char *version);

const char *pl_ontology_format_to_string (PlOntologyFormat format);

G_END_DECLS
