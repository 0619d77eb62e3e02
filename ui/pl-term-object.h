/* pl-term-object.h: one ontology term as a list item (tree rows, search results, children lists). */
#pragma once

#include <gio/gio.h>

#include "data/pl-search.h"
#include "data/pl-term.h"

G_BEGIN_DECLS

#define PL_TYPE_TERM_OBJECT (pl_term_object_get_type ())
G_DECLARE_FINAL_TYPE (PlTermObject, pl_term_object, PL, TERM_OBJECT, GObject)

PlTermObject *pl_term_object_new_from_ref   (const PlTermRef   *ref);
PlTermObject *pl_term_object_new_from_hit   (const PlSearchHit *hit);
/* Makes the object the hit HIT and emits "changed": a search list keeps its objects, and so its
 * row widgets, from one query to the next (GTK 4.8's list view destroys and recreates the rows of
 * items replaced). */
void          pl_term_object_set_hit        (PlTermObject      *self,
                                             const PlSearchHit *hit);
const char   *pl_term_object_get_id         (PlTermObject *self);
const char   *pl_term_object_get_label      (PlTermObject *self);
int           pl_term_object_get_n_children (PlTermObject *self);
int           pl_term_object_get_n_descendants (PlTermObject *self);
/* For search hits: the synonym that matched (NULL when the label or id did) and how it matched. */
const char   *pl_term_object_get_matched_synonym (PlTermObject *self);
PlSearchMatch pl_term_object_get_match      (PlTermObject *self);

/* A GListStore of PlTermObject from a GPtrArray of PlTermRef. */
GListStore   *pl_term_object_store_from_refs (GPtrArray *refs);

G_END_DECLS
