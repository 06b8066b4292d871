#!/usr/bin/env python3
"""`make bench`'s closing table: one row per goal of the benchmarks, each the median of its interleaved runs
with its spread, next to its goal.

    bench-table.py add FILE MEASURE GOAL higher|lower OURS... [-- BASE...]
        Adds a row. With BASE values (one per run, interleaved with OURS), the row is the ratio ours/base of each
        run; without, the values themselves.
    bench-table.py print FILE
"""
import json
import statistics
import sys


def add(path, measure, goal, better, values):
    ours, base = values, []
    if "--" in values:
        split = values.index("--")
        ours, base = values[:split], values[split + 1:]
    ours, base = [float(v) for v in ours], [float(v) for v in base]
    if base and len(base) != len(ours):
        sys.exit(f"bench-table: {measure}: {len(ours)} runs of ours but {len(base)} of the baseline")
    with open(path, "a") as f:
        f.write(json.dumps({"measure": measure, "goal": float(goal), "better": better, "ours": ours,
                            "base": base}) + "\n")


def show(path):
    rows = [json.loads(line) for line in open(path)]
    print()
    print("Summary: each figure is the median of its runs (ours and the baseline interleaved, each run's ratio")
    print("taken to the baseline of the same round); the spread is the lowest and highest of those runs.")
    print(f"{'measure':64}{'median':>9}  {'spread':<15}{'goal':>8}  ")
    for row in rows:
        values = [o / b for o, b in zip(row["ours"], row["base"])] if row["base"] else row["ours"]
        median = statistics.median(values)
        spread = f"{min(values):.3f}–{max(values):.3f}" if len(values) > 1 else "one run"
        sign = "≥" if row["better"] == "higher" else "≤"
        met = median >= row["goal"] if row["better"] == "higher" else median <= row["goal"]
        print(f"{row['measure']:64}{median:>9.3f}  {spread:<15}{sign} {row['goal']:<6.2f}"
              f"{'met' if met else 'NOT MET'}")


if sys.argv[1] == "add":
    add(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
else:
    show(sys.argv[2])
