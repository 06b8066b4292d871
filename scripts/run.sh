#!/usr/bin/env bash
# `make run`: the whole MASH on this machine, TLS on. Installs what is missing, starts the private RabbitMQ
# node (TLS listener, a development CA and a client certificate per broker user, under .build/broker/tls),
# generates development keys for every party, builds, makes the synthetic extracts, then starts the
# coordinator and the seven agency adapters, each connected over TLS with its own broker user and
# certificate, their logs prefixed by service. Ctrl-C (or SIGTERM) stops everything gracefully: the services
# stop consuming, finish what is in hand and flush their outboxes; then the node stops. Nothing is lost: the
# next `make run` carries on from the stores and the queues.
#
#   scripts/run.sh          bring the hub up and keep it running until Ctrl-C
#   scripts/run.sh env      the environment for mashctl in another terminal: eval "$(scripts/run.sh env)"
#
# Everything it makes is under .build/ (never committed): broker/ (node data, TLS material, generated
# passwords), keys/, coordinator/ and adapters/ (the stores), extracts/, run/ (logs, the pid file).
# MASH_RUN_STATE moves all of that elsewhere and MASH_BROKER_PORT / MASH_OPERATIONS_PORT move the ports
# (the bring-up test uses them to run beside a developer's hub); MASH_SWIFT_BUILD_FLAGS adds `swift build`
# flags.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

state=${MASH_RUN_STATE:-$root/.build}
export MASH_BROKER_DIR=${MASH_BROKER_DIR:-$state/broker}
export MASH_BROKER_PORT=${MASH_BROKER_PORT:-25672}
operations_port=${MASH_OPERATIONS_PORT:-9470}
keys=$state/keys
run=$state/run
bin=$root/.build/debug
tls=$MASH_BROKER_DIR/tls

agencies=(police health education housing yos probation turning-point)
# Every party with a key: the hub, its own desks, the partners that send and receive, the sample schools.
parties=(coordinator decision-maker practice-manager spa csc orchestra la-officer school-990001 school-990002
    "${agencies[@]}")
# Broker users that get a line in `env`: whoever mashctl may act as.
clients=(operator spa police csc orchestra la-officer school-990001 school-990002)

say() { echo "make run: $*"; }
fail() { echo "make run: $*" >&2; exit 1; }

# The node's own figures (ports, the management URL), from broker.sh, which decides them.
broker_setting() { scripts/broker.sh env | sed -n "s/^$1=//p"; }
url() { scripts/broker.sh tls-url "$1"; }

print_env() {
    [ -f "$MASH_BROKER_DIR/credentials/operator" ] || fail "the hub has never been started here: run make run first"
    local c variable
    echo "export PATH=\"$bin:\$PATH\""
    echo "export MASH_OPERATOR_URL='$(url operator)'"
    echo "export MASH_BROKER_MANAGEMENT_URL='$(broker_setting MASH_BROKER_MANAGEMENT_URL)'"
    for c in "${clients[@]}"; do
        [ "$c" = operator ] && continue
        variable=MASH_$(echo "$c" | tr 'a-z-' 'A-Z_')_URL
        echo "export $variable='$(url "$c")'"
    done
}

# The shipped agency files as they are, or (state or ports moved) copies pointing at the moved state.
agency_config() {
    local agency=$1 shipped=$root/Config/agencies/$1.yaml
    if [ "$state" = "$root/.build" ] && [ "$MASH_BROKER_PORT" = 25672 ]; then
        echo "$shipped"
        return
    fi
    mkdir -p "$run/agencies"
    sed -e "s#\.\./\.\./\.build/broker/#$MASH_BROKER_DIR/#g" -e "s#\.\./\.\./\.build/#$state/#g" \
        -e "s#@localhost:25671/#@localhost:$(broker_setting MASH_AMQPS_PORT)/#" "$shipped" >"$run/agencies/$agency.yaml"
    echo "$run/agencies/$agency.yaml"
}

declare -A pids=()
names=()

# Starts a service with its output prefixed by its name on the terminal and kept whole in run/logs/NAME.log.
# The prefixer ignores Ctrl-C, so it outlives its service and prints the service's last words.
start() {
    local name=$1 tag
    shift
    tag=$(printf '%-14s|' "$name")
    : >"$run/logs/$name.log"
    "$@" > >(trap '' INT TERM; tee -a "$run/logs/$name.log" | sed -u "s/^/$tag /") 2>&1 &
    pids[$name]=$!
    names+=("$name")
}

# Waits for a service's "ready" line; a service that exits first, or takes over two minutes, fails the run.
await_ready() {
    local name=$1 i
    for i in $(seq 1 1200); do
        grep -qE "^mash-(coordinator|adapter [a-z0-9-]+) ready" "$run/logs/$name.log" 2>/dev/null && return 0
        kill -0 "${pids[$name]}" 2>/dev/null || { sleep 0.2; fail "$name exited during start (its log: $run/logs/$name.log)"; }
        sleep 0.1
    done
    fail "$name was not ready within 120 s (its log: $run/logs/$name.log)"
}

stopping=0
# Ctrl-C or SIGTERM: every service is asked to stop (SIGTERM: stop consuming, finish, flush the outbox) and
# given a minute; then the node stops. A service that does not stop in time is killed, which loses nothing
# either (its store carries on next time), but it is reported.
shutdown() {
    local status=${1:-0} name deadline left=() failed=() code forced=0
    [ "$stopping" = 1 ] && return
    stopping=1
    trap '' INT TERM
    echo
    say "stopping ${names[*]:-nothing} (each finishes what it holds and flushes its outbox) ..."
    for name in "${names[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
    deadline=$((SECONDS + 60))
    for name in "${names[@]}"; do
        while kill -0 "${pids[$name]}" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if kill -0 "${pids[$name]}" 2>/dev/null; then
            left+=("$name")
            kill -KILL "${pids[$name]}" 2>/dev/null || true
        fi
    done
    for name in "${names[@]}"; do
        code=0
        wait "${pids[$name]}" 2>/dev/null || code=$?
        [ "$code" = 0 ] || failed+=("$name (status $code)")
    done
    wait 2>/dev/null || true
    if [ ${#left[@]} -gt 0 ]; then
        forced=1
        say "killed ${left[*]} after 60 s: nothing is lost (its store carries on at the next start), but look at its log"
    elif [ ${#failed[@]} -gt 0 ]; then
        forced=1
        say "${failed[*]} did not stop cleanly: look at $run/logs/"
    fi
    scripts/broker.sh down >/dev/null
    rm -f "$run/run.pid" "$run/ready"
    if [ "$forced" = 0 ] && [ "$status" != 1 ]; then
        say "stopped: every service exited cleanly and the broker node is down; make run carries on from here"
    fi
    exit "$status"
}

up() {
    mkdir -p "$run/logs"
    if [ -f "$run/run.pid" ] && kill -0 "$(cat "$run/run.pid")" 2>/dev/null; then
        fail "the hub is already running here (pid $(cat "$run/run.pid")); Ctrl-C in its terminal stops it"
    fi
    command -v swift >/dev/null || fail "the Swift toolchain (6.x) is not on PATH: https://www.swift.org/install/"
    scripts/deps.sh
    echo $$ >"$run/run.pid"
    trap 'shutdown 130' INT
    trap 'shutdown 143' TERM
    trap 'status=$?; [ "$stopping" = 1 ] || shutdown "$status"' EXIT

    say "building (swift build${MASH_SWIFT_BUILD_FLAGS:+ $MASH_SWIFT_BUILD_FLAGS}; the first build takes minutes; log: $run/logs/build.log) ..."
    # shellcheck disable=SC2086
    if ! swift build ${MASH_SWIFT_BUILD_FLAGS:-} >"$run/logs/build.log" 2>&1; then
        grep -E "error:" "$run/logs/build.log" | head -20 >&2 || tail -20 "$run/logs/build.log" >&2
        fail "swift build failed (the whole output: $run/logs/build.log)"
    fi

    say "starting the private RabbitMQ node (TLS on, its own CA) ..."
    scripts/broker.sh up
    local tls_port
    tls_port=$(broker_setting MASH_AMQPS_PORT)

    local p made=()
    for p in "${parties[@]}"; do
        if ! ls "$keys/$p/"*.pem >/dev/null 2>&1; then
            "$bin/mashctl" keys generate --agency "$p" --out "$keys" >/dev/null
            made+=("$p")
        fi
    done
    [ ${#made[@]} -eq 0 ] || say "development keys made in $keys for: ${made[*]}"
    if [ ! -f "$state/extracts/police.sqlite" ]; then
        python3 scripts/synthetic-extracts.py --out "$state/extracts" >/dev/null
        say "synthetic extracts (no real people) made in $state/extracts"
    fi

    # The broker URL holds a password: it goes in the environment, never on a command line others can read.
    MASH_COORDINATOR_URL=$(url coordinator) start coordinator "$bin/mash-coordinator" \
        --keys "$keys" --store "$state/coordinator/coordinator.sqlite" --operations-port "$operations_port"
    await_ready coordinator
    local i=1 a
    for a in "${agencies[@]}"; do
        start "$a" "$bin/mash-adapter" --config "$(agency_config "$a")" --operations-port $((operations_port + i))
        i=$((i + 1))
    done
    for a in "${agencies[@]}"; do await_ready "$a"; done

    # Every connection of the hub's users must be TLS: ask the node, not the services.
    local connections plain
    connections=$(scripts/broker.sh ctl list_connections user ssl --no-table-headers --quiet 2>/dev/null || true)
    plain=$(echo "$connections" | awk '$2 != "true" && $1 != "" { print $1 }' | sort -u | tr '\n' ' ')
    [ -z "$plain" ] || fail "these broker users are connected without TLS: $plain"
    touch "$run/ready"
    cat <<EOF

make run: MASH is ready: the coordinator and ${#agencies[@]} adapters, $(echo "$connections" | grep -c true) broker connections, all TLS (amqps://localhost:$tls_port, CA $tls/ca.pem)
  metrics and health: http://127.0.0.1:$operations_port/metrics (coordinator), :$((operations_port + 1))-$((operations_port + ${#agencies[@]})) (adapters)
  in another terminal:  eval "\$(make -s env)"   then   mashctl status   (or: make demo)
  Ctrl-C here stops everything gracefully.

EOF
    # A service that stops on its own is a fault: report it and bring the rest down.
    while true; do
        wait -n "${pids[@]}" 2>/dev/null || true
        [ "$stopping" = 1 ] && break
        for name in "${names[@]}"; do
            if ! kill -0 "${pids[$name]}" 2>/dev/null; then
                say "$name stopped unexpectedly (its log: $run/logs/$name.log); stopping the rest"
                shutdown 1
            fi
        done
    done
}

case "${1:-up}" in
    up) up ;;
    env) print_env ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
