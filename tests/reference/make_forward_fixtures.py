#!/usr/bin/python3
"""Reference outputs for tests/test-forward.c: a tiny ViT and a tiny BERT text tower, run by PyTorch.

Regenerate from the repository root (Debian's python3-torch 1.13; deterministic, ~2 s):

    /usr/bin/python3 tests/reference/make_forward_fixtures.py

after exporting timm once (tests/reference/README.md, "Upstream sources"):

    U=tests/reference/.upstream; mkdir -p $U/timm-1.0.28
    git -C /work/.mirror/huggingface+pytorch-image-models/repo archive v1.0.28 | tar -x -C $U/timm-1.0.28

Image tower: timm v1.0.28's own VisionTransformer (env PHENOLIP_TIMM=timm-0.9.8 for v0.9.8), 224 px, patch 16,
width 64, depth 2, 4 heads, MLP 256, qkv bias, class token pooling, then Linear(64 -> 32, no bias), the
`visual.head.proj` of open_clip's TimmModel.
Text tower: BERT as transformers' BertModel computes it (post-norm, written below from torch layers because
transformers itself does not import here), width 64, 2 layers, 4 heads, intermediate 128, vocab 100,
512 positions, LayerNorm eps 1e-12, token type 0; pooled at [CLS] (open_clip's ClsLastHiddenStatePooler), then
open_clip's MLP projection Linear(64 -> 48, no bias) -> GELU -> Linear(48 -> 32, no bias).

Weights: linear and conv N(0, 1/fan_in); embeddings, class token and position tables N(0, 1) (with the
customary std 0.02 a flipped image or reordered text would barely move the output); biases N(0, 0.1);
LayerNorm gains 1 + N(0, 0.1), offsets N(0, 0.1).

Writes tests/fixtures/forward/:
  weights.f32   every tensor as raw little-endian f32, concatenated
  pixels.u8     2 random RGB images, uint8 [2, 3, 224, 224]; the model input is (v / 255 - mean) / std in f32
  forward.json  configs; tensor index (name -> shape, byte offset) under open_clip's state-dict names;
                token id texts; expected outputs (not L2-normalised):
                  vit.expected [2, 32] for the two images as one batch; vit.flipped_expected [1, 32] for image
                  0 flipped left-right; bert.expected [n_texts, 32] for all texts as ONE batch padded to the
                  longest with attention mask = ids != [PAD] (as open_clip's HFTextEncoder); plus reference
                  diagnostics (flip and reorder cosines, padded vs one-by-one max diff).
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UPSTREAM = os.environ.get("PHENOLIP_UPSTREAM", os.path.join(HERE, ".upstream"))
TIMM_DIR = os.path.join(UPSTREAM, os.environ.get("PHENOLIP_TIMM", "timm-1.0.28"))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "forward")

if not os.path.isdir(os.path.join(TIMM_DIR, "timm")):
    sys.exit(f"missing upstream timm at {TIMM_DIR}: see this script's header")
sys.path.insert(0, TIMM_DIR)

import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402

SEED = 20240612
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
VIT = dict(image_size=224, patch_size=16, width=64, n_layers=2, n_heads=4, mlp_dim=256, embed_dim=32, ln_eps=1e-6)
BERT = dict(vocab_size=100, width=64, n_layers=2, n_heads=4, ff_dim=128, max_positions=512, n_token_types=2,
            proj_hidden=48, embed_dim=32, ln_eps=1e-12)
PAD, CLS, SEP = 0, 2, 3
FIRST_WORD_ID = 5  # ids 0-4: [PAD] [UNK] [CLS] [SEP] [MASK]


# --- Text tower: transformers' BertModel (v4.30) as it computes, plus open_clip's pooler and projection ---------

class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["width"]
        self.n_heads, self.head_dim = c["n_heads"], w // c["n_heads"]
        self.query, self.key, self.value = nn.Linear(w, w), nn.Linear(w, w), nn.Linear(w, w)
        self.attn_out = nn.Linear(w, w)
        self.attn_ln = nn.LayerNorm(w, eps=c["ln_eps"])
        self.inter = nn.Linear(w, c["ff_dim"])
        self.out = nn.Linear(c["ff_dim"], w)
        self.out_ln = nn.LayerNorm(w, eps=c["ln_eps"])

    def heads(self, x):  # [B, L, W] -> [B, H, L, D]
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, ext_mask):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + ext_mask
        context = torch.matmul(scores.softmax(dim=-1), v).permute(0, 2, 1, 3).reshape(x.shape)
        x = self.attn_ln(self.attn_out(context) + x)                 # BertSelfOutput
        return self.out_ln(self.out(F.gelu(self.inter(x))) + x)      # BertIntermediate, BertOutput


class TextTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = c["width"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], w, padding_idx=PAD)
        self.position_embeddings = nn.Embedding(c["max_positions"], w)
        self.token_type_embeddings = nn.Embedding(c["n_token_types"], w)
        self.emb_ln = nn.LayerNorm(w, eps=c["ln_eps"])
        self.layers = nn.ModuleList([BertLayer(c) for _ in range(c["n_layers"])])
        self.proj = nn.Sequential(nn.Linear(w, c["proj_hidden"], bias=False), nn.GELU(),
                                  nn.Linear(c["proj_hidden"], c["embed_dim"], bias=False))

    def forward(self, ids):
        mask = (ids != PAD).long()                                   # open_clip's HFTextEncoder
        n = ids.shape[1]
        positions = torch.arange(n).unsqueeze(0)
        token_types = torch.zeros_like(ids)
        x = self.word_embeddings(ids) + self.token_type_embeddings(token_types)
        x = self.emb_ln(x + self.position_embeddings(positions))
        ext_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, ext_mask)
        return self.proj(x[:, 0, :])                                 # ClsLastHiddenStatePooler + MLP proj


# --- Image tower: timm's VisionTransformer + open_clip's head.proj -------------------------------------------

class ImageTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.trunk = VisionTransformer(img_size=c["image_size"], patch_size=c["patch_size"], embed_dim=c["width"],
                                       depth=c["n_layers"], num_heads=c["n_heads"],
                                       mlp_ratio=c["mlp_dim"] / c["width"], qkv_bias=True, num_classes=0)
        self.proj = nn.Linear(c["width"], c["embed_dim"], bias=False)
        t = self.trunk
        assert t.global_pool == "token" and t.cls_token is not None and isinstance(t.fc_norm, nn.Identity)
        assert t.norm.eps == c["ln_eps"] and t.blocks[0].norm1.eps == c["ln_eps"]
        assert not getattr(t.blocks[0].attn, "fused_attn", False)  # no F.scaled_dot_product_attention in 1.13

    def forward(self, pixels):
        return self.proj(self.trunk(pixels))


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split(".")[-1]
            is_norm = any(s in name for s in ("norm", "_ln", "emb_ln"))
            if is_norm:
                p.copy_((1.0 if leaf == "weight" else 0.0) + 0.1 * torch.randn(p.shape, generator=gen))
            elif leaf == "bias":
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "embed" in name or "cls_token" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:  # Linear [out, in] or Conv2d [out, in, kh, kw]
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


# open_clip state-dict names, so the fixture reads like a real checkpoint
def vit_tensors(m):
    t = m.trunk
    out = [("visual.trunk.cls_token", t.cls_token), ("visual.trunk.pos_embed", t.pos_embed),
           ("visual.trunk.patch_embed.proj.weight", t.patch_embed.proj.weight),
           ("visual.trunk.patch_embed.proj.bias", t.patch_embed.proj.bias)]
    for i, b in enumerate(t.blocks):
        for part in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"):
            module = b.get_submodule(part)
            out += [(f"visual.trunk.blocks.{i}.{part}.weight", module.weight),
                    (f"visual.trunk.blocks.{i}.{part}.bias", module.bias)]
    out += [("visual.trunk.norm.weight", t.norm.weight), ("visual.trunk.norm.bias", t.norm.bias),
            ("visual.head.proj.weight", m.proj.weight)]
    return out


def bert_tensors(m):
    e = "text.transformer.embeddings."
    out = [(e + "word_embeddings.weight", m.word_embeddings.weight),
           (e + "position_embeddings.weight", m.position_embeddings.weight),
           (e + "token_type_embeddings.weight", m.token_type_embeddings.weight),
           (e + "LayerNorm.weight", m.emb_ln.weight), (e + "LayerNorm.bias", m.emb_ln.bias)]
    names = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
             "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_ln",
             "intermediate.dense": "inter", "output.dense": "out", "output.LayerNorm": "out_ln"}
    for i, layer in enumerate(m.layers):
        for hf, ours in names.items():
            module = getattr(layer, ours)
            out += [(f"text.transformer.encoder.layer.{i}.{hf}.weight", module.weight),
                    (f"text.transformer.encoder.layer.{i}.{hf}.bias", module.bias)]
    out += [("text.proj.0.weight", m.proj[0].weight), ("text.proj.2.weight", m.proj[2].weight)]
    return out


def normalise(pixels_u8):
    x = torch.from_numpy(pixels_u8).float().div(255)                 # ToTensor
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std                                          # Normalize


def make_texts(gen):
    def words(n):
        return torch.randint(FIRST_WORD_ID, BERT["vocab_size"], (n,), generator=gen).tolist()

    base = [CLS] + words(6) + [SEP]
    reordered = [CLS] + base[1:-1][::-1] + [SEP]
    return [
        [CLS],                                      # length 1: [CLS] alone
        base,
        [CLS] + words(40) + [SEP],
        reordered,                                  # same tokens as `base`, reversed order
        [CLS] + words(298) + [SEP],                 # length 300
        [CLS, SEP],
        [CLS] + words(15) + [SEP],
    ]


def cosine(a, b):
    return float(F.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)))


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    vit = ImageTower(VIT).eval()
    bert = TextTower(BERT).eval()
    init_weights(vit, gen)
    init_weights(bert, gen)

    pixels_u8 = torch.randint(0, 256, (2, 3, VIT["image_size"], VIT["image_size"]), generator=gen,
                              dtype=torch.uint8).numpy()
    texts = make_texts(gen)
    with torch.no_grad():
        pixels = normalise(pixels_u8)
        vit_out = vit(pixels)
        vit_flipped = vit(pixels[0:1].flip(-1))
        longest = max(len(t) for t in texts)
        padded = torch.tensor([t + [PAD] * (longest - len(t)) for t in texts])
        bert_out = bert(padded)
        one_by_one = torch.cat([bert(torch.tensor([t])) for t in texts])

    os.makedirs(OUT_DIR, exist_ok=True)
    index, offset = [], 0
    with open(os.path.join(OUT_DIR, "weights.f32"), "wb") as f:
        for name, p in vit_tensors(vit) + bert_tensors(bert):
            data = p.detach().contiguous().numpy().astype("<f4").tobytes()
            index.append({"name": name, "shape": list(p.shape), "offset": offset})
            f.write(data)
            offset += len(data)
    with open(os.path.join(OUT_DIR, "pixels.u8"), "wb") as f:
        f.write(pixels_u8.tobytes())

    def rows(t):
        return [[float(v) for v in row] for row in t]

    doc = {
        "generator": "tests/reference/make_forward_fixtures.py",
        "versions": {"torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__},
        "seed": SEED,
        "tensors": index,
        "vit": {
            "config": VIT,
            "pixels": {"file": "pixels.u8", "shape": list(pixels_u8.shape), "mean": MEAN, "std": STD},
            "expected": rows(vit_out),
            "flipped_image": 0,
            "flipped_expected": rows(vit_flipped),
            "flip_cosine": cosine(vit_out[0], vit_flipped[0]),
        },
        "bert": {
            "config": BERT,
            "special_ids": {"pad": PAD, "cls": CLS, "sep": SEP},
            "texts": texts,
            "expected": rows(bert_out),
            "padded_to": longest,
            "reordered_pair": [1, 3],
            "reorder_cosine": cosine(bert_out[1], bert_out[3]),
            "padded_vs_one_by_one_max_abs_diff": float((bert_out - one_by_one).abs().max()),
        },
    }
    with open(os.path.join(OUT_DIR, "forward.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT_DIR}: {offset} bytes of weights; flip cosine {doc['vit']['flip_cosine']:.4f}, "
          f"reorder cosine {doc['bert']['reorder_cosine']:.4f}, padded vs one-by-one "
          f"{doc['bert']['padded_vs_one_by_one_max_abs_diff']:.2e}, "
          f"image output norms {[round(float(v), 2) for v in vit_out.norm(dim=1)]}")


if __name__ == "__main__":
    main()
