/* pl-term.h: one HPO term as the importers read it and the snapshot queries return it, and the
 * small records (synonyms, tree nodes, search hits) that the snapshot API hands out. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The HPO root and the root of the phenotypic-abnormality branch. */
#define PL_HPO_ROOT_ID                  "HP:0000001"
#define PL_HPO_PHENOTYPIC_ABNORMALITY_ID "HP:0000118"

typedef enum {
  PL_SYNONYM_EXACT,
  PL_SYNONYM_BROAD,
  PL_SYNONYM_NARROW,
  PL_SYNONYM_RELATED,
} PlSynonymScope;

const char *pl_synonym_scope_to_string   (PlSynonymScope scope);
gboolean    pl_synonym_scope_from_string (const char     *text,
                                          PlSynonymScope *scope);

typedef struct {
  char           *text;
  PlSynonymScope  scope;
  char           *type;   /* e.g. "layperson", "plural_form"; NULL when none */
} PlSynonym;

PlSynonym *pl_synonym_new  (const char     *text,
                            PlSynonymScope  scope,
                            const char     *type);
void       pl_synonym_free (PlSynonym *synonym);

typedef struct {
  char      *id;               /* "HP:0001250" */
  char      *label;
  char      *definition;       /* NULL when none */
  char      *comment;          /* NULL when none */
  gboolean   obsolete;
  char      *replaced_by;      /* NULL when none */
  GPtrArray *consider;         /* char*: ids suggested for an obsolete term */
  GPtrArray *synonyms;         /* PlSynonym* */
  GPtrArray *xrefs;            /* char* */
  GPtrArray *definition_xrefs; /* char* */
  GPtrArray *alt_ids;          /* char* */
  GPtrArray *parents;          /* char*: is_a targets */
  GPtrArray *systems;          /* char*: children of HP:0000118 above (or equal to) the term */
  /* Shortest number of is_a steps to HP:0000118 for terms under it (its children have depth 1),
   * otherwise to the ontology root (depth 0); -1 for obsolete terms. */
  int        depth;
  int        n_descendants;    /* distinct transitive is_a descendants, the term itself not counted */
  int        n_children;
  /* Set by pl_snapshot_get_term when the id asked for was an alt_id of this term. */
  char      *requested_id;
} PlTerm;

PlTerm *pl_term_new  (const char *id);
void    pl_term_free (PlTerm *term);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTerm, pl_term_free)

/* A term as a node of a list or tree: enough to draw a row and decide whether it can expand. */
typedef struct {
  char *id;
  char *label;
  int   depth;
  int   n_children;
  int   n_descendants;
} PlTermRef;

PlTermRef *pl_term_ref_new  (const char *id,
                             const char *label);
void       pl_term_ref_free (PlTermRef *ref);

/* Normalises "HP:0001250", "hp:0001250", "HP_0001250", the obographs IRI and a bare "0001250"
 * (exactly seven digits, surrounding spaces ignored) to "HP:0001250"; NULL if TEXT is not an id. */
char *pl_term_id_normalize (const char *text);

G_END_DECLS
