/* pl-term-page.c: a term's label, id, definition, comment, synonyms, cross-references, parents,
 * children, every path to the root and its PhenoKG example pairs; neighbours are links. */
#include "pl-config.h"

#include "pl-term-page.h"

#include <glib/gi18n.h>

#include "data/pl-pairs.h"
#include "pl-breadcrumbs.h"

#define MAX_EXAMPLE_PAIRS 20

typedef enum {
  SECTION_PATHS,
  SECTION_PARENTS,
  SECTION_CHILDREN,
  SECTION_SYNONYMS,
  SECTION_XREFS,
  SECTION_PAIRS,
  N_SECTIONS
} Section;

struct _PlTermPage
{
  GtkWidget   parent_instance;

  PlSession  *session;
  char       *term_id;
  char       *label;
  GtkWidget  *headings[N_SECTIONS];
  GtkListBox *lists[N_SECTIONS];

  GtkWidget  *scroller;
  GtkBox     *sections;
  GtkLabel   *label_label;
  GtkLabel   *id_label;
  GtkWidget  *copy_button;
  GtkLabel   *status_label;
  GtkLabel   *definition_label;
  GtkLabel   *comment_label;
};

G_DEFINE_FINAL_TYPE (PlTermPage, pl_term_page, GTK_TYPE_WIDGET)

enum { TERM_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
breadcrumb_activated_cb (PlTermPage *self,
                         const char *term_id)
{
  g_signal_emit (self, signals[TERM_ACTIVATED], 0, term_id);
}

static void
row_activated_cb (GtkListBox    *list,
                  GtkListBoxRow *row,
                  PlTermPage    *self)
{
  const char *id = g_object_get_data (G_OBJECT (row), "term-id");

  if (id != NULL)
    g_signal_emit (self, signals[TERM_ACTIVATED], 0, id);
}

static GtkWidget *
new_row_box (PlTermPage *self,
             Section     section)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_append (self->lists[section], row);
  return box;
}

static void
add_row (PlTermPage *self,
         Section     section,
         const char *title,
         const char *subtitle,
         const char *term_id)
{
  GtkWidget *box = new_row_box (self, section);
  GtkWidget *row = gtk_widget_get_parent (box);
  GtkWidget *label = gtk_label_new (title);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), term_id == NULL);
  gtk_box_append (GTK_BOX (box), label);
  if (subtitle != NULL)
    {
      GtkWidget *detail = gtk_label_new (subtitle);

      gtk_label_set_xalign (GTK_LABEL (detail), 0);
      gtk_label_set_wrap (GTK_LABEL (detail), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (detail), PANGO_WRAP_WORD_CHAR);
      gtk_widget_add_css_class (detail, "dim-label");
      gtk_widget_add_css_class (detail, "caption");
      gtk_box_append (GTK_BOX (box), detail);
    }
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), term_id != NULL);
  if (term_id != NULL)
    g_object_set_data_full (G_OBJECT (row), "term-id", g_strdup (term_id), g_free);
}

static void
add_ref_rows (PlTermPage *self,
              Section     section,
              GPtrArray  *refs)
{
  for (guint i = 0; refs != NULL && i < refs->len; i++)
    {
      PlTermRef *ref = g_ptr_array_index (refs, i);
      g_autofree char *subtitle = NULL;

      if (ref->n_descendants > 0)
        subtitle = g_strdup_printf (g_dngettext (NULL, "%s · %d descendant", "%s · %d descendants",
                                                 ref->n_descendants), ref->id, ref->n_descendants);
      else
        subtitle = g_strdup (ref->id);
      add_row (self, section, ref->label, subtitle, ref->id);
    }
}

static void
clear_sections (PlTermPage *self)
{
  for (int s = 0; s < N_SECTIONS; s++)
    {
      GtkWidget *child;

      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->lists[s]))) != NULL)
        gtk_list_box_remove (self->lists[s], child);
    }
}

static void
update_section_visibility (PlTermPage *self)
{
  for (int s = 0; s < N_SECTIONS; s++)
    {
      gboolean has_rows = gtk_widget_get_first_child (GTK_WIDGET (self->lists[s])) != NULL;

      gtk_widget_set_visible (self->headings[s], has_rows);
      gtk_widget_set_visible (GTK_WIDGET (self->lists[s]), has_rows);
    }
}

static void
set_optional_label (GtkLabel   *label,
                    const char *text)
{
  gtk_label_set_label (label, text);
  gtk_widget_set_visible (GTK_WIDGET (label), text != NULL && text[0] != '\0');
}

gboolean
pl_term_page_show_term (PlTermPage  *self,
                        const char  *term_id,
                        GError     **error)
{
  PlSnapshot *snapshot;
  g_autoptr(PlTerm) term = NULL;
  g_autoptr(GPtrArray) parents = NULL;
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  g_autoptr(GPtrArray) pairs = NULL;
  g_autoptr(GString) status = g_string_new (NULL);
  gboolean capped = FALSE;

  g_return_val_if_fail (PL_IS_TERM_PAGE (self), FALSE);
  g_return_val_if_fail (term_id != NULL, FALSE);

  if (self->session == NULL || (snapshot = pl_session_get_snapshot (self->session)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, _("No ontology is open to show %s"), term_id);
      return FALSE;
    }
  if ((term = pl_snapshot_get_term (snapshot, term_id, error)) == NULL)
    return FALSE;

  g_free (self->term_id);
  self->term_id = g_strdup (term->id);
  g_free (self->label);
  self->label = g_strdup (term->label);

  gtk_label_set_label (self->label_label, term->label);
  gtk_label_set_label (self->id_label, term->id);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->copy_button), "s", term->id);
  if (term->obsolete)
    {
      g_string_append (status, _("This term is obsolete."));
      if (term->replaced_by != NULL)
        g_string_append_printf (status, _(" Replaced by %s."), term->replaced_by);
    }
  if (term->requested_id != NULL && g_strcmp0 (term->requested_id, term->id) != 0)
    g_string_append_printf (status, _("%s is an alternative id of this term."), term->requested_id);
  set_optional_label (self->status_label, status->str);
  set_optional_label (self->definition_label, term->definition);
  set_optional_label (self->comment_label, term->comment);

  clear_sections (self);
  if ((paths = pl_snapshot_get_paths (snapshot, term->id, 0, &capped, NULL)) != NULL)
    for (guint i = 0; i < paths->len; i++)
      {
        g_autoptr(GPtrArray) one = g_ptr_array_new ();
        GtkWidget *breadcrumbs;

        g_ptr_array_add (one, g_ptr_array_index (paths, i));
        breadcrumbs = pl_breadcrumbs_new (one, 1);
        g_signal_connect_object (breadcrumbs, "term-activated", G_CALLBACK (breadcrumb_activated_cb), self,
                                 G_CONNECT_SWAPPED);
        gtk_box_append (GTK_BOX (new_row_box (self, SECTION_PATHS)), breadcrumbs);
      }
  parents = pl_snapshot_get_parents (snapshot, term->id, NULL);
  add_ref_rows (self, SECTION_PARENTS, parents);
  children = pl_snapshot_get_children (snapshot, term->id, NULL);
  add_ref_rows (self, SECTION_CHILDREN, children);
  for (guint i = 0; term->synonyms != NULL && i < term->synonyms->len; i++)
    {
      PlSynonym *synonym = g_ptr_array_index (term->synonyms, i);
      g_autofree char *kind = synonym->type != NULL
        ? g_strdup_printf ("%s · %s", pl_synonym_scope_to_string (synonym->scope), synonym->type)
        : g_strdup (pl_synonym_scope_to_string (synonym->scope));

      add_row (self, SECTION_SYNONYMS, synonym->text, kind, NULL);
    }
  for (guint i = 0; term->xrefs != NULL && i < term->xrefs->len; i++)
    add_row (self, SECTION_XREFS, g_ptr_array_index (term->xrefs, i), NULL, NULL);
  if ((pairs = pl_snapshot_get_term_pairs (snapshot, term->id, MAX_EXAMPLE_PAIRS, NULL)) != NULL)
    for (guint i = 0; i < pairs->len; i++)
      {
        PlPair *pair = g_ptr_array_index (pairs, i);
        g_autofree char *where = g_strdup_printf ("%s · %s", pair->image_path, pair->source != NULL ? pair->source : "");

        add_row (self, SECTION_PAIRS, pair->caption, where, NULL);
      }
  update_section_visibility (self);
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller)), 0);
  return TRUE;
}

void
pl_term_page_set_session (PlTermPage *self,
                          PlSession  *session)
{
  g_return_if_fail (PL_IS_TERM_PAGE (self));
  g_set_object (&self->session, session);
}

const char *
pl_term_page_get_term_id (PlTermPage *self)
{
  return self->term_id;
}

const char *
pl_term_page_get_label (PlTermPage *self)
{
  return self->label;
}

static void
pl_term_page_dispose (GObject *object)
{
  PlTermPage *self = PL_TERM_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), PL_TYPE_TERM_PAGE);
  g_clear_object (&self->session);
  g_clear_pointer (&self->term_id, g_free);
  g_clear_pointer (&self->label, g_free);
  G_OBJECT_CLASS (pl_term_page_parent_class)->dispose (object);
}

static void
pl_term_page_class_init (PlTermPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pl_term_page_dispose;
  signals[TERM_ACTIVATED] = g_signal_new ("term-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/phenolip/Explorer/pl-term-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, scroller);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, sections);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, label_label);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, id_label);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, copy_button);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, definition_label);
  gtk_widget_class_bind_template_child (widget_class, PlTermPage, comment_label);
}

static void
pl_term_page_init (PlTermPage *self)
{
  const char *titles[N_SECTIONS] = {
    [SECTION_PATHS] = N_("Paths to the Root"),
    [SECTION_PARENTS] = N_("Parents"),
    [SECTION_CHILDREN] = N_("Children"),
    [SECTION_SYNONYMS] = N_("Synonyms"),
    [SECTION_XREFS] = N_("Cross-references"),
    [SECTION_PAIRS] = N_("Example Image-Text Pairs"),
  };

  gtk_widget_init_template (GTK_WIDGET (self));
  for (int s = 0; s < N_SECTIONS; s++)
    {
      self->headings[s] = gtk_label_new (_(titles[s]));
      gtk_label_set_xalign (GTK_LABEL (self->headings[s]), 0);
      gtk_widget_set_margin_top (self->headings[s], 12);
      gtk_widget_add_css_class (self->headings[s], "heading");
      self->lists[s] = GTK_LIST_BOX (gtk_list_box_new ());
      gtk_list_box_set_selection_mode (self->lists[s], GTK_SELECTION_NONE);
      gtk_widget_add_css_class (GTK_WIDGET (self->lists[s]), "boxed-list");
      g_signal_connect_object (self->lists[s], "row-activated", G_CALLBACK (row_activated_cb), self, 0);
      gtk_box_append (self->sections, self->headings[s]);
      gtk_box_append (self->sections, GTK_WIDGET (self->lists[s]));
    }
}
