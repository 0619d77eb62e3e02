#!/usr/bin/python3
"""PyTorch speed baseline (and reference embeddings) for the C engine's benchmark.

    /usr/bin/python3 tests/reference/make_full_checkpoint.py /tmp/build-me/full
    /usr/bin/python3 tests/reference/bench_torch.py /tmp/build-me/full \
        --images ../shared/data/images/retina.jpg ../shared/data/images/ihc.png --out /tmp/build-me/bench-torch.json

CHECKPOINT_DIR holds open_clip_config.json, a weights file (open_clip_pytorch_model.bin, epoch_N.pt, *.pt or
*.safetensors; nested "state_dict" and DDP "module." prefixes accepted, half precision converted to f32) and
vocab.txt.  The model is open_clip v2.23.0 + timm + the BERT stand-in of make_model_fixtures.py (see its header).
Times only the model (inputs are preprocessed/tokenized beforehand), with warm-up, median of the repeats, for
torch.set_num_threads(N) for each N in --threads (default 1,2):
  image b1, image b8 (the given images cycled to 8);
  text "short" (~8-token phenotype labels) and "long" (~32-token definitions), batch 1 and batch 32, each
  padded to the context length (256) with attention mask as open_clip does, and trimmed to the batch's longest.
Writes FILE.json: timings (median ms), which thread count is faster, token counts, and the normalised embeddings
it produced (images by file; texts by text, from the padded run; max |padded - trimmed| is reported).
"""

import argparse
import glob
import json
import math
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_fixtures as ref  # noqa: E402
import torch  # noqa: E402

SHORT = [  # typical HPO labels
    "Retinal hemorrhage", "Generalized tonic-clonic seizure", "Microaneurysm", "Abnormality of the eye",
    "Hepatic steatosis", "Cerebral atrophy", "Optic disc pallor", "Macular edema", "Cotton wool spots",
    "Hypertensive retinopathy", "Proliferative diabetic retinopathy", "Ventriculomegaly", "Hydrocephalus",
    "Cortical dysplasia", "Hepatomegaly", "Renal cyst", "Pulmonary nodule", "Cardiomegaly", "Pleural effusion",
    "Osteopenia", "Scoliosis", "Brachydactyly", "Cafe-au-lait spot", "Hypopigmented macule",
    "Papilledema", "Chorioretinal coloboma", "Cataract", "Glaucoma", "Nystagmus", "Ptosis",
    "Abnormal retinal vasculature", "Increased nuchal translucency",
]
LONG = [  # definitions of about 32 tokens
    "Hemorrhage occurring within the retina, the light-sensitive layer of tissue lining the inner surface of "
    "the back of the eye, often seen on fundus photography.",
    "A seizure is an intermittent abnormality of nervous system physiology characterised by a transient "
    "occurrence of signs and/or symptoms due to abnormal excessive neuronal activity in the brain.",
    "Small saccular outpouchings of retinal capillaries, visible as tiny red dots on fundus examination, and "
    "an early sign of diabetic retinopathy in adults.",
    "Diffuse or focal accumulation of fat within hepatocytes of the liver, seen as increased echogenicity on "
    "ultrasound or reduced attenuation on computed tomography.",
]


def load_state_dict(d):
    files = [os.path.join(d, "open_clip_pytorch_model.bin")] + sorted(glob.glob(os.path.join(d, "*.pt"))) + \
        sorted(glob.glob(os.path.join(d, "*.safetensors")))
    path = next(f for f in files if os.path.isfile(f))
    if path.endswith(".safetensors"):
        raw = open(path, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        hdr = json.loads(raw[8:8 + n])
        dt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
        sd = {}
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            buf = bytearray(raw[8 + n + b: 8 + n + e])
            sd[k] = torch.frombuffer(buf, dtype=dt[v["dtype"]]).reshape(v["shape"]) if e > b else \
                torch.empty(v["shape"], dtype=dt[v["dtype"]])
    else:
        sd = torch.load(path, map_location="cpu")
        if isinstance(sd, dict) and "state_dict" in sd:
            sd = sd["state_dict"]
    sd = {(k[7:] if k.startswith("module.") else k): (v.float() if v.is_floating_point() else v)
          for k, v in sd.items()}
    return path, sd


def build(d):
    with open(os.path.join(d, "open_clip_config.json")) as f:
        cfg = json.load(f)
    path, sd = load_state_dict(d)
    name = cfg["model_cfg"]["text_cfg"]["hf_model_name"]
    hf_dir = os.path.join(d, name.split("/")[-1])
    if not os.path.isfile(os.path.join(hf_dir, "config.json")):
        # no HF config beside the checkpoint: infer BERT's from the weights (head size 64 as in BERT-base)
        hf_dir = os.path.join(d, ".bench-bert")
        os.makedirs(hf_dir, exist_ok=True)
        vocab, hidden = sd["text.transformer.embeddings.word_embeddings.weight"].shape
        layers = len({k.split(".")[4] for k in sd if k.startswith("text.transformer.encoder.layer.")})
        inter = sd["text.transformer.encoder.layer.0.intermediate.dense.weight"].shape[0]
        with open(os.path.join(hf_dir, "config.json"), "w") as f:
            json.dump(ref.bert_config_dict(vocab, hidden, layers, hidden // 64, inter), f)
    if not os.path.isfile(os.path.join(hf_dir, "vocab.txt")):
        with open(os.path.join(d, "vocab.txt"), "rb") as src, open(os.path.join(hf_dir, "vocab.txt"), "wb") as dst:
            dst.write(src.read())
    width = sd["visual.trunk.pos_embed"].shape[-1]
    depth = len({k.split(".")[3] for k in sd if k.startswith("visual.trunk.blocks.")})
    heads = cfg["model_cfg"]["vision_cfg"].get("heads", width // 64)
    override = None if (width, depth, heads) == (768, 12, 12) else dict(embed_dim=width, depth=depth, num_heads=heads)
    model, preprocess, tokenizer = ref.build_model(cfg, hf_dir, override, name="phenolip-bench")
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not missing, missing
    return path, cfg, model, preprocess, tokenizer


def timeit(fn, warmup, repeats, budget_s):
    for _ in range(warmup):
        fn()
    times = []
    t_end = time.perf_counter() + budget_s
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() < t_end):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3), len(times)


def main():
    from PIL import Image

    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint_dir")
    ap.add_argument("--images", nargs="+", default=[os.path.join(ref.IMAGES_DIR, f) for f in ref.IMAGES])
    ap.add_argument("--texts", help="file with one text per line (used as the 'short' set)")
    ap.add_argument("--texts-json", help='JSON file {"short": [...], "long": [...]} (tools/bench-texts.json)')
    ap.add_argument("--out", help="where the timings and embeddings go (required unless --serve)")
    ap.add_argument("--serve", action="store_true",
                    help="print 'ready', then run one case per line read from standard input (image_b1, image_b8)"
                         " and print its milliseconds: tools/bench-interleaved.py alternates it with the engine")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per case after 3 runs")
    ap.add_argument("--trimmed-only", action="store_true",
                    help="time text batches only trimmed to their longest text, not padded to 256 (which is"
                         " never faster, and takes most of the run's time at batch 32)")
    a = ap.parse_args()
    if not a.serve and not a.out:
        ap.error("--out is required")

    path, cfg, model, preprocess, tokenizer = build(a.checkpoint_dir)
    short = SHORT
    if a.texts:
        with open(a.texts, encoding="utf-8") as f:
            short = [line.rstrip("\n") for line in f if line.strip()]
    long_ = LONG
    if a.texts_json:
        with open(a.texts_json, encoding="utf-8") as f:
            sets = json.load(f)
        short, long_ = sets["short"], sets["long"]
    short = (short * math.ceil(32 / len(short)))[:32]
    long_ = (long_ * math.ceil(32 / len(long_)))[:32]
    imgs = torch.stack([preprocess(Image.open(p)) for p in a.images])
    img8 = imgs[torch.arange(8) % len(imgs)]
    pad = tokenizer.tokenizer.pad_token_id
    ids = {"short": tokenizer(short), "long": tokenizer(long_)}
    ntok = {k: [int((r != pad).sum()) for r in v] for k, v in ids.items()}

    def trim(x):
        return x[:, : int((x != pad).sum(1).max())]

    cases = {
        "image_b1": lambda: model.encode_image(imgs[:1]),
        "image_b8": lambda: model.encode_image(img8),
    }
    for k in ("short", "long"):
        for b in (1, 32):
            x = ids[k][:b]
            if not a.trimmed_only:
                cases[f"text_{k}_b{b}_padded256"] = (lambda x=x: model.encode_text(x))
            cases[f"text_{k}_b{b}_trimmed{trim(x).shape[1]}"] = (lambda x=trim(x): model.encode_text(x))

    if a.serve:
        torch.set_num_threads(int(a.threads.split(",")[0]))
        with torch.no_grad():
            cases["image_b1"]()
            print("ready", flush=True)
            for line in sys.stdin:
                fn = cases[line.strip()]
                t = time.perf_counter()
                fn()
                print(f"{(time.perf_counter() - t) * 1000:.3f}", flush=True)
        return

    res = {"checkpoint": path, "versions": ref.versions(), "token_counts": ntok, "timings_ms": {}, "runs": {}}
    with torch.no_grad():
        for n in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(n)
            res["timings_ms"][str(n)], res["runs"][str(n)] = {}, {}
            for name, fn in cases.items():
                res["timings_ms"][str(n)][name], res["runs"][str(n)][name] = timeit(fn, a.warmup, a.repeats,
                                                                                     a.budget)
                print(f"threads={n} {name}: {res['timings_ms'][str(n)][name]} ms", file=sys.stderr)
        t = res["timings_ms"]
        if len(t) > 1:
            res["faster_threads"] = {c: min(t, key=lambda n: t[n][c]) for c in cases}
        torch.set_num_threads(int(a.threads.split(",")[0]))
        ie = model.encode_image(imgs, normalize=True)
        res["embeddings"] = {"images": {os.path.basename(p): ref.r(e) for p, e in zip(a.images, ie)}, "texts": {}}
        diffs = []
        for k in ("short", "long"):
            texts = short if k == "short" else long_
            ep = model.encode_text(ids[k], normalize=True)
            et = model.encode_text(trim(ids[k]), normalize=True)
            diffs.append(float((ep - et).abs().max()))
            for s, e in zip(texts, ep):
                res["embeddings"]["texts"][s] = ref.r(e)
        res["padded_vs_trimmed_max_abs_diff"] = max(diffs)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
    print(json.dumps({"timings_ms": res["timings_ms"], "faster_threads": res.get("faster_threads"),
                      "padded_vs_trimmed_max_abs_diff": res["padded_vs_trimmed_max_abs_diff"]}, indent=1))


if __name__ == "__main__":
    main()
