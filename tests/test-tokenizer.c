/* test-tokenizer.c: pl_tokenizer ids against transformers' BertTokenizer (v4.30.2 code, run by
 * tests/reference/make_token_fixtures.py into fixtures/tokens.json) for bert-base-uncased's vocab and
 * a PubMedBERT-like reordering of it; vocab.txt parsing and its errors; speed. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "model/pl-error.h"
#include "model/pl-tokenizer.h"
#include "pl-test-util.h"

static char *
bert_vocab_path (void)
{
  return pl_test_shared_data_path ("vocab/bert-base-uncased-vocab.txt");
}

/* The "PubMedBERT-like" vocab of make_token_fixtures.py, by the same rule: [PAD] [UNK] [CLS] [SEP]
 * [MASK] at ids 0-4, then bert-base-uncased's other lines in order with an empty line inserted at
 * id EMPTY_LINE, then a duplicate DUPLICATE as the last line. */
static char *
write_pubmed_like_vocab (JsonObject *rule)
{
  g_autofree char *bert = bert_vocab_path ();
  g_autoptr(GBytes) bytes = pl_test_read_file (bert);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  JsonArray *order = json_object_get_array_member (rule, "special_order");
  gint64 empty_line = json_object_get_int_member (rule, "empty_line");
  const char *duplicate = json_object_get_string_member (rule, "duplicate_last_line");
  g_autoptr(GString) out = g_string_new (NULL);
  guint n_lines = g_strv_length (lines);
  gint64 id = 0;

  if (n_lines > 0 && lines[n_lines - 1][0] == '\0')
    n_lines--;
  for (guint i = 0; i < json_array_get_length (order); i++, id++)
    g_string_append_printf (out, "%s\n", json_array_get_string_element (order, i));
  for (guint i = 0; i < n_lines; i++)
    {
      gboolean special = FALSE;

      for (guint k = 0; k < json_array_get_length (order); k++)
        special |= strcmp (lines[i], json_array_get_string_element (order, k)) == 0;
      if (special)
        continue;
      if (id == empty_line)
        {
          g_string_append (out, "\n");
          id++;
        }
      g_string_append_printf (out, "%s\n", lines[i]);
      id++;
    }
  g_string_append_printf (out, "%s\n", duplicate);
  return pl_test_write_file ("pubmed-like-vocab.txt", out->str, out->len);
}

static void
check_ids (PlTokenizer *tokenizer,
           JsonObject  *c,
           const char  *vocab_key,
           guint       *n_compared)
{
  g_autofree char *input = NULL;
  JsonObject *ids_by_vocab;
  JsonArray *expected;
  int context_length = (int) json_object_get_int_member (c, "context_length");
  g_autofree int32_t *ids = g_new0 (int32_t, context_length);
  int n;
  const char *name = json_object_get_string_member (c, "name");

  if (json_object_has_member (c, "text_base64"))
    {
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (json_object_get_string_member (c, "text_base64"), &len);

      input = g_strndup ((const char *) raw, len);
    }
  else
    input = g_strdup (json_object_get_string_member (c, "text"));

  /* Mojibake repair is documented as missing: compare with Python's ids without it. */
  ids_by_vocab = json_object_get_object_member (c, json_object_has_member (c, "ids_without_fix_encoding")
                                                     ? "ids_without_fix_encoding" : "ids");
  expected = json_object_get_array_member (ids_by_vocab, vocab_key);
  n = pl_tokenizer_encode (tokenizer, input, context_length, ids);
  if ((guint) n != json_array_get_length (expected))
    g_error ("%s vocab, case \"%s\": %d ids, transformers gives %u",
             vocab_key, name, n, json_array_get_length (expected));
  for (int i = 0; i < n; i++)
    {
      gint64 want = json_array_get_int_element (expected, (guint) i);

      if (ids[i] != want)
        g_error ("%s vocab, case \"%s\": id %d is %d (%s), transformers gives %" G_GINT64_FORMAT " (%s)",
                 vocab_key, name, i, ids[i], pl_tokenizer_id_to_token (tokenizer, ids[i]), want,
                 pl_tokenizer_id_to_token (tokenizer, (int32_t) want));
    }
  *n_compared += (guint) n;
}

static void
test_matches_transformers (void)
{
  g_autofree char *fixture = pl_test_fixture_path ("tokens.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *bert_path = bert_vocab_path ();
  g_autofree char *pubmed_path = NULL;
  PlTokenizer *bert, *pubmed;
  JsonObject *root;
  JsonArray *cases;
  guint n_compared = 0;

  json_parser_load_from_file (parser, fixture, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  cases = json_object_get_array_member (root, "cases");
  pubmed_path = write_pubmed_like_vocab (json_object_get_object_member (root, "pubmed_like_vocab"));

  bert = pl_tokenizer_new_from_file (bert_path, &error);
  g_assert_no_error (error);
  pubmed = pl_tokenizer_new_from_file (pubmed_path, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);

      check_ids (bert, c, "bert", &n_compared);
      check_ids (pubmed, c, "pubmed", &n_compared);
    }
  g_test_message ("%u ids compared over %u texts", n_compared, json_array_get_length (cases));
  g_assert_cmpuint (n_compared, >, 8000);
  pl_tokenizer_free (bert);
  pl_tokenizer_free (pubmed);
}

static void
test_special_ids_come_from_the_vocab (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bert_path = bert_vocab_path ();
  PlTokenizer *bert = pl_tokenizer_new_from_file (bert_path, &error);
  const char *reordered = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nfibrosis\n";
  PlTokenizer *small = pl_tokenizer_new_from_data (reordered, strlen (reordered), "reordered", &error);
  int32_t ids[8];

  g_assert_no_error (error);
  /* bert-base-uncased: line numbers of the tokens in vocab.txt. */
  g_assert_cmpint (pl_tokenizer_get_vocab_size (bert), ==, 30522);
  g_assert_cmpint (pl_tokenizer_get_pad_id (bert), ==, 0);
  g_assert_cmpint (pl_tokenizer_get_unk_id (bert), ==, 100);
  g_assert_cmpint (pl_tokenizer_get_cls_id (bert), ==, 101);
  g_assert_cmpint (pl_tokenizer_get_sep_id (bert), ==, 102);
  g_assert_cmpstr (pl_tokenizer_id_to_token (bert, 1996), ==, "the");
  g_assert_null (pl_tokenizer_id_to_token (bert, 30522));
  g_assert_null (pl_tokenizer_id_to_token (bert, -1));

  g_assert_cmpint (pl_tokenizer_get_vocab_size (small), ==, 6);
  g_assert_cmpint (pl_tokenizer_get_pad_id (small), ==, 0);
  g_assert_cmpint (pl_tokenizer_get_unk_id (small), ==, 1);
  g_assert_cmpint (pl_tokenizer_get_cls_id (small), ==, 2);
  g_assert_cmpint (pl_tokenizer_get_sep_id (small), ==, 3);
  g_assert_cmpint (pl_tokenizer_encode (small, "Fibrosis, fibrosis", 8, ids), ==, 5);
  g_assert_cmpint (ids[0], ==, 2);
  g_assert_cmpint (ids[1], ==, 5);
  g_assert_cmpint (ids[2], ==, 1);  /* "," is not in this vocab */
  g_assert_cmpint (ids[3], ==, 5);
  g_assert_cmpint (ids[4], ==, 3);
  pl_tokenizer_free (bert);
  pl_tokenizer_free (small);
}

static void
test_vocab_lines (void)
{
  /* As transformers' load_vocab (readlines in text mode, rstrip("\n")): "\r\n" and a lone "\r" end
   * lines too, empty lines take an id, a last line without a break counts, and of two equal lines
   * the LAST id wins. */
  const char *text = "[PAD]\r\n[UNK]\r[CLS]\n\n[SEP]\nfib\n##rosis\nfib\n##rosis";
  g_autoptr(GError) error = NULL;
  PlTokenizer *tokenizer = pl_tokenizer_new_from_data (text, strlen (text), "lines", &error);
  int32_t ids[8];

  g_assert_no_error (error);
  g_assert_cmpint (pl_tokenizer_get_vocab_size (tokenizer), ==, 9);
  g_assert_cmpint (pl_tokenizer_get_unk_id (tokenizer), ==, 1);
  g_assert_cmpint (pl_tokenizer_get_cls_id (tokenizer), ==, 2);
  g_assert_cmpstr (pl_tokenizer_id_to_token (tokenizer, 3), ==, "");
  g_assert_cmpint (pl_tokenizer_get_sep_id (tokenizer), ==, 4);
  g_assert_cmpint (pl_tokenizer_encode (tokenizer, "fibrosis", 8, ids), ==, 4);
  g_assert_cmpint (ids[1], ==, 7);
  g_assert_cmpint (ids[2], ==, 8);
  pl_tokenizer_free (tokenizer);
}

static void
expect_vocab_error (const char *name,
                    const void *data,
                    gsize       length,
                    int         code,
                    const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = pl_test_write_file (name, data, length);
  PlTokenizer *tokenizer = pl_tokenizer_new_from_file (path, &error);

  g_assert_null (tokenizer);
  g_assert_error (error, PL_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (strstr (error->message, message_part) == NULL)
    g_error ("error \"%s\" does not mention \"%s\"", error->message, message_part);
}

static void
test_bad_vocab_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = g_build_filename (pl_test_tmpdir (), "no-such-vocab.txt", NULL);
  static const char no_unk[] = "[PAD]\n[CLS]\n[SEP]\n[MASK]\nthe\n";
  static const char no_sep[] = "[PAD]\n[UNK]\n[CLS]\n";
  static const char latin1[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n";
  static const char nul[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\0c\n";
  static const char bom[] = "\xef\xbb\xbf[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
  static const char truncated[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nfib\xc3";

  g_assert_null (pl_tokenizer_new_from_file (missing, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  expect_vocab_error ("empty.txt", "", 0, PL_ERROR_FORMAT, "empty");
  expect_vocab_error ("no-unk.txt", no_unk, sizeof no_unk - 1, PL_ERROR_FORMAT, "[UNK]");
  expect_vocab_error ("no-sep.txt", no_sep, sizeof no_sep - 1, PL_ERROR_FORMAT, "[SEP]");
  expect_vocab_error ("latin1.txt", latin1, sizeof latin1 - 1, PL_ERROR_FORMAT, "line 5");
  expect_vocab_error ("nul.txt", nul, sizeof nul - 1, PL_ERROR_FORMAT, "line 5");
  /* Python reads vocab.txt as "utf-8", not "utf-8-sig": the BOM is part of the first token. */
  expect_vocab_error ("bom.txt", bom, sizeof bom - 1, PL_ERROR_FORMAT, "[PAD]");
  /* A last line cut inside a UTF-8 sequence. */
  expect_vocab_error ("truncated.txt", truncated, sizeof truncated - 1, PL_ERROR_FORMAT, "line 6");
}

static void
test_huge_vocab_is_refused (void)
{
  gsize length = 64 * 1024 * 1024 + 1;
  g_autofree char *data = g_malloc (length);
  g_autoptr(GError) error = NULL;

  memset (data, 'a', length);
  g_assert_null (pl_tokenizer_new_from_data (data, length, "huge.txt", &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "huge.txt"));
  g_clear_error (&error);

  /* Over 10 million lines within 64 MiB. */
  length = 2 * 10 * 1000 * 1000 + 2;
  for (gsize i = 0; i < length; i += 2)
    {
      data[i] = 'a';
      data[i + 1] = '\n';
    }
  g_assert_null (pl_tokenizer_new_from_data (data, length, "many-lines.txt", &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "lines"));
}

static void
test_truncation_keeps_sep (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bert_path = bert_vocab_path ();
  PlTokenizer *bert = pl_tokenizer_new_from_file (bert_path, &error);
  int32_t ids[3];

  g_assert_no_error (error);
  /* "the the the ...": only room for one body token. */
  g_assert_cmpint (pl_tokenizer_encode (bert, "the the the the", 3, ids), ==, 3);
  g_assert_cmpint (ids[0], ==, 101);
  g_assert_cmpint (ids[1], ==, 1996);
  g_assert_cmpint (ids[2], ==, 102);
  g_assert_cmpint (pl_tokenizer_encode (bert, "the the the the", 2, ids), ==, 2);
  g_assert_cmpint (ids[1], ==, 102);
  pl_tokenizer_free (bert);
}

static void
test_encoding_a_label_takes_microseconds (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bert_path = bert_vocab_path ();
  PlTokenizer *bert = pl_tokenizer_new_from_file (bert_path, &error);
  static const char *const labels[] = {
    "Generalized tonic-clonic seizure with focal onset",
    "Abnormality of the cardiovascular system",
    "Café-au-lait macules, multiple (more than six), HP:0007565",
    "Progressive sensorineural hearing impairment beginning in childhood",
  };
  int32_t ids[256];
  const int rounds = 20000;
  gint64 start;
  double per_call_us;

  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  for (int i = 0; i < rounds; i++)
    pl_tokenizer_encode (bert, labels[i % G_N_ELEMENTS (labels)], 256, ids);
  per_call_us = (double) (g_get_monotonic_time () - start) / rounds;
  g_test_message ("%.2f us per label", per_call_us);
  /* Generous for sanitizer builds; a plain build takes a few microseconds. */
  g_assert_cmpfloat (per_call_us, <, 500.0);
  pl_tokenizer_free (bert);
}

static void
test_hostile_text_does_not_crash (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bert_path = bert_vocab_path ();
  PlTokenizer *bert = pl_tokenizer_new_from_file (bert_path, &error);
  GRand *rand = g_rand_new_with_seed (42);
  int32_t ids[16];

  g_assert_no_error (error);
  for (int round = 0; round < 3000; round++)
    {
      char buf[300];
      int len = g_rand_int_range (rand, 0, sizeof buf - 1);
      int n;

      for (int i = 0; i < len; i++)
        {
          static const char pieces[] = "[CLS][SEP][MASK]&amp;\xc4\xb0\xe2\x80\x8b\xef\xac\x81 a";
          buf[i] = g_rand_int_range (rand, 0, 3) == 0 ? (char) g_rand_int_range (rand, 1, 256)
                                                      : pieces[g_rand_int_range (rand, 0, sizeof pieces - 1)];
        }
      buf[len] = '\0';
      n = pl_tokenizer_encode (bert, buf, 16, ids);
      g_assert_cmpint (n, >=, 2);
      g_assert_cmpint (n, <=, 16);
      g_assert_cmpint (ids[0], ==, 101);
      g_assert_cmpint (ids[n - 1], ==, 102);
      for (int i = 0; i < n; i++)
        g_assert_cmpint (ids[i], <, pl_tokenizer_get_vocab_size (bert));
    }
  g_rand_free (rand);
  pl_tokenizer_free (bert);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/ids-match-transformers-for-both-vocabs", test_matches_transformers);
  g_test_add_func ("/tokenizer/special-token-ids-come-from-the-vocab", test_special_ids_come_from_the_vocab);
  g_test_add_func ("/tokenizer/vocab-lines-as-load-vocab-reads-them", test_vocab_lines);
  g_test_add_func ("/tokenizer/bad-vocab-files-give-errors-naming-the-file", test_bad_vocab_files);
  g_test_add_func ("/tokenizer/huge-vocab-is-refused", test_huge_vocab_is_refused);
  g_test_add_func ("/tokenizer/truncation-keeps-sep", test_truncation_keeps_sep);
  g_test_add_func ("/tokenizer/hostile-text-gives-cls-body-sep", test_hostile_text_does_not_crash);
  g_test_add_func ("/tokenizer/encoding-a-label-takes-microseconds", test_encoding_a_label_takes_microseconds);
  return g_test_run ();
}
