#!/usr/bin/python3
"""Writes tools/bench-texts.json: 32 short HPO labels (3-5 words, about 8 tokens) and 32 definitions
(20-26 words, about 32 tokens) from the shared HPO 2023-01-27 release, the texts the model benchmark
encodes. Regenerate: /usr/bin/python3 tools/make-bench-texts.py ../shared/data/hpo/hp-2023-01-27.json.gz"""
import gzip
import json
import random
import sys

graph = json.load(gzip.open(sys.argv[1]))["graphs"][0]
nodes = [n for n in graph["nodes"]
         if n["id"].startswith("http://purl.obolibrary.org/obo/HP_") and "lbl" in n
         and not n.get("meta", {}).get("deprecated")]
random.seed(7)
short = [n["lbl"] for n in nodes if 3 <= len(n["lbl"].split()) <= 5]
long_ = [n["meta"]["definition"]["val"] for n in nodes
         if "definition" in n.get("meta", {}) and 20 <= len(n["meta"]["definition"]["val"].split()) <= 26]
out = {"source": "HPO 2023-01-27: labels of 3-5 words (short) and definitions of 20-26 words (long), seed 7",
       "short": random.sample(short, 32), "long": random.sample(long_, 32)}
with open("tools/bench-texts.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
