#!/usr/bin/env bash
# The desks for real, as `make test` runs it: `make run` (the coordinator, the adapters and five desks in one
# mash-hub, TLS everywhere) in a state folder and on ports of its own, `make demo`, then:
#   1. a kill -9 of the hub once the decision maker's desk has stored its packages and before anyone opened
#      them; after make run again every package is there, once, still unopened;
#   2. Tests/Browser/desks.py in headless Chromium (Selenium, axe-core): decisions, outcomes, Encompass
#      acknowledgements, DAN triage, refusals, accessibility; screenshots in .build/test-output/desks/;
#   3. a kill -9 of the hub after a school's acknowledgement is committed at its desk and before it is
#      published (the school's broker user briefly may not publish); after make run again it reaches the
#      coordinator once;
#   4. the same for a teacher's contact on the portal: committed there, kill -9, make run again, the coordinator
#      has it once;
#   5. the MASH meeting and the dispute route: `mashctl meeting send`, the Practice Manager records the meeting from
#      its list, the SPA challenges the Red decision, the Area Manager discusses and resolves it (desks.py --meetings);
#   6. SIGTERM: everything stops cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../Shell/checks.sh
. "$root/Tests/Shell/checks.sh"

export MASH_RUN_STATE=$root/.build/desks-test
export MASH_BROKER_DIR=$MASH_RUN_STATE/broker
export MASH_BROKER_PORT=${MASH_DESKS_BROKER_PORT:-28672}
export MASH_OPERATIONS_PORT=${MASH_DESKS_OPERATIONS_PORT:-28470}
export MASH_DESK_PORT=${MASH_DESKS_DESK_PORT:-28441}
export MASH_DEMO_WAIT=180
forget_test_node
out=$root/.build/test-output/desks
python=${MASH_PYTHON:-$root/.build/venv/bin/python}
run_pid=""

fatal() { echo "desks: $*" >&2; exit 1; }

cleanup() {
    [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null || true
    pkill -KILL -f "mash-hub .*${MASH_RUN_STATE%?}[${MASH_RUN_STATE: -1}]/" 2>/dev/null || true
    scripts/broker.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$tool" ] || fatal "$tool is missing (make test installs Debian's chromium and chromium-driver)"
done
"$python" -c 'import selenium, axe_selenium_python' || fatal "selenium and axe-selenium-python are missing from $python"

rm -rf "$MASH_RUN_STATE" "$out"
mkdir -p "$out"

# make run in the background; waits for its ready file.
start_run() {
    rm -f "$MASH_RUN_STATE/run/ready"
    scripts/run.sh >"$out/run-$1.log" 2>&1 &
    run_pid=$!
    # make run prints its summary (and new passwords) just after the hub's ready file appears.
    await_true 180 ready_or_gone "$out/run-$1.log" && grep -q "MASH is ready" "$out/run-$1.log" && return 0
    tail -30 "$out/run-$1.log" >&2
    fatal "make run did not become ready ($out/run-$1.log)"
}
ready_or_gone() { grep -q "MASH is ready" "$1" || ! kill -0 "$run_pid" 2>/dev/null; }

# kill -9 of the hub (make run then stops its node and exits).
kill_hub() {
    kill -KILL "$(cat "$MASH_RUN_STATE/run/hub.pid")"
    wait "$run_pid" 2>/dev/null || true
    run_pid=""
}

# mashctl config validate fails on the file and names its line and the misspelt key.
misspelt_refused() {
    local output
    if output=$(.build/debug/mashctl config validate "$1" 2>&1); then return 1; fi
    echo "$output" | grep -q "misspelt-desk.yaml:[0-9]*: 'web.prot': is not a known key"
}

items() { sqlite3 "$MASH_RUN_STATE/desks/$1/desk.sqlite" "SELECT COUNT(*) || ' ' || SUM(status = 'new') FROM item"; }

start_run 1
check "make run prints each desk's development account once" grep -q "school-990002 .*password" "$out/run-1.log"
check "mashctl config validate accepts the desks' files as make run wrote them" \
    .build/debug/mashctl config validate "$MASH_RUN_STATE"/run/desks/*.yaml
sed 's/^  port: /  prot: /' "$MASH_RUN_STATE/run/desks/spa.yaml" >"$out/misspelt-desk.yaml"
check "mashctl config validate refuses a misspelt desk file, naming its line and key" misspelt_refused "$out/misspelt-desk.yaml"
MASH_RUN_STATE=$MASH_RUN_STATE scripts/demo.sh >"$out/demo.log" 2>&1 || { tail -20 "$out/demo.log" >&2; fatal "make demo failed"; }
check "make demo ends with the desks' URLs" grep -q "decision-maker .*https://localhost:$MASH_DESK_PORT/" "$out/demo.log"

# Both packages (Red and Amber) stored by the decision maker's desk, nobody has looked yet: kill -9.
both_stored() { [ "$(items decision-maker)" = "2 2" ]; }
check "the decision maker's desk stored both packages" await_true 120 both_stored
kill_hub
start_run 2
check "after kill -9 and make run, both packages are there once, unopened" test "$(items decision-maker)" = "2 2"
check "make run does not print the passwords a second time" bash -c "! grep -q 'password ' '$out/run-2.log'"

scripts/run.sh desks >"$out/desks.txt"
"$python" Tests/Browser/desks.py --desks "$out/desks.txt" --state "$MASH_RUN_STATE" \
    --ca "$MASH_BROKER_DIR/tls/ca.pem" --screenshots "$out" && pass "the browser test passed" \
    || flunk "the browser test failed (screenshots in $out)"

# Corrections reach the desk (UK GDPR Art. 19), each sent as the DPO would with mashctl: the Red child's
# opinion marked incorrect (for the Red enquiry), then her data restricted, then the restriction lifted; each
# time the decision maker's desk confirms before the browser looks (a restriction also goes to desks make run
# does not serve, such as Probation's, which stay waiting).
red=$(sqlite3 "$MASH_RUN_STATE/coordinator/coordinator.sqlite" \
    "SELECT id FROM enquiry WHERE rag = 'red' AND status = 'decided' ORDER BY opened_at LIMIT 1")
subject() {
    ( eval "$(scripts/run.sh env)"
      .build/debug/mashctl subject "$1" --forename Ellie --surname Testperson --dob 2016-03-14 "${@:2}" \
          --reason "R-TEST-1" --staff d.khan --keys "$MASH_RUN_STATE/keys" \
          --store "$MASH_RUN_STATE/coordinator/coordinator.sqlite" ) >>"$out/corrections.log" 2>&1
}
desk_waiting() {
    sqlite3 "$MASH_RUN_STATE/coordinator/coordinator.sqlite" \
        "SELECT COUNT(*) || ' ' || SUM(confirmed_at IS NULL) FROM correction_copy WHERE party = 'decision-maker'"
}
all_confirmed() { [ "$(desk_waiting)" = "$1 0" ]; }
browse_corrections() {
    "$python" Tests/Browser/desks.py --desks "$out/desks.txt" --state "$MASH_RUN_STATE" \
        --ca "$MASH_BROKER_DIR/tls/ca.pem" --screenshots "$out" --corrections "$1" >>"$out/corrections.log" 2>&1
}
check "mashctl subject mark-opinion-incorrect is sent" \
    subject mark-opinion-incorrect --enquiry "$red" --note "The referral's view of the father was wrong (case note 14 May)"
check "every recipient of the Red enquiry confirms the marked opinion" \
    await_true 120 bash -c '[ "$(sqlite3 "$0" "SELECT COUNT(*) FROM correction WHERE closed_at IS NULL")" = 0 ]' \
    "$MASH_RUN_STATE/coordinator/coordinator.sqlite"
check "the decision maker's desk confirmed it" all_confirmed 1
check "the decision maker's desk shows the marked opinion on the package" browse_corrections noted
check "mashctl subject restrict is sent" subject restrict
check "the decision maker's desk confirms the restriction" await_true 120 all_confirmed 2
check "the decision maker's desk hides the restricted package" browse_corrections restricted
check "mashctl subject lift is sent" subject lift
check "the decision maker's desk confirms the lifting" await_true 120 all_confirmed 3
check "the decision maker's desk shows the package again" browse_corrections lifted

# kill -9 after an action is committed at a desk and before the hub has it: the school's broker user may not
# publish for a moment, so the acknowledgement waits in the desk's outbox; the hub is killed, make run started
# again, and the acknowledgement reaches the coordinator once.
school=school-990002
school_store=$MASH_RUN_STATE/desks/$school/desk.sqlite
acknowledgements() {
    sqlite3 "$school_store" "SELECT COUNT(*) || ' ' || COUNT(published_at) FROM outbox
        WHERE type = 'mash.encompass-acknowledgement/1'"
}
recorded() {
    sqlite3 "$MASH_RUN_STATE/coordinator/coordinator.sqlite" \
        "SELECT COUNT(*) FROM encompass_notice WHERE recipient = '$school' AND acknowledged_at IS NOT NULL"
}
scripts/broker.sh ctl set_permissions -p mash "$school" '^$' '^$' '^school\.990002\.encompass$' >/dev/null
"$python" Tests/Browser/desks.py --desks "$out/desks.txt" --state "$MASH_RUN_STATE" \
    --ca "$MASH_BROKER_DIR/tls/ca.pem" --screenshots "$out" --acknowledge "$school" >"$out/acknowledge.log" 2>&1 \
    && pass "$school's key adult acknowledges while the school may not publish" \
    || flunk "the acknowledgement at $school's desk failed ($out/acknowledge.log)"
check "the acknowledgement is committed in the desk's outbox and not published" test "$(acknowledgements)" = "1 0"
check "the coordinator does not have it yet" test "$(recorded)" = 0
kill_hub
# make run stopped its broker with the hub; the school's permission comes back before make run starts again.
scripts/broker.sh up >/dev/null
scripts/broker.sh ctl set_permissions -p mash "$school" '^$' '^mash\.intake$' '^school\.990002\.encompass$' >/dev/null
start_run 3
published() { [ "$(acknowledgements)" = "1 1" ]; }
check "after kill -9 and make run, the acknowledgement is published from the desk's outbox" await_true 120 published
recorded_once() { [ "$(recorded)" = 1 ]; }
check "and the coordinator records it, once" await_true 60 recorded_once

# kill -9 of the portal after a contact is committed there and before the hub has it: the portal's broker user
# may not publish for a moment, so the contact waits in the portal's outbox; the hub (the portal runs in it) is
# killed, make run started again, and the contact reaches the coordinator once.
portal_store=$MASH_RUN_STATE/desks/portal/desk.sqlite
contacts_sent() { sqlite3 "$portal_store" "SELECT COUNT(*) || ' ' || COUNT(published_at) FROM outbox WHERE type = 'mash.contact/1'"; }
before=$(contacts_sent | cut -d' ' -f1)
scripts/broker.sh ctl set_permissions -p mash portal '^$' '^$' '^portal\.notices$' >/dev/null
reference=$("$python" Tests/Browser/desks.py --desks "$out/desks.txt" --state "$MASH_RUN_STATE" \
    --ca "$MASH_BROKER_DIR/tls/ca.pem" --screenshots "$out" --contact 2>"$out/contact.log" | sed -n 's/^reference //p')
check "a teacher's contact is recorded on the portal while it may not publish" test -n "$reference"
check "the contact is committed in the portal's outbox and not published" \
    test "$(contacts_sent)" = "$((before + 1)) $before"
in_hub() { sqlite3 "$MASH_RUN_STATE/coordinator/coordinator.sqlite" "SELECT COUNT(*) FROM contact WHERE reference = '$reference'"; }
check "the coordinator does not have it yet" test "$(in_hub)" = 0
kill_hub
scripts/broker.sh up >/dev/null
scripts/broker.sh ctl set_permissions -p mash portal '^$' '^mash\.intake$' '^portal\.notices$' >/dev/null
start_run 4
contact_published() { [ "$(contacts_sent)" = "$((before + 1)) $((before + 1))" ]; }
check "after kill -9 and make run, the contact is published from the portal's outbox" await_true 120 contact_published
contact_once() { [ "$(in_hub)" = 1 ]; }
check "and the coordinator has it, once" await_true 60 contact_once
on_spa_desk() {
    [ "$(sqlite3 "$MASH_RUN_STATE/desks/spa/desk.sqlite" "SELECT COUNT(*) FROM item WHERE type = 'mash.contact/1'")" \
        = "$(sqlite3 "$MASH_RUN_STATE/coordinator/coordinator.sqlite" "SELECT COUNT(*) FROM contact")" ]
}
check "the SPA's desk holds every contact the hub has, once" await_true 60 on_spa_desk

# The MASH meeting and the dispute route: the Practice Manager asks for the next MASH meeting's list now (the hub
# sends it by itself only shortly before), records the meeting from it; the SPA challenges the Red decision and
# the Area Manager resolves it (desks.py --meetings).
check "mashctl meeting send sends the MASH meeting's list" bash -c '
    eval "$(scripts/run.sh env)"
    .build/debug/mashctl meeting send --kind mash --last --staff a.ahmed --keys "$MASH_RUN_STATE/keys" \
        --store "$MASH_RUN_STATE/coordinator/coordinator.sqlite" >"$1" 2>&1' _ "$out/meeting-send.log"
"$python" Tests/Browser/desks.py --desks "$out/desks.txt" --state "$MASH_RUN_STATE" \
    --ca "$MASH_BROKER_DIR/tls/ca.pem" --screenshots "$out" --meetings >"$out/meetings.log" 2>&1 \
    && pass "the meeting and the challenge pass in the browser" \
    || flunk "the meeting or the challenge failed in the browser ($out/meetings.log)"

kill -TERM "$run_pid"
code=0
wait "$run_pid" || code=$?
run_pid=""
check "SIGTERM stops make run's hub and desks cleanly" test "$code" = 0
finish desks "screenshots and logs in $out"
