/* pl-tokenizer.h: BERT uncased WordPiece, with the text cleaning open_clip's HFTokenizer does first
 * (ftfy's fixes that matter for typed text, HTML unescape, whitespace collapse). Gives the ids that
 * Hugging Face's BertTokenizer gives for the same vocab.txt. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _PlTokenizer PlTokenizer;

PlTokenizer *pl_tokenizer_new_from_file  (const char   *vocab_path,
                                          GError      **error);
/* Same, from the bytes of a vocab.txt already in memory (NAME is used in error messages). */
PlTokenizer *pl_tokenizer_new_from_data  (const char   *data,
                                          gsize         length,
                                          const char   *name,
                                          GError      **error);
void         pl_tokenizer_free           (PlTokenizer  *tokenizer);

int          pl_tokenizer_get_vocab_size (const PlTokenizer *tokenizer);
int32_t      pl_tokenizer_get_pad_id     (const PlTokenizer *tokenizer);
int32_t      pl_tokenizer_get_cls_id     (const PlTokenizer *tokenizer);
int32_t      pl_tokenizer_get_sep_id     (const PlTokenizer *tokenizer);
int32_t      pl_tokenizer_get_unk_id     (const PlTokenizer *tokenizer);
const char  *pl_tokenizer_id_to_token    (const PlTokenizer *tokenizer,
                                          int32_t            id);

/* open_clip's cleaning: ftfy fixes, HTML unescape (twice), whitespace collapsed and stripped.
 * Returns a newly allocated UTF-8 string. Invalid UTF-8 input is repaired, never rejected. */
char        *pl_text_clean               (const char   *text);

/* Cleans TEXT, then [CLS] wordpieces [SEP], truncated to CONTEXT_LENGTH tokens with [SEP] kept.
 * Returns the number of ids written to IDS (which must hold CONTEXT_LENGTH). No padding. */
int          pl_tokenizer_encode         (const PlTokenizer *tokenizer,
                                          const char        *text,
                                          int                context_length,
                                          int32_t           *ids);

G_END_DECLS
