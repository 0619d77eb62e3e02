#!/usr/bin/python3
"""PyTorch side of the phenotype-embedding throughput benchmark: embeds the phenotypes that
tools/pl-bench-rank embedded, with the same templates and the same batches (sorted by the label's
token length, 64 phenotypes x all templates per batch, padding trimmed to the batch's longest text:
PyTorch's best case), averaging per phenotype as open_clip's zero-shot classifier does; prints its
time and the largest difference from the engine's embeddings.

    /usr/bin/python3 tests/reference/bench_torch_phenotypes.py CHECKPOINT_DIR ENGINE.json OUT.json
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch  # noqa: E402

CHUNK = 64


def main():
    checkpoint, engine_path, out_path = sys.argv[1:4]
    engine = json.load(open(engine_path, encoding="utf-8"))
    _, _, model, _, tokenizer = bench_torch.build(checkpoint)
    model.eval()
    templates = engine["templates"]
    phenotypes = engine["phenotypes"]
    pad = tokenizer.tokenizer.pad_token_id
    lengths = [int((tokenizer([p["label"]])[0] != pad).sum()) for p in phenotypes]
    order = sorted(range(len(phenotypes)), key=lambda i: (lengths[i], phenotypes[i]["id"]))
    results = {}
    best = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        start = time.perf_counter()
        with torch.no_grad():
            for first in range(0, len(order), CHUNK):
                chunk = [phenotypes[i] for i in order[first:first + CHUNK]]
                texts = [t.format(p["label"]) for p in chunk for t in templates]
                ids = tokenizer(texts)
                ids = ids[:, : int((ids != pad).sum(1).max())]
                e = F.normalize(model.encode_text(ids), dim=-1)
                e = e.reshape(len(chunk), len(templates), -1).mean(dim=1)
                e = e / e.norm(dim=1, keepdim=True)
                for p, v in zip(chunk, e):
                    results[p["id"]] = v
        seconds = time.perf_counter() - start
        if best is None or seconds < best[0]:
            best = (seconds, threads)
    diff = max(float((results[p["id"]] - torch.tensor(p["embedding"])).abs().max()) for p in phenotypes)
    out = {"torch_seconds": best[0], "torch_threads": best[1], "phenotypes": len(phenotypes),
           "max_abs_diff": diff}
    json.dump(out, open(out_path, "w"), indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
