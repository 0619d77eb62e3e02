/* pl-term-object.c: a term as a GObject so that GTK list models can hold it. */
#include "pl-term-object.h"

struct _PlTermObject
{
  GObject        parent_instance;
  char          *id;
  char          *label;
  int            n_children;
  int            n_descendants;
  char          *matched_synonym;
  PlSearchMatch  match;
};

G_DEFINE_FINAL_TYPE (PlTermObject, pl_term_object, G_TYPE_OBJECT)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
pl_term_object_finalize (GObject *object)
{
  PlTermObject *self = PL_TERM_OBJECT (object);

  g_free (self->id);
  g_free (self->label);
  g_free (self->matched_synonym);
  G_OBJECT_CLASS (pl_term_object_parent_class)->finalize (object);
}

static void
pl_term_object_class_init (PlTermObjectClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pl_term_object_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pl_term_object_init (PlTermObject *self)
{
  self->match = PL_SEARCH_MATCH_ID;
}

PlTermObject *
pl_term_object_new_from_ref (const PlTermRef *ref)
{
  PlTermObject *self = g_object_new (PL_TYPE_TERM_OBJECT, NULL);

  self->id = g_strdup (ref->id);
  self->label = g_strdup (ref->label);
  self->n_children = ref->n_children;
  self->n_descendants = ref->n_descendants;
  return self;
}

static void
take_hit (PlTermObject      *self,
          const PlSearchHit *hit)
{
  g_free (self->id);
  self->id = g_strdup (hit->id);
  g_free (self->label);
  self->label = g_strdup (hit->label);
  self->n_descendants = hit->n_descendants;
  self->n_children = hit->n_descendants > 0 ? 1 : 0;
  g_free (self->matched_synonym);
  self->matched_synonym = g_strdup (hit->matched_synonym);
  self->match = hit->match;
}

PlTermObject *
pl_term_object_new_from_hit (const PlSearchHit *hit)
{
  PlTermObject *self = g_object_new (PL_TYPE_TERM_OBJECT, NULL);

  take_hit (self, hit);
  return self;
}

void
pl_term_object_set_hit (PlTermObject      *self,
                        const PlSearchHit *hit)
{
  g_return_if_fail (PL_IS_TERM_OBJECT (self));
  take_hit (self, hit);
  g_signal_emit (self, signals[CHANGED], 0);
}

const char *
pl_term_object_get_id (PlTermObject *self)
{
  return self->id;
}

const char *
pl_term_object_get_label (PlTermObject *self)
{
  return self->label;
}

int
pl_term_object_get_n_children (PlTermObject *self)
{
  return self->n_children;
}

int
pl_term_object_get_n_descendants (PlTermObject *self)
{
  return self->n_descendants;
}

const char *
pl_term_object_get_matched_synonym (PlTermObject *self)
{
  return self->matched_synonym;
}

PlSearchMatch
pl_term_object_get_match (PlTermObject *self)
{
  return self->match;
}

GListStore *
pl_term_object_store_from_refs (GPtrArray *refs)
{
  GListStore *store = g_list_store_new (PL_TYPE_TERM_OBJECT);
  g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; refs != NULL && i < refs->len; i++)
    g_ptr_array_add (objects, pl_term_object_new_from_ref (g_ptr_array_index (refs, i)));
  g_list_store_splice (store, 0, 0, objects->pdata, objects->len);
  return store;
}
