#!/usr/bin/env bash
# `make run`: the whole MASH on this machine, TLS on. Installs what is missing, starts the private RabbitMQ
# node (TLS listener, a development CA and a client certificate per broker user, under .build/broker/tls),
# generates development keys for every party, builds, makes the synthetic extracts, then runs `mash-hub`: the
# coordinator and the seven agency adapters in one service group, each connected over TLS with its own broker
# user and certificate, their log lines prefixed by service. Ctrl-C (or SIGTERM) stops everything gracefully:
# the services stop consuming, finish what is in hand and flush their outboxes; then the node stops and make
# exits 0. A second Ctrl-C stops at once. Nothing is lost either way: the next `make run` carries on from the
# stores and the queues.
#
#   scripts/run.sh          bring the hub up and keep it running until Ctrl-C
#   scripts/run.sh env      the environment for mashctl in another terminal: eval "$(scripts/run.sh env)"
#   scripts/run.sh agency-config AGENCY   the agency's configuration file as make run uses it
#   scripts/run.sh desks    the desks make run serves: party, URL, staff id, the file holding the password
#
# Everything it makes is under .build/ (never committed): broker/ (node data, TLS material, generated
# passwords), keys/, coordinator/ and adapters/ (the stores), extracts/, run/ (logs, the pid file).
# MASH_RUN_STATE moves all of that elsewhere and MASH_BROKER_PORT / MASH_OPERATIONS_PORT move the ports
# (the bring-up test uses them to run beside a developer's hub); MASH_SWIFT_BUILD_FLAGS adds `swift build`
# flags; MASH_RUN_AGENCIES names the adapters the hub runs. The hub's pid is in run/hub.pid, its log in
# run/logs/hub.log.
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
# The adapters the hub runs (all seven unless MASH_RUN_AGENCIES lists some): one left out can run as its own
# mash-adapter process beside the hub, as in production (the bring-up test does so to pause one).
read -r -a hub_agencies <<<"${MASH_RUN_AGENCIES:-${agencies[*]}}"
# Every party with a key: the hub, its own desks, the partners that send and receive, the sample schools.
parties=(coordinator decision-maker practice-manager spa csc orchestra la-officer operator dpo school-990001 school-990002
    missing-coordinator la-kent portal area-manager "${agencies[@]}")
# The hub's staff (Config/staff.yaml): each signs operator requests with a key of their own.
read -r -a staff <<<"$(sed -n 's/^  \([a-z0-9-]*\.[a-z0-9.-]*\):.*/\1/p' Config/staff.yaml | tr '\n' ' ')"
# The desks the hub runs (Config/desks/<party>.yaml), each on its own HTTPS port from MASH_DESK_PORT (8441) on.
desks=(decision-maker practice-manager spa school-990001 school-990002 missing-coordinator portal area-manager)
desk_port_base=${MASH_DESK_PORT:-8441}
# Broker users that get a line in `env`: whoever mashctl may act as.
clients=(operator spa decision-maker police csc orchestra la-officer school-990001 school-990002)

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
        -e "s#@localhost:25671/#@localhost:$(broker_setting MASH_AMQPS_PORT)/#" \
        -e "s#^retention: \.\./retention\.yaml#retention: $root/Config/retention.yaml#" "$shipped" >"$run/agencies/$agency.yaml"
    echo "$run/agencies/$agency.yaml"
}

# A desk's file as make run uses it: the shipped one with its paths and ports moved to this run's state and a
# development account added (its password made once, kept in state/desks/<party>.password, mode 0600).
# A desk's port in this run: its shipped port moved by MASH_DESK_PORT.
desk_port() {
    echo $((desk_port_base + $(sed -n 's/^  port: \([0-9]*\).*/\1/p' "$root/Config/desks/$1.yaml") - 8441))
}

desk_config() {
    local party=$1 shipped=$root/Config/desks/$1.yaml out=$run/desks/$1.yaml port
    mkdir -p "$run/desks" "$state/desks"
    port=$(desk_port "$party")
    sed -e "s#\.\./\.\./\.build/broker/#$MASH_BROKER_DIR/#g" -e "s#\.\./\.\./\.build/#$state/#g" \
        -e "s#@localhost:25671/#@localhost:$(broker_setting MASH_AMQPS_PORT)/#" -e "s#^  port: [0-9]*#  port: $port#" \
        -e "s#^retention: \.\./retention\.yaml#retention: $root/Config/retention.yaml#" \
        -e "s#^  holidays: \.\./calendar/#  holidays: $root/Config/calendar/#" \
        "$shipped" >"$out"
    local password=$state/desks/$party.password
    if [ ! -f "$password" ]; then
        (umask 077; openssl rand -base64 18 | tr -d '\n' >"$password")
        new_passwords+=("$(printf '  %-18s https://localhost:%s/  staff id %-22s password %s' "$party" "$port" "$party.dev" "$(cat "$password")")")
    fi
    # The portal's account is a professional (their contacts say who made them); the SPA's may screen.
    local details=()
    case $party in
        portal) details=(--organisation "Riverside Primary School" --job-title "Designated Safeguarding Lead") ;;
        spa) details=(--role spa) ;;
        area-manager) details=(--role area-manager) ;;
    esac
    "$bin/mash-desk" user add --config "$out" --id "$party.dev" --name "Development account ($party)" \
        "${details[@]}" --password-stdin <"$password" >/dev/null
    # A second account on the front door's desks: another professional on the portal (who must not see the
    # first one's contacts), and on the SPA's desk a reader without the spa role (who may not screen).
    case $party in
        portal) second_account "$party" "$party.other" "Second professional (portal)" \
            --organisation "Hillside GP Surgery" --job-title "GP safeguarding lead" ;;
        spa) second_account "$party" "$party.reader" "Reader without the spa role (spa)" ;;
    esac
}

second_account() {
    local party=$1 id=$2 name=$3 out=$run/desks/$1.yaml password=$state/desks/$2.password
    shift 3
    if [ ! -f "$password" ]; then
        (umask 077; openssl rand -base64 18 | tr -d '\n' >"$password")
        new_passwords+=("$(printf '  %-18s https://localhost:%s/  staff id %-22s password %s' "$party" "$(desk_port "$party")" "$id" "$(cat "$password")")")
    fi
    "$bin/mash-desk" user add --config "$out" --id "$id" --name "$name" "$@" --password-stdin <"$password" >/dev/null
}

# The desks' URLs, for make demo: party, URL, staff id, password file.
print_desks() {
    local party
    for party in "${desks[@]}"; do
        echo "$party https://localhost:$(desk_port "$party")/ $party.dev $state/desks/$party.password"
    done
    echo "portal:other https://localhost:$(desk_port portal)/ portal.other $state/desks/portal.other.password"
    echo "spa:reader https://localhost:$(desk_port spa)/ spa.reader $state/desks/spa.reader.password"
}

hub_pid=""
stopping=0
# SIGTERM to this script (make passes it on) is passed to the hub, which stops gracefully. Ctrl-C reaches the hub
# alone: it takes the terminal (--take-terminal), so make is not interrupted while the hub stops.
forward() {
    stopping=1
    [ -n "$hub_pid" ] && kill -"$1" "$hub_pid" 2>/dev/null || true
}

# After the hub: the node stops, and the run says how it ended.
finish() {
    local status=$1
    trap '' INT TERM
    scripts/broker.sh down >/dev/null || true
    rm -f "$run/run.pid" "$run/ready" "$run/hub.pid"
    case $status in
        0) say "stopped: every service exited cleanly and the broker node is down; make run carries on from here" ;;
        130 | 143) say "stopped at once (second signal): nothing is lost, the next make run carries on from the stores" ;;
        *) say "the hub stopped with status $status (its log: $run/logs/hub.log)" ;;
    esac
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
    trap 'rm -f "$run/run.pid"' EXIT

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
    for p in "${parties[@]}" "${staff[@]}"; do
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
    local adapter_files=() a
    for a in "${hub_agencies[@]}"; do adapter_files+=(--adapter "$(agency_config "$a")"); done
    # The desks' pages are HTTPS, with a certificate from the same CA as the broker's.
    [ -f "$tls/servers/desk.pem" ] || MASH_CA_QUIET=1 deploy/tls/mash-ca.sh server "$tls" desk localhost 127.0.0.1 --days 30
    local desk_files=() d
    new_passwords=()
    for d in "${desks[@]}"; do
        desk_config "$d"
        desk_files+=(--desk "$run/desks/$d.yaml")
    done
    trap 'forward TERM' TERM
    trap 'forward INT' INT
    trap 'status=$?; [ -n "$hub_pid" ] && kill -KILL "$hub_pid" 2>/dev/null; scripts/broker.sh down >/dev/null 2>&1; rm -f "$run/run.pid"; exit $status' EXIT
    rm -f "$run/ready"
    : >"$run/logs/hub.log"
    # The tee ignores Ctrl-C and SIGTERM, so it outlives the hub and prints its last words.
    MASH_COORDINATOR_URL=$(url coordinator) "$bin/mash-hub" --keys "$keys" \
        --store "$state/coordinator/coordinator.sqlite" --operations-port "$operations_port" \
        "${adapter_files[@]}" "${desk_files[@]}" --take-terminal --ready-file "$run/ready" \
        > >(trap '' INT TERM; tee -a "$run/logs/hub.log") 2>&1 &
    hub_pid=$!
    echo "$hub_pid" >"$run/hub.pid"

    local i
    for i in $(seq 1 1200); do
        [ -f "$run/ready" ] && break
        kill -0 "$hub_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -f "$run/ready" ] && kill -0 "$hub_pid" 2>/dev/null; then
        kill -TERM "$hub_pid"
        say "the hub was not ready within 120 s; stopping it (its log: $run/logs/hub.log)"
    fi

    if [ -f "$run/ready" ] && [ ${#new_passwords[@]} -gt 0 ]; then
        echo
        say "development accounts for the desks (shown once; kept in $state/desks/*.password):"
        printf '%s\n' "${new_passwords[@]}"
    fi
    if [ -f "$run/ready" ]; then
        # Every connection of the hub's users must be TLS: ask the node, not the services.
        local connections plain
        connections=$(scripts/broker.sh ctl list_connections user ssl --no-table-headers --quiet 2>/dev/null || true)
        plain=$(echo "$connections" | awk '$2 != "true" && $1 != "" { print $1 }' | sort -u | tr '\n' ' ')
        if [ -n "$plain" ]; then
            kill -TERM "$hub_pid"
            wait "$hub_pid" 2>/dev/null || true
            fail "these broker users are connected without TLS: $plain"
        fi
        cat <<EOF

make run: MASH is ready: the coordinator and ${#hub_agencies[@]} adapters in one mash-hub (pid $hub_pid), $(echo "$connections" | grep -c true) broker connections, all TLS (amqps://localhost:$tls_port, CA $tls/ca.pem)
  metrics and health: http://127.0.0.1:$operations_port/metrics (coordinator), :$((operations_port + 1))-$((operations_port + ${#hub_agencies[@]})) (adapters)
  desks (HTTPS, the development CA $tls/ca.pem): $(print_desks | awk '$1 !~ /:/ { printf "%s %s  ", $1, $2 }')
  in another terminal:  eval "\$(make -s env)"   then   mashctl status   (or: make demo)
  Ctrl-C here stops everything gracefully (twice: at once). The whole log: $run/logs/hub.log

EOF
    fi
    # The hub runs until a signal stops it (or a failure does); `wait` returns early when a trap runs.
    local status=0
    while true; do
        status=0
        wait "$hub_pid" 2>/dev/null || status=$?
        kill -0 "$hub_pid" 2>/dev/null || break
    done
    hub_pid=""
    trap - EXIT
    finish "$status"
}

case "${1:-up}" in
    up) up ;;
    env) print_env ;;
    agency-config) mkdir -p "$run"; agency_config "${2:?which agency}" ;;
    desks) print_desks ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
