/* pl-tokenizer.c: BERT uncased WordPiece as Hugging Face's slow BertTokenizer (transformers v4.30.2)
 * runs it for open_clip's HFTokenizer: special tokens split out, the rest lower-cased, BasicTokenizer,
 * greedy longest-match-first WordPiece, [CLS] ... [SEP] truncated to the context length.
 *
 * Unicode properties come from GLib (Unicode 15.0 in GLib 2.74) but are corrected to what Python 3.11
 * (unicodedata 14.0.0) answers, because the reference is Python: the code points Unicode 15 added are
 * treated as unassigned (category Cn, which BERT's clean step deletes), and the few lower-case
 * mappings GLib leaves out (Roman numerals, circled letters, U+0130) are added. */
#include "pl-tokenizer.h"

#include <string.h>

#include "pl-error.h"

/* transformers' WordpieceTokenizer.max_input_chars_per_word: longer words become [UNK]. */
#define MAX_INPUT_CHARS_PER_WORD 100
/* Limits on a vocab.txt: far above any BERT vocabulary (30,522 lines), low enough to refuse
 * a wrong file quickly. */
#define VOCAB_MAX_BYTES (64 * 1024 * 1024)
#define VOCAB_MAX_LINES (10 * 1000 * 1000)

/* The special tokens of BertTokenizer, in the order of SPECIAL_TOKENS_ATTRIBUTES. */
typedef enum {
  SPECIAL_UNK,
  SPECIAL_SEP,
  SPECIAL_PAD,
  SPECIAL_CLS,
  SPECIAL_MASK,
  N_SPECIAL
} Special;

static const char *const special_names[N_SPECIAL] = { "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]" };

struct _PlTokenizer {
  char     *name;          /* for messages */
  char     *text;          /* the vocab file's bytes, each line NUL-terminated in place */
  char    **tokens;        /* [n_tokens]: line i of the file, without its line break */
  guint32  *token_lengths; /* [n_tokens], in bytes */
  int       n_tokens;
  int32_t  *slots;         /* open-addressing hash table of ids, -1 for empty; [n_slots] */
  guint32   slot_mask;     /* n_slots - 1, n_slots a power of two */
  int32_t   special_ids[N_SPECIAL];  /* -1 where the vocab lacks the token ([MASK] only) */
};

/* FNV-1a over PREFIX then BYTES. */
static inline guint32
hash_bytes (const char *prefix,
            gsize       prefix_len,
            const char *bytes,
            gsize       len)
{
  guint32 h = 2166136261u;

  for (gsize i = 0; i < prefix_len; i++)
    h = (h ^ (guchar) prefix[i]) * 16777619u;
  for (gsize i = 0; i < len; i++)
    h = (h ^ (guchar) bytes[i]) * 16777619u;
  return h;
}

/* The id of PREFIX+BYTES, or -1. */
static int32_t
lookup (const PlTokenizer *tokenizer,
        const char        *prefix,
        gsize              prefix_len,
        const char        *bytes,
        gsize              len)
{
  guint32 slot = hash_bytes (prefix, prefix_len, bytes, len) & tokenizer->slot_mask;

  for (;;)
    {
      int32_t id = tokenizer->slots[slot];
      const char *token;

      if (id < 0)
        return -1;
      token = tokenizer->tokens[id];
      if (tokenizer->token_lengths[id] == prefix_len + len &&
          (prefix_len == 0 || memcmp (token, prefix, prefix_len) == 0) &&
          memcmp (token + prefix_len, bytes, len) == 0)
        return id;
      slot = (slot + 1) & tokenizer->slot_mask;
    }
}

/* Adds token ID; a token seen before now maps to ID: transformers' load_vocab assigns into an
 * OrderedDict line by line, so the last line with a given token wins. */
static void
insert (PlTokenizer *tokenizer,
        int32_t      id)
{
  const char *token = tokenizer->tokens[id];
  guint32 len = tokenizer->token_lengths[id];
  guint32 slot = hash_bytes (NULL, 0, token, len) & tokenizer->slot_mask;

  for (;;)
    {
      int32_t other = tokenizer->slots[slot];

      if (other < 0)
        {
          tokenizer->slots[slot] = id;
          return;
        }
      if (tokenizer->token_lengths[other] == len && memcmp (tokenizer->tokens[other], token, len) == 0)
        {
          tokenizer->slots[slot] = id;
          return;
        }
      slot = (slot + 1) & tokenizer->slot_mask;
    }
}

PlTokenizer *
pl_tokenizer_new_from_data (const char  *data,
                            gsize        length,
                            const char  *name,
                            GError     **error)
{
  g_autoptr(GPtrArray) lines = NULL;
  PlTokenizer *tokenizer;
  gsize pos = 0;
  guint32 n_slots;
  char *text;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  if (name == NULL)
    name = "vocabulary";

  if (length == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_FORMAT, "%s: the vocabulary file is empty", name);
      return NULL;
    }
  if (length > VOCAB_MAX_BYTES)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                   "%s: the vocabulary file is %" G_GSIZE_FORMAT " bytes, more than the %d MiB a "
                   "vocab.txt may have", name, length, VOCAB_MAX_BYTES / (1024 * 1024));
      return NULL;
    }

  /* One NUL-terminated copy; lines are cut in place. Python's readlines() in text mode ends a line
   * at "\n", "\r\n" or a lone "\r" (universal newlines), and a last line without a break counts. */
  text = g_malloc (length + 1);
  memcpy (text, data, length);
  text[length] = '\0';
  lines = g_ptr_array_new ();
  while (pos < length)
    {
      gsize start = pos;
      gsize end;

      while (pos < length && text[pos] != '\n' && text[pos] != '\r')
        pos++;
      end = pos;
      if (pos < length)
        pos += (text[pos] == '\r' && pos + 1 < length && text[pos + 1] == '\n') ? 2 : 1;
      if (lines->len >= VOCAB_MAX_LINES)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_TOO_LARGE,
                       "%s: the vocabulary file has more than %d lines", name, VOCAB_MAX_LINES);
          g_free (text);
          return NULL;
        }
      if (memchr (text + start, '\0', end - start) != NULL ||
          !g_utf8_validate_len (text + start, end - start, NULL))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: line %u of the vocabulary is not valid UTF-8 text", name, lines->len + 1);
          g_free (text);
          return NULL;
        }
      text[end] = '\0';
      g_ptr_array_add (lines, text + start);
    }

  tokenizer = g_new0 (PlTokenizer, 1);
  tokenizer->name = g_strdup (name);
  tokenizer->text = text;
  tokenizer->n_tokens = (int) lines->len;
  tokenizer->tokens = g_new (char *, lines->len);
  tokenizer->token_lengths = g_new (guint32, lines->len);
  for (guint i = 0; i < lines->len; i++)
    {
      tokenizer->tokens[i] = g_ptr_array_index (lines, i);
      tokenizer->token_lengths[i] = (guint32) strlen (tokenizer->tokens[i]);
    }
  for (n_slots = 64; n_slots < 2 * lines->len; n_slots *= 2)
    ;
  tokenizer->slots = g_new (int32_t, n_slots);
  memset (tokenizer->slots, 0xff, n_slots * sizeof (int32_t));
  tokenizer->slot_mask = n_slots - 1;
  for (int32_t id = 0; id < tokenizer->n_tokens; id++)
    insert (tokenizer, id);

  for (int s = 0; s < N_SPECIAL; s++)
    {
      tokenizer->special_ids[s] = lookup (tokenizer, NULL, 0, special_names[s], strlen (special_names[s]));
      if (tokenizer->special_ids[s] < 0 && s != SPECIAL_MASK)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_FORMAT,
                       "%s: the vocabulary has no %s token, which BERT needs", name, special_names[s]);
          pl_tokenizer_free (tokenizer);
          return NULL;
        }
    }
  return tokenizer;
}

PlTokenizer *
pl_tokenizer_new_from_file (const char  *vocab_path,
                            GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (vocab_path != NULL, NULL);

  mapped = g_mapped_file_new (vocab_path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_IO, "%s: cannot read the vocabulary: %s",
                   vocab_path, local_error->message);
      g_error_free (local_error);
      return NULL;
    }
  return pl_tokenizer_new_from_data (g_mapped_file_get_contents (mapped), g_mapped_file_get_length (mapped),
                                     vocab_path, error);
}

void
pl_tokenizer_free (PlTokenizer *tokenizer)
{
  if (tokenizer == NULL)
    return;
  g_free (tokenizer->name);
  g_free (tokenizer->text);
  g_free (tokenizer->tokens);
  g_free (tokenizer->token_lengths);
  g_free (tokenizer->slots);
  g_free (tokenizer);
}

/* The number of lines in vocab.txt, i.e. ids 0 .. size-1 (the rows of the word embedding). */
int
pl_tokenizer_get_vocab_size (const PlTokenizer *tokenizer)
{
  return tokenizer->n_tokens;
}

int32_t
pl_tokenizer_get_pad_id (const PlTokenizer *tokenizer)
{
  return tokenizer->special_ids[SPECIAL_PAD];
}

int32_t
pl_tokenizer_get_cls_id (const PlTokenizer *tokenizer)
{
  return tokenizer->special_ids[SPECIAL_CLS];
}

int32_t
pl_tokenizer_get_sep_id (const PlTokenizer *tokenizer)
{
  return tokenizer->special_ids[SPECIAL_SEP];
}

int32_t
pl_tokenizer_get_unk_id (const PlTokenizer *tokenizer)
{
  return tokenizer->special_ids[SPECIAL_UNK];
}

/* The text of line ID of the vocabulary (also for a line whose token a later duplicate shadows),
 * or NULL when ID is out of range. */
const char *
pl_tokenizer_id_to_token (const PlTokenizer *tokenizer,
                          int32_t            id)
{
  if (id < 0 || id >= tokenizer->n_tokens)
    return NULL;
  return tokenizer->tokens[id];
}

/* ---- Unicode, as Python 3.11 sees it ---- */

/* Code points that Unicode 15.0 (GLib 2.74) assigns and Unicode 14.0 (Python 3.11) does not, so
 * unicodedata.category() says "Cn". Computed by comparing the two (tests/reference). */
static const struct { gunichar first; gunichar last; } unicode15_additions[] = {
  { 0x0CF3, 0x0CF3 }, { 0x0ECE, 0x0ECE }, { 0x10EFD, 0x10EFF }, { 0x1123F, 0x11241 },
  { 0x11B00, 0x11B09 }, { 0x11F00, 0x11F10 }, { 0x11F12, 0x11F3A }, { 0x11F3E, 0x11F59 },
  { 0x1342F, 0x1342F }, { 0x13439, 0x13455 }, { 0x1B132, 0x1B132 }, { 0x1B155, 0x1B155 },
  { 0x1D2C0, 0x1D2D3 }, { 0x1DF25, 0x1DF2A }, { 0x1E030, 0x1E06D }, { 0x1E08F, 0x1E08F },
  { 0x1E4D0, 0x1E4F9 }, { 0x1F6DC, 0x1F6DC }, { 0x1F774, 0x1F776 }, { 0x1F77B, 0x1F77F },
  { 0x1F7D9, 0x1F7D9 }, { 0x1FA75, 0x1FA77 }, { 0x1FA87, 0x1FA88 }, { 0x1FAAD, 0x1FAAF },
  { 0x1FABB, 0x1FABD }, { 0x1FABF, 0x1FABF }, { 0x1FACE, 0x1FACF }, { 0x1FADA, 0x1FADB },
  { 0x1FAE8, 0x1FAE8 }, { 0x1FAF7, 0x1FAF8 }, { 0x2B739, 0x2B739 }, { 0x31350, 0x323AF },
};

static GUnicodeType
python_category (gunichar c)
{
  if (c >= 0x0CF3)
    for (gsize i = 0; i < G_N_ELEMENTS (unicode15_additions); i++)
      if (c >= unicode15_additions[i].first && c <= unicode15_additions[i].last)
        return G_UNICODE_UNASSIGNED;
  return g_unichar_type (c);
}

#define TYPE_BIT(type) (1u << (type))
/* Python's categories C* and P*. */
#define CATEGORY_C (TYPE_BIT (G_UNICODE_CONTROL) | TYPE_BIT (G_UNICODE_FORMAT) | \
                    TYPE_BIT (G_UNICODE_UNASSIGNED) | TYPE_BIT (G_UNICODE_PRIVATE_USE) | \
                    TYPE_BIT (G_UNICODE_SURROGATE))
#define CATEGORY_P (TYPE_BIT (G_UNICODE_CONNECT_PUNCTUATION) | TYPE_BIT (G_UNICODE_DASH_PUNCTUATION) | \
                    TYPE_BIT (G_UNICODE_CLOSE_PUNCTUATION) | TYPE_BIT (G_UNICODE_FINAL_PUNCTUATION) | \
                    TYPE_BIT (G_UNICODE_INITIAL_PUNCTUATION) | TYPE_BIT (G_UNICODE_OTHER_PUNCTUATION) | \
                    TYPE_BIT (G_UNICODE_OPEN_PUNCTUATION))

/* transformers' _is_whitespace. */
static inline gboolean
bert_is_whitespace (gunichar c)
{
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
    return TRUE;
  if (c < 0x80)
    return FALSE;
  return python_category (c) == G_UNICODE_SPACE_SEPARATOR;
}

/* transformers' _is_control: any category C* (Cc, Cf, Cn, Co, Cs) except \t \n \r. */
static inline gboolean
bert_is_control (gunichar c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return FALSE;
  if (c < 0x80)
    return c < 0x20 || c == 0x7F;
  return (TYPE_BIT (python_category (c)) & CATEGORY_C) != 0;
}

/* transformers' _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126, and category P*. */
static inline gboolean
bert_is_punctuation (gunichar c)
{
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return TRUE;
  if (c < 0x80)
    return FALSE;
  return (TYPE_BIT (python_category (c)) & CATEGORY_P) != 0;
}

/* BasicTokenizer._is_chinese_char. */
static inline gboolean
bert_is_chinese_char (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Python's str.isspace(), which str.split() splits on. */
static inline gboolean
python_is_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

/* A growable array of code points. */
typedef struct {
  gunichar *chars;
  gsize     len;
  gsize     cap;
} Ucs;

static inline void
ucs_push (Ucs      *t,
          gunichar  c)
{
  if (t->len == t->cap)
    {
      t->cap = MAX (64, t->cap * 2);
      t->chars = g_renew (gunichar, t->chars, t->cap);
    }
  t->chars[t->len++] = c;
}

/* Python's str.lower() of one character: the full lower-case mapping (only U+0130 has a
 * multi-character one) with the mappings GLib's g_unichar_tolower skips because the character is
 * not a cased letter (Roman numerals Nl, circled letters So). */
static void
append_python_lower (Ucs      *out,
                     gunichar  c)
{
  if (c < 0x80)
    ucs_push (out, (c >= 'A' && c <= 'Z') ? c + 32 : c);
  else if (c == 0x0130)
    {
      ucs_push (out, 'i');
      ucs_push (out, 0x0307);
    }
  else if (c >= 0x2160 && c <= 0x216F)
    ucs_push (out, c + 0x10);
  else if (c >= 0x24B6 && c <= 0x24CF)
    ucs_push (out, c + 0x1A);
  else
    ucs_push (out, g_unichar_tolower (c));
}

/* Replaces T by its normal form MODE. Below U+0300 every character is its own NFC and NFD, so
 * ASCII and Latin-1 text skips the conversion. */
static void
normalize (Ucs            *t,
           GNormalizeMode  mode)
{
  g_autofree char *utf8 = NULL;
  g_autofree char *normal = NULL;
  gboolean simple = TRUE;

  for (gsize i = 0; i < t->len && simple; i++)
    simple = t->chars[i] < 0xC0;
  if (simple)
    return;
  if (mode == G_NORMALIZE_NFC)
    {
      simple = TRUE;
      for (gsize i = 0; i < t->len && simple; i++)
        simple = t->chars[i] < 0x300;
      if (simple)
        return;
    }
  utf8 = g_ucs4_to_utf8 (t->chars, (glong) t->len, NULL, NULL, NULL);
  if (utf8 == NULL)
    return;
  normal = g_utf8_normalize (utf8, -1, mode);
  if (normal == NULL)
    return;
  t->len = 0;
  for (const char *p = normal; *p != '\0'; p = g_utf8_next_char (p))
    ucs_push (t, g_utf8_get_char (p));
}

/* Where the ids go: stops accepting once the room for the sequence body is full. */
typedef struct {
  const PlTokenizer *tokenizer;
  int32_t           *ids;
  int                n;
  int                max;
  Ucs                scratch_a;
  Ucs                scratch_b;
  GString           *word_utf8;
  GArray            *char_offsets;  /* guint32 byte offset of each character of the word, + end */
} Output;

static inline gboolean
output_full (const Output *out)
{
  return out->n >= out->max;
}

static inline void
output_id (Output  *out,
           int32_t  id)
{
  if (out->n < out->max)
    out->ids[out->n++] = id;
}

/* WordpieceTokenizer.tokenize for one word (no whitespace in it). */
static void
wordpiece (Output         *out,
           const gunichar *chars,
           gsize           n)
{
  const PlTokenizer *tokenizer = out->tokenizer;
  int32_t unk = tokenizer->special_ids[SPECIAL_UNK];
  const guint32 *offsets;
  const char *bytes;
  int32_t pieces[MAX_INPUT_CHARS_PER_WORD];
  int n_pieces = 0;
  gsize start = 0;

  if (n > MAX_INPUT_CHARS_PER_WORD)
    {
      output_id (out, unk);
      return;
    }
  g_string_truncate (out->word_utf8, 0);
  g_array_set_size (out->char_offsets, 0);
  for (gsize i = 0; i < n; i++)
    {
      guint32 offset = (guint32) out->word_utf8->len;

      g_array_append_val (out->char_offsets, offset);
      g_string_append_unichar (out->word_utf8, chars[i]);
    }
  {
    guint32 end = (guint32) out->word_utf8->len;

    g_array_append_val (out->char_offsets, end);
  }
  offsets = (const guint32 *) out->char_offsets->data;
  bytes = out->word_utf8->str;

  while (start < n)
    {
      gsize end = n;
      int32_t id = -1;

      while (start < end)
        {
          id = lookup (tokenizer, "##", start > 0 ? 2 : 0, bytes + offsets[start], offsets[end] - offsets[start]);
          if (id >= 0)
            break;
          end--;
        }
      if (id < 0)
        {
          output_id (out, unk);
          return;
        }
      pieces[n_pieces++] = id;
      start = end;
    }
  for (int i = 0; i < n_pieces; i++)
    output_id (out, pieces[i]);
}

/* One whitespace-separated token of BasicTokenizer: lower-cased (already, see tokenize_text),
 * accents stripped (NFD, category Mn dropped), split on punctuation, then WordPiece per piece. */
static void
basic_token (Output         *out,
             const gunichar *chars,
             gsize           n)
{
  Ucs *t = &out->scratch_b;
  gsize start = 0;

  t->len = 0;
  for (gsize i = 0; i < n; i++)
    append_python_lower (t, chars[i]);
  normalize (t, G_NORMALIZE_NFD);
  {
    gsize kept = 0;

    for (gsize i = 0; i < t->len; i++)
      if (t->chars[i] < 0x300 || python_category (t->chars[i]) != G_UNICODE_NON_SPACING_MARK)
        t->chars[kept++] = t->chars[i];
    t->len = kept;
  }
  for (gsize i = 0; i <= t->len && !output_full (out); i++)
    {
      if (i == t->len || bert_is_punctuation (t->chars[i]))
        {
          if (i > start)
            wordpiece (out, t->chars + start, i - start);
          if (i < t->len && !output_full (out))
            wordpiece (out, t->chars + i, 1);
          start = i + 1;
        }
    }
}

/* BasicTokenizer.tokenize on a piece of text holding no special token, then WordPiece. */
static void
basic_tokenize (Output         *out,
                const gunichar *chars,
                gsize           n)
{
  Ucs *t = &out->scratch_a;
  gsize start = 0;

  /* _clean_text, then _tokenize_chinese_chars. */
  t->len = 0;
  for (gsize i = 0; i < n; i++)
    {
      gunichar c = chars[i];

      if (c == 0 || c == 0xFFFD || bert_is_control (c))
        continue;
      if (bert_is_whitespace (c))
        ucs_push (t, ' ');
      else if (bert_is_chinese_char (c))
        {
          ucs_push (t, ' ');
          ucs_push (t, c);
          ucs_push (t, ' ');
        }
      else
        ucs_push (t, c);
    }
  normalize (t, G_NORMALIZE_NFC);

  /* whitespace_tokenize: str.split(). */
  for (gsize i = 0; i <= t->len && !output_full (out); i++)
    {
      if (i == t->len || python_is_space (t->chars[i]))
        {
          if (i > start)
            basic_token (out, t->chars + start, i - start);
          start = i + 1;
        }
    }
}

/* The special token (one the vocab has, or [MASK]) starting at CHARS, or -1. */
static int
special_at (const gunichar *chars,
            gsize           n)
{
  if (n < 5 || chars[0] != '[')
    return -1;
  for (int s = 0; s < N_SPECIAL; s++)
    {
      const char *name = special_names[s];
      gsize len = strlen (name);
      gsize k;

      if (len > n)
        continue;
      for (k = 0; k < len && chars[k] == (gunichar) name[k]; k++)
        ;
      if (k == len)
        return s;
    }
  return -1;
}

/* PreTrainedTokenizer.tokenize: every character outside special tokens lower-cased on its own
 * (the `(special|...)|(.+?)` substitution, which never sees a final sigma in context; '.' skips
 * '\n'), the text cut around special tokens (the added-tokens trie: leftmost match; BERT's
 * special tokens cannot overlap), each other piece through BertTokenizer._tokenize. */
static void
tokenize_text (Output         *out,
               const gunichar *chars,
               gsize           n)
{
  g_autofree gunichar *lowered = NULL;
  Ucs piece = { 0 };
  gsize i = 0;

  while (i <= n && !output_full (out))
    {
      int s = i < n ? special_at (chars + i, n - i) : -1;

      if (i == n || s >= 0)
        {
          if (piece.len > 0)
            basic_tokenize (out, piece.chars, piece.len);
          piece.len = 0;
          if (i == n)
            break;
          /* A special token missing from the vocab ([MASK]) gets [UNK]'s id: transformers would
           * append it to the vocabulary past the embedding matrix. */
          output_id (out, out->tokenizer->special_ids[s] >= 0 ? out->tokenizer->special_ids[s]
                                                               : out->tokenizer->special_ids[SPECIAL_UNK]);
          i += strlen (special_names[s]);
          continue;
        }
      if (chars[i] == '\n')
        ucs_push (&piece, chars[i]);
      else
        append_python_lower (&piece, chars[i]);
      i++;
    }
  g_free (piece.chars);
}

int
pl_tokenizer_encode (const PlTokenizer *tokenizer,
                     const char        *text,
                     int                context_length,
                     int32_t           *ids)
{
  g_autofree char *cleaned = NULL;
  g_autofree gunichar *chars = NULL;
  glong n_chars = 0;
  Output out = { 0 };

  g_return_val_if_fail (tokenizer != NULL, 0);
  g_return_val_if_fail (ids != NULL, 0);
  g_return_val_if_fail (context_length >= 2, 0);

  cleaned = pl_text_clean (text);
  chars = g_utf8_to_ucs4_fast (cleaned, -1, &n_chars);

  /* [CLS] body [SEP]; truncation (longest_first, right side, one sequence) keeps the first
   * context_length - 2 body tokens, so tokenizing stops there. */
  ids[0] = tokenizer->special_ids[SPECIAL_CLS];
  out.tokenizer = tokenizer;
  out.ids = ids + 1;
  out.max = context_length - 2;
  out.word_utf8 = g_string_sized_new (64);
  out.char_offsets = g_array_sized_new (FALSE, FALSE, sizeof (guint32), MAX_INPUT_CHARS_PER_WORD + 1);
  tokenize_text (&out, chars, (gsize) n_chars);
  ids[1 + out.n] = tokenizer->special_ids[SPECIAL_SEP];

  g_free (out.scratch_a.chars);
  g_free (out.scratch_b.chars);
  g_string_free (out.word_utf8, TRUE);
  g_array_free (out.char_offsets, TRUE);
  return out.n + 2;
}
