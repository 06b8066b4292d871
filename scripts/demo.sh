#!/usr/bin/env bash
# `make demo`, with `make run` going in another terminal: the hub's flows end to end, as its partners would
# drive them. A teacher makes a contact on the SPA portal and the SPA screens it into a Red enquiry on its desk
# (scripts/demo-portal.py, over HTTPS); a case system opens an Amber one from a JSON file; Orchestra feeds this week's rolls of the two sample
# schools (990001 as CSV, 990002 as a CTF file); the police send a High DAN (Medium, uplifted) and a Standard
# one with children at those schools. Everything goes over TLS as each party's own broker user, sealed with
# its own key (mashctl enquiry open, mashctl send). Then it waits for the Red enquiry's decision package and
# prints `mashctl status`, the day's triage list and the package, opened with the decision maker's key.
#
# The documents (fresh ids every run, synthetic people) are kept in .build/run/demo/<time>/.
# MASH_DEMO_WAIT (seconds, default 120) is how long to wait for the package.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=${MASH_RUN_STATE:-$root/.build}
run=$state/run
keys=$state/keys
store=$state/coordinator/coordinator.sqlite

fail() { echo "make demo: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

if ! [ -f "$run/ready" ] || ! [ -f "$run/run.pid" ] || ! kill -0 "$(cat "$run/run.pid")" 2>/dev/null; then
    fail "the hub is not running: start it with make run in another terminal, wait for 'MASH is ready', then make demo"
fi
eval "$(scripts/run.sh env)"
mashctl() { "$root/.build/debug/mashctl" "$@"; }

documents=$run/demo/$(date -u +%Y%m%dT%H%M%SZ)-$$
read -r _ amber < <(python3 scripts/demo-documents.py --out "$documents")

step "A teacher makes a contact on the SPA portal; the SPA screens it into a Red MASH enquiry with the mother's consent (both over HTTPS, as their desks' development accounts)"
scripts/run.sh desks >"$documents/desks.txt"
read -r _ contact reference < <(python3 scripts/demo-portal.py --desks "$documents/desks.txt" \
    --ca "${MASH_BROKER_DIR:-$state/broker}/tls/ca.pem" --contact "$documents/red-contact.json" --rag red) \
    || fail "the contact through the portal failed"
red=""
for _ in $(seq 1 120); do
    red=$(mashctl contacts list --json --store "$store" 2>/dev/null | python3 -c '
import json, sys
for line in json.load(sys.stdin)["contacts"]:
    if line["contactID"] == sys.argv[1] and line.get("enquiryID"):
        print(line["enquiryID"])' "$contact" || true)
    [ -n "$red" ] && break
    sleep 0.5
done
[ -n "$red" ] || fail "the hub did not open an enquiry from contact $reference within 60 s (mashctl contacts list)"
echo "sent enquiry $red (red) from contact $reference, screened on the SPA's desk"

step "A case system opens an Amber enquiry from a JSON file (sealed to the coordinator, over TLS as broker user spa)"
mashctl enquiry open --file "$documents/amber-enquiry.json" --keys "$keys"

step "Orchestra feeds this week's rolls: 990001 (CSV) and 990002 (CTF)"
mashctl send "$documents/roll-990001.csv" --urn 990001 --qualifier full --keys "$keys"
mashctl send "$documents/roll-990002.xml" --urn 990002 --keys "$keys"

step "The police send a High DAN (Medium, uplifted) and a Standard DAN with children at the sample schools"
mashctl send "$documents/dan-high.json" --keys "$keys"
mashctl send "$documents/dan-standard.json" --keys "$keys"

step "The police report two children missing: Tyler, placed in Medway by Kent (la-kent), found this morning; Niamh, a Medway child, high risk"
mashctl send "$documents/missing-placed.json" --keys "$keys"
mashctl send "$documents/found-placed.json" --keys "$keys"
mashctl send "$documents/missing-high.json" --keys "$keys"

step "Waiting for the agencies' answers and the Red enquiry's decision package"
wait=${MASH_DEMO_WAIT:-120}
status=""
for _ in $(seq 1 $((wait * 2))); do
    status=$(mashctl enquiry show "$red" --json --store "$store" 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["enquiry"]["status"])' 2>/dev/null || true)
    [ "$status" = complete ] && break
    sleep 0.5
done
[ "$status" = complete ] || fail "the Red enquiry $red has no decision package after $wait s (status: ${status:-not yet recorded}); see mashctl enquiry show $red"
mashctl enquiry show "$red" --store "$store"

step "mashctl status (the decision maker, the schools and the other recipients are not running here, so their queues wait: that is what the warnings say)"
mashctl status --store "$store" || true

step "Missing episodes (no names): Tyler's return interview is due within 72 hours of being found; Kent's copy and its request wait in authority.la-kent.outbound for the shovel to Kent's broker (deploy/rabbitmq/authorities.sh)"
mashctl missing list --store "$store" || true

step "The next triage list with the Standard DAN on it (flags and counts, no names)"
for days in 0 1 2 3 4 5; do
    day=$(date -d "+$days day" +%Y-%m-%d)
    if mashctl triage list --date "$day" --store "$store" --json 2>/dev/null | grep -q '"level"'; then
        mashctl triage list --date "$day" --store "$store"
        break
    fi
done

step "The Red enquiry's decision package, opened with the decision maker's key by the Practice Manager a.ahmed (the view is recorded first: mashctl audit views)"
mashctl enquiry show "$red" --key "$keys/decision-maker" --trust "$keys" --store "$store" --json \
    --staff a.ahmed --keys "$keys" --reason "make demo" \
    | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["package"], indent=2, ensure_ascii=False))'

printf '\nmake demo: done. Red enquiry %s, Amber enquiry %s; documents in %s\n' "$red" "$amber" "$documents"

printf '\nThe desks (sign in with the staff id and the password make run printed; they are also in the files named):\n'
scripts/run.sh desks | while read -r party url staff password; do
    printf '  %-18s %s   staff id %s   (password in %s)\n' "$party" "$url" "$staff" "$password"
done
printf 'Open the portal as portal.dev: My contacts shows %s and, once the decision maker decides, its outcome.\n' "$reference"
printf 'Open the decision maker'"'"'s desk, record a decision on the Red package, and see the outcome reach the SPA'"'"'s desk.\n'
printf 'Open the Missing and Exploitation Co-ordinator'"'"'s desk: the daily review, Tyler'"'"'s found report (record his return interview there) and the panel list.\n'
