/* pl-text-clean.c: the text cleaning open_clip v2.23.0 applies before its Hugging Face tokenizer,
 * whitespace_clean(basic_clean(text)): ftfy 6.1.1 fix_text (default config), html.unescape twice,
 * strip, runs of whitespace collapsed to one space, strip.
 *
 * Every step mirrors its Python original character for character (the tables come from Python's own
 * standard library, see pl-html-entities.h). What is NOT done: ftfy's mojibake repair
 * (fix_encoding: re-decoding text such as "cafÃ©" that was UTF-8 read as Latin-1/Windows-125x,
 * with its "badness" heuristic, restore_byte_a0, replace_lossy_sequences and
 * decode_inconsistent_utf8); such text passes through unrepaired. Invalid UTF-8 input, which
 * Python never sees as str, is decoded as Python's bytes.decode("utf-8", "replace") does (each
 * maximal invalid subpart becomes one U+FFFD, which BERT's clean step later drops). */
#include "pl-tokenizer.h"

#include <string.h>

#include "pl-html-entities.h"

/* ftfy's TextFixerConfig.max_decode_length: fix_text works on segments of at most this many
 * characters when a line is longer. */
#define FTFY_MAX_DECODE_LENGTH 1000000

/* A growable array of code points: every step works on whole characters, as Python's str does. */
typedef struct {
  gunichar *chars;
  gsize     len;
  gsize     cap;
} UcsText;

static void
ucs_reserve (UcsText *t,
             gsize    extra)
{
  if (t->len + extra <= t->cap)
    return;
  t->cap = MAX (t->cap * 2, t->len + extra + 16);
  t->chars = g_renew (gunichar, t->chars, t->cap);
}

static inline void
ucs_push (UcsText  *t,
          gunichar  c)
{
  ucs_reserve (t, 1);
  t->chars[t->len++] = c;
}

static void
ucs_push_utf8 (UcsText    *t,
               const char *s)
{
  for (; *s != '\0'; s = g_utf8_next_char (s))
    ucs_push (t, g_utf8_get_char (s));
}

static void
ucs_push_range (UcsText        *t,
                const gunichar *chars,
                gsize           n)
{
  if (n == 0)
    return;
  ucs_reserve (t, n);
  memcpy (t->chars + t->len, chars, n * sizeof (gunichar));
  t->len += n;
}

static void
ucs_clear (UcsText *t)
{
  g_clear_pointer (&t->chars, g_free);
  t->len = t->cap = 0;
}

static void
ucs_swap (UcsText *a,
          UcsText *b)
{
  UcsText tmp = *a;

  *a = *b;
  *b = tmp;
}

static gboolean
ucs_equal (const UcsText *a,
           const UcsText *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->chars, b->chars, a->len * sizeof (gunichar)) == 0);
}

static inline gboolean
is_ascii_alnum (gunichar c)
{
  return c < 0x80 && g_ascii_isalnum ((char) c);
}

static inline gboolean
is_ascii_digit (gunichar c)
{
  return c >= '0' && c <= '9';
}

static inline gboolean
is_ascii_xdigit (gunichar c)
{
  return c < 0x80 && g_ascii_isxdigit ((char) c);
}

/* Python's str.isspace() (what str.strip() and str.split() remove). */
static gboolean
is_python_space (gunichar c)
{
  switch (c)
    {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return TRUE;
    default:
      return c >= 0x2000 && c <= 0x200A;
    }
}

/* The `regex` module's \s for str patterns: Python's isspace() minus U+001C..U+001F. */
static gboolean
is_regex_space (gunichar c)
{
  return is_python_space (c) && !(c >= 0x1C && c <= 0x1F);
}

static int
compare_entity_name (const void *key,
                     const void *element)
{
  return strcmp (key, ((const PlHtmlEntity *) element)->name);
}

static const char *
lookup_entity (const PlHtmlEntity *table,
               gsize               n,
               const char         *name)
{
  const PlHtmlEntity *found = bsearch (name, table, n, sizeof *table, compare_entity_name);

  return found != NULL ? found->value : NULL;
}

/* Code points [start, end) of T as UTF-8 into BUF (of BUF_SIZE bytes); FALSE if they do not fit or
 * are not all ASCII (entity names are ASCII, so a non-ASCII name never matches). */
static gboolean
ascii_name (const gunichar *chars,
            gsize           n,
            char           *buf,
            gsize           buf_size)
{
  if (n + 1 > buf_size)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      if (chars[i] >= 0x80 || chars[i] == 0)
        return FALSE;
      buf[i] = (char) chars[i];
    }
  buf[n] = '\0';
  return TRUE;
}

/* Python html.unescape's _replace_charref for a numeric reference &#NUM;: appends the result. */
static void
append_numeric_charref (UcsText  *out,
                        gunichar  num)
{
  for (gsize i = 0; i < G_N_ELEMENTS (pl_html_invalid_charrefs); i++)
    if (pl_html_invalid_charrefs[i].from == num)
      {
        ucs_push (out, pl_html_invalid_charrefs[i].to);
        return;
      }
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
    {
      ucs_push (out, 0xFFFD);
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (pl_html_invalid_codepoints); i++)
    if (num >= pl_html_invalid_codepoints[i].first && num <= pl_html_invalid_codepoints[i].last)
      return;
  ucs_push (out, num);
}

/* Parses the digits of a numeric reference, saturating above U+10FFFF (Python's int never
 * overflows; every value past 0x10FFFF gives the same result). */
static gunichar
parse_charref_number (const gunichar *digits,
                      gsize           n,
                      guint           base)
{
  guint64 value = 0;

  for (gsize i = 0; i < n; i++)
    {
      value = value * base + (guint) g_ascii_xdigit_value ((char) digits[i]);
      if (value > 0x10FFFF)
        value = 0x110000;
    }
  return (gunichar) value;
}

/* Python's html.unescape (3.11): the pattern
 *   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
 * scanned left to right, each match replaced by _replace_charref. */
static void
python_html_unescape (const UcsText *in,
                      UcsText       *out)
{
  const gunichar *s = in->chars;
  gsize n = in->len;
  gsize i = 0;

  out->len = 0;
  while (i < n)
    {
      gsize j;

      if (s[i] != '&' || i + 1 >= n)
        {
          ucs_push (out, s[i++]);
          continue;
        }
      j = i + 1;
      if (s[j] == '#')
        {
          gsize start;
          guint base = 10;

          j++;
          if (j < n && (s[j] == 'x' || s[j] == 'X') && j + 1 < n && is_ascii_xdigit (s[j + 1]))
            {
              base = 16;
              j++;
            }
          start = j;
          while (j < n && (base == 16 ? is_ascii_xdigit (s[j]) : is_ascii_digit (s[j])))
            j++;
          if (j == start)
            {
              ucs_push (out, s[i++]);
              continue;
            }
          append_numeric_charref (out, parse_charref_number (s + start, j - start, base));
          if (j < n && s[j] == ';')
            j++;
          i = j;
        }
      else
        {
          char name[40];
          gsize len;
          gsize x;
          const char *value;

          while (j < n && j - (i + 1) < 32 && s[j] != '\t' && s[j] != '\n' && s[j] != '\f' &&
                 s[j] != ' ' && s[j] != '<' && s[j] != '&' && s[j] != '#' && s[j] != ';')
            j++;
          if (j == i + 1)
            {
              ucs_push (out, s[i++]);
              continue;
            }
          if (j < n && s[j] == ';')
            j++;
          len = j - (i + 1);
          /* The whole name, then its longest prefix of at least two characters. */
          if (ascii_name (s + i + 1, len, name, sizeof name) &&
              (value = lookup_entity (pl_html5_entities, G_N_ELEMENTS (pl_html5_entities), name)) != NULL)
            {
              ucs_push_utf8 (out, value);
              i = j;
              continue;
            }
          for (x = len - 1; x > 1; x--)
            if (ascii_name (s + i + 1, x, name, sizeof name) &&
                (value = lookup_entity (pl_html5_entities, G_N_ELEMENTS (pl_html5_entities), name)) != NULL)
              break;
          if (x > 1)
            {
              ucs_push_utf8 (out, value);
              ucs_push_range (out, s + i + 1 + x, len - x);
            }
          else
            ucs_push_range (out, s + i, j - i);
          i = j;
        }
    }
}

/* ftfy.fixes.unescape_html: &#?[0-9A-Za-z]{1,24}; replaced when it names an HTML5 entity (or one of
 * ftfy's upper-cased ones), or when html.unescape turns a numeric one into text without a ';'. */
static void
ftfy_unescape_html (const UcsText *in,
                    UcsText       *out)
{
  const gunichar *s = in->chars;
  gsize n = in->len;
  gsize i = 0;
  UcsText piece = { 0 };
  UcsText unescaped = { 0 };

  out->len = 0;
  while (i < n)
    {
      gsize j, start;
      char name[32];
      const char *value = NULL;

      if (s[i] != '&')
        {
          ucs_push (out, s[i++]);
          continue;
        }
      j = i + 1;
      if (j < n && s[j] == '#')
        j++;
      start = j;
      while (j < n && j - start < 25 && is_ascii_alnum (s[j]))
        j++;
      if (j == start || j - start > 24 || j >= n || s[j] != ';')
        {
          ucs_push (out, s[i++]);
          continue;
        }
      j++;  /* the ';' */
      if (s[i + 1] != '#')
        {
          ascii_name (s + i + 1, j - i - 1, name, sizeof name);
          value = lookup_entity (pl_html5_entities, G_N_ELEMENTS (pl_html5_entities), name);
          if (value == NULL)
            value = lookup_entity (pl_ftfy_upper_entities, G_N_ELEMENTS (pl_ftfy_upper_entities), name);
          if (value != NULL)
            ucs_push_utf8 (out, value);
          else
            ucs_push_range (out, s + i, j - i);
        }
      else
        {
          gboolean has_semicolon = FALSE;

          piece.len = 0;
          ucs_push_range (&piece, s + i, j - i);
          python_html_unescape (&piece, &unescaped);
          for (gsize k = 0; k < unescaped.len; k++)
            has_semicolon |= unescaped.chars[k] == ';';
          if (has_semicolon)
            ucs_push_range (out, s + i, j - i);
          else
            ucs_push_range (out, unescaped.chars, unescaped.len);
        }
      i = j;
    }
  ucs_clear (&piece);
  ucs_clear (&unescaped);
}

/* ftfy.fixes.remove_terminal_escapes: \033\[((?:\d|;)*)([a-zA-Z]) removed; \d is any Unicode
 * decimal digit, as in Python's re on str. */
static void
ftfy_remove_terminal_escapes (const UcsText *in,
                              UcsText       *out)
{
  const gunichar *s = in->chars;
  gsize n = in->len;
  gsize i = 0;

  out->len = 0;
  while (i < n)
    {
      if (s[i] == 0x1B && i + 1 < n && s[i + 1] == '[')
        {
          gsize j = i + 2;

          while (j < n && (s[j] == ';' || g_unichar_isdigit (s[j])))
            j++;
          if (j < n && s[j] < 0x80 && g_ascii_isalpha ((char) s[j]))
            {
              i = j + 1;
              continue;
            }
        }
      ucs_push (out, s[i++]);
    }
}

/* ftfy.chardata.LIGATURES. */
static const char *
ftfy_ligature (gunichar c)
{
  switch (c)
    {
    case 0x0132: return "IJ";
    case 0x0133: return "ij";
    case 0x0149: return "\xCA\xBCn";  /* U+02BC n */
    case 0x01F1: return "DZ";
    case 0x01F2: return "Dz";
    case 0x01F3: return "dz";
    case 0x01C4: return "D\xC5\xBD";  /* D U+017D */
    case 0x01C5: return "D\xC5\xBE";  /* D U+017E */
    case 0x01C6: return "d\xC5\xBE";  /* d U+017E */
    case 0x01C7: return "LJ";
    case 0x01C8: return "Lj";
    case 0x01C9: return "lj";
    case 0x01CA: return "NJ";
    case 0x01CB: return "Nj";
    case 0x01CC: return "nj";
    case 0xFB00: return "ff";
    case 0xFB01: return "fi";
    case 0xFB02: return "fl";
    case 0xFB03: return "ffi";
    case 0xFB04: return "ffl";
    case 0xFB05: return "\xC5\xBFt";  /* U+017F t */
    case 0xFB06: return "st";
    default: return NULL;
    }
}

/* ftfy.chardata.CONTROL_CHARS. */
static gboolean
ftfy_is_removed_control (gunichar c)
{
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* The character-by-character fixers, in the order fix_and_explain applies them: fix_c1_controls,
 * fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks (fix_surrogates has
 * nothing to do: valid UTF-8 holds no surrogates). Terminal escapes and control characters follow
 * in separate passes because the escape pattern spans characters. */
static void
ftfy_map_characters (const UcsText *in,
                     UcsText       *out)
{
  const gunichar *s = in->chars;
  gsize n = in->len;
  UcsText stage = { 0 };

  /* fix_c1_controls, ligatures, width, quotes: each maps one character to a string, and none of
   * their outputs is an input of a later one except through the ordering kept here. */
  out->len = 0;
  for (gsize i = 0; i < n; i++)
    {
      gunichar c = s[i];
      const char *mapped;

      if (c >= 0x80 && c <= 0x9F)
        c = pl_ftfy_sloppy_1252_c1[c - 0x80];
      if ((mapped = ftfy_ligature (c)) != NULL)
        {
          for (const char *p = mapped; *p != '\0'; p = g_utf8_next_char (p))
            ucs_push (&stage, g_utf8_get_char (p));
          continue;
        }
      ucs_push (&stage, c);
    }

  /* Width: a ligature's output is ASCII/Latin, never in the width ranges, so one pass suffices. */
  for (gsize i = 0; i < stage.len; i++)
    {
      gunichar c = stage.chars[i];

      if (c == 0x3000)
        ucs_push (out, ' ');
      else if (c >= 0xFF01 && c < 0xFFF0 && pl_ftfy_width_map[c - 0xFF01] != NULL)
        ucs_push_utf8 (out, pl_ftfy_width_map[c - 0xFF01]);
      else
        ucs_push (out, c);
    }

  /* uncurl_quotes then fix_line_breaks, in place except for \r\n. */
  stage.len = 0;
  for (gsize i = 0; i < out->len; i++)
    {
      gunichar c = out->chars[i];

      if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
        c = '\'';
      else if (c >= 0x201C && c <= 0x201F)
        c = '"';
      if (c == '\r' && i + 1 < out->len && out->chars[i + 1] == '\n')
        continue;  /* "\r\n" -> "\n": drop the \r, keep the \n */
      if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85)
        c = '\n';
      ucs_push (&stage, c);
    }
  ucs_swap (out, &stage);
  ucs_clear (&stage);
}

/* unicodedata.normalize("NFC"). Text below U+0300 is already NFC: no character there decomposes
 * canonically or composes with a neighbour, so the common case skips the round trip. */
static void
normalize_nfc (UcsText *t)
{
  g_autofree char *utf8 = NULL;
  g_autofree char *nfc = NULL;
  gboolean simple = TRUE;

  for (gsize i = 0; i < t->len && simple; i++)
    simple = t->chars[i] < 0x300;
  if (simple)
    return;
  utf8 = g_ucs4_to_utf8 (t->chars, (glong) t->len, NULL, NULL, NULL);
  if (utf8 == NULL)
    return;
  nfc = g_utf8_normalize (utf8, -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    return;
  t->len = 0;
  ucs_push_utf8 (t, nfc);
}

/* ftfy's fix_and_explain on one segment: the fixers in order, repeated until nothing changes. */
static void
ftfy_fix_segment (UcsText  *text,
                  gboolean  unescape_html)
{
  UcsText before = { 0 };
  UcsText work = { 0 };

  for (;;)
    {
      before.len = 0;
      ucs_push_range (&before, text->chars, text->len);
      if (unescape_html)
        {
          ftfy_unescape_html (text, &work);
          ucs_swap (text, &work);
        }
      /* fix_encoding (mojibake repair) would run here: not implemented, see the file comment. */
      ftfy_map_characters (text, &work);
      ucs_swap (text, &work);
      ftfy_remove_terminal_escapes (text, &work);
      ucs_swap (text, &work);
      work.len = 0;
      for (gsize i = 0; i < text->len; i++)
        if (!ftfy_is_removed_control (text->chars[i]))
          ucs_push (&work, text->chars[i]);
      ucs_swap (text, &work);
      normalize_nfc (text);
      if (ucs_equal (text, &before))
        break;
    }
  ucs_clear (&before);
  ucs_clear (&work);
}

/* ftfy.fix_text with the default TextFixerConfig: segments end after each '\n' (or every
 * max_decode_length characters); HTML unescaping is "auto", switched off from the first segment
 * holding a '<' onwards (fix_text keeps the changed config for the segments after it). */
static void
ftfy_fix_text (const UcsText *in,
               UcsText       *out)
{
  gboolean unescape_html = TRUE;
  UcsText segment = { 0 };
  gsize pos = 0;

  out->len = 0;
  while (pos < in->len)
    {
      gsize end = pos;

      while (end < in->len && in->chars[end] != '\n')
        end++;
      end = end < in->len ? end + 1 : in->len;
      if (end - pos > FTFY_MAX_DECODE_LENGTH)
        end = pos + FTFY_MAX_DECODE_LENGTH;
      segment.len = 0;
      ucs_push_range (&segment, in->chars + pos, end - pos);
      for (gsize i = 0; i < segment.len && unescape_html; i++)
        if (segment.chars[i] == '<')
          unescape_html = FALSE;
      ftfy_fix_segment (&segment, unescape_html);
      ucs_push_range (out, segment.chars, segment.len);
      pos = end;
    }
  ucs_clear (&segment);
}

/* UTF-8 to code points with Python's "replace" error handler: a sequence that cannot continue
 * becomes one U+FFFD for its longest valid prefix (at least one byte), as Unicode recommends. */
static void
decode_utf8_replace (const char *text,
                     UcsText    *out)
{
  const guchar *s = (const guchar *) text;
  gsize i = 0;

  while (s[i] != 0)
    {
      guchar b = s[i];
      gsize need;
      guchar lo = 0x80, hi = 0xBF;
      gunichar c;
      gsize k;

      if (b < 0x80)
        {
          ucs_push (out, b);
          i++;
          continue;
        }
      if (b >= 0xC2 && b <= 0xDF)
        need = 1, c = b & 0x1F;
      else if (b >= 0xE0 && b <= 0xEF)
        {
          need = 2, c = b & 0x0F;
          if (b == 0xE0)
            lo = 0xA0;
          else if (b == 0xED)
            hi = 0x9F;
        }
      else if (b >= 0xF0 && b <= 0xF4)
        {
          need = 3, c = b & 0x07;
          if (b == 0xF0)
            lo = 0x90;
          else if (b == 0xF4)
            hi = 0x8F;
        }
      else
        {
          ucs_push (out, 0xFFFD);
          i++;
          continue;
        }
      for (k = 1; k <= need; k++)
        {
          guchar cont = s[i + k];

          if (cont < lo || cont > hi)
            break;
          c = (c << 6) | (cont & 0x3F);
          lo = 0x80, hi = 0xBF;
        }
      if (k <= need)
        {
          ucs_push (out, 0xFFFD);
          i += k;
          continue;
        }
      ucs_push (out, c);
      i += need + 1;
    }
}

char *
pl_text_clean (const char *text)
{
  UcsText input = { 0 };
  UcsText a = { 0 };
  UcsText b = { 0 };
  UcsText collapsed = { 0 };
  gsize start, end;
  char *result;

  if (text == NULL)
    return g_strdup ("");
  decode_utf8_replace (text, &input);

  /* basic_clean: ftfy.fix_text, html.unescape twice, strip. */
  ftfy_fix_text (&input, &a);
  python_html_unescape (&a, &b);
  python_html_unescape (&b, &a);
  start = 0;
  end = a.len;
  while (start < end && is_python_space (a.chars[start]))
    start++;
  while (end > start && is_python_space (a.chars[end - 1]))
    end--;

  /* whitespace_clean: regex.sub(r'\s+', ' ', text), then strip. */
  for (gsize i = start; i < end; i++)
    {
      if (is_regex_space (a.chars[i]))
        {
          while (i + 1 < end && is_regex_space (a.chars[i + 1]))
            i++;
          ucs_push (&collapsed, ' ');
        }
      else
        ucs_push (&collapsed, a.chars[i]);
    }
  start = 0;
  end = collapsed.len;
  while (start < end && is_python_space (collapsed.chars[start]))
    start++;
  while (end > start && is_python_space (collapsed.chars[end - 1]))
    end--;

  result = g_ucs4_to_utf8 (collapsed.chars + start, (glong) (end - start), NULL, NULL, NULL);
  if (result == NULL)
    result = g_strdup ("");
  ucs_clear (&input);
  ucs_clear (&a);
  ucs_clear (&b);
  ucs_clear (&collapsed);
  return result;
}
