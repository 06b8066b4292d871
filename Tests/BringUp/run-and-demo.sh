#!/usr/bin/env bash
# The newcomer's path, end to end, as `make test` runs it (the last pass), in a real terminal (tmux): `make run`
# brings the whole hub up over TLS (mash-hub: the coordinator and six adapters in one process; the police
# adapter as its own process, as in production, so that it can be paused), `make demo` prints the Red enquiry's
# package, Ctrl-C during a second `make demo` stops everything gracefully and make exits 0, losing nothing
# (after `make run` again every enquiry completes, every DAN and roll is in, no dead letters), and SIGTERM to
# the hub stops it all cleanly with make exiting 0. It runs beside a developer's own hub: its state is in
# .build/bring-up and its node and services on their own ports (MASH_RUN_STATE, MASH_BROKER_PORT,
# MASH_OPERATIONS_PORT).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../Shell/checks.sh
. "$root/Tests/Shell/checks.sh"

export MASH_RUN_STATE=$root/.build/bring-up
export MASH_BROKER_DIR=$MASH_RUN_STATE/broker
export MASH_BROKER_PORT=${MASH_BRINGUP_BROKER_PORT:-26672}
export MASH_OPERATIONS_PORT=${MASH_BRINGUP_OPERATIONS_PORT:-26470}
export MASH_RUN_AGENCIES="health education housing yos probation turning-point"
# The test node's settings (make test exports them) must not reach this hub.
forget_test_node
store=$MASH_RUN_STATE/coordinator/coordinator.sqlite
logs=$root/.build/test-output/bring-up
session=mash-bring-up-$$
runs=0
pane=""
police_pid=""
# The hub and adapters of this run (their arguments name the state folder); the bracket keeps the pattern
# from matching the command that searches for it.
service_pattern="mash-[a-z]+ .*${MASH_RUN_STATE%?}[${MASH_RUN_STATE: -1}]/"

fatal() { echo "bring-up: $*" >&2; exit 1; }

# A tmux server of this test's own (started from this environment, so make run sees the settings above).
terminal() { tmux -L "$session" "$@"; }

cleanup() {
    terminal kill-server 2>/dev/null || true
    pkill -KILL -f "$service_pattern" 2>/dev/null || true
    scripts/broker.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The police adapter as its own process (production's form), beside the hub.
start_police() {
    local log=$1
    .build/debug/mash-adapter --config "$(scripts/run.sh agency-config police)" --operations-port off >"$log" 2>&1 &
    police_pid=$!
    await_text "$log" 60 "mash-adapter police ready" || fatal "the police adapter did not start ($log)"
}

stop_police() {
    kill -TERM "$police_pid"
    local code=0
    wait "$police_pid" || code=$?
    check "the police adapter stops cleanly on SIGTERM" test "$code" = 0
    police_pid=""
}

# `make run` in a tmux terminal, as a newcomer types it; its output goes to the pane and to $1, and the
# status make exits with is appended to $1 when it ends (the pane then waits for a key, so it stays open).
start_run() {
    local log=$1
    # A new window per run in the one server (killing and restarting the server races with its exit).
    runs=$((runs + 1))
    pane=run-$runs
    terminal new-session -d -s "$pane" -x 200 -y 50 \
        "bash -c 'make run 2>&1 | tee \"$log\"; echo \"make run exited with status \${PIPESTATUS[0]}\" >>\"$log\"; read -r _'"
    await_text "$log" 600 "MASH is ready" || { tail -40 "$log" >&2; fatal "make run did not reach 'MASH is ready' ($log)"; }
}

# Waits for `make run` to end; it must exit 0 saying it stopped cleanly, and leave no hub and no node behind.
await_stopped() {
    local log=$1 how=$2
    await_text "$log" 90 "make run exited with status" || true
    check "$how: make run ends within 90 s" grep -q "make run exited with status" "$log"
    check "$how: make run exits 0" grep -q "make run exited with status 0$" "$log"
    check "$how: the hub says it stopped gracefully" grep -q "mash-hub stopped gracefully" "$log"
    check "$how: every service exited cleanly and the node stopped" \
        grep -q "make run: stopped: every service exited cleanly" "$log"
    check "$how: no service was stopped at once" bash -c "! grep -q 'stopping at once' '$log'"
    check "$how: no hub process is left" bash -c "! pgrep -f 'mash-hub .*${MASH_RUN_STATE%?}[${MASH_RUN_STATE: -1}]/' >/dev/null"
    check "$how: the broker node is down" bash -c "! scripts/broker.sh status"
}

query() { sqlite3 -readonly "$store" "$1"; }

rm -rf "$MASH_RUN_STATE" "$logs"
mkdir -p "$logs"
command -v sqlite3 >/dev/null || fatal "sqlite3 is missing (scripts/deps.sh installs it)"

echo "bring-up: make run from nothing (state in $MASH_RUN_STATE, node on $MASH_BROKER_PORT)"
start_run "$logs/run-1.log"
start_police "$logs/police-1.log"
connections=$(scripts/broker.sh ctl list_connections user ssl peer_cert_subject --no-table-headers --quiet)
echo "$connections" >"$logs/connections.txt"
check "eight services connected (the coordinator and seven adapters: six in the hub, the police on its own)" test "$(echo "$connections" | grep -c .)" -ge 8
check "every connection is TLS" bash -c "! echo '$connections' | awk -F'\t' '\$2 != \"true\"' | grep -q ."
for user in coordinator police health education housing yos probation turning-point; do
    check "$user presents its own client certificate (CN=$user)" \
        bash -c "echo '$connections' | awk -F'\t' '\$1 == \"$user\" && \$3 ~ /CN=$user(,|\$)/' | grep -q ."
done
check "the services' logs are prefixed by service" grep -q "^turning-point | mash-adapter turning-point ready" "$logs/run-1.log"
check "keys were generated for the hub, the decision maker, the agencies and the sample schools" \
    bash -c "ls '$MASH_RUN_STATE'/keys/{coordinator,decision-maker,police,turning-point,school-990001,school-990002}/*.pem >/dev/null"
check "no key, certificate or password is tracked by git" bash -c "test -z \"\$(git ls-files '*.pem' '*.key' '.build')\""

echo "bring-up: make demo"
if make demo >"$logs/demo-1.log" 2>&1; then pass "make demo exits 0"; else flunk "make demo exits 0 (see $logs/demo-1.log)"; fi
red=$(sed -n 's/^sent enquiry \([0-9a-f-]*\) (red).*/\1/p' "$logs/demo-1.log")
check "the Red enquiry was sent" test -n "$red"
check "the Red enquiry is complete" grep -q "^Enquiry $red: red, complete" "$logs/demo-1.log"
check "its decision package is printed, opened" grep -q '"schema": "mash.decision-package/1"' "$logs/demo-1.log"
check "the package holds the police's findings about the subject" \
    bash -c "grep -A3 '\"agency\": \"police\"' '$logs/demo-1.log' | grep -q '\"enquiryID\": \"$red\"'"
check "mashctl status is printed" grep -q "^OPEN ENQUIRIES" "$logs/demo-1.log"
check "the Standard DAN is on a triage list, with its flag" grep -q "standard .* child-under-1" "$logs/demo-1.log"
check "both DANs are recorded" test "$(query 'select count(*) from dan')" = 2
check "both schools' rolls are in force" test "$(query 'select count(distinct urn) from roll')" = 2
check "Encompass notices went to both sample schools" \
    test "$(query "select count(distinct recipient) from encompass_notice where recipient like 'school-99000%'")" = 2

echo "bring-up: Ctrl-C on make run during a second make demo, with the police still researching"
# The police adapter is paused (SIGSTOP) so that the second demo's enquiries cannot complete before the Ctrl-C:
# police are asked for every Red and Amber enquiry. It is then resumed and stopped (SIGTERM), as a busy adapter
# would be, and make run is stopped with Ctrl-C in its terminal.
kill -STOP "$police_pid"
MASH_DEMO_WAIT=20 make demo >"$logs/demo-2.log" 2>&1 &
demo_pid=$!
await_text "$logs/demo-2.log" 60 "standard, 2 children) as police" || flunk "the second demo sent its documents"
red2=$(sed -n 's/^sent enquiry \([0-9a-f-]*\) (red).*/\1/p' "$logs/demo-2.log")
for i in $(seq 1 150); do [ "$(query "select status from enquiry where id = '$red2'")" = awaiting ] && break; sleep 0.2; done
check "Ctrl-C lands while the second Red enquiry still awaits the police" \
    test "$(query "select status from enquiry where id = '$red2'")" = awaiting
kill -CONT "$police_pid"
stop_police
terminal send-keys -t "$pane" C-c
await_stopped "$logs/run-1.log" "Ctrl-C"
wait "$demo_pid" 2>/dev/null || true
echo "  (at the stop: $(query "select count(*) from enquiry where status != 'complete'") enquiries awaiting answers)"
check "Ctrl-C: the coordinator flushed its outbox before it stopped" \
    test "$(query 'select count(*) from outbox where published_at is null')" = 0
for adapter_store in "$MASH_RUN_STATE"/adapters/*/adapter.sqlite; do
    agency=$(basename "$(dirname "$adapter_store")")
    check "Ctrl-C: $agency flushed its outbox before it stopped" \
        test "$(sqlite3 -readonly "$adapter_store" 'select count(*) from outbox where published_at is null')" = 0
done
sent=$(sed -n 's/^sent enquiry \([0-9a-f-]*\) .*/\1/p' "$logs/demo-1.log" "$logs/demo-2.log" | sort -u)
sent_dans=$(grep -c "^sent mash.domestic-abuse-notification/1" "$logs/demo-1.log" "$logs/demo-2.log" | awk -F: '{ n += $2 } END { print n }')

echo "bring-up: make run again; everything the demos sent completes"
start_run "$logs/run-2.log"
start_police "$logs/police-2.log"
for i in $(seq 1 600); do
    [ "$(query "select count(*) from enquiry where status != 'complete'")" = 0 ] \
        && [ "$(query 'select count(*) from enquiry')" -ge "$(echo "$sent" | grep -c .)" ] && break
    sleep 0.2
done
for id in $sent; do
    check "enquiry $id completes after the restart" test "$(query "select status from enquiry where id = '$id'")" = complete
done
check "every enquiry in the store is complete" test "$(query "select count(*) from enquiry where status != 'complete'")" = 0
check "every DAN the demos sent is recorded once ($sent_dans)" test "$(query 'select count(*) from dan')" = "$sent_dans"
check "no message was dead-lettered" bash -c \
    "scripts/broker.sh ctl list_queues -p mash name messages --no-table-headers --quiet | awk '\$1 ~ /\\.dlq\$/ && \$2 != 0' | grep -q . && exit 1 || exit 0"
# A confirm is marked in the store by the relay's next write (within about a second), so wait for the marks.
for i in $(seq 1 50); do [ "$(query 'select count(*) from outbox where published_at is null')" = 0 ] && break; sleep 0.2; done
check "the outbox is empty" test "$(query 'select count(*) from outbox where published_at is null')" = 0
check "the record of sharing verifies end to end" \
    .build/debug/mashctl audit verify --store "$store"

echo "bring-up: SIGTERM stops it"
stop_police
kill -TERM "$(cat "$MASH_RUN_STATE/run/hub.pid")"
await_stopped "$logs/run-2.log" "SIGTERM"

finish bring-up "logs in $logs"
