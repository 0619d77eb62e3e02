/* pl-obographs.c: reader for the obographs JSON form of HPO (hp.json): HP classes from the nodes,
 * is_a from the edges; other nodes (properties, GO/RO/BFO classes) are skipped. */
#include "data/pl-ontology.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "model/pl-error.h"

#define OBO_IN_OWL "http://www.geneontology.org/formats/oboInOwl#"
#define IAO_REPLACED_BY "http://purl.obolibrary.org/obo/IAO_0100001"

/* Typed member access that never warns on a value of the wrong type. */
static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object,
              const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gboolean
member_true (JsonObject *object,
             const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN
         && json_node_get_boolean (node);
}

static JsonObject *
element_object (JsonArray *array,
                guint      i)
{
  JsonNode *node = json_array_get_element (array, i);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
element_string (JsonArray *array,
                guint      i)
{
  JsonNode *node = json_array_get_element (array, i);

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* "http://purl.obolibrary.org/obo/hp#layperson" -> "layperson". */
static const char *
iri_fragment (const char *iri)
{
  const char *hash = strrchr (iri, '#');
  const char *slash = strrchr (iri, '/');

  if (hash != NULL)
    return hash + 1;
  return slash != NULL ? slash + 1 : iri;
}

static void
add_unique (GPtrArray  *array,
            const char *text)
{
  if (text != NULL && *text != '\0' && !g_ptr_array_find_with_equal_func (array, text, g_str_equal, NULL))
    g_ptr_array_add (array, g_strdup (text));
}

static void
read_synonyms (PlTerm    *term,
               JsonArray *synonyms)
{
  for (guint i = 0; synonyms != NULL && i < json_array_get_length (synonyms); i++)
    {
      JsonObject *synonym = element_object (synonyms, i);
      const char *pred = member_string (synonym, "pred");
      const char *text = member_string (synonym, "val");
      const char *type = member_string (synonym, "synonymType");
      PlSynonymScope scope;
      gboolean duplicate = FALSE;

      if (text == NULL || pred == NULL)
        continue;
      if (strcmp (pred, "hasExactSynonym") == 0)
        scope = PL_SYNONYM_EXACT;
      else if (strcmp (pred, "hasBroadSynonym") == 0)
        scope = PL_SYNONYM_BROAD;
      else if (strcmp (pred, "hasNarrowSynonym") == 0)
        scope = PL_SYNONYM_NARROW;
      else
        scope = PL_SYNONYM_RELATED;
      type = type ? iri_fragment (type) : NULL;
      /* HPO lists some synonyms twice (e.g. Seizures); one row is enough. */
      for (guint k = 0; k < term->synonyms->len && !duplicate; k++)
        {
          PlSynonym *other = g_ptr_array_index (term->synonyms, k);

          duplicate = other->scope == scope && strcmp (other->text, text) == 0
                      && g_strcmp0 (other->type, type) == 0;
        }
      if (!duplicate)
        g_ptr_array_add (term->synonyms, pl_synonym_new (text, scope, type));
    }
}

static PlTerm *
read_node (JsonObject *node,
           const char *id)
{
  PlTerm *term = pl_term_new (id);
  JsonObject *meta = member_object (node, "meta");
  JsonObject *definition = member_object (meta, "definition");
  JsonArray *comments = member_array (meta, "comments");
  JsonArray *xrefs = member_array (meta, "xrefs");
  JsonArray *properties = member_array (meta, "basicPropertyValues");
  const char *label = member_string (node, "lbl");

  term->label = g_strdup (label ? label : id);
  term->obsolete = member_true (meta, "deprecated");
  if (definition != NULL)
    {
      JsonArray *definition_xrefs = member_array (definition, "xrefs");

      term->definition = g_strdup (member_string (definition, "val"));
      for (guint i = 0; definition_xrefs != NULL && i < json_array_get_length (definition_xrefs); i++)
        add_unique (term->definition_xrefs, element_string (definition_xrefs, i));
    }
  if (comments != NULL && json_array_get_length (comments) > 0)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (comments); i++)
        {
          const char *comment = element_string (comments, i);

          if (comment == NULL)
            continue;
          if (text->len > 0)
            g_string_append_c (text, '\n');
          g_string_append (text, comment);
        }
      term->comment = text->len > 0 ? g_strdup (text->str) : NULL;
    }
  read_synonyms (term, member_array (meta, "synonyms"));
  for (guint i = 0; xrefs != NULL && i < json_array_get_length (xrefs); i++)
    add_unique (term->xrefs, member_string (element_object (xrefs, i), "val"));
  for (guint i = 0; properties != NULL && i < json_array_get_length (properties); i++)
    {
      JsonObject *property = element_object (properties, i);
      const char *pred = member_string (property, "pred");
      const char *value = member_string (property, "val");
      g_autofree char *value_id = NULL;

      if (pred == NULL || value == NULL)
        continue;
      value_id = pl_term_id_normalize (value);
      if (strcmp (pred, OBO_IN_OWL "hasAlternativeId") == 0)
        add_unique (term->alt_ids, value_id ? value_id : value);
      else if (strcmp (pred, IAO_REPLACED_BY) == 0)
        {
          g_free (term->replaced_by);
          term->replaced_by = g_strdup (value_id ? value_id : value);
        }
      else if (strcmp (pred, OBO_IN_OWL "consider") == 0)
        add_unique (term->consider, value_id ? value_id : value);
    }
  return term;
}

PlOntology *
pl_obographs_parse (GInputStream *stream,
                    const char   *display_path,
                    GCancellable *cancellable,
                    GError      **error)
{
  g_autoptr(PlOntology) ontology = pl_ontology_new (PL_ONTOLOGY_FORMAT_OBOGRAPHS, display_path);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonArray *graphs, *nodes, *edges;
  JsonObject *graph, *meta;
  JsonArray *properties;

  if (!json_parser_load_from_stream (parser, stream, cancellable, &local_error))
    {
      gboolean truncated = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT);

      g_set_error (error, PL_ERROR, truncated ? PL_ERROR_TRUNCATED : PL_ERROR_FORMAT,
                   "%s: %s: %s", display_path, truncated ? "the file is truncated" : "not valid JSON",
                   local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  graphs = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? member_array (json_node_get_object (root), "graphs") : NULL;
  graph = graphs != NULL && json_array_get_length (graphs) > 0 ? element_object (graphs, 0) : NULL;
  nodes = member_array (graph, "nodes");
  edges = member_array (graph, "edges");
  if (nodes == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: JSON but not obographs: expected {\"graphs\": [{\"nodes\": [...], \"edges\": [...]}]}",
                   display_path);
      return NULL;
    }

  meta = member_object (graph, "meta");
  ontology->data_version = g_strdup (member_string (meta, "version"));
  properties = member_array (meta, "basicPropertyValues");
  for (guint i = 0; properties != NULL && i < json_array_get_length (properties); i++)
    {
      JsonObject *property = element_object (properties, i);

      if (g_strcmp0 (member_string (property, "pred"), "http://www.w3.org/2002/07/owl#versionInfo") == 0
          && member_string (property, "val") != NULL)
        ontology->version_date = g_strdup (member_string (property, "val"));
    }
  if (ontology->version_date == NULL)
    ontology->version_date = pl_ontology_date_of_version (ontology->data_version);

  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = element_object (nodes, i);
      const char *type = member_string (node, "type");
      g_autofree char *id = pl_term_id_normalize (member_string (node, "id"));

      if (id == NULL || g_strcmp0 (type, "CLASS") != 0)
        continue;
      if (!pl_ontology_add_term (ontology, read_node (node, id), error))
        return NULL;
    }

  for (guint i = 0; edges != NULL && i < json_array_get_length (edges); i++)
    {
      JsonObject *edge = element_object (edges, i);
      g_autofree char *child_id = pl_term_id_normalize (member_string (edge, "sub"));
      g_autofree char *parent_id = pl_term_id_normalize (member_string (edge, "obj"));
      PlTerm *child;

      if (g_strcmp0 (member_string (edge, "pred"), "is_a") != 0 || child_id == NULL || parent_id == NULL)
        continue;
      child = g_hash_table_lookup (ontology->by_id, child_id);
      if (child == NULL || child->obsolete)
        continue;
      add_unique (child->parents, parent_id);
    }
  if (ontology->terms->len == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                   "%s: obographs JSON without HP: classes; this is not the Human Phenotype Ontology",
                   display_path);
      return NULL;
    }
  return g_steal_pointer (&ontology);
}
