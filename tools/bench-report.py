#!/usr/bin/python3
"""Prints the model benchmark: this engine (tools/pl-bench-model's JSON) side by side with PyTorch
(tests/reference/bench_torch.py's JSON) from the same run, as ratios, plus the embedding agreement,
GFLOP/s against plain sgemm, and peak memory. Called by tools/bench.sh."""
import argparse
import json
import os

ap = argparse.ArgumentParser()
ap.add_argument("engine")
ap.add_argument("torch")
ap.add_argument("--images", nargs="+", required=True)
ap.add_argument("--rss-kb", type=int)
ap.add_argument("--torch-single", help="bench_torch.py JSON with OPENBLAS_NUM_THREADS=1")
ap.add_argument("--checkpoint-bytes", type=int)
a = ap.parse_args()
c = json.load(open(a.engine))
t = json.load(open(a.torch))


def torch_best(prefix):
    """PyTorch's fastest setting: the best over its thread counts, and padded or trimmed batches."""
    best = None
    for threads, cases in t["timings_ms"].items():
        for name, ms in cases.items():
            if name == prefix or name.startswith(prefix + "_"):
                if best is None or ms < best[0]:
                    best = (ms, f"{threads} thr" + (", " + name[len(prefix) + 1:] if name != prefix else ""))
    return best


rows = [
    ("image encoding, batch 1", c["image_b1_ms"], "image_b1"),
    ("image encoding, batch 8", c["image_b8_ms"], "image_b8"),
    (f"text ~{c['text_short_mean_tokens']:.0f} tokens, batch 1", c["text_short_b1_ms"], "text_short_b1"),
    (f"text ~{c['text_short_mean_tokens']:.0f} tokens, batch 32", c["text_short_batch_ms"], "text_short_b32"),
    (f"text ~{c['text_long_mean_tokens']:.0f} tokens, batch 1", c["text_long_b1_ms"], "text_long_b1"),
    (f"text ~{c['text_long_mean_tokens']:.0f} tokens, batch 32", c["text_long_batch_ms"], "text_long_b32"),
]
print(f"\nModel benchmark: engine with {c['threads']} threads (its own pool, OpenBLAS single-threaded in each) vs PyTorch {t['versions'].get('torch', '')}"
      f" (best of its thread counts and of padded/trimmed text batches); medians of {c['repeats']} runs\n")
single = json.load(open(a.torch_single)) if a.torch_single else None


def torch_single(prefix):
    cases = single["timings_ms"]["1"] if single else {}
    times = [ms for name, ms in cases.items() if name == prefix or name.startswith(prefix + "_")]
    return min(times) if times else None


print(f"{'case':34} {'engine ms':>10} {'PyTorch ms':>11} {'ratio':>7}  {'1-thread':>9} {'ratio':>7}  PyTorch's fastest setting")
for label, ms, key in rows:
    best = torch_best(key)
    one = torch_single(key)
    one_text = f"{one:9.1f} {ms / one:6.2f}x" if one else f"{'-':>9} {'':>7}"
    if best is None:
        print(f"{label:34} {ms:10.1f} {'-':>11}")
        continue
    print(f"{label:34} {ms:10.1f} {best[0]:11.1f} {ms / best[0]:6.2f}x  {one_text}  {best[1]}")
print("(PyTorch ms: its fastest setting, whose matrix products use both cores through OpenBLAS even at"
      " torch.set_num_threads(1);\n 1-thread: torch and OpenBLAS both limited to one thread)")

gflop = c["vit_gflop_per_image"]
for n, key, sg in ((1, "image_b1_ms", "sgemm_b1_gflops"), (8, "image_b8_ms", "sgemm_b8_gflops")):
    rate = n * gflop / (c[key] / 1000)
    print(f"\nimage tower batch {n}: {rate:6.1f} GFLOP/s vs plain sgemm {c[sg]:6.1f} GFLOP/s"
          f" ({100 * rate / c[sg]:.0f}% of sgemm; {gflop:.1f} GFLOP per image)", end="")
print()

diff = 0.0
names = [os.path.basename(p) for p in a.images]
for i, e in enumerate(c["image_embeddings"]):
    ref = t["embeddings"]["images"][names[i % len(names)]]
    diff = max(diff, max(abs(x - y) for x, y in zip(e, ref)))
image_diff = diff
text_diff = 0.0
sets = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-texts.json")))
for key in ("short", "long"):
    for text, e in zip(sets[key], c[f"text_{key}_embeddings"]):
        ref = t["embeddings"]["texts"].get(text)
        if ref is not None:
            text_diff = max(text_diff, max(abs(x - y) for x, y in zip(e, ref)))
ok = image_diff <= 1e-4 and text_diff <= 1e-4
print(f"\nembeddings vs PyTorch: max |diff| images {image_diff:.2e}, texts {text_diff:.2e}"
      f" -> {'agree within 1e-4' if ok else 'DISAGREE (> 1e-4)'}")
if a.rss_kb and a.checkpoint_bytes:
    limit = a.checkpoint_bytes + 150 * 2**20
    print(f"peak memory (max RSS) of phenolip embed-image: {a.rss_kb / 1024:.0f} MiB; checkpoint file"
          f" {a.checkpoint_bytes / 2**20:.0f} MiB; limit file + 150 MiB = {limit / 2**20:.0f} MiB"
          f" -> {'within' if a.rss_kb * 1024 <= limit else 'OVER'} (the text tower's pages are mapped, never read)")
