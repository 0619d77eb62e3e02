/* pl-search.h: finding terms in a snapshot by id, label, synonym and definition text. */
#pragma once

#include "data/pl-snapshot.h"

G_BEGIN_DECLS

/* How a hit matched, best first; hits are ranked by this, then (except definition matches, ranked
 * by bm25) by label length and label. */
typedef enum {
  PL_SEARCH_MATCH_ID,              /* the query is the term's id */
  PL_SEARCH_MATCH_ALT_ID,          /* the query is one of the term's alt_ids */
  PL_SEARCH_MATCH_EXACT_LABEL,     /* the label, ignoring case */
  PL_SEARCH_MATCH_LABEL_PREFIX,    /* the label starts with the query */
  PL_SEARCH_MATCH_EXACT_SYNONYM,   /* a synonym, ignoring case (any scope) */
  PL_SEARCH_MATCH_SYNONYM_PREFIX,  /* a synonym starts with the query */
  PL_SEARCH_MATCH_LABEL_WORDS,     /* every query word starts a word of the label */
  PL_SEARCH_MATCH_SYNONYM_WORDS,
  PL_SEARCH_MATCH_DEFINITION,      /* every query word starts a word of the definition */
} PlSearchMatch;

const char *pl_search_match_to_string (PlSearchMatch match);

typedef struct {
  char          *id;
  char          *label;
  PlSearchMatch  match;
  char          *matched_synonym;  /* the synonym that matched, for the three synonym kinds */
  int            depth;
  int            n_descendants;
} PlSearchHit;

void pl_search_hit_free (PlSearchHit *hit);

/* Up to LIMIT terms matching QUERY, each once, best first; only an id match can return an
 * obsolete term. QUERY is user text: quotes, `*`,
 * `:`, `-`, brackets and FTS5 keywords (AND, OR, NOT, NEAR) are searched as plain words; an empty
 * query gives an empty list. */
GPtrArray  *pl_snapshot_search (PlSnapshot *snapshot,
                                const char *query,
                                guint       limit,
                                GError    **error);

/* QUERY folded and split into words the way the full-text index splits text (letters and digits). */
GStrv       pl_search_split_words (const char *query);

G_END_DECLS
