#!/usr/bin/env python3
"""`make bench`'s end-to-end figures: a service's runs next to the raw rabbitmq-c loop's, interleaved in one file
("ours <json>" and "raw <json>" lines), as medians, a ratio to the raw broker moving the same messages, and a
ratio to the bound the service's own JOSE work sets (its seal+opens at the measured rate, plus the raw broker's
time for its messages).

    bench-end-to-end.py coordinator|adapter RUNS_FILE SEAL_OPEN_PER_S RUNS
"""
import json
import statistics
import sys

kind, path, seal_open, runs = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
# An optional fifth argument names the coordinator's store in the title ("SQLite", "PostgreSQL ...").
engine = sys.argv[5] if len(sys.argv) > 5 else "SQLite"
rows = {"ours": [], "raw": []}
for line in open(path):
    who, data = line.split(" ", 1)
    rows[who].append(json.loads(data))
first = rows["ours"][0]
unit, per, seal_opens = {
    "coordinator": ("enquiries", first.get("messages_per_enquiry"), 8),
    "adapter": ("answers", first.get("messages_per_answer"), 1),
}[kind]
# The raw loop publishes then consumes: one message moved costs 1/publish + 1/consume seconds.
raw_seconds = [per / r["publish_per_s"] + per / r["consume_per_s"] for r in rows["raw"]]
raw_rate = statistics.median(1 / t for t in raw_seconds)
ours = statistics.median(r[unit + "_per_s"] for r in rows["ours"])
jose_seconds = seal_opens / seal_open
bound = 1 / (jose_seconds + statistics.median(raw_seconds))
print()
if kind == "coordinator":
    p50 = statistics.median(r["p50_ms"] for r in rows["ours"])
    p99 = statistics.median(r["p99_ms"] for r in rows["ours"])
    each = ", ".join("%.1f" % r["enquiries_per_s"] for r in rows["ours"])
    print(f"Coordinator, store on {engine}: {first['enquiries']} Red enquiries to 7 agencies, at most "
          f"{first['in_flight']} open at once (sealed, stored with outbox and ledger, durable on commit), "
          f"median of {runs} runs")
    print(f"  MASH coordinator: {ours:,.1f} enquiries/s end to end; open to package p50 {p50:,.0f} ms, "
          f"p99 {p99:,.0f} ms   (runs: {each})")
    print(f"  raw broker, the same {per} messages per enquiry: {raw_rate:,.1f} enquiry-equivalents/s"
          f"   ratio {ours / raw_rate:.3f}")
    print(f"  bound set by the hub's own JOSE work (8 seal+open at {seal_open:,.0f}/s = {jose_seconds * 1000:.2f} ms)"
          f" plus the raw broker's time: {bound:,.1f} enquiries/s   ratio {ours / bound:.2f}")
    if "coordinator_cpu_s" in first:
        # The coordinator's own CPU (user + system, its process alone) per enquiry, next to what its JOSE work
        # alone needs at the seal+open rate measured above: the rest is storing, the ledger, AMQP and logging.
        cpu = [r["coordinator_cpu_s"] / r["enquiries"] * 1000 for r in rows["ours"]]
        busy = [r["coordinator_cpu_s"] / r["elapsed_s"] for r in rows["ours"]]
        peers = [r["peers_cpu_s"] / r["enquiries"] * 1000 for r in rows["ours"]]
        print(f"  coordinator process CPU: {statistics.median(cpu):.2f} ms per enquiry (runs: "
              + ", ".join("%.2f" % c for c in cpu) + f"), {statistics.median(busy):.0%} of one core while running")
        print(f"  of which its JOSE work needs {jose_seconds * 1000:.2f} ms at the measured rate   "
              f"ratio CPU / JOSE {statistics.median(cpu) / (jose_seconds * 1000):.2f}")
        print(f"  the SPA, 7 test agencies and the decision maker (the bench's process): "
              f"{statistics.median(peers):.2f} ms CPU per enquiry")
else:
    each = ", ".join("%.0f" % r["answers_per_s"] for r in rows["ours"])
    print(f"Adapter: {first['answers']} research requests to the police adapter (extract matched, stored, "
          f"answered through its outbox, fsync on commit), median of {runs} runs")
    print(f"  MASH adapter: {ours:,.0f} answers/s   (runs: {each})")
    print(f"  raw broker, the same {per} messages per answer: {raw_rate:,.0f} answer-equivalents/s   "
          f"ratio {ours / raw_rate:.3f}")
    print(f"  bound set by the adapter's own JOSE work (1 seal+open at {seal_open:,.0f}/s) plus the raw broker's "
          f"time: {bound:,.0f} answers/s   ratio {ours / bound:.2f}")
