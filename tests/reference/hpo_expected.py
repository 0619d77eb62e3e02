#!/usr/bin/python3
"""Independent expected values for the HPO snapshot tests, computed with the standard library only.

Regenerate (from the project root):
    /usr/bin/python3 tests/reference/hpo_expected.py ../shared/data/hpo/hp-2023-01-27.json.gz \
        ../shared/data/hpo/hp.obo > tests/fixtures/hpo/expected.json

For the obographs JSON: live-term and phenotypic-abnormality counts, and for ~20 known terms their
label, parents, ancestors, depth, top-level systems, descendant count and every is_a path to the root
(shortest first, ties by the ids from the root down). For the OBO file: live-term and
phenotypic-abnormality counts from a plain line scan. Definitions used (same as data/pl-term.h):
depth = shortest is_a distance to HP:0000118 for terms under it, else to a root; systems = children
of HP:0000118 that are ancestors of the term or the term itself.
"""
import collections
import gzip
import json
import sys

PA = "HP:0000118"
TERMS = [
    "HP:0000001", "HP:0000118", "HP:0000478", "HP:0000573", "HP:0001250", "HP:0002133",
    "HP:0000707", "HP:0001627", "HP:0011675", "HP:0000951", "HP:0000924", "HP:0001166",
    "HP:0004322", "HP:0000252", "HP:0001263", "HP:0000505", "HP:0001631", "HP:0002093",
    "HP:0000006", "HP:0000488", "HP:0007703", "HP:0001123",
]


def norm(iri):
    tail = iri.rsplit("/", 1)[-1]
    return tail.replace("_", ":") if tail.startswith("HP_") else None


def load_json(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        graph = json.load(f)["graphs"][0]
    labels, obsolete, alt = {}, set(), {}
    for node in graph["nodes"]:
        nid = norm(node["id"])
        if nid is None or node.get("type") != "CLASS":
            continue
        labels[nid] = node.get("lbl", nid)
        meta = node.get("meta", {})
        if meta.get("deprecated"):
            obsolete.add(nid)
        for prop in meta.get("basicPropertyValues", []):
            if prop["pred"].endswith("#hasAlternativeId"):
                alt[prop["val"]] = nid
    parents = collections.defaultdict(set)
    for edge in graph["edges"]:
        sub, obj = norm(edge["sub"]), norm(edge["obj"])
        if edge["pred"] == "is_a" and sub in labels and obj in labels and sub not in obsolete:
            parents[sub].add(obj)
    live = [t for t in labels if t not in obsolete]
    return labels, obsolete, alt, parents, live


def load_obo(path):
    terms, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                current = {"parents": set(), "obsolete": False} if line == "[Term]" else None
                continue
            if current is None or ":" not in line:
                continue
            tag, value = line.split(":", 1)
            value = value.split("!")[0].strip()
            if tag == "id":
                terms[value] = current
            elif tag == "is_a":
                current["parents"].add(value.split()[0])
            elif tag == "is_obsolete":
                current["obsolete"] = value == "true"
    live = [t for t, v in terms.items() if not v["obsolete"]]
    parents = {t: terms[t]["parents"] for t in live}
    return live, parents


def children_of(live, parents):
    children = collections.defaultdict(set)
    for t in live:
        for p in parents.get(t, ()):
            children[p].add(t)
    return children


def descendants(term, children):
    seen, stack = set(), [term]
    while stack:
        for c in children.get(stack.pop(), ()):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def bfs(sources, children):
    dist = {s: 0 for s in sources}
    queue = collections.deque(sources)
    while queue:
        t = queue.popleft()
        for c in children.get(t, ()):
            if c not in dist:
                dist[c] = dist[t] + 1
                queue.append(c)
    return dist


def ancestors(term, parents):
    seen, stack = set(), [term]
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def paths(term, parents):
    if not parents.get(term):
        return [[term]]
    return [up + [term] for p in sorted(parents[term]) for up in paths(p, parents)]


def main():
    labels, obsolete, alt, parents, live = load_json(sys.argv[1])
    children = children_of(live, parents)
    roots = [t for t in live if not parents.get(t)]
    pa_desc = descendants(PA, children)
    depth_pa = bfs([PA], children)
    depth_root = bfs(roots, children)
    systems = set(children[PA])
    out = {
        "json": {
            "live_terms": len(live),
            "phenotypic_abnormality_descendants": len([t for t in pa_desc if t not in obsolete]),
            "roots": sorted(roots),
            "top_level_systems": len(systems),
            "alt_id_example": {"HP:0001275": alt.get("HP:0001275")},
            "terms": {},
        }
    }
    for t in TERMS:
        anc = ancestors(t, parents)
        all_paths = sorted(paths(t, parents), key=lambda p: (len(p), p))
        out["json"]["terms"][t] = {
            "label": labels[t],
            "parents": sorted(parents.get(t, ())),
            "ancestors": sorted(anc),
            "depth": depth_pa[t] if t in depth_pa else depth_root[t],
            "systems": sorted(s for s in systems if s == t or s in anc),
            "n_children": len(children.get(t, ())),
            "n_descendants": len(descendants(t, children)),
            "paths": all_paths,
        }
    obo_live, obo_parents = load_obo(sys.argv[2])
    obo_children = children_of(obo_live, obo_parents)
    out["obo"] = {
        "live_terms": len(obo_live),
        "phenotypic_abnormality_descendants": len(descendants(PA, obo_children)),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
