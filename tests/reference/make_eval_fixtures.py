#!/usr/bin/python3
"""Expected PhenoBench metrics for tests/test-evaluation.c: the fixture benchmark
tests/fixtures/eval/bench.csv read with Python's csv and ast.literal_eval, phenotype names matched to the
demo ontology's labels and EXACT synonyms (case-insensitive), embeddings from the tiny fixture model through
open_clip v2.23.0 (images with its own preprocess, captions and labels with its tokenizer, the classification
prompts with build_zero_shot_classifier), and every metric computed with numpy:

- rank of a query = 1 + number of candidates whose cosine exceeds the best relevant candidate's by more
  than 1e-6 (optimistic ties); R@K = percent of queries with rank <= K; median rank = np.median;
- classification: images against the template-averaged prompts of the benchmark's phenotypes (any gold
  phenotype counts); image->phenotype / phenotype->image: against the labels alone, multi-label;
- per organ system (children of HP:0000118 above or equal to a phenotype): the pairs carrying one of its
  phenotypes, the phenotypes under it.

    /usr/bin/python3 tests/reference/make_eval_fixtures.py

writes tests/fixtures/eval/expected.json. Needs the upstream sources of tests/reference/README.md.
"""
import ast
import csv
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bench_torch  # noqa: E402
from open_clip.zero_shot_classifier import build_zero_shot_classifier  # noqa: E402
from PIL import Image  # noqa: E402

TEMPLATES = ["{}", "A medical image showing {}.", "An image of a patient with {}.", "A clinical photograph of {}."]
EPS = 1e-6


def read_obo(path):
    terms, current = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("["):
            current = {"is_a": [], "obsolete": False, "exact": []} if line == "[Term]" else None
            continue
        if current is None or ": " not in line:
            continue
        tag, value = line.split(": ", 1)
        if tag == "id":
            current["id"] = value
            terms[value] = current
        elif tag == "name":
            current["name"] = value
        elif tag == "is_a":
            current["is_a"].append(value.split(" ! ")[0].split()[0])
        elif tag == "synonym" and '" EXACT' in value:
            current["exact"].append(value[1:value.index('" EXACT')])
        elif tag == "is_obsolete" and value.strip() == "true":
            current["obsolete"] = True
    return terms


def ancestors_or_self(terms, t):
    seen, stack = {t}, [t]
    while stack:
        for p in terms[stack.pop()]["is_a"]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def rank_rows(S, relevant):
    ranks = []
    for q, rel in enumerate(relevant):
        if not rel:
            ranks.append(0)
            continue
        best = max(S[q, c] for c in rel)
        ranks.append(1 + int(np.sum(S[q] > best + EPS)))
    return ranks


def scores(ranks):
    r = np.array([x for x in ranks if x > 0])
    if len(r) == 0:
        return {"queries": 0, "r1": 0, "r5": 0, "r10": 0, "r50": 0, "median_rank": 0}
    return {"queries": int(len(r)), **{f"r{k}": float(100.0 * np.mean(r <= k)) for k in (1, 5, 10, 50)},
            "median_rank": float(np.median(r))}


def main():
    terms = read_obo(os.path.join(ROOT, "data", "demo", "hpo-demo.obo"))
    names = {}
    for t in terms.values():
        if not t["obsolete"]:
            names.setdefault(t["name"].casefold(), t["id"])
    for t in sorted(terms.values(), key=lambda t: t["id"]):
        if not t["obsolete"]:
            for s in t["exact"]:
                names.setdefault(s.casefold(), t["id"])
    folder = os.path.join(ROOT, "tests", "fixtures", "eval")
    pairs = []
    with open(os.path.join(folder, "bench.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                matches = ast.literal_eval(row["full_matches"])
            except (SyntaxError, ValueError):
                continue                                   # malformed record: left out
            path = os.path.normpath(os.path.join(folder, row["image_path"]))
            if not os.path.exists(path):
                continue                                   # missing image: left out
            ids = []
            for m in matches:
                i = names.get(m[0].strip().casefold())
                if i and i not in ids:
                    ids.append(i)
            pairs.append({"image": path, "caption": row["caption"], "ids": ids})
    phen = sorted({i for p in pairs for i in p["ids"]})
    labels = [terms[i]["name"] for i in phen]
    systems = {i: sorted(s for s in ancestors_or_self(terms, i) if "HP:0000118" in terms[s]["is_a"]) for i in phen}

    _, _, model, preprocess, tokenizer = bench_torch.build(os.path.join(ROOT, "tests", "fixtures", "tiny"))
    model.eval()
    with torch.no_grad():
        I = model.encode_image(torch.stack([preprocess(Image.open(p["image"])) for p in pairs]), normalize=True)
        C = model.encode_text(tokenizer([p["caption"] for p in pairs]), normalize=True)
        L = model.encode_text(tokenizer(labels), normalize=True)
        W = build_zero_shot_classifier(model, tokenizer, labels, TEMPLATES, num_classes_per_batch=10).T
    I, C, L, W = (x.numpy().astype(np.float64) for x in (I, C, L, W))
    rel = [[phen.index(i) for i in p["ids"]] for p in pairs]
    cls = rank_rows(I @ W.T, rel)
    i2p = rank_rows(I @ L.T, rel)
    p2i = rank_rows((I @ L.T).T, [[q for q, r in enumerate(rel) if k in r] for k in range(len(phen))])
    i2t = rank_rows(I @ C.T, [[q] for q in range(len(pairs))])
    t2i = rank_rows(C @ I.T, [[q] for q in range(len(pairs))])

    def scope(pair_mask, phen_mask):
        sel = lambda ranks, m: [r for r, k in zip(ranks, m) if k]  # noqa: E731
        c = [r for r in sel(cls, pair_mask) if r > 0]
        return {"n_pairs": int(sum(pair_mask)), "n_phenotypes": int(sum(phen_mask)),
                "top1": float(100.0 * np.mean(np.array(c) <= 1)) if c else 0.0,
                "top5": float(100.0 * np.mean(np.array(c) <= 5)) if c else 0.0,
                "i2t": scores(sel(i2t, pair_mask)), "t2i": scores(sel(t2i, pair_mask)),
                "i2p": scores(sel(i2p, pair_mask)), "p2i": scores(sel(p2i, phen_mask))}

    out = {"generator": "tests/reference/make_eval_fixtures.py", "templates": TEMPLATES,
           "pairs": len(pairs), "phenotypes": phen,
           "ranks": {"classification": cls, "i2t": i2t, "t2i": t2i, "i2p": i2p, "p2i": p2i},
           "overall": scope([True] * len(pairs), [True] * len(phen)), "systems": {}}
    for s in sorted({s for v in systems.values() for s in v}):
        pm = [s in systems[i] for i in phen]
        out["systems"][s] = scope([any(pm[k] for k in r) for r in rel], pm)
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out["overall"]))


if __name__ == "__main__":
    main()
