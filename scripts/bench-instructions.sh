#!/usr/bin/env bash
# `make bench-instructions`: the sealing and roll paths counted in instructions (valgrind's callgrind), which
# do not change with whatever else the machine is doing, so a change can be judged on one run. Each figure is
# the instructions of a run doing the work less those of the same run doing none (the set-up: keys, store,
# configuration), divided by the work. The functions that cost most follow each figure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh valgrind
SEALS=${MASH_INSTRUCTIONS_SEALS:-200}
PUPILS=${MASH_INSTRUCTIONS_PUPILS:-20000}
SCHOOLS=${MASH_INSTRUCTIONS_SCHOOLS:-50}

swift build -c release --product sealing-bench >/dev/null 2>&1
swift build -c release --product roll-bench >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 the Swift compiler writes; the symbol table is enough.
for product in sealing-bench roll-bench; do objcopy --strip-debug "$bin/$product" "$work/$product"; done

# Instructions of one run: COMMAND... ; the profile is kept as $work/NAME.
count() {
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name" "$@" >/dev/null 2>"$work/$name.log" \
        || { cat "$work/$name.log" >&2; exit 1; }
    sed -n 's/^summary: //p' "$work/$name"
}
top() {
    callgrind_annotate --inclusive=no "$work/$1" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n '2,9p' \
        | sed -E 's/ \[([^]]*\/)?([^]/]*)\]$/ (\2)/; s/^ *([0-9,]+) \( *([0-9.]+)%\) +/    \2% /' | cut -c1-150
}

echo "Instruction counts (valgrind --tool=callgrind), one run each"
base=$(count seal-none "$work/sealing-bench" 0)
seal=$(count seal "$work/sealing-bench" "$SEALS")
echo
echo "Sealing: $(( (seal - base) / SEALS )) instructions per seal+open of a 1 KiB payload ($SEALS seal+opens)"
top seal

rolls=$work/rolls
python3 scripts/synthetic-rolls.py --pupils "$PUPILS" --schools "$SCHOOLS" --out "$rolls" >/dev/null
records=$(( $(cat "$rolls"/week2/*.csv | wc -l) - $(ls "$rolls"/week2/*.csv | wc -l) ))
holidays=Config/calendar/bank-holidays.json
base=$(count roll-none "$work/roll-bench" "$rolls/week1" "$rolls/week2" "$holidays" --part none)
parse=$(count roll-parse "$work/roll-bench" "$rolls/week1" "$rolls/week2" "$holidays" --part parse)
ingest=$(count roll-ingest "$work/roll-bench" "$rolls/week1" "$rolls/week2" "$holidays" --part ingest)
echo
echo "Roll feeds ($records pupils in $SCHOOLS schools):"
echo "  parse and diff (both weeks read, week 2 diffed): $(( (parse - base) / records )) instructions per pupil"
top roll-parse
echo "  ingest end to end (week 1 as the baseline, then week 2; both counted): $(( (ingest - base) / records )) instructions per pupil of week 2"
top roll-ingest
