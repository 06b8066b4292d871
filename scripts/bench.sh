#!/usr/bin/env bash
# `make bench`: figures, never pass/fail. Starts a fresh private node on its own ports, then runs the raw
# rabbitmq-c loop (Benchmarks/amqp-raw-bench) and the same work through our AMQP module
# (Benchmarks/amqp-bench) alternately, and prints the medians and the ratio of ours to the raw broker rate;
# then sealing next to `openssl speed`, and the coordinator and the adapter end to end next to the raw broker
# moving the same number of messages.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${MASH_BENCH_COUNT:-20000}
WINDOW=${MASH_BENCH_WINDOW:-256}
RUNS=${MASH_BENCH_RUNS:-3}

scripts/deps.sh
export MASH_BROKER_DIR=$PWD/.build/broker-bench
export MASH_BROKER_PORT=${MASH_BENCH_BROKER_PORT:-28672}
trap 'scripts/broker.sh down >/dev/null || true' EXIT
scripts/broker.sh reset >/dev/null
scripts/broker.sh up >/dev/null
set -a
eval "$(scripts/broker.sh env)"
set +a
password=$(cat "$MASH_BROKER_CREDENTIALS/mash-admin")

swift build -c release --product amqp-bench >/dev/null
swift build -c release --product amqp-raw-bench >/dev/null
bin=$(swift build -c release --show-bin-path)

results=$(mktemp)
for run in $(seq 1 "$RUNS"); do
    echo "raw $("$bin/amqp-raw-bench" 127.0.0.1 "$MASH_BROKER_PORT" mash-admin "$password" mash "bench.raw.$run" "$COUNT" "$WINDOW")" >>"$results"
    echo "ours $("$bin/amqp-bench" "$MASH_AMQP_URL" "bench.ours.$run" "$COUNT" "$WINDOW")" >>"$results"
done

python3 - "$results" "$COUNT" "$WINDOW" "$RUNS" <<'PY'
import json, statistics, sys
path, count, window, runs = sys.argv[1], *sys.argv[2:]
rows = {"raw": [], "ours": []}
for line in open(path):
    who, data = line.split(" ", 1)
    rows[who].append(json.loads(data))
def median(who, key): return statistics.median(r[key] for r in rows[who])
print(f"AMQP: {count} persistent 1 KiB messages to a quorum queue, confirm window and prefetch {window}, "
      f"median of {runs} runs each")
print(f"{'':28}{'publish+confirm /s':>20}{'consume+ack /s':>18}")
for who, label in (("raw", "raw rabbitmq-c loop"), ("ours", "MASH AMQP module")):
    print(f"{label:28}{median(who, 'publish_per_s'):>20,.0f}{median(who, 'consume_per_s'):>18,.0f}")
print(f"{'ratio (ours / raw)':28}{median('ours', 'publish_per_s') / median('raw', 'publish_per_s'):>20.2f}"
      f"{median('ours', 'consume_per_s') / median('raw', 'consume_per_s'):>18.2f}")
PY
rm -f "$results"

# Sealing: our seal+open rate next to the rate OpenSSL's own primitives allow for the same work, from
# `openssl speed` in the same run. One seal+open is an ES256 signature, an ES256 verification, two P-256
# ECDH derivations and one ephemeral key generation (counted at the cost of a signature: both are one
# fixed-base scalar multiplication).
swift build -c release --product sealing-bench >/dev/null
speed=$(openssl speed -seconds 2 -mr ecdsap256 ecdhp256 2>/dev/null | grep -E '^\+F[45]:')
sealing=""
for run in $(seq 1 "$RUNS"); do sealing="$sealing $("$bin/sealing-bench" 2000)"; done
seal_open_rate=$(mktemp)
python3 - "$speed" "$sealing" "$seal_open_rate" <<'PY'
import json, re, statistics, sys
speed, runs = sys.argv[1], sys.argv[2]
sign, verify = [float(v) for v in re.search(r"\+F4:\d+:256:([\d.]+):([\d.]+)", speed).groups()]
ecdh = float(re.search(r"\+F5:\d+:256:([\d.]+)", speed).group(1))
bound = 1 / (2 / sign + 1 / verify + 2 / ecdh)
ours = statistics.median(json.loads(r)["seal_open_per_s"] for r in re.findall(r"\{[^}]*\}", runs))
print()
print("Sealing: seal + open of a 1 KiB payload (JWS ES256 inside JWE ECDH-ES+A256KW / A256GCM), P-256")
print(f"  openssl speed: ES256 sign {sign:,.0f}/s, verify {verify:,.0f}/s, ECDH {ecdh:,.0f}/s"
      f" -> at most {bound:,.0f} seal+open/s")
print(f"  MASH Sealing module: {ours:,.0f} seal+open/s (median)   ratio {ours / bound:.2f}")
print(ours, file=open(sys.argv[3], "w"))
PY

# The coordinator end to end: Red enquiries to seven test agencies answering at once, open to package, next to
# the raw rabbitmq-c loop moving the same number of messages (16 per enquiry: intake, 7 requests, 7
# responses, the package) through one quorum queue, alternately, RUNS_COORDINATOR times each; medians.
# Sealing is real work the raw broker does not do, so the bound an enquiry's own JOSE work sets is printed
# too: the 8 seals and 8 opens the hub does per enquiry (open the enquiry and 7 responses; seal 7 requests
# and the package) at the seal+open rate measured above, plus the raw broker's time for its 16 messages.
ENQUIRIES=${MASH_BENCH_ENQUIRIES:-300}
IN_FLIGHT=${MASH_BENCH_IN_FLIGHT:-16}
RUNS_COORDINATOR=${MASH_BENCH_COORDINATOR_RUNS:-5}
# Runs the command after NAME and MESSAGES, then the raw loop moving MESSAGES messages, alternately,
# RUNS_COORDINATOR times each; writes "ours <json>" and "raw <json>" lines to FILE.
interleave() {
    local file=$1 name=$2 messages=$3
    shift 3
    for run in $(seq 1 "$RUNS_COORDINATOR"); do
        echo "ours $("$@")" >>"$file"
        echo "raw $("$bin/amqp-raw-bench" 127.0.0.1 "$MASH_BROKER_PORT" mash-admin "$password" mash \
            "bench.raw.$name.$run" "$messages" "$WINDOW")" >>"$file"
    done
}
swift build -c release --product coordinator-bench >/dev/null
coordinator_runs=$(mktemp)
interleave "$coordinator_runs" enquiries $((ENQUIRIES * 16)) "$bin/coordinator-bench" "$ENQUIRIES" "$IN_FLIGHT"
python3 scripts/bench-end-to-end.py coordinator "$coordinator_runs" "$(cat "$seal_open_rate")" "$RUNS_COORDINATOR"
rm -f "$coordinator_runs"

# The adapter end to end: research requests to the police adapter (its shipped configuration over the synthetic
# police extract), each opened, stored and acked, matched against the extract, answered, sealed and relayed
# through the outbox; next to the raw loop moving the same 2 messages per answer, alternately. The bound is the
# adapter's own JOSE work (one open and one seal per answer) plus the raw broker's time for its messages.
ANSWERS=${MASH_BENCH_ANSWERS:-2000}
extracts=$PWD/.build/bench-extracts
python3 scripts/synthetic-extracts.py --out "$extracts" >/dev/null
swift build -c release --product adapter-bench >/dev/null
adapter_runs=$(mktemp)
interleave "$adapter_runs" answers $((ANSWERS * 2)) "$bin/adapter-bench" "$ANSWERS" "$extracts"
python3 scripts/bench-end-to-end.py adapter "$adapter_runs" "$(cat "$seal_open_rate")" "$RUNS_COORDINATOR"
rm -f "$adapter_runs" "$seal_open_rate"

# Identity matching quality and speed on a labelled set from the synthetic generator (fixed seed): 10,000
# agency records, 10,000 hub queries (80 % of people in the records, recorded differently; 20 % not, often
# their siblings). Precision and recall of the match band; the goal is 0.95 for both.
LABELLED=${MASH_BENCH_LABELLED:-10000}
swift build -c release --product matching-bench >/dev/null
labelled=.build/bench-labelled
python3 scripts/synthetic-extracts.py --labelled "$LABELLED" --out "$labelled"
echo
"$bin/matching-bench" "$labelled" | head -1

# Orchestra roll feeds: a generated weekly feed (250,000 pupils across 600 schools, fixed seed), week 1 as the
# baseline and week 2 diffed against it, through the coordinator's own ingest; next to a plain Python
# csv+dict diff of the same files in the same run.
PUPILS=${MASH_BENCH_PUPILS:-250000}
SCHOOLS=${MASH_BENCH_SCHOOLS:-600}
rolls=.build/bench-rolls
python3 scripts/synthetic-rolls.py --pupils "$PUPILS" --schools "$SCHOOLS" --out "$rolls"
swift build -c release --product roll-bench >/dev/null
ours=$("$bin/roll-bench" "$rolls/week1" "$rolls/week2" Config/calendar/bank-holidays.json)
python=$(python3 scripts/roll-diff-baseline.py "$rolls/week1" "$rolls/week2")
python3 - "$ours" "$python" <<'PY'
import json, sys
ours, py = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print()
print(f"Roll feeds: {ours['records']:,} pupils in {ours['schools']} schools, week 2 diffed against week 1")
print(f"  MASH ingest end to end (parse, clean, diff, seal and store roll and index, returns and CME alerts "
      f"into the outbox, ledger, fsync): {ours['records_per_s']:,.0f} records/s, peak RSS {ours['peak_rss_mb']:,.0f} MB; "
      f"{ours['leavers']:,} leavers, {ours['joiners']:,} joiners, {ours['flags']:,} flags")
print(f"  MASH parse and diff only (the baseline's work): {ours['parse_and_diff_records_per_s']:,.0f} records/s")
print(f"  Python csv+dict diff: {py['records_per_s']:,.0f} records/s, peak RSS {py['peak_rss_mb']:,.0f} MB")
print(f"  ratio end to end {ours['records_per_s'] / py['records_per_s']:.2f}, "
      f"parse and diff {ours['parse_and_diff_records_per_s'] / py['records_per_s']:.2f} (goal 5)")
PY
