#!/usr/bin/python3
"""Derives data/demo/hpo-demo.obo, the small HPO subset embedded for the demo, from the real release.

Regenerate (from the project root):
    /usr/bin/python3 tools/make-demo-ontology.py ../shared/data/hpo/hp-2023-01-27.json.gz > data/demo/hpo-demo.obo

Takes a list of real terms across organ systems and closes it under is_a up to HP:0000001, so every
path is complete. Ids, labels, definitions (with their xrefs), synonyms and parents are copied
unchanged (HPO licence: do not alter content); nothing else is added.
"""
import gzip
import json
import sys

SEEDS = [
    # eye
    "HP:0000573", "HP:0030494", "HP:0031803", "HP:0000488", "HP:0000505", "HP:0000518", "HP:0000501",
    "HP:0007703", "HP:0001123", "HP:0000486",
    # nervous system
    "HP:0001250", "HP:0002133", "HP:0002069", "HP:0001263", "HP:0000252", "HP:0001251",
    # skin
    "HP:0000988", "HP:0000964", "HP:0001000",
    # cardiovascular
    "HP:0001631", "HP:0011675", "HP:0001635",
    # skeletal, growth
    "HP:0001166", "HP:0002650", "HP:0004322",
    # respiratory, other branches
    "HP:0002093", "HP:0000006",
]
CITATION = ("Köhler S et al. The Human Phenotype Ontology in 2021. Nucleic Acids Res. 2021;49(D1):D1207-D1217. "
            "https://hpo.jax.org")


def norm(iri):
    tail = iri.rsplit("/", 1)[-1]
    return tail.replace("_", ":") if tail.startswith("HP_") else None


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def unquoted(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("!", "\\!").replace("{", "\\{")


def main():
    with gzip.open(sys.argv[1], "rt", encoding="utf-8") as f:
        graph = json.load(f)["graphs"][0]
    nodes = {}
    for node in graph["nodes"]:
        nid = norm(node["id"])
        if nid and node.get("type") == "CLASS" and not node.get("meta", {}).get("deprecated"):
            nodes[nid] = node
    parents = {}
    for edge in graph["edges"]:
        sub, obj = norm(edge["sub"]), norm(edge["obj"])
        if edge["pred"] == "is_a" and sub in nodes and obj in nodes:
            parents.setdefault(sub, set()).add(obj)
    keep, stack = set(), list(SEEDS)
    while stack:
        t = stack.pop()
        if t not in keep:
            keep.add(t)
            stack.extend(parents.get(t, ()))
    out = sys.stdout
    out.write("format-version: 1.2\n")
    out.write("data-version: releases/2023-01-27\n")
    out.write("remark: This product uses the Human Phenotype Ontology (version 2023-01-27). %s\n" % unquoted(CITATION))
    out.write("remark: A subset of %d terms of hp.json release 2023-01-27, closed under is_a; content unaltered. "
              "Made by tools/make-demo-ontology.py.\n" % len(keep))
    out.write("ontology: hp\n")
    for t in sorted(keep):
        meta = nodes[t].get("meta", {})
        out.write("\n[Term]\nid: %s\nname: %s\n" % (t, unquoted(nodes[t].get("lbl", t))))
        if "definition" in meta:
            xrefs = ", ".join(x.replace(",", "\\,") for x in meta["definition"].get("xrefs", []))
            out.write("def: %s [%s]\n" % (quote(meta["definition"]["val"]), xrefs))
        seen = set()
        for s in meta.get("synonyms", []):
            scope = {"hasExactSynonym": "EXACT", "hasBroadSynonym": "BROAD",
                     "hasNarrowSynonym": "NARROW"}.get(s["pred"], "RELATED")
            kind = s.get("synonymType", "").rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            key = (s["val"], scope, kind)
            if key in seen:
                continue
            seen.add(key)
            out.write("synonym: %s %s%s []\n" % (quote(s["val"]), scope, " " + kind if kind else ""))
        for p in sorted(parents.get(t, ())):
            out.write("is_a: %s ! %s\n" % (p, unquoted(nodes[p].get("lbl", p))))


if __name__ == "__main__":
    main()
