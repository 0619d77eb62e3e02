/* pl-term.c: constructors of the term records and the one place term ids are normalised. */
#include "data/pl-term.h"

#include <string.h>

static const char *scope_names[] = { "EXACT", "BROAD", "NARROW", "RELATED" };

const char *
pl_synonym_scope_to_string (PlSynonymScope scope)
{
  if ((guint) scope < G_N_ELEMENTS (scope_names))
    return scope_names[scope];
  return "RELATED";
}

gboolean
pl_synonym_scope_from_string (const char     *text,
                              PlSynonymScope *scope)
{
  for (guint i = 0; i < G_N_ELEMENTS (scope_names); i++)
    if (g_strcmp0 (text, scope_names[i]) == 0)
      {
        *scope = (PlSynonymScope) i;
        return TRUE;
      }
  return FALSE;
}

PlSynonym *
pl_synonym_new (const char     *text,
                PlSynonymScope  scope,
                const char     *type)
{
  PlSynonym *synonym = g_new0 (PlSynonym, 1);

  synonym->text = g_strdup (text);
  synonym->scope = scope;
  synonym->type = g_strdup (type);
  return synonym;
}

void
pl_synonym_free (PlSynonym *synonym)
{
  if (synonym == NULL)
    return;
  g_free (synonym->text);
  g_free (synonym->type);
  g_free (synonym);
}

PlTerm *
pl_term_new (const char *id)
{
  PlTerm *term = g_new0 (PlTerm, 1);

  term->id = g_strdup (id);
  term->consider = g_ptr_array_new_with_free_func (g_free);
  term->synonyms = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_synonym_free);
  term->xrefs = g_ptr_array_new_with_free_func (g_free);
  term->definition_xrefs = g_ptr_array_new_with_free_func (g_free);
  term->alt_ids = g_ptr_array_new_with_free_func (g_free);
  term->parents = g_ptr_array_new_with_free_func (g_free);
  term->systems = g_ptr_array_new_with_free_func (g_free);
  term->depth = -1;
  return term;
}

void
pl_term_free (PlTerm *term)
{
  if (term == NULL)
    return;
  g_free (term->id);
  g_free (term->label);
  g_free (term->definition);
  g_free (term->comment);
  g_free (term->replaced_by);
  g_ptr_array_unref (term->consider);
  g_ptr_array_unref (term->synonyms);
  g_ptr_array_unref (term->xrefs);
  g_ptr_array_unref (term->definition_xrefs);
  g_ptr_array_unref (term->alt_ids);
  g_ptr_array_unref (term->parents);
  g_ptr_array_unref (term->systems);
  g_free (term->requested_id);
  g_free (term);
}

PlTermRef *
pl_term_ref_new (const char *id,
                 const char *label)
{
  PlTermRef *ref = g_new0 (PlTermRef, 1);

  ref->id = g_strdup (id);
  ref->label = g_strdup (label);
  ref->depth = -1;
  return ref;
}

void
pl_term_ref_free (PlTermRef *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->id);
  g_free (ref->label);
  g_free (ref);
}

char *
pl_term_id_normalize (const char *text)
{
  g_autofree char *stripped = NULL;
  const char *digits;
  const char *iri_prefix = "http://purl.obolibrary.org/obo/";

  if (text == NULL)
    return NULL;
  stripped = g_strstrip (g_strdup (text));
  digits = stripped;
  if (g_str_has_prefix (digits, iri_prefix))
    digits += strlen (iri_prefix);
  if (g_ascii_strncasecmp (digits, "HP", 2) == 0 && (digits[2] == ':' || digits[2] == '_'))
    digits += 3;
  if (strlen (digits) != 7)
    return NULL;
  for (int i = 0; i < 7; i++)
    if (!g_ascii_isdigit (digits[i]))
      return NULL;
  return g_strconcat ("HP:", digits, NULL);
}
