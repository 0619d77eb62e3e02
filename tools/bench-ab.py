#!/usr/bin/python3
"""Two or more builds of the engine against each other, one encoding at a time, in random order.

    tools/bench-ab.py [--case image_b8] [--rounds 10] CHECKPOINT IMAGE... -- BINARY BINARY [BINARY...]

Each BINARY is a tools/pl-bench-model from some build. Each is started once in its --serve mode on the
same checkpoint and images. Each round asks every one of them for one encoding of CASE, in a fresh
random order, after a short pause. Prints each binary's median and its ratio to the first binary's:
the ratio of the medians, and the median of the per-round ratios.

Pass the first binary twice (copy it under a second name) to see how far two identical builds land
apart on this machine in the same run: a difference smaller than that is noise. On the shared 2-core
machines here that has been 1-7 %.
"""

import argparse
import random
import statistics
import subprocess
import sys
import time

PAUSE_S = 0.3  # lets the previous process's threads go idle before the next encoding


def start(binary, checkpoint, images, texts):
    p = subprocess.Popen([binary, checkpoint, *images, "--texts", texts, "--serve"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if line.strip() == "ready":
            return p
    sys.exit(f"bench-ab: {binary} ended before it was ready")


def main():
    if "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="image_b8", choices=["image_b1", "image_b8"])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--texts", default="tools/bench-texts.json")
    ap.add_argument("checkpoint")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args(sys.argv[1:split])
    binaries = sys.argv[split + 1:]
    if len(binaries) < 2:
        sys.exit("bench-ab: give at least two binaries after --")

    procs = [start(b, a.checkpoint, a.images, a.texts) for b in binaries]
    times = [[] for _ in binaries]
    for _ in range(a.rounds):
        order = list(range(len(binaries)))
        random.shuffle(order)
        for i in order:
            time.sleep(PAUSE_S)
            procs[i].stdin.write(a.case + "\n")
            procs[i].stdin.flush()
            line = procs[i].stdout.readline()
            if not line:
                sys.exit(f"bench-ab: {binaries[i]} ended early")
            times[i].append(float(line))
    for p in procs:
        p.stdin.close()
        p.wait()

    print(f"{a.case}, {a.rounds} rounds, random order each round; ratios against the first binary")
    first = statistics.median(times[0])
    for b, t in zip(binaries, times):
        per_round = statistics.median(x / x0 for x, x0 in zip(t, times[0]))
        print(f"  {b:40s} median {statistics.median(t):9.1f} ms  ratio of medians {statistics.median(t) / first:.3f}"
              f"  median per-round ratio {per_round:.3f}")


if __name__ == "__main__":
    main()
