#!/usr/bin/python3
"""Reference PyTorch model (BiomedCLIP/PhenoLIP structure) and the tiny fixtures the C engine is tested against.

Regenerate (from the repository root; needs Debian's python3-torch 1.13, torchvision 0.14, PIL, numpy):

    /usr/bin/python3 tests/reference/make_model_fixtures.py

after exporting the upstream sources once (tests/reference/README.md, "Upstream sources"), e.g.
    git -C /work/.mirror/mlfoundations+open_clip/repo archive v2.23.0 src | tar -x -C .upstream/open_clip-2.23.0

which writes tests/fixtures/tiny/.  The output is deterministic for a given torch build (seed 20240611).

What runs here is the REAL upstream code wherever it runs on this machine, imported from a git-ignored
folder outside the tracked tree (env PHENOLIP_UPSTREAM, default tests/reference/.upstream/):
  - open_clip v2.23.0 (src/open_clip): CustomTextCLIP, TimmModel, HFTextEncoder, ClsLastHiddenStatePooler,
    the MLP text projection, image_transform (preprocess) and HFTokenizer (text cleaning + call);
  - timm v1.0.28 (env PHENOLIP_TIMM=timm-0.9.8 to use v0.9.8): VisionTransformer via
    timm.create_model("vit_base_patch16_224", embed_dim=64, depth=2, num_heads=4) for the tiny model;
  - ftfy v6.1.1 (open_clip's text cleaning).
Hugging Face transformers v4.30.2 could NOT be made importable here (no v4.30.2 copy was obtainable: the repository
is too large to fetch and no mirror/fork with that tag was found).  Therefore a minimal stand-in module named
`transformers` is installed into sys.modules before open_clip is imported, so that open_clip's own HFTextEncoder and
HFTokenizer run unchanged on top of it:
  - BertModel is built from torch layers exactly as transformers' BertModel (v4.30) computes it, with the identical
    module/state-dict names (embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm,
    embeddings.position_ids buffer (persistent, as in v4.30), encoder.layer.N.attention.self.{query,key,value},
    attention.output.{dense,LayerNorm}, intermediate.dense, output.{dense,LayerNorm}); extended attention mask
    (1 - mask) * finfo(float32).min, scores / sqrt(head_dim), exact erf GELU, LayerNorm eps from the config;
  - the tokenizer uses BasicTokenizer / WordpieceTokenizer / _is_* helpers from upstream transformers source
    (tokenization_bert.py, tokenization_utils.py, transcribed into $PHENOLIP_UPSTREAM/hf_src/, see SOURCE.txt there),
    wrapped like PreTrainedTokenizer (special tokens never split, [CLS] ids [SEP], truncation to max_length,
    padding with [PAD] to max_length) - the slow BertTokenizer path.

Other scripts here (make_full_checkpoint.py, bench_torch.py) import this module for the same model code.
"""

import json
import math
import os
import re
import struct
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UPSTREAM = os.environ.get("PHENOLIP_UPSTREAM", os.path.join(HERE, ".upstream"))
TIMM_DIR = os.environ.get("PHENOLIP_TIMM", "timm-1.0.28")
SHARED = os.environ.get("PHENOLIP_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
VOCAB_SRC = os.path.join(SHARED, "data", "vocab", "bert-base-uncased-vocab.txt")
IMAGES_DIR = os.path.join(SHARED, "data", "images")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tiny")

for sub in ("open_clip-2.23.0/src", TIMM_DIR, "ftfy-6.1.1", "hf_src"):
    p = os.path.join(UPSTREAM, sub)
    if not os.path.isdir(p):
        sys.exit(f"missing upstream source {p}: see tests/reference/README.md")
    sys.path.insert(0, p)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BIOMEDBERT = "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract"
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

# ---------------------------------------------------------------------------------------------------------------
# The `transformers` stand-in (see header).  Names given to AutoConfig/AutoTokenizer are resolved through
# HF_DIRS (name -> folder with config.json and vocab.txt) or taken as a folder path.
HF_DIRS = {}


class PretrainedConfig:
    model_type = "bert"

    def __init__(self, **kw):
        self.is_encoder_decoder = False
        self.pad_token_id = 0
        self.layer_norm_eps = 1e-12
        self.hidden_act = "gelu"
        self.type_vocab_size = 2
        self.max_position_embeddings = 512
        self.__dict__.update(kw)


def bert_config_dict(vocab_size, hidden, layers, heads, intermediate):
    """An HF BertConfig as config.json would hold it (v4.30.2 field set)."""
    return {
        "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": intermediate, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
        "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": layers, "pad_token_id": 0,
        "position_embedding_type": "absolute", "transformers_version": "4.30.2", "type_vocab_size": 2,
        "use_cache": True, "vocab_size": vocab_size,
    }


def _resolve(name):
    d = HF_DIRS.get(name, name)
    if not os.path.isdir(d):
        raise OSError(f"stand-in transformers: no local folder for {name!r}")
    return d


class AutoConfig:
    @staticmethod
    def from_pretrained(name, **kw):
        with open(os.path.join(_resolve(name), "config.json")) as f:
            return PretrainedConfig(**json.load(f))


class ModelOutput(dict):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.__dict__.update(kw)


class BaseModelOutput(ModelOutput):
    pass


class BaseModelOutputWithPooling(ModelOutput):
    pass


class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    pass


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(0.1)
        self.register_buffer("position_ids", torch.arange(c.max_position_embeddings).expand((1, -1)))
        self.register_buffer("token_type_ids", torch.zeros((1, c.max_position_embeddings), dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids):
        n = input_ids.shape[1]
        pos = self.position_ids[:, :n]
        tt = self.token_type_ids[:, :n].expand(input_ids.shape[0], n)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(tt) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(0.1)

    def _heads(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask):
        q, k, v = self._heads(self.query(h)), self._heads(self.key(h)), self._heads(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        scores = scores + ext_mask
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, h, inp):
        return self.LayerNorm(self.dropout(self.dense(h)) + inp)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, h, ext_mask):
        return self.output(self.self(h, ext_mask), h)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        assert c.hidden_act == "gelu"

    def forward(self, h):
        return nn.functional.gelu(self.dense(h))  # transformers' GELUActivation: exact erf GELU


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(0.1)

    def forward(self, h, inp):
        return self.LayerNorm(self.dropout(self.dense(h)) + inp)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, h, ext_mask):
        a = self.attention(h, ext_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, h, ext_mask):
        for layer in self.layer:
            h = layer(h, ext_mask)
        return h


class BertModel(nn.Module):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        assert not add_pooling_layer, "BiomedCLIP uses cls_last_hidden_state_pooler: no BERT pooler"
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)

    def forward(self, input_ids, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        h = self.encoder(self.embeddings(input_ids), ext)
        return BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=h, pooler_output=None)


class AutoModel:
    @staticmethod
    def from_config(config, add_pooling_layer=True):
        return BertModel(config, add_pooling_layer=add_pooling_layer)

    @staticmethod
    def from_pretrained(*a, **kw):
        raise OSError("stand-in transformers: no pretrained weights here")


class _Encoding(dict):
    def __getattr__(self, k):
        return self[k]


class BertTokenizer:
    """PreTrainedTokenizer + BertTokenizer behaviour (slow path) around upstream BasicTokenizer/WordpieceTokenizer."""

    def __init__(self, vocab_file, do_lower_case=True):
        import tokenization_bert as tb  # upstream source, $PHENOLIP_UPSTREAM/hf_src
        self.vocab = tb.load_vocab(vocab_file)
        self.do_lower_case = do_lower_case
        self.all_special_tokens = list(SPECIALS)
        self.basic_tokenizer = tb.BasicTokenizer(do_lower_case=do_lower_case, never_split=None)
        self.wordpiece_tokenizer = tb.WordpieceTokenizer(vocab=self.vocab, unk_token="[UNK]")
        ids = {t: self.vocab[t] for t in SPECIALS}
        self.pad_token_id, self.unk_token_id = ids["[PAD]"], ids["[UNK]"]
        self.cls_token_id, self.sep_token_id, self.mask_token_id = ids["[CLS]"], ids["[SEP]"], ids["[MASK]"]

    def _tokenize(self, text):
        out = []
        for token in self.basic_tokenizer.tokenize(text, never_split=self.all_special_tokens):
            if token in self.basic_tokenizer.never_split:
                out.append(token)
            else:
                out += self.wordpiece_tokenizer.tokenize(token)
        return out

    def tokenize(self, text):
        # PreTrainedTokenizer.tokenize: lower-case all but special tokens, never split special tokens
        # (whitespace around them is dropped), an all-blank text gives no tokens.
        if self.do_lower_case:
            pat = "(" + "|".join(re.escape(t) for t in SPECIALS) + ")|(.+?)"
            text = re.sub(pat, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        if not text.strip():
            return []
        parts = re.split("(" + "|".join(re.escape(t) for t in SPECIALS) + ")", text)
        out = []
        for p in parts:
            if p in SPECIALS:
                out.append(p)
            elif p.strip():
                out += self._tokenize(p)
        return out

    def encode(self, text, max_length):
        ids = [self.vocab.get(t, self.unk_token_id) for t in self.tokenize(text)]
        ids = ids[: max_length - 2]  # truncation=True (longest_first) for a single sequence
        return [self.cls_token_id] + ids + [self.sep_token_id]

    def __call__(self, texts, return_tensors="pt", max_length=None, padding="max_length", truncation=True):
        assert truncation and padding == "max_length" and return_tensors == "pt"
        rows = [self.encode(t, max_length) for t in texts]
        ids = torch.full((len(rows), max_length), self.pad_token_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return _Encoding(input_ids=ids, attention_mask=(ids != self.pad_token_id).long())


class AutoTokenizer:
    @staticmethod
    def from_pretrained(name, **kw):
        return BertTokenizer(os.path.join(_resolve(name), "vocab.txt"))


def install_transformers_standin():
    if "transformers" in sys.modules:
        return
    m = types.ModuleType("transformers")
    m.__version__ = "stand-in (v4.30.2 BertModel semantics)"
    for k in ("AutoModel", "AutoTokenizer", "AutoConfig", "PretrainedConfig", "BertModel", "BertTokenizer"):
        setattr(m, k, globals()[k])
    mo = types.ModuleType("transformers.modeling_outputs")
    for k in ("BaseModelOutput", "BaseModelOutputWithPooling", "BaseModelOutputWithPoolingAndCrossAttentions"):
        setattr(mo, k, globals()[k])
    m.modeling_outputs = mo
    sys.modules["transformers"] = m
    sys.modules["transformers.modeling_outputs"] = mo


install_transformers_standin()
import open_clip  # noqa: E402
import open_clip.factory  # noqa: E402
import open_clip.timm_model  # noqa: E402
import timm  # noqa: E402

# timm kwargs forced onto the ViT when building a model of non-base size: the same VisionTransformer class and
# factory entry as vit_base_patch16_224, only width/depth/heads changed.
VIT_OVERRIDE = {}
_timm_create = timm.create_model


def _create_model(name, *a, **kw):
    if name in VIT_OVERRIDE:
        kw = dict(kw, **VIT_OVERRIDE[name])
    return _timm_create(name, *a, **kw)


open_clip.timm_model.timm.create_model = _create_model


def versions():
    from open_clip.version import __version__ as oc
    return {"torch": torch.__version__, "open_clip": oc, "timm": timm.__version__,
            "transformers": sys.modules["transformers"].__version__}


def hub_config(embed_dim, text_name, heads, context_length=256, extra_vision=None):
    vision = {"timm_model_name": "vit_base_patch16_224", "timm_model_pretrained": False, "timm_pool": "",
              "timm_proj": "linear", "image_size": 224, "heads": heads}
    if extra_vision:
        vision.update(extra_vision)
    return {
        "model_cfg": {
            "embed_dim": embed_dim,
            "vision_cfg": vision,
            "text_cfg": {"hf_model_name": text_name, "hf_tokenizer_name": text_name, "hf_proj_type": "mlp",
                         "hf_pooler_type": "cls_last_hidden_state_pooler", "context_length": context_length},
        },
        "preprocess_cfg": {"mean": MEAN, "std": STD},
    }


def build_model(cfg, hf_dir, vit_override=None, name="phenolip-ref"):
    """open_clip.create_model_and_transforms on the hub config; returns (model, preprocess, tokenizer)."""
    text_name = cfg["model_cfg"]["text_cfg"]["hf_model_name"]
    HF_DIRS[text_name] = hf_dir
    if vit_override:
        VIT_OVERRIDE["vit_base_patch16_224"] = vit_override
    else:
        VIT_OVERRIDE.pop("vit_base_patch16_224", None)
    model_cfg = json.loads(json.dumps(cfg["model_cfg"]))
    model_cfg["vision_cfg"].pop("heads", None)
    open_clip.factory._MODEL_CONFIGS[name] = model_cfg
    model, _, preprocess = open_clip.create_model_and_transforms(
        name, pretrained=None, pretrained_hf=False,
        image_mean=cfg["preprocess_cfg"]["mean"], image_std=cfg["preprocess_cfg"]["std"])
    tokenizer = open_clip.get_tokenizer(name)
    model.eval()
    return model, preprocess, tokenizer


QK_GAIN_VISION = float(os.environ.get("PHENOLIP_QK_GAIN_VISION", "1.8"))
QK_GAIN_TEXT = float(os.environ.get("PHENOLIP_QK_GAIN_TEXT", "1.0"))


def randomize(model, seed, emb_std=0.7, ln_std=0.15, bias_std=0.1, logit_scale=None):
    """Weights ~ N(0, 1/fan_in) for linear/conv, larger std for embeddings/cls/pos tables, LayerNorm near 1/0.

    Query/key projections get QK_GAIN_* x that std: with 1/sqrt(fan_in) alone the attention stays nearly uniform,
    the CLS token then averages all patches, and a horizontal flip barely moves the image embedding."""
    g = torch.Generator().manual_seed(seed)

    def n(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=g) * std + mean)

    for name, p in model.named_parameters():
        if name == "logit_scale":
            with torch.no_grad():
                p.fill_(logit_scale if logit_scale is not None else math.log(1 / 0.07))
        elif "LayerNorm" in name or re.search(r"(^|\.)(norm\d?|fc_norm)\.", name):
            n(p, ln_std, 1.0 if name.endswith("weight") else 0.0)
        elif name.endswith("bias"):
            n(p, bias_std)
        elif "embeddings" in name or name.endswith(("cls_token", "pos_embed")):
            n(p, emb_std)
        elif name.endswith("attn.qkv.weight"):
            fan_in, w = p.shape[1], p.shape[0] // 3
            n(p, 1.0 / math.sqrt(fan_in))
            with torch.no_grad():
                p[: 2 * w] *= QK_GAIN_VISION
        elif re.search(r"attention\.self\.(query|key)\.weight$", name):
            n(p, QK_GAIN_TEXT / math.sqrt(p.shape[1]))
        else:
            fan_in = p[0].numel()
            n(p, 1.0 / math.sqrt(fan_in))
    return model


def write_vocab(path, n_lines):
    out = list(SPECIALS)
    with open(VOCAB_SRC, encoding="utf-8") as f:
        for line in f:
            t = line.rstrip("\n")
            if t in SPECIALS or re.fullmatch(r"\[unused\d+\]", t):
                continue
            out.append(t)
            if len(out) == len(SPECIALS) + n_lines:
                break
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return len(out)


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 LE header length, JSON header (dtype, shape, data_offsets), raw LE bytes."""
    names = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.int64: "I64"}
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def half_copy(sd, dtype):
    return {k: (v.to(dtype) if v.is_floating_point() else v.clone()) for k, v in sd.items()}


def as_f32(sd):
    return {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}


def cos(a, b):
    return float(torch.nn.functional.cosine_similarity(a.flatten()[None], b.flatten()[None])[0])


def r(t, nd=7):
    return [round(float(x), nd) for x in t.flatten().tolist()]


TEXTS = [
    "Retinal hemorrhage",
    "Seizure",
    "Microaneurysm",
    "Abnormality of the eye",
    "Phenotypic abnormality",
    "HP:0001250",
    "Hemorrhage of the retina.",
    "Bleeding from the blood vessels of the retina, the light-sensitive tissue at the back of the eye.",
    "Café-au-lait spot",
    "Ménière disease and naïve coöperation",
    "视网膜出血",
    "ＲＥＴＩＮＡＬ　ｈｅｍｏｒｒｈａｇｅ",
    "  multiple\tspaces\n and   tabs  ",
    "An image of a retinal hemorrhage &amp; microaneurysms",
    "Glioblastoma (WHO grade IV) in the left temporal lobe",
    "Fatty liver; hepatic steatosis",
    "Ki-67 immunohistochemistry, 40x",
    "hemorrhage retinal",
    "",
    " ".join(["Abnormal retinal vasculature with hemorrhages, exudates and microaneurysms."] * 30),
    # Special tokens typed into a text keep their ids; open_clip then masks a [PAD] as padding.
    "Retinal [PAD] hemorrhage with [MASK] spots",
]
IMAGES = ["retina.jpg", "microaneurysms.png", "ihc.png", "BrainT1Slice.png", "FatMRISlice.png"]


def main():
    from PIL import Image

    os.makedirs(OUT_DIR, exist_ok=True)
    seed = int(os.environ.get("PHENOLIP_SEED", "20240611"))
    torch.manual_seed(seed)
    bert_dir = os.path.join(OUT_DIR, "tiny-bert")
    os.makedirs(bert_dir, exist_ok=True)
    vocab_n = write_vocab(os.path.join(bert_dir, "vocab.txt"), int(os.environ.get("PHENOLIP_VOCAB_LINES", "3000")))
    with open(os.path.join(OUT_DIR, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write(open(os.path.join(bert_dir, "vocab.txt"), encoding="utf-8").read())
    with open(os.path.join(bert_dir, "config.json"), "w") as f:
        json.dump(bert_config_dict(vocab_n, 64, 2, 4, 128), f, indent=2)
    cfg = hub_config(32, "tiny-bert", heads=4)
    with open(os.path.join(OUT_DIR, "open_clip_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    model, preprocess, tokenizer = build_model(cfg, bert_dir, dict(embed_dim=64, depth=2, num_heads=4))
    assert model.text.proj[0].weight.shape == (48, 64) and model.text.proj[2].weight.shape == (32, 48)
    assert model.visual.head.proj.weight.shape == (32, 64) and model.visual.head.proj.bias is None
    randomize(model, seed, logit_scale=math.log(1 / 0.07) + 0.137)
    sd = model.state_dict()

    # --- checkpoints -------------------------------------------------------------------------------------------
    torch.save(sd, os.path.join(OUT_DIR, "open_clip_pytorch_model.bin"))
    # open_clip training output: DDP prefix, nested state_dict, AdamW state after one real step.  The towers are
    # locked (as with open_clip --lock-image/--lock-text), so only the heads and logit_scale carry optimizer state.
    train = [p for n, p in model.named_parameters()
             if n == "logit_scale" or n.startswith(("visual.head.", "text.proj."))]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in train:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-9, weight_decay=0.2)
    with torch.enable_grad():
        img = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 1))
        txt = tokenizer(["Seizure", "Retinal hemorrhage"])
        fi, ft, ls = model(img, txt)
        logits = ls * fi @ ft.t()
        lab = torch.arange(2)
        loss = (nn.functional.cross_entropy(logits, lab) + nn.functional.cross_entropy(logits.t(), lab)) / 2
        loss.backward()
    # keep the saved weights identical to the hub file: the optimizer step happened, the weights are reset
    opt.step()
    model.load_state_dict(sd)
    torch.save({"epoch": 1, "name": "tiny", "state_dict": {"module." + k: v for k, v in sd.items()},
                "optimizer": opt.state_dict()}, os.path.join(OUT_DIR, "epoch_1.pt"))
    bf16 = half_copy(sd, torch.bfloat16)
    torch.save(bf16, os.path.join(OUT_DIR, "tiny-bf16.pt"))
    f16 = half_copy(sd, torch.float16)
    write_safetensors(os.path.join(OUT_DIR, "tiny-f16.safetensors"), f16, {"format": "pt"})

    # --- expected outputs ---------------------------------------------------------------------------------------
    exp = {"generator": "tests/reference/make_model_fixtures.py", "seed": seed, "versions": versions(),
           "context_length": 256, "vocab_size": vocab_n,
           "special_ids": {t: tokenizer.tokenizer.vocab[t] for t in SPECIALS},
           "logit_scale": float(model.logit_scale), "logit_scale_exp": float(model.logit_scale.exp()),
           "tolerance_note": "f32 engine vs torch: embeddings within ~1e-4 absolute",
           "images": [], "texts": []}
    with torch.no_grad():
        xs = []
        for name in IMAGES:
            im = Image.open(os.path.join(IMAGES_DIR, name))
            x = preprocess(im)
            xs.append(x)
            e = model.encode_image(x[None], normalize=True)[0]
            ef = model.encode_image(torch.flip(x, dims=[-1])[None], normalize=True)[0]
            eraw = model.encode_image(x[None])[0]
            exp["images"].append({
                "file": name, "mode": im.mode, "size": list(im.size),
                "preprocessed": {"shape": list(x.shape), "channel_mean": r(x.mean(dim=(1, 2))),
                                 "channel_std": r(x.std(dim=(1, 2))),
                                 "samples": [[c, y, xx, round(float(x[c, y, xx]), 6)]
                                             for c, y, xx in [(0, 0, 0), (1, 112, 112), (2, 223, 223),
                                                              (0, 50, 170), (1, 200, 31), (2, 17, 99)]]},
                "embedding": r(e), "unnormalized_norm": float(eraw.norm()),
                "flipped_input_embedding": r(ef), "flip_cosine": cos(e, ef)})
        img_emb = torch.stack([torch.tensor(i["embedding"]) for i in exp["images"]])

        ids = tokenizer(TEXTS)
        temb = model.encode_text(ids, normalize=True)
        clean = open_clip.tokenizer._clean_whitespace
        for t, row, e in zip(TEXTS, ids, temb):
            # Up to the last non-padding token: a [PAD] typed inside the text stays in the ids.
            n = int((row != tokenizer.tokenizer.pad_token_id).nonzero().max()) + 1
            exp["texts"].append({"text": t, "cleaned": clean(t), "ids": row[:n].tolist(), "embedding": r(e)})
        txt_emb = torch.stack([torch.tensor(t["embedding"]) for t in exp["texts"]])
        sim = model.encode_image(torch.stack(xs), normalize=True) @ temb.t()
        exp["similarity"] = {"rows": IMAGES, "cols": "texts, in order", "cosine": [r(s) for s in sim],
                             "logits": [r(s * model.logit_scale.exp(), 5) for s in sim]}
        # token order / masking sensitivity
        a, b = TEXTS.index("Retinal hemorrhage"), TEXTS.index("hemorrhage retinal")
        exp["reorder_cosine"] = {"a": TEXTS[a], "b": TEXTS[b], "cosine": cos(txt_emb[a], txt_emb[b])}
        # the same text unpadded (trimmed to its own length) must give the same embedding: mask correctness
        one = tokenizer(["Retinal hemorrhage"])
        trimmed = one[:, : int((one != 0).sum())]
        exp["unpadded_max_abs_diff"] = float((model.encode_text(trimmed, normalize=True)[0] - temb[a]).abs().max())

        half = []
        for fname, hsd in (("tiny-bf16.pt", bf16), ("tiny-f16.safetensors", f16)):
            m2, _, _ = build_model(cfg, bert_dir, dict(embed_dim=64, depth=2, num_heads=4), name="phenolip-half")
            m2.load_state_dict(as_f32(hsd))
            ie = m2.encode_image(xs[0][None], normalize=True)[0]
            te = m2.encode_text(tokenizer(["Retinal hemorrhage"]), normalize=True)[0]
            half.append({"file": fname, "image": IMAGES[0], "image_embedding": r(ie), "text": "Retinal hemorrhage",
                         "text_embedding": r(te), "logit_scale": float(m2.logit_scale),
                         "cosine_to_f32_image": cos(ie, img_emb[0]), "cosine_to_f32_text": cos(te, txt_emb[a])})
        exp["half_precision"] = half
    with open(os.path.join(OUT_DIR, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f, indent=1, ensure_ascii=False)

    print(json.dumps(exp["versions"]))
    for i in exp["images"]:
        print(f"flip cosine {i['file']:<20} {i['flip_cosine']:.5f}")
    print(f"reorder cosine {exp['reorder_cosine']['cosine']:.5f}; unpadded vs padded max diff "
          f"{exp['unpadded_max_abs_diff']:.2e}")
    off = (sim - torch.eye(*sim.shape)).abs()
    print(f"image-text cosine range {float(sim.min()):.3f}..{float(sim.max()):.3f}; "
          f"text-text min cosine {float((txt_emb @ txt_emb.t()).min()):.3f}")
    for h in half:
        print(f"{h['file']}: cos to f32 image {h['cosine_to_f32_image']:.6f} text {h['cosine_to_f32_text']:.6f}")
    print_sizes(OUT_DIR)


def print_sizes(folder):
    """Lists every file under FOLDER with its size, and the total."""
    total = 0
    for dp, dns, fs in os.walk(folder):
        dns.sort()
        for fn in sorted(fs):
            s = os.path.getsize(os.path.join(dp, fn))
            total += s
            print(f"{s:>10}  {os.path.relpath(os.path.join(dp, fn), ROOT)}")
    print(f"{total:>10}  total")


if __name__ == "__main__":
    main()
