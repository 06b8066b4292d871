#!/usr/bin/env bash
# A private RabbitMQ node for development and tests: its own node name, ports, data folder, Erlang cookie,
# generated TLS material and generated broker passwords, all under $MASH_BROKER_DIR (default .build/broker).
# It never touches the system service. The node runs as the invoking user through the server script itself
# (/usr/lib/rabbitmq/bin), not Debian's /usr/sbin wrapper, which would drop to the `rabbitmq` user.
#
#   scripts/broker.sh up        start the node (first start: make TLS material, import definitions, set passwords)
#   scripts/broker.sh down      stop the node
#   scripts/broker.sh restart   stop and start it again (same data: durable state survives)
#   scripts/broker.sh kill      kill -9 the node (crash test), then `up` brings it back
#   scripts/broker.sh env       print the environment tests and tools need (MASH_AMQP_URL, ...)
#   scripts/broker.sh url USER  print the amqp:// URL for one broker user (coordinator, spa, police, ...)
#   scripts/broker.sh tls-url USER   the same over TLS: amqps:// with the CA and the user's client certificate
#   scripts/broker.sh add-agency ID   onboard an agency not in the definitions: a broker user that may read
#                               only agency.ID.enquiries and write only to mash.responses (the coordinator
#                               declares the queue when routing.yaml names the agency)
#   scripts/broker.sh status    exit 0 when the node is running
#   scripts/broker.sh reset     stop the node and delete its data (the next `up` provisions it afresh)
#   scripts/broker.sh reset-tls delete the node's CA and certificates (they last 30 days; the next `up` makes new)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${MASH_BROKER_DIR:-$root/.build/broker}
# One port picks the node: TLS is the one below it, management and Erlang distribution the two above, and
# RabbitMQ's Prometheus exporter the third above.
amqp_port=${MASH_BROKER_PORT:-25672}
amqps_port=${MASH_BROKER_TLS_PORT:-$((amqp_port - 1))}
mgmt_port=${MASH_BROKER_MGMT_PORT:-$((amqp_port + 1))}
dist_port=${MASH_BROKER_DIST_PORT:-$((amqp_port + 2))}
prometheus_port=${MASH_BROKER_PROMETHEUS_PORT:-$((amqp_port + 3))}
node=${MASH_BROKER_NODE:-mash-$amqp_port@localhost}
vhost=mash
# The hub's topology; MASH_BROKER_DEFINITIONS gives another (a placing authority's broker in the tests,
# deploy/rabbitmq/authority/definitions.json).
definitions=${MASH_BROKER_DEFINITIONS:-$root/deploy/rabbitmq/definitions.json}
rmq_bin=/usr/lib/rabbitmq/bin

# Every broker user in the definitions gets a generated password; `mash-admin` is the test/operator account.
users() { python3 -c 'import json,sys; print("\n".join(u["name"] for u in json.load(open(sys.argv[1]))["users"]))' "$definitions"; }

export HOME=$dir/home
export RABBITMQ_NODENAME=$node
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$amqp_port
export RABBITMQ_DIST_PORT=$dist_port
export RABBITMQ_MNESIA_BASE=$dir/data
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_PID_FILE=$dir/node.pid
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
export RABBITMQ_CTL_DIST_PORT_MIN=$((dist_port + 100))
export RABBITMQ_CTL_DIST_PORT_MAX=$((dist_port + 120))
# Erlang distribution and epmd on loopback only: nothing of the private node is reachable from outside.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_CRASH_DUMP=$dir/erl_crash.dump

need() {
    if [ ! -x "$rmq_bin/rabbitmq-server" ]; then
        echo "broker.sh: RabbitMQ is not installed. Run: apt-get update && apt-get install -y rabbitmq-server" >&2
        exit 1
    fi
    command -v openssl >/dev/null || { echo "broker.sh: openssl is missing (apt-get install -y openssl)" >&2; exit 1; }
}

ctl() { "$rmq_bin/rabbitmqctl" -n "$node" "$@"; }

# The development CA (deploy/tls/mash-ca.sh, the script a real hub uses), a server certificate for
# localhost/127.0.0.1 and a client certificate for every broker user, made once per data folder. They last 30
# days: `scripts/broker.sh reset-tls` makes new ones.
make_tls() {
    local t=$dir/tls
    export MASH_CA_QUIET=1
    # Development certificates last 30 days: a node started after that gets new ones rather than failing
    # every TLS handshake.
    if [ -f "$t/ca.pem" ] && ! openssl x509 -checkend 86400 -noout -in "$t/ca.pem" >/dev/null 2>&1; then
        echo "broker.sh: the development CA in $t expires within a day; making a new CA and certificates"
        rm -rf "$t"
    fi
    if [ ! -f "$t/servers/localhost.pem" ]; then
        "$root/deploy/tls/mash-ca.sh" init "$t" --days 30
        "$root/deploy/tls/mash-ca.sh" server "$t" localhost localhost 127.0.0.1 --days 30
    fi
    client_certificates
}

client_certificates() {
    local u
    for u in $(users) mash-admin; do
        [ -f "$dir/tls/clients/$u.pem" ] || MASH_CA_QUIET=1 "$root/deploy/tls/mash-ca.sh" client "$dir/tls" "$u" --days 30
    done
}

write_config() {
    mkdir -p "$dir/home" "$dir/data" "$dir/log" "$dir/credentials"
    chmod 700 "$dir/credentials"
    : >"$RABBITMQ_CONF_ENV_FILE"
    # The shovel moves what goes to other local authorities to their own brokers (deploy/rabbitmq/authorities.sh).
    echo '[rabbitmq_management,rabbitmq_prometheus,rabbitmq_shovel,rabbitmq_shovel_management].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    echo '[].' >"$RABBITMQ_ADVANCED_CONFIG_FILE"
    cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp_port
listeners.ssl.default = 127.0.0.1:$amqps_port
ssl_options.cacertfile = $dir/tls/ca.pem
ssl_options.certfile = $dir/tls/servers/localhost.pem
ssl_options.keyfile = $dir/tls/servers/localhost.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt_port
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $prometheus_port
loopback_users = none
log.file.level = info
log.console = false
CONF
}

running() { [ -f "$RABBITMQ_PID_FILE" ] && kill -0 "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null; }

wait_up() {
    local i
    for i in $(seq 1 120); do
        if ctl await_startup >/dev/null 2>&1; then return 0; fi
        running || { echo "broker.sh: the node exited during start; see $dir/log" >&2; tail -20 "$dir/server.out" >&2 || true; return 1; }
        sleep 1
    done
    echo "broker.sh: the node did not start within 120 s; see $dir/log" >&2
    return 1
}

# `await_startup` returns while quorum queues are still electing leaders; a quorum queue declared in that
# window can get a broken state machine (RabbitMQ 3.10). Ready means every queue of the vhost is running.
wait_queues() {
    local i states
    for i in $(seq 1 60); do
        states=$(ctl list_queues -p "$vhost" state --no-table-headers --quiet 2>/dev/null) || { sleep 1; continue; }
        if ! echo "$states" | grep -v -x -q -e running -e ''; then break; fi
        sleep 1
    done
    if echo "$states" | grep -v -x -q -e running -e ''; then
        echo "broker.sh: queues of vhost $vhost are not all running after 60 s" >&2
        return 1
    fi
    check_dead_letter_supervisor
}

# At-least-once dead-lettering needs RabbitMQ's rabbit_fifo_dlx_sup. When many dead-letter workers crash at
# once (queues deleted during boot, leader churn) it gives up, and every at-least-once queue then fails with
# INTERNAL_ERROR until the node restarts (rabbitmq-server issue #16652). Refuse to call such a node ready.
check_dead_letter_supervisor() {
    if [ "$(ctl eval 'is_pid(whereis(rabbit_fifo_dlx_sup)).' 2>/dev/null)" != "true" ]; then
        echo "broker.sh: RabbitMQ's at-least-once dead-letter supervisor (rabbit_fifo_dlx_sup) is not running;" \
            "restart the node (scripts/broker.sh restart)" >&2
        return 1
    fi
}

# First start, and whenever the definitions have changed since: import the topology and users (idempotent:
# queues and their messages stay), then give each user its generated password (kept across imports).
provision() {
    local sum
    sum=$(sha256sum "$definitions" | cut -d' ' -f1)
    [ -f "$dir/provisioned" ] && [ "$(cat "$dir/provisioned")" = "$sum" ] && return 0
    [ -f "$dir/provisioned" ] && echo "broker.sh: the definitions changed since node $node was provisioned; importing them again"
    ctl import_definitions "$definitions" >/dev/null
    local u pw
    for u in $(users) mash-admin; do
        if [ ! -f "$dir/credentials/$u" ]; then
            pw=$(openssl rand -hex 24)
            printf '%s' "$pw" >"$dir/credentials/$u"
            chmod 600 "$dir/credentials/$u"
        fi
        pw=$(cat "$dir/credentials/$u")
        if [ "$u" = mash-admin ]; then
            ctl add_user "$u" "$pw" >/dev/null 2>&1 || ctl change_password "$u" "$pw" >/dev/null
            ctl set_user_tags "$u" administrator >/dev/null
            ctl set_permissions -p "$vhost" "$u" '.*' '.*' '.*' >/dev/null
        else
            ctl change_password "$u" "$pw" >/dev/null
        fi
    done
    ctl delete_user guest >/dev/null 2>&1 || true
    echo "$sum" >"$dir/provisioned"
}

up() {
    need
    if running; then client_certificates; provision; return 0; fi
    write_config
    make_tls
    # The pid file is written by the Erlang VM itself once it is up; keep the script's pid as a fallback. The
    # node gets a session of its own, so a Ctrl-C meant for `make run` reaches the services, not the broker
    # they are still flushing to (make run stops the node itself, last).
    setsid nohup "$rmq_bin/rabbitmq-server" >"$dir/server.out" 2>&1 </dev/null &
    echo $! >"$dir/launcher.pid"
    for _ in $(seq 1 30); do [ -f "$RABBITMQ_PID_FILE" ] && break; sleep 0.5; done
    wait_up
    provision
    wait_queues
    echo "broker.sh: node $node up (amqp 127.0.0.1:$amqp_port, amqps :$amqps_port, management :$mgmt_port)"
}

down() {
    if running; then
        ctl stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || kill "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null || true
        for _ in $(seq 1 60); do running || break; sleep 0.5; done
    fi
    rm -f "$RABBITMQ_PID_FILE"
    echo "broker.sh: node $node down"
}

crash() {
    if running; then kill -9 "$(cat "$RABBITMQ_PID_FILE")"; fi
    for _ in $(seq 1 20); do running || break; sleep 0.25; done
    rm -f "$RABBITMQ_PID_FILE"
}

add_agency() {
    local id=${1:?usage: broker.sh add-agency ID}
    case "$id" in *[!a-z0-9-]*|"") echo "broker.sh: agency id '$id' must be lower-case letters, digits and '-'" >&2; exit 2 ;; esac
    running || { echo "broker.sh: the node is not running (scripts/broker.sh up)" >&2; exit 1; }
    local pw
    if [ ! -f "$dir/credentials/$id" ]; then
        openssl rand -hex 24 | tr -d '\n' >"$dir/credentials/$id"
        chmod 600 "$dir/credentials/$id"
    fi
    pw=$(cat "$dir/credentials/$id")
    ctl add_user "$id" "$pw" >/dev/null 2>&1 || ctl change_password "$id" "$pw" >/dev/null
    ctl set_permissions -p "$vhost" "$id" '^$' '^mash\.responses$' "^agency\.${id}\.enquiries\$" >/dev/null
    [ -f "$dir/tls/clients/$id.pem" ] || MASH_CA_QUIET=1 "$root/deploy/tls/mash-ca.sh" client "$dir/tls" "$id" --days 30
    echo "broker.sh: agency $id may read agency.$id.enquiries and write mash.responses;" \
        "its client certificate is $dir/tls/clients/$id.pem"
}

print_env() {
    local pw
    pw=$(cat "$dir/credentials/mash-admin")
    echo "MASH_AMQP_URL=amqp://mash-admin:$pw@127.0.0.1:$amqp_port/$vhost"
    echo "MASH_AMQPS_URL=amqps://mash-admin:$pw@localhost:$amqps_port/$vhost"
    echo "MASH_BROKER_CA=$dir/tls/ca.pem"
    echo "MASH_BROKER_CLIENT_CERT=$dir/tls/clients/mash-admin.pem"
    echo "MASH_BROKER_CLIENT_KEY=$dir/tls/clients/mash-admin.key"
    echo "MASH_BROKER_CREDENTIALS=$dir/credentials"
    echo "MASH_BROKER_MANAGEMENT_URL=http://127.0.0.1:$mgmt_port"
    echo "MASH_BROKER_PROMETHEUS_URL=http://127.0.0.1:$prometheus_port"
    echo "MASH_AMQPS_PORT=$amqps_port"
    echo "MASH_BROKER_CTL=$root/scripts/broker.sh"
    # So that MASH_BROKER_CTL, run from a test, drives this node and not the development one.
    echo "MASH_BROKER_DIR=$dir"
    echo "MASH_BROKER_PORT=$amqp_port"
}

# amqps://USER:PASSWORD@localhost:TLS-PORT/mash?cacertfile=…&certfile=…&keyfile=…, with the user's own
# client certificate (the URL form our client and mashctl read; paths percent-encoded).
print_tls_url() {
    local user=${1:?usage: broker.sh tls-url USER}
    [ -f "$dir/credentials/$user" ] || { echo "broker.sh: no broker user '$user' (see deploy/rabbitmq/definitions.json)" >&2; exit 1; }
    [ -f "$dir/tls/clients/$user.pem" ] || { echo "broker.sh: no client certificate for '$user' (scripts/broker.sh up makes them)" >&2; exit 1; }
    python3 - "$user" "$(cat "$dir/credentials/$user")" "$amqps_port" "$vhost" "$dir/tls" <<'PY'
import sys, urllib.parse as u
user, password, port, vhost, tls = sys.argv[1:]
q = lambda path: u.quote(path, safe="/")
print(f"amqps://{u.quote(user, safe='')}:{u.quote(password, safe='')}@localhost:{port}/{u.quote(vhost, safe='')}"
      f"?cacertfile={q(tls + '/ca.pem')}&certfile={q(tls + '/clients/' + user + '.pem')}"
      f"&keyfile={q(tls + '/clients/' + user + '.key')}")
PY
}

print_url() {
    local user=${1:?usage: broker.sh url USER}
    [ -f "$dir/credentials/$user" ] || { echo "broker.sh: no broker user '$user' (see deploy/rabbitmq/definitions.json)" >&2; exit 1; }
    echo "amqp://$user:$(cat "$dir/credentials/$user")@127.0.0.1:$amqp_port/$vhost"
}

case "${1:-}" in
    up) up ;;
    url) shift; print_url "$@" ;;
    tls-url) shift; print_tls_url "$@" ;;
    add-agency) shift; add_agency "$@" ;;
    down) down ;;
    restart) down; up ;;
    kill) crash ;;
    env) print_env ;;
    status) running ;;
    reset) down; rm -rf "$dir/data" "$dir/log" "$dir/provisioned" "$dir/node.pid"; echo "broker.sh: data of $node removed" ;;
    reset-tls) running && { echo "broker.sh: stop the node first (scripts/broker.sh down)" >&2; exit 1; }
        rm -rf "$dir/tls"; echo "broker.sh: TLS material of $node removed; the next up makes new" ;;
    ctl) shift; ctl "$@" ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
