#!/usr/bin/python3
# make_token_fixtures.py: expected cleaned text and token ids for tests/test-tokenizer.c and
# tests/test-text-clean.c, computed by the upstream Python code itself: open_clip v2.23.0's cleaning
# (tokenizer.py whitespace_clean(basic_clean(text)), importing ftfy 6.1.1 from its source) and
# Hugging Face transformers' BasicTokenizer / WordpieceTokenizer / load_vocab with the helper
# functions _is_whitespace, _is_control, _is_punctuation (taken by name, unedited, from the upstream
# files tokenization_bert.py and tokenization_utils.py).
#
# Regenerate (from the repository root; needs Debian's python3-regex, python3-torch, python3-numpy,
# python3-wcwidth):
#   U=/tmp/pl-tok-upstream; mkdir -p $U/transformers
#   git -C /work/.mirror/rspeer+python-ftfy/repo archive --prefix=ftfy-6.1.1/ v6.1.1 | tar -x -C $U
#   git -C /work/.mirror/mlfoundations+open_clip/repo archive --prefix=open_clip-2.23.0/ v2.23.0 \
#       src/open_clip/tokenizer.py src/open_clip/bpe_simple_vocab_16e6.txt.gz | tar -x -C $U
#   # transformers (too large to mirror): save src/transformers/models/bert/tokenization_bert.py and
#   # src/transformers/tokenization_utils.py of v4.30.x, the target (PR #22280, which added
#   # BasicTokenizer's do_split_on_punc, first shipped in v4.31 and is not used here: the ids come out
#   # the same with or without it) as $U/transformers/tokenization_bert.py and
#   # $U/transformers/tokenization_utils.py (whole files, or only the named definitions below with
#   # their code unedited; tests/reference/.upstream/hf_src holds such a pair, see its SOURCE.txt).
#   PL_TOK_UPSTREAM=$U /usr/bin/python3 tests/reference/make_token_fixtures.py \
#       /work/shared/data/vocab/bert-base-uncased-vocab.txt /work/shared/data/hpo/hp-2023-01-27.json.gz \
#       > tests/fixtures/tokens.json
#
# What is glue here rather than upstream code, mirroring transformers v4.30.2 (read, not imported:
# importing the whole package needs huggingface_hub and more that Debian does not ship):
# - PreTrainedTokenizer.tokenize with do_lower_case: re.sub(r"(<specials>)|(.+?)", lower each char
#   outside special tokens), then the added-tokens trie cut around the special tokens [UNK] [SEP]
#   [PAD] [CLS] [MASK] (they cannot overlap, so the trie's leftmost-longest match is re.split's),
#   then BertTokenizer._tokenize on every other piece;
# - _convert_token_to_id: vocab.get(token, vocab.get("[UNK]"));
# - truncation=True with one sequence (longest_first, right side): the first max_length - 2 tokens,
#   then build_inputs_with_special_tokens: [CLS] + ids + [SEP]. No padding (the C API pads nothing).
# The second vocabulary is "PubMedBERT-like": [PAD] [UNK] [CLS] [SEP] [MASK] moved to ids 0-4, then
# bert-base-uncased's other lines in order with an empty line inserted at index PUBMED_EMPTY_LINE,
# and a duplicate of "the" as the last line (load_vocab keeps the LAST id of a duplicate). The C test
# builds the same file by the same rule.
import ast
import base64
import gzip
import importlib.util
import json
import os
import re
import sys
import unicodedata

UPSTREAM = os.environ.get("PL_TOK_UPSTREAM", "/tmp/pl-tok-upstream")
SPECIALS = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]  # SPECIAL_TOKENS_ATTRIBUTES order
PUBMED_SPECIAL_ORDER = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUBMED_EMPTY_LINE = 1000
PUBMED_DUPLICATE = "the"


def load_definitions(path, names, namespace):
    """Executes only the top-level definitions NAMES of the Python file PATH in NAMESPACE."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    wanted = [node for node in tree.body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names]
    missing = set(names) - {node.name for node in wanted}
    if missing:
        sys.exit(f"{path}: no definition of {', '.join(sorted(missing))}")
    exec(compile(ast.Module(body=wanted, type_ignores=[]), path, "exec"), namespace)


def load_upstream():
    sys.path.insert(0, os.path.join(UPSTREAM, "ftfy-6.1.1"))
    import ftfy  # noqa: F401  (open_clip's tokenizer imports it)
    assert ftfy.__version__ == "6.1.1", ftfy.__version__
    spec = importlib.util.spec_from_file_location(
        "open_clip_tokenizer", os.path.join(UPSTREAM, "open_clip-2.23.0/src/open_clip/tokenizer.py"))
    open_clip_tokenizer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(open_clip_tokenizer)

    namespace = {"unicodedata": unicodedata, "collections": __import__("collections")}
    load_definitions(os.path.join(UPSTREAM, "transformers/tokenization_utils.py"),
                     ["_is_whitespace", "_is_control", "_is_punctuation"], namespace)
    load_definitions(os.path.join(UPSTREAM, "transformers/tokenization_bert.py"),
                     ["load_vocab", "whitespace_tokenize", "BasicTokenizer", "WordpieceTokenizer"], namespace)
    return ftfy, open_clip_tokenizer, namespace


class SlowBertTokenizer:
    """BertTokenizer(vocab_file, do_lower_case=True) of transformers v4.30.2, as open_clip calls it."""

    def __init__(self, hf, vocab_file):
        self.vocab = hf["load_vocab"](vocab_file)
        self.basic_tokenizer = hf["BasicTokenizer"](do_lower_case=True, never_split=None,
                                                    tokenize_chinese_chars=True, strip_accents=None)
        self.wordpiece_tokenizer = hf["WordpieceTokenizer"](vocab=self.vocab, unk_token="[UNK]")

    def _tokenize(self, text):
        split_tokens = []
        for token in self.basic_tokenizer.tokenize(text, never_split=SPECIALS):
            if token in self.basic_tokenizer.never_split:
                split_tokens.append(token)
            else:
                split_tokens += self.wordpiece_tokenizer.tokenize(token)
        return split_tokens

    def tokenize(self, text):
        escaped_special_toks = [re.escape(s_tok) for s_tok in SPECIALS + SPECIALS]
        pattern = r"(" + r"|".join(escaped_special_toks) + r")|" + r"(.+?)"
        text = re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        tokens = [t for t in re.split("(" + "|".join(re.escape(s) for s in SPECIALS) + ")", text)]
        for i, token in enumerate(tokens):
            if token in SPECIALS:
                if i + 1 < len(tokens) and tokens[i + 1]:
                    tokens[i + 1] = tokens[i + 1].lstrip()
                if i > 0 and tokens[i - 1]:
                    tokens[i - 1] = tokens[i - 1].rstrip()
        out = []
        for token in tokens:
            if not token:
                continue
            out.extend([token] if token in SPECIALS else self._tokenize(token))
        return out

    def encode(self, text, max_length):
        unk = self.vocab.get("[UNK]")
        ids = [self.vocab.get(t, unk) for t in self.tokenize(text)]
        if len(ids) + 2 > max_length:
            ids = ids[:max_length - 2]
        return [self.vocab["[CLS]"]] + ids + [self.vocab["[SEP]"]]


def write_pubmed_like_vocab(bert_vocab_path, out_path):
    with open(bert_vocab_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rest = [line for line in lines if line not in PUBMED_SPECIAL_ORDER]
    rest.insert(PUBMED_EMPTY_LINE - len(PUBMED_SPECIAL_ORDER), "")
    new = PUBMED_SPECIAL_ORDER + rest + [PUBMED_DUPLICATE]
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(new) + "\n")


def hpo_texts(path, count):
    """Labels, definitions and synonyms of every k-th HPO term: real phenotype text."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        graph = json.load(f)["graphs"][0]
    terms = [n for n in graph["nodes"] if n.get("lbl") and "/HP_" in n["id"]]
    terms.sort(key=lambda n: n["id"])
    texts = []
    step = max(1, len(terms) // count)
    for n in terms[::step]:
        meta = n.get("meta", {})
        kind = len(texts) % 3
        if kind == 1 and meta.get("definition"):
            texts.append(("hpo-definition " + n["id"].rsplit("/", 1)[1], meta["definition"]["val"]))
        elif kind == 2 and meta.get("synonyms"):
            texts.append(("hpo-synonym " + n["id"].rsplit("/", 1)[1], meta["synonyms"][0]["val"]))
        else:
            texts.append(("hpo-label " + n["id"].rsplit("/", 1)[1], n["lbl"]))
        if len(texts) >= count:
            break
    return texts, terms


def hand_cases():
    # No U+0000: the C API takes NUL-terminated strings.
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis" * 3  # 135 characters
    return [
        ("empty", ""),
        ("whitespace only", " \t\n\r\u3000\u00a0 "),
        ("plain", "Generalized tonic-clonic seizure"),
        ("accents", "café Sjögren syndrome, Ménière disease, naïve Ångström façade"),
        ("accents decomposed", "cafe\u0301 Sjo\u0308gren"),
        ("punctuation", "Seizures (focal, generalized); onset < 2y? yes! \"quoted\" 'single' a/b a\\b {x} [y] ~z^ `w` $5 #3 @me 50% a&b a*b a+b a=b a|b"),
        ("unicode punctuation", "a\u2013b a\u2014b \u00bfqu\u00e9? \u00abguillemets\u00bb \u2026 \u00a7 \u00b6 \u30fb \u3001\u3002"),
        ("digits", "IQ 70-85, 3.5 kg, 1,000 cells/mm3, 46,XY, 2nd"),
        ("hpo id", "HP:0001250 Seizure; see HP:0000118 and OMIM:123456"),
        ("hyphenated", "café-au-lait macules; X-linked; 11-beta-hydroxylase"),
        ("cjk", "癫痫发作 and 先天性心脏病"),
        ("japanese", "てんかん発作 カタカナ ｶﾀｶﾅ"),
        ("korean", "간질 발작 선천성 심장병"),
        ("emoji", "seizure 😀 🧠🫀 👨‍👩‍👧 ❤️ 🫨"),
        ("control characters", "a\x02b\x01c\x07d\x1be\x7ff\x85g\x9fh\u200bi\u200dj\ufeffk\u2060l\ue000m\U000f0000n"),
        ("tabs and newlines", "line one\tcol\nline two\r\nline three\rfour\u2028five\u2029six\x0bseven\x0ceight"),
        ("zero width", "zero\u200bwidth\u200cnon\u200djoiner\u2060word\u00adsoft"),
        ("html entities", "&amp; &lt;b&gt; &#39; &quot;x&quot; &nbsp;a&eacute; &#x1F600; &#128512; &copy 2020 &AMP; &NTILDE;"),
        ("html entities with tag", "<b>bold</b> &amp; &lt;i&gt; stays in this line\nbut &amp; the next line &eacute;"),
        ("html double escaped", "&amp;amp; &amp;lt;x&amp;gt; &amp;#39;"),
        ("html numeric oddities", "&#0; &#13; &#128; &#x80; &#150; &#xD800; &#1114112; &#11; &#x7f; &#59; &#12ab; &#xZZ;"),
        ("html longest prefix", "&notit; &ampx &copyright &lt3 &amp"),
        ("curly quotes", "\u201cquoted\u201d \u2018single\u2019 \u201blow\u201f don\u02bct"),
        ("ligatures", "ﬁbrosis ﬂuid oﬀ aﬃne baﬄe ﬅ ﬆ Ĳssel ǅ ǈ ǋ ŉ"),
        ("full width", "ＡＢＣ　ｆｉｂｒｏｓｉｓ ＨＰ：００１２３４ （ｘ）"),
        ("half width katakana", "ｶﾞｸｾｲ ﾊﾟﾝ"),
        ("mojibake latin-1", "cafÃ© au lait, SjÃ¶gren"),
        ("mojibake windows-1252", "donâ€™t â€œquoteâ€\x9d"),
        ("c1 controls", "\x80uro \x93quoted\x94 \x96 dash"),
        ("terminal escapes", "\x1b[31mred\x1b[0m \x1b[1;32mbold\x1b[m \x1b[xnot"),
        ("word over 100 chars", long_word + " short " + "a" * 100 + " " + "b" * 101),
        ("unknown characters", "\u0fff\u2bff zzz\u0378 \U0001d11e"),
        ("special tokens in text", "[CLS] a [SEP]b[MASK]c [UNK] [PAD] [cls] [Sep] [[CLS]]"),
        ("dotted capital i", "İstanbul İ"),
        ("final sigma", "ΟΔΟΣ ΣΟΦΟΣ σοφός"),
        ("roman numerals and circled letters", "Ⅳ Ⓐ ⓐ type Ⅱ"),
        ("turkish and german", "IŞIK ıi Straße STRASSE ǅ"),
        ("greek question mark", "what\u037e ano\u0387teleia"),
        ("cjk compatibility", "\uf900 \U0002f800 \u3400 \U00020000"),
        ("unicode 15 characters", "a\U0001fae8b \u0cf3 \U00031350"),
        ("private use and unassigned", "x\ue000y \U000e0001z \u0378w"),
        ("nbsp and thin spaces", "a\u00a0b\u2009c\u202fd\u205fe\u3000f\u1680g"),
        ("bom", "\ufeffbom at start"),
        ("combining only", "\u0301\u0308 a\u0323\u0302"),
        ("upper and mixed case", "ABNORMALITY Of The NERVOUS System"),
        ("numbers and units", "5 µm, 10 μl, 37 °C, ½, ², ⅓"),
        ("math and symbols", "a ≥ b, c ≤ d, ± 2σ, ∞, → ← ©®™"),
        ("arabic and hebrew", "صرع אפילפסיה"),
        ("thai and devanagari", "โรคลมชัก मिर्गी"),
        ("repeated punctuation", "!!!???...---,,,"),
        ("apostrophes", "Parkinson's disease; Crohn’s disease"),
    ]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_token_fixtures.py BERT_VOCAB HPO_JSON_GZ > tokens.json")
    bert_vocab_path, hpo_path = sys.argv[1], sys.argv[2]
    ftfy, open_clip_tokenizer, hf = load_upstream()
    clean = open_clip_tokenizer.get_clean_fn("whitespace")

    pubmed_path = "/tmp/pl-tok-pubmed-like-vocab.txt"
    write_pubmed_like_vocab(bert_vocab_path, pubmed_path)
    tokenizers = {"bert": SlowBertTokenizer(hf, bert_vocab_path),
                  "pubmed": SlowBertTokenizer(hf, pubmed_path)}
    with open(pubmed_path, encoding="utf-8") as f:
        n_pubmed_lines = len(f.readlines())
    assert tokenizers["pubmed"].vocab[PUBMED_DUPLICATE] == n_pubmed_lines - 1, "duplicate: last id wins"

    cases = [(name, text.encode("utf-8"), 256) for name, text in hand_cases()]
    cases += [("invalid utf-8", b"ab\xe2\x82cd \xff\xc3(e \xed\xa0\x80f caf\xc3 \xf0\x9f\x98 g\xc0\xafh", 256),
              ("invalid utf-8 only", b"\xff\xfe\x80", 256)]
    hpo, terms = hpo_texts(hpo_path, 200)
    cases += [(name, text.encode("utf-8"), 256) for name, text in hpo]
    long_text = " ".join(n["meta"]["definition"]["val"] for n in terms if n.get("meta", {}).get("definition"))
    long_text = " ".join(long_text.split()[:2000])
    cases += [("2000 words at 256", long_text.encode("utf-8"), 256),
              ("2000 words at 8", long_text.encode("utf-8"), 8),
              ("short text at 8", b"Seizure", 8)]
    # Exact fits: a text of N body tokens at context N + 2 (kept whole) and N + 1 (one dropped).
    fit_text = "Abnormality of the cardiovascular system"
    n_body = len(tokenizers["bert"].encode(clean(fit_text), 10_000)) - 2
    cases += [("exact fit", fit_text.encode("utf-8"), n_body + 2),
              ("one over", fit_text.encode("utf-8"), n_body + 1)]

    out_cases = []
    for name, raw, context_length in cases:
        text = raw.decode("utf-8", errors="replace")
        cleaned = clean(text)
        case = {"name": name, "context_length": context_length, "cleaned": cleaned,
                "ids": {key: tok.encode(cleaned, context_length) for key, tok in tokenizers.items()}}
        try:
            raw.decode("utf-8")
            case["text"] = text
        except UnicodeDecodeError:
            case["text_base64"] = base64.b64encode(raw).decode("ascii")
        # ftfy's mojibake repair is not in the C code: record what open_clip gives without it.
        without = open_clip_tokenizer.whitespace_clean(
            html_twice(ftfy.fix_text(text, fix_encoding=False)).strip())
        if without != cleaned:
            case["cleaned_without_fix_encoding"] = without
            case["ids_without_fix_encoding"] = {key: tok.encode(without, context_length)
                                                for key, tok in tokenizers.items()}
        out_cases.append(case)

    header = {
        "generator": "tests/reference/make_token_fixtures.py",
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "ftfy": ftfy.__version__,
        "pubmed_like_vocab": {"special_order": PUBMED_SPECIAL_ORDER, "empty_line": PUBMED_EMPTY_LINE,
                              "duplicate_last_line": PUBMED_DUPLICATE},
    }
    text = json.dumps(header, ensure_ascii=False)[:-1] + ',\n"cases":[\n'
    text += ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in out_cases)
    sys.stdout.write(text + "\n]}\n")


def html_twice(text):
    import html
    return html.unescape(html.unescape(text))


if __name__ == "__main__":
    main()
