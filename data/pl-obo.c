/* pl-obo.c: reader for OBO 1.4 flat files as HPO publishes them (hp.obo): [Term] stanzas with
 * quoted, escaped values, trailing {modifiers}, `!` comments; other stanzas ([Typedef]) are skipped. */
#include "data/pl-ontology.h"

#include <string.h>

#include "model/pl-error.h"

typedef struct {
  const char *path;
  guint       line_number;
} Where;

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError    **error,
      const Where *where,
      const char  *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s:%u: %s", where->path, where->line_number, message);
  return FALSE;
}

static char
unescape_char (char c)
{
  switch (c)
    {
    case 'n': return '\n';
    case 't': return '\t';
    case 'W': return ' ';
    default: return c;
    }
}

/* Unescaped copy of [start, end), trimmed. */
static char *
unescape (const char *start,
          const char *end)
{
  GString *out = g_string_sized_new (end - start);

  for (const char *p = start; p < end; p++)
    {
      if (*p == '\\' && p + 1 < end)
        g_string_append_c (out, unescape_char (*++p));
      else
        g_string_append_c (out, *p);
    }
  return g_strstrip (g_string_free (out, FALSE));
}

/* The end of an unquoted value: before an unescaped `!` comment and a trailing {modifier}. */
static const char *
value_end (const char *value)
{
  const char *end = value + strlen (value);
  const char *brace = NULL;

  for (const char *p = value; *p; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        p++;
      else if (*p == '!')
        {
          end = p;
          break;
        }
      else if (*p == '{')
        brace = p;
    }
  if (brace != NULL)
    {
      const char *last = end;

      while (last > value && g_ascii_isspace (last[-1]))
        last--;
      if (last > brace && last[-1] == '}')
        end = brace;
    }
  return end;
}

/* Parses a "quoted string" at *P (after spaces); leaves *P after the closing quote. */
static gboolean
parse_quoted (const char **p,
              char       **out,
              const Where *where,
              GError     **error)
{
  const char *s = *p;
  GString *text;

  while (*s == ' ' || *s == '\t')
    s++;
  if (*s != '"')
    return fail (error, where, "expected a quoted string");
  s++;
  text = g_string_new (NULL);
  while (*s && *s != '"')
    {
      if (*s == '\\' && s[1] != '\0')
        {
          s++;
          g_string_append_c (text, unescape_char (*s));
        }
      else
        g_string_append_c (text, *s);
      s++;
    }
  if (*s != '"')
    {
      g_string_free (text, TRUE);
      return fail (error, where, "unterminated quoted string");
    }
  *p = s + 1;
  *out = g_string_free (text, FALSE);
  return TRUE;
}

/* Parses a [xref, xref "description", ...] list at *P into XREFS (ids only). */
static gboolean
parse_xref_list (const char **p,
                 GPtrArray   *xrefs,
                 const Where *where,
                 GError     **error)
{
  const char *s = *p;
  GString *item = g_string_new (NULL);
  gboolean in_quote = FALSE;

  while (*s == ' ' || *s == '\t')
    s++;
  if (*s != '[')
    {
      g_string_free (item, TRUE);
      return fail (error, where, "expected a [xref list]");
    }
  for (s++; *s; s++)
    {
      if (*s == '\\' && s[1] != '\0')
        {
          g_string_append_c (item, unescape_char (*++s));
          continue;
        }
      if (*s == '"')
        in_quote = !in_quote;
      else if (!in_quote && (*s == ',' || *s == ']'))
        {
          char *id = g_strstrip (item->str);
          char *space = strpbrk (id, " \t");

          if (space != NULL)
            *space = '\0';
          if (*id != '\0' && xrefs != NULL)
            g_ptr_array_add (xrefs, g_strdup (id));
          g_string_truncate (item, 0);
          if (*s == ']')
            break;
          continue;
        }
      if (!in_quote)
        g_string_append_c (item, *s);
    }
  g_string_free (item, TRUE);
  if (*s != ']')
    return fail (error, where, "unterminated [xref list]");
  *p = s + 1;
  return TRUE;
}

/* What follows a quoted value must be nothing, a {modifier} or a `!` comment. */
static gboolean
expect_line_end (const char  *s,
                 const Where *where,
                 GError     **error)
{
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s == '\0' || *s == '!' || *s == '{')
    return TRUE;
  return fail (error, where, "unexpected text after the value: '%s'", s);
}

static char *
first_token (const char *value)
{
  g_autofree char *text = unescape (value, value_end (value));
  char *space = strpbrk (text, " \t");

  if (space != NULL)
    *space = '\0';
  return g_strdup (text);
}

static gboolean
parse_synonym (PlTerm      *term,
               const char  *value,
               const Where *where,
               GError     **error)
{
  g_autofree char *text = NULL;
  g_autofree char *scope_name = NULL;
  g_autofree char *type = NULL;
  PlSynonymScope scope = PL_SYNONYM_RELATED;
  const char *s = value;
  const char *start;

  if (!parse_quoted (&s, &text, where, error))
    return FALSE;
  while (*s == ' ' || *s == '\t')
    s++;
  start = s;
  while (*s && !g_ascii_isspace (*s) && *s != '[')
    s++;
  scope_name = g_strndup (start, s - start);
  if (!pl_synonym_scope_from_string (scope_name, &scope))
    return fail (error, where, "synonym scope '%s' is not EXACT, BROAD, NARROW or RELATED", scope_name);
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s && *s != '[')
    {
      start = s;
      while (*s && !g_ascii_isspace (*s) && *s != '[')
        s++;
      type = g_strndup (start, s - start);
    }
  if (!parse_xref_list (&s, NULL, where, error))
    return FALSE;
  if (!expect_line_end (s, where, error))
    return FALSE;
  g_ptr_array_add (term->synonyms, pl_synonym_new (text, scope, type));
  return TRUE;
}

static gboolean
finish_stanza (PlOntology  *ontology,
               PlTerm     **term,
               const Where *stanza_start,
               GError     **error)
{
  if (*term == NULL)
    return TRUE;
  if ((*term)->id == NULL || *(*term)->id == '\0')
    {
      g_clear_pointer (term, pl_term_free);
      return fail (error, stanza_start, "[Term] stanza without an id");
    }
  if ((*term)->label == NULL)
    {
      g_autofree char *id = g_strdup ((*term)->id);

      g_clear_pointer (term, pl_term_free);
      return fail (error, stanza_start, "term %s has no name", id);
    }
  return pl_ontology_add_term (ontology, g_steal_pointer (term), error);
}

static gboolean
parse_term_tag (PlTerm      *term,
                const char  *tag,
                const char  *value,
                const Where *where,
                GError     **error)
{
  if (strcmp (tag, "id") == 0)
    {
      g_free (term->id);
      term->id = first_token (value);
    }
  else if (strcmp (tag, "name") == 0)
    {
      g_free (term->label);
      term->label = unescape (value, value_end (value));
    }
  else if (strcmp (tag, "def") == 0)
    {
      const char *s = value;

      g_clear_pointer (&term->definition, g_free);
      if (!parse_quoted (&s, &term->definition, where, error))
        return FALSE;
      while (*s == ' ' || *s == '\t')
        s++;
      if (*s == '[' && !parse_xref_list (&s, term->definition_xrefs, where, error))
        return FALSE;
      return expect_line_end (s, where, error);
    }
  else if (strcmp (tag, "comment") == 0)
    {
      g_free (term->comment);
      term->comment = unescape (value, value_end (value));
    }
  else if (strcmp (tag, "synonym") == 0)
    return parse_synonym (term, value, where, error);
  else if (strcmp (tag, "xref") == 0)
    g_ptr_array_add (term->xrefs, first_token (value));
  else if (strcmp (tag, "alt_id") == 0)
    g_ptr_array_add (term->alt_ids, first_token (value));
  else if (strcmp (tag, "is_a") == 0)
    {
      char *parent = first_token (value);

      if (*parent == '\0')
        {
          g_free (parent);
          return fail (error, where, "is_a without a term id");
        }
      if (g_ptr_array_find_with_equal_func (term->parents, parent, g_str_equal, NULL))
        g_free (parent);
      else
        g_ptr_array_add (term->parents, parent);
    }
  else if (strcmp (tag, "is_obsolete") == 0)
    {
      g_autofree char *flag = first_token (value);

      if (strcmp (flag, "true") == 0)
        term->obsolete = TRUE;
      else if (strcmp (flag, "false") == 0)
        term->obsolete = FALSE;
      else
        return fail (error, where, "is_obsolete must be true or false, not '%s'", flag);
    }
  else if (strcmp (tag, "replaced_by") == 0)
    {
      g_free (term->replaced_by);
      term->replaced_by = first_token (value);
    }
  else if (strcmp (tag, "consider") == 0)
    g_ptr_array_add (term->consider, first_token (value));
  /* Other tags (subset, created_by, property_value, relationship, ...) are not stored. */
  return TRUE;
}

PlOntology *
pl_obo_parse (GInputStream *stream,
              const char   *display_path,
              GCancellable *cancellable,
              GError      **error)
{
  g_autoptr(PlOntology) ontology = pl_ontology_new (PL_ONTOLOGY_FORMAT_OBO, display_path);
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (stream);
  g_autoptr(PlTerm) term = NULL;
  Where where = { display_path, 0 };
  Where stanza_start = where;
  gboolean in_header = TRUE;
  gboolean saw_format_line = FALSE;

  g_data_input_stream_set_newline_type (lines, G_DATA_STREAM_NEWLINE_TYPE_LF);
  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *line = NULL;
      gsize length = 0;
      char *colon, *space, *value;

      line = g_data_input_stream_read_line (lines, &length, cancellable, &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, PL_ERROR, g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)
                       ? PL_ERROR_TRUNCATED : PL_ERROR_IO,
                       "%s: read failed after line %u: %s", display_path, where.line_number,
                       local_error->message);
          return NULL;
        }
      if (line == NULL)
        break;
      where.line_number++;
      if (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
      if (memchr (line, '\0', length) != NULL || !g_utf8_validate (line, length, NULL))
        {
          fail (error, &where, "not UTF-8 text");
          return NULL;
        }
      g_strstrip (line);
      if (*line == '\0' || *line == '!')
        continue;
      if (*line == '[')
        {
          if (line[strlen (line) - 1] != ']')
            {
              fail (error, &where, "malformed stanza header '%s'", line);
              return NULL;
            }
          if (!finish_stanza (ontology, &term, &stanza_start, error))
            return NULL;
          in_header = FALSE;
          stanza_start = where;
          if (strcmp (line, "[Term]") == 0)
            term = pl_term_new (NULL);
          continue;
        }
      colon = strchr (line, ':');
      space = strpbrk (line, " \t");
      if (colon == NULL || colon == line || (space != NULL && space < colon))
        {
          fail (error, &where, "expected 'tag: value', found '%.60s'", line);
          return NULL;
        }
      *colon = '\0';
      value = colon + 1;
      while (*value == ' ' || *value == '\t')
        value++;
      if (in_header)
        {
          if (strcmp (line, "format-version") == 0)
            saw_format_line = TRUE;
          else if (strcmp (line, "data-version") == 0)
            {
              g_free (ontology->data_version);
              ontology->data_version = unescape (value, value_end (value));
            }
        }
      else if (term != NULL && !parse_term_tag (term, line, value, &where, error))
        return NULL;
    }
  if (!finish_stanza (ontology, &term, &stanza_start, error))
    return NULL;
  if (ontology->terms->len == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: no [Term] stanzas%s; this is not an OBO ontology",
                   display_path, saw_format_line ? "" : " and no format-version header");
      return NULL;
    }
  if (ontology->data_version != NULL)
    ontology->version_date = pl_ontology_date_of_version (ontology->data_version);
  return g_steal_pointer (&ontology);
}
