#!/usr/bin/python3
"""Expected phenotype embeddings and rankings for tests/test-ranking.c, computed with open_clip's own
zero-shot classifier builder (open_clip v2.23.0 `build_zero_shot_classifier`: templates formatted with
str.format, each text embedding normalised, averaged per class, renormalised) on the tiny fixture model,
over the demo ontology's phenotypes, and numpy for the ranking (cosine, logit, softmax over the
candidates, top k, a subtree restriction).

    /usr/bin/python3 tests/reference/make_ranking_fixtures.py

writes tests/fixtures/ranking/expected.json. Needs the upstream sources of tests/reference/README.md.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bench_torch  # noqa: E402  (its build() loads a checkpoint folder with open_clip)
from open_clip.zero_shot_classifier import build_zero_shot_classifier  # noqa: E402
from PIL import Image  # noqa: E402

# The templates are part of the specification: data/pl-phenotype-embeddings.c's default set.
TEMPLATES = ["{}", "A medical image showing {}.", "An image of a patient with {}.", "A clinical photograph of {}."]


def read_obo(path):
    terms, current = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("["):
            current = {"is_a": [], "obsolete": False} if line == "[Term]" else None
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
        elif tag == "is_obsolete" and value.strip() == "true":
            current["obsolete"] = True
    return terms


def descendants(terms, root):
    children = {}
    for t in terms.values():
        for p in t["is_a"]:
            children.setdefault(p, []).append(t["id"])
    seen, stack = {root}, [root]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return sorted(i for i in seen if not terms[i]["obsolete"])


def softmax_rank(scores, scale, k):
    logits = scale * scores
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-scores, kind="stable")[:k]
    return order, p


def main():
    terms = read_obo(os.path.join(ROOT, "data", "demo", "hpo-demo.obo"))
    ids = descendants(terms, "HP:0000118")
    labels = [terms[i]["name"] for i in ids]
    _, _, model, preprocess, tokenizer = bench_torch.build(os.path.join(ROOT, "tests", "fixtures", "tiny"))
    model.eval()
    with torch.no_grad():
        classifier = build_zero_shot_classifier(model, tokenizer, labels, TEMPLATES, num_classes_per_batch=10)
        image = preprocess(Image.open(os.path.join(ROOT, "..", "shared", "data", "images", "retina.jpg")))
        image_embedding = model.encode_image(image[None], normalize=True)[0]
        scale = float(model.logit_scale.exp())
    W = classifier.T.numpy().astype(np.float64)          # [n, dim]
    e = image_embedding.numpy().astype(np.float64)
    scores = W @ e
    order, p = softmax_rank(scores, scale, 10)
    eye = set(descendants(terms, "HP:0000478"))
    sub = [i for i, t in enumerate(ids) if t in eye]
    sub_order, sub_p = softmax_rank(scores[sub], scale, 5)
    out = {
        "generator": "tests/reference/make_ranking_fixtures.py",
        "templates": TEMPLATES,
        "logit_scale_exp": scale,
        "terms": [{"id": i, "embedding": [round(float(x), 7) for x in W[k]]} for k, i in enumerate(ids)],
        "image": "retina.jpg",
        "image_embedding": [round(float(x), 7) for x in e],
        "top": [{"id": ids[k], "cosine": float(scores[k]), "probability": float(p[k])} for k in order],
        "under": "HP:0000478",
        "under_candidates": len(sub),
        "under_top": [{"id": ids[sub[k]], "cosine": float(scores[sub[k]]), "probability": float(sub_p[k])}
                      for k in sub_order],
    }
    os.makedirs(os.path.join(ROOT, "tests", "fixtures", "ranking"), exist_ok=True)
    with open(os.path.join(ROOT, "tests", "fixtures", "ranking", "expected.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(ids)} phenotypes, top: {[(ids[k], round(float(p[k]), 4)) for k in order[:3]]}")


if __name__ == "__main__":
    main()
