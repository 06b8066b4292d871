#!/usr/bin/env python3
"""The plain baseline `make bench` sets the roll ingest against: Python's csv module and a dict per school,
diffing WEEK2 against WEEK1 (leavers, joiners). Prints JSON: records, seconds, records per second, peak RSS, and the RSS the interpreter started with."""
import csv, json, os, resource, sys, time


def load(path):
    with open(path, newline="") as f:
        return {row["UPN"].strip().upper(): row for row in csv.DictReader(f)}


week1, week2 = sys.argv[1], sys.argv[2]
start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
records = leavers = joiners = 0
for name in sorted(os.listdir(week2)):
    before = load(os.path.join(week1, name))
    after = load(os.path.join(week2, name))
    records += len(after)
    leavers += sum(1 for k in before if k not in after) + sum(1 for r in after.values() if r["LeavingDate"])
    joiners += sum(1 for k in after if k not in before)
seconds = time.perf_counter() - start
print(json.dumps({"records": records, "seconds": seconds, "records_per_s": records / seconds,
                  "leavers": leavers, "joiners": joiners,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "start_rss_mb": start_rss}))
