#!/usr/bin/python3
"""Small open_clip checkpoints that each differ from a BiomedCLIP-like config in ONE field, with upstream outputs.

Regenerate (from the repository root; deterministic, ~5 s; needs the upstream sources of tests/reference/README.md
and ../shared/data/images/retina.jpg, or $PHENOLIP_SHARED/data/images/retina.jpg):

    /usr/bin/python3 tests/reference/make_variant_fixtures.py

writes tests/fixtures/variants/: rgba.png (shared input image) and one folder per case, each in hub form:
    open_clip_pytorch_model.bin   torch.save(model.state_dict()) of the upstream open_clip model, f32
    open_clip_config.json         {"model_cfg": {...}, "preprocess_cfg": {"mean", "std"}}
    vocab.txt                     the vocab beside the checkpoint
    variant-bert/config.json      HF BertConfig (text_cfg.hf_model_name = hf_tokenizer_name = "variant-bert")
    variant-bert/vocab.txt        the same vocab (what HFTokenizer / AutoTokenizer loads)
    expected.json                 upstream embeddings (below)

The model code is make_model_fixtures.py's (imported as a module): real open_clip v2.23.0 (CustomTextCLIP, TimmModel,
HFTextEncoder and its poolers, image_transform, HFTokenizer), real timm v1.0.28 VisionTransformer, and the
`transformers` stand-in (BertModel as v4.30 computes it, slow BertTokenizer from upstream source) described there.
Expected values come from a model created by open_clip from the files written here (open_clip_config.json read
back, registered as a model config, create_model_and_transforms(pretrained_hf=False), then the .bin loaded
strictly), preprocessed by that model's own image_transform and tokenized by its own HFTokenizer.

Base config (BiomedCLIP's field set, as tests/fixtures/tiny): vision_cfg {timm_model_name "vit_base_patch16_224",
timm_model_pretrained false, timm_pool "", timm_proj "linear", image_size 64, heads 2}; text_cfg {hf_model_name /
hf_tokenizer_name "variant-bert", hf_proj_type "mlp", hf_pooler_type "cls_last_hidden_state_pooler",
context_length 24}; embed_dim 16; preprocess mean/std of OpenAI CLIP (as BiomedCLIP).
Sizes: ViT width 32, depth 2, 2 heads, patch 16, MLP 64, image 64 (4x4 patches + CLS = 17 positions): the same
timm factory entry vit_base_patch16_224 with embed_dim/depth/num_heads/mlp_ratio/img_size passed through (as the
tiny model passes embed_dim/depth/num_heads; open_clip's TimmModel itself never passes img_size to timm, so a real
vit_base_patch16_224 would be built for 224 -- the override is how this small model exists at all);
BERT hidden 32, 2 layers, 2 heads, intermediate 64, 512 positions; vocab = tests/fixtures/tiny/vocab.txt (3005
lines) except text-pad-mismatch.  Text projection MLP 32 -> 24 -> 16, GELU; visual.head.proj 32 -> 16.
Weights: make_model_fixtures.randomize (N(0, 1/fan_in), vision q/k x1.8, embeddings std 0.7, biases std 0.1,
LayerNorm 1 +- 0.15), seed 20240701 + case index; logit_scale log(1/0.07).

Cases (each differs from the base in exactly this):
  vision-avg-pool     vision_cfg has NO "timm_pool" member.  CLIPVisionCfg.timm_pool defaults to 'avg', so
                      TimmModel (timm_proj 'linear' -> the extra_proj branch) creates vit_base_patch16_224 with its
                      defaults (global_pool 'token', fc_norm None -> use_fc_norm False: trunk.norm is a LayerNorm,
                      trunk.fc_norm is Identity) and then calls trunk.reset_classifier(0, global_pool='avg'), which
                      only sets global_pool = 'avg' and head = Identity (fc_norm stays Identity, norm stays).  Hence
                      forward_features = patch embed + pos (CLS prepended) -> blocks -> trunk.norm on EVERY token;
                      forward_head: timm.global_pool_nlc(pool_type 'avg', num_prefix_tokens 1,
                      reduce_include_prefix False) = mean over the 16 patch tokens (CLS excluded) of the final-normed
                      tokens, fc_norm = Identity, then visual.head.proj.  (timm 0.9.8's forward_head does the same:
                      x[:, num_prefix_tokens:].mean(1).)  The state dict is identical in form to the CLS-pooled
                      model (visual.trunk.norm.*, no fc_norm): only the config tells them apart.  The script checks
                      this formula against open_clip's output.
  vision-proj-bias    "timm_proj_bias": true: visual.head.proj = Linear(32, 16, bias=True) (visual.head.proj.bias in
                      the state dict); timm_pool "" as BiomedCLIP (reset_classifier(0) keeps 'token': CLS pooling).
  text-mean-pooler    text_cfg has NO "hf_pooler_type": CLIPTextCfg.hf_pooler_type defaults to 'mean_pooler':
                      open_clip's MeanPooler = (last_hidden_state * mask[..., None]).sum(1) / mask.sum(-1), with
                      mask = (ids != config.pad_token_id) on the ids HFTokenizer padded to context_length (so [CLS],
                      [SEP] and every real token count, padding does not).  No BERT pooler (add_pooling_layer is
                      only for 'cls_pooler').  Then the MLP projection.
  text-pad-mismatch   the vocab (both vocab.txt files) is [unused0] [UNK] [CLS] [SEP] [MASK] [PAD] + the tiny vocab's
                      3000 words (3006 lines: [PAD] is id 5), config.json keeps pad_token_id 0.  HFTokenizer pads
                      with the tokenizer's [PAD] (id 5), HFTextEncoder masks ids != config.pad_token_id (0), so every
                      padding position IS attended to (and, CLS pooling, changes the [CLS] output).

expected.json (paths are relative to the repository root; ../shared is $PHENOLIP_SHARED's default):
  case, description, seed, versions, config (the hub model_cfg), context_length, vocab_size, special_ids (from the
  vocab), hf_pad_token_id (config.json), logit_scale;
  images[]: file, embedding = encode_image(preprocess(img), normalize=True) for retina.jpg and rgba.png (61x47
    RGBA with alpha 0..255: torchvision resizes the RGBA image -- PIL premultiplies alpha for that -- before
    open_clip's _convert_to_rgb drops alpha);
  texts[]: text, ids (HFTokenizer at context 24, up to and including [SEP], without padding), attended (number of
    positions whose mask is 1 in the padded row), embedding (normalised; the batch padded to the context);
  contrast: the same weights run the base way (CLS pooling / no bias / CLS pooler / padding masked), and the max abs
    difference from the case's own embeddings -- how far an engine that ignores the field would be off.

Suggested tolerance for the f32 C engine: 1e-4 absolute per embedding component.
"""

import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_fixtures as ref  # noqa: E402  (installs the transformers stand-in, imports open_clip and timm)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = ref.ROOT
OUT = os.path.join(ROOT, "tests", "fixtures", "variants")
TINY_VOCAB = os.path.join(ROOT, "tests", "fixtures", "tiny", "vocab.txt")
HF_NAME = "variant-bert"
SEED = 20240701
CONTEXT = 24
EMBED = 16
VIT = dict(embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.0, img_size=64)  # patch 16 from the factory entry
BERT = (32, 2, 2, 64)  # hidden, layers, heads, intermediate
TEXTS = [
    "generalized tonic-clonic seizure",
    "Café-au-lait spots HP:0000957",
    "Bleeding from the blood vessels of the retina, the light-sensitive tissue at the back of the eye, "
    "with hard exudates and microaneurysms.",
]
CASES = ["vision-avg-pool", "vision-proj-bias", "text-mean-pooler", "text-pad-mismatch"]
DESCRIPTION = {
    "vision-avg-pool": "vision_cfg without timm_pool: open_clip default 'avg' = mean of the final-normed patch "
                       "tokens (CLS excluded), then visual.head.proj",
    "vision-proj-bias": "vision_cfg.timm_proj_bias true: visual.head.proj has a bias",
    "text-mean-pooler": "text_cfg without hf_pooler_type: open_clip default 'mean_pooler' = mean of last_hidden_state "
                        "over ids != config.pad_token_id",
    "text-pad-mismatch": "vocab [PAD] is id 5, config.json pad_token_id 0: HFTokenizer pads with 5, the mask is "
                         "ids != 0, so the padding is attended",
}


def base_config():
    cfg = ref.hub_config(EMBED, HF_NAME, heads=VIT["num_heads"], context_length=CONTEXT,
                         extra_vision={"image_size": VIT["img_size"]})
    assert cfg["model_cfg"]["vision_cfg"]["timm_pool"] == ""
    return cfg


def case_config(case):
    cfg = base_config()
    if case == "vision-avg-pool":
        del cfg["model_cfg"]["vision_cfg"]["timm_pool"]
    elif case == "vision-proj-bias":
        cfg["model_cfg"]["vision_cfg"]["timm_proj_bias"] = True
    elif case == "text-mean-pooler":
        del cfg["model_cfg"]["text_cfg"]["hf_pooler_type"]
    return cfg


def vocab_lines(case):
    lines = open(TINY_VOCAB, encoding="utf-8").read().split("\n")
    lines = lines[:-1] if lines[-1] == "" else lines
    assert len(lines) == 3005 and lines[:5] == ref.SPECIALS
    if case == "text-pad-mismatch":
        lines = ["[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[PAD]"] + lines[5:]
    return lines


def make_rgba(path):
    """61x47 RGBA: smooth colour gradients plus noise; alpha 0 in a corner block, 255 in a stripe, graded elsewhere."""
    rng = np.random.RandomState(SEED)
    h, w = 47, 61
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rgb = np.stack([40 + 200 * x / (w - 1), 230 - 180 * y / (h - 1), 128 + 100 * np.sin(x / 6.0 + y / 9.0)], -1)
    rgb += rng.randint(-25, 26, rgb.shape)
    alpha = np.clip(255 * (x + y) / (w + h - 2) + rng.randint(-20, 21, (h, w)), 0, 255)
    alpha[:12, :15] = 0
    alpha[30:36, :] = 255
    a = np.concatenate([np.clip(np.rint(rgb), 0, 255), np.rint(alpha)[..., None]], -1).astype(np.uint8)
    Image.fromarray(a, "RGBA").save(path)


def build_from_files(d, tag):
    """open_clip's model, preprocess and tokenizer created from the hub files in folder d (as written)."""
    with open(os.path.join(d, "open_clip_config.json")) as f:
        cfg = json.load(f)
    model, preprocess, tokenizer = ref.build_model(cfg, os.path.join(d, HF_NAME), dict(VIT), name="variant-" + tag)
    sd = torch.load(os.path.join(d, "open_clip_pytorch_model.bin"), map_location="cpu")
    model.load_state_dict(sd, strict=True)
    return cfg, model, preprocess, tokenizer


def trimmed(row, pad):
    nz = (row != pad).nonzero()
    return row[: int(nz.max()) + 1] if len(nz) else row[:0]


def main():
    os.makedirs(OUT, exist_ok=True)
    rgba_path = os.path.join(OUT, "rgba.png")
    make_rgba(rgba_path)
    image_files = [os.path.join(ref.IMAGES_DIR, "retina.jpg"), rgba_path]
    for p in image_files:
        if not os.path.isfile(p):
            sys.exit(f"missing input image {p} (set PHENOLIP_SHARED)")
    rel = {p: os.path.relpath(p, ROOT) if p == rgba_path else os.path.join("..", "shared", "data", "images",
                                                                             os.path.basename(p))
           for p in image_files}

    summary = []
    for idx, case in enumerate(CASES):
        seed = SEED + idx
        d = os.path.join(OUT, case)
        shutil.rmtree(d, ignore_errors=True)
        hf_dir = os.path.join(d, HF_NAME)
        os.makedirs(hf_dir)
        lines = vocab_lines(case)
        for p in (os.path.join(d, "vocab.txt"), os.path.join(hf_dir, "vocab.txt")):
            with open(p, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        bert_cfg = ref.bert_config_dict(len(lines), *BERT)
        assert bert_cfg["pad_token_id"] == 0
        with open(os.path.join(hf_dir, "config.json"), "w") as f:
            json.dump(bert_cfg, f, indent=2)
        cfg = case_config(case)
        with open(os.path.join(d, "open_clip_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)

        # build, randomise, save -- then rebuild from the written files for the expected outputs
        torch.manual_seed(seed)
        m0, _, _ = ref.build_model(cfg, hf_dir, dict(VIT), name="variant-init-" + case)
        ref.randomize(m0, seed)
        torch.save(m0.state_dict(), os.path.join(d, "open_clip_pytorch_model.bin"))
        cfg, model, preprocess, tokenizer = build_from_files(d, case)
        sd = model.state_dict()
        assert sd["visual.trunk.pos_embed"].shape == (1, 17, 32)
        assert sd["visual.trunk.blocks.0.mlp.fc1.weight"].shape == (64, 32)
        assert sd["text.proj.0.weight"].shape == (24, 32) and sd["text.proj.2.weight"].shape == (16, 24)
        assert ("visual.head.proj.bias" in sd) == (case == "vision-proj-bias")
        assert not any("fc_norm" in k for k in sd)
        tok = tokenizer.tokenizer
        pad_hf = model.text.config.pad_token_id

        exp = {"generator": "tests/reference/make_variant_fixtures.py", "case": case, "description": DESCRIPTION[case],
               "seed": seed, "versions": ref.versions(), "config": cfg["model_cfg"], "context_length": CONTEXT,
               "vocab_size": len(lines), "special_ids": {t: tok.vocab[t] for t in ref.SPECIALS},
               "hf_pad_token_id": pad_hf, "logit_scale": float(model.logit_scale),
               "tolerance_note": "f32 engine vs torch: embeddings within ~1e-4 absolute",
               "images": [], "texts": []}
        with torch.no_grad():
            xs = torch.stack([preprocess(Image.open(p)) for p in image_files])
            assert xs.shape == (2, 3, 64, 64)
            iemb = model.encode_image(xs, normalize=True)
            for p, e in zip(image_files, iemb):
                exp["images"].append({"file": rel[p], "embedding": ref.r(e)})
            ids = tokenizer(TEXTS)
            assert ids.shape == (len(TEXTS), CONTEXT)
            mask = (ids != pad_hf).long()
            temb = model.encode_text(ids, normalize=True)
            for t, row, m, e in zip(TEXTS, ids, mask, temb):
                exp["texts"].append({"text": t, "ids": trimmed(row, tok.pad_token_id).tolist(),
                                     "attended": int(m.sum()), "embedding": ref.r(e)})
            assert all(t["ids"][0] == tok.cls_token_id and t["ids"][-1] == tok.sep_token_id for t in exp["texts"])
            assert len(exp["texts"][-1]["ids"]) == CONTEXT and len(exp["texts"][0]["ids"]) < CONTEXT

            # the case's semantics written out by hand, checked against open_clip, and the base behaviour
            trunk = model.visual.trunk
            if case == "vision-avg-pool":
                assert trunk.global_pool == "avg" and isinstance(trunk.fc_norm, torch.nn.Identity)
                assert isinstance(trunk.norm, torch.nn.LayerNorm) and trunk.num_prefix_tokens == 1
                tokens = trunk.forward_features(xs)  # blocks, then trunk.norm on every token
                by_hand = F.normalize(model.visual.head.proj(tokens[:, 1:].mean(1)), dim=-1)
                assert float((by_hand - iemb).abs().max()) < 1e-6
                other = F.normalize(model.visual.head.proj(tokens[:, 0]), dim=-1)
                contrast = ("CLS token pooling (timm_pool \"\")", iemb, other)
            elif case == "vision-proj-bias":
                assert trunk.global_pool == "token"
                feats = trunk(xs)
                other = F.normalize(feats @ model.visual.head.proj.weight.t(), dim=-1)
                by_hand = F.normalize(feats @ model.visual.head.proj.weight.t() + model.visual.head.proj.bias, dim=-1)
                assert float((by_hand - iemb).abs().max()) < 1e-6
                contrast = ("visual.head.proj without its bias", iemb, other)
            elif case == "text-mean-pooler":
                assert type(model.text.pooler).__name__ == "MeanPooler"
                h = model.text.transformer(input_ids=ids, attention_mask=mask).last_hidden_state
                mean = (h * mask[..., None]).sum(1) / mask.sum(-1, keepdim=True)
                by_hand = F.normalize(model.text.proj(mean), dim=-1)
                assert float((by_hand - temb).abs().max()) < 1e-6
                other = F.normalize(model.text.proj(h[:, 0]), dim=-1)
                contrast = ("[CLS] last hidden state (cls_last_hidden_state_pooler)", temb, other)
            else:
                assert tok.pad_token_id == 5 and pad_hf == 0 and bool((mask == 1).all())
                assert [t["attended"] for t in exp["texts"]] == [CONTEXT] * len(TEXTS)
                other = torch.stack([model.encode_text(trimmed(row, tok.pad_token_id)[None], normalize=True)[0]
                                     for row in ids])
                contrast = ("padding masked (each text run alone, unpadded)", temb, other)
                for t, o in zip(exp["texts"], other):
                    t["embedding_padding_masked"] = ref.r(o)
            what, mine, theirs = contrast
            exp["contrast"] = {"what": what, "max_abs_diff": float((mine - theirs).abs().max()),
                               "per_item_max_abs_diff": [float(v) for v in (mine - theirs).abs().amax(1)]}
        for group in ("images", "texts"):
            for item in exp[group]:
                v = np.array(item["embedding"])
                assert np.isfinite(v).all() and abs(np.linalg.norm(v) - 1) < 1e-5
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(exp, f, indent=1, ensure_ascii=False)
        summary.append((case, exp["contrast"], [len(t["ids"]) for t in exp["texts"]]))

    print(json.dumps(ref.versions()))
    for case, c, lens in summary:
        print(f"{case:<18} token counts {lens}; vs {c['what']}: max abs diff {c['max_abs_diff']:.4f}")
    ref.print_sizes(OUT)


if __name__ == "__main__":
    main()
