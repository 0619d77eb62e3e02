#!/usr/bin/python3
"""Image encoding, this engine against PyTorch, interleaved: one encoding of each in turn.

    tools/bench-interleaved.py --rounds N --engine CMD... --torch CMD...

Both commands are started once in their --serve mode (tools/pl-bench-model, tests/reference/bench_torch.py on the
same checkpoint and images) and then asked alternately for one encoding at a time, batch 1 and batch 8, the order
within a round swapped every round, with a pause before each so that neither side's idle threads still poll. A background load that comes and goes on a shared machine then falls on both
alike, which separate runs one after the other cannot promise. Prints medians and the ratio of the medians, and the
median of the per-round ratios.
"""

import argparse
import statistics
import subprocess
import sys
import time

# A pause before each timed encoding: OpenBLAS's idle threads keep polling for a while after a
# call (PyTorch's do, in its process), and would otherwise take cores from whichever side runs next.
PAUSE_S = 0.5


def start(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if line.strip() == "ready":
            return p
    sys.exit(f"bench-interleaved: {cmd[0]} ended before it was ready")


def once(p, case):
    time.sleep(PAUSE_S)
    p.stdin.write(case + "\n")
    p.stdin.flush()
    line = p.stdout.readline()
    if not line:
        sys.exit("bench-interleaved: a server ended early")
    return float(line)


def main():
    argv = sys.argv[1:]
    if "--engine" not in argv or "--torch" not in argv:
        sys.exit(__doc__)
    e, t = argv.index("--engine"), argv.index("--torch")
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args(argv[: min(e, t)])
    engine_cmd = argv[e + 1: t] if e < t else argv[e + 1:]
    torch_cmd = argv[t + 1:] if e < t else argv[t + 1: e]

    engine, torch_ = start(engine_cmd), start(torch_cmd)
    print(f"\nImage encoding, engine and PyTorch (its fastest setting, 1 thread) interleaved, {a.rounds} rounds"
          " (one encoding of each in turn; figures are medians)")
    print(f"{'case':24} {'engine ms':>10} {'PyTorch ms':>11} {'ratio':>7}  {'per-round ratios: median':>25} (range)")
    for case, label in (("image_b1", "image encoding, batch 1"), ("image_b8", "image encoding, batch 8")):
        once(engine, case)
        once(torch_, case)
        te, tt, ratios = [], [], []
        for r in range(a.rounds):
            if r % 2 == 0:
                x, y = once(engine, case), once(torch_, case)
            else:
                y, x = once(torch_, case), once(engine, case)
            te.append(x)
            tt.append(y)
            ratios.append(x / y)
        me, mt = statistics.median(te), statistics.median(tt)
        print(f"{label:24} {me:10.1f} {mt:11.1f} {me / mt:6.2f}x  {statistics.median(ratios):24.2f}x"
              f" ({min(ratios):.2f}-{max(ratios):.2f}) (target <= 0.80x)")
    for p in (engine, torch_):
        p.stdin.close()
        p.wait()


if __name__ == "__main__":
    main()
