#!/usr/bin/env bash
# The deploy files, checked for real (a pass of `make test`):
#  - `systemd-analyze verify` accepts deploy/systemd/*.service as committed. They name /opt/mash/bin/...; the
#    check runs in a private mount namespace where /opt holds links to the binaries just built, so the units
#    are verified unchanged, host untouched.
#  - deploy/rabbitmq/cluster/rabbitmq.conf boots three real RabbitMQ nodes on this machine, with only the site
#    values (host names, ports, file paths) replaced by local ones: they form one cluster named mash, listen
#    for AMQP over TLS only, load the definitions with every input queue a quorum queue on all three nodes,
#    and refuse a client without a certificate from the hub's CA (deploy/tls/mash-ca.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../Shell/checks.sh
. "$root/Tests/Shell/checks.sh"

work=$root/.build/deploy-test
nodes=(1 2 3)
rmq_bin=/usr/lib/rabbitmq/bin

fatal() { echo "verify-deploy: $*" >&2; exit 1; }

node_name() { echo "mash-cluster-$1@localhost"; }
base_port() { echo $((29600 + $1 * 10)); }

node_env() { # runs a command with the environment of node $1
    local i=$1 base
    shift
    base=$(base_port "$i")
    env HOME="$work/home" RABBITMQ_NODENAME="$(node_name "$i")" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_DIST_PORT=$((base + 5)) RABBITMQ_MNESIA_BASE="$work/node$i/data" RABBITMQ_LOG_BASE="$work/node$i/log" \
        RABBITMQ_PID_FILE="$work/node$i/node.pid" RABBITMQ_CONFIG_FILE="$work/node$i/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$root/deploy/rabbitmq/cluster/enabled_plugins" \
        RABBITMQ_CONF_ENV_FILE="$work/node$i/rabbitmq-env.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$work/node$i/advanced.config" \
        RABBITMQ_CTL_DIST_PORT_MIN=$((base + 6)) RABBITMQ_CTL_DIST_PORT_MAX=$((base + 9)) \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" ERL_EPMD_ADDRESS=127.0.0.1 \
        ERL_CRASH_DUMP="$work/node$i/erl_crash.dump" \
        "$@"
}
ctl() { local i=$1; shift; node_env "$i" "$rmq_bin/rabbitmqctl" -n "$(node_name "$i")" "$@"; }

cleanup() {
    pkill -KILL -f "mash-cluster-[123]@localhost" 2>/dev/null || true
}
trap cleanup EXIT

echo "verify-deploy: systemd units"
if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "  (installing systemd for systemd-analyze)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
    else
        fatal "systemd-analyze is missing: sudo apt-get install -y systemd"
    fi
fi
cleanup
rm -rf "$work"
mkdir -p "$work/opt/mash/bin" "$work/home"
for b in mash-coordinator mash-adapter mash-desk mashctl; do
    [ -x "$root/.build/debug/$b" ] || fatal "$b is not built (swift build first)"
    ln -s "$root/.build/debug/$b" "$work/opt/mash/bin/$b"
done
units=("$root"/deploy/systemd/*.service)
check "there are unit files to verify (${#units[@]})" test -f "${units[0]}"
namespace=(unshare -m --propagation private)
[ "$(id -u)" -eq 0 ] || namespace=(unshare -r -m --propagation private)
# shellcheck disable=SC2016
if output=$("${namespace[@]}" bash -c 'mount --bind "$1" /opt && shift && systemd-analyze verify "$@" 2>&1' \
    verify "$work/opt" "${units[@]}"); then verified=0; else verified=$?; fi
[ -z "$output" ] || echo "$output" | sed 's/^/    /'
check "systemd-analyze verify accepts ${units[*]##*/}" test "$verified" = 0
check "and prints no warning" test -z "$output"

echo "verify-deploy: a three-node cluster from deploy/rabbitmq/cluster/rabbitmq.conf"
[ -x "$rmq_bin/rabbitmq-server" ] || fatal "RabbitMQ is not installed (scripts/deps.sh installs it)"
export MASH_CA_QUIET=1
deploy/tls/mash-ca.sh init "$work/tls" --days 2
deploy/tls/mash-ca.sh client "$work/tls" coordinator --days 2
for i in "${nodes[@]}"; do
    deploy/tls/mash-ca.sh server "$work/tls" "node$i" localhost 127.0.0.1 --days 2
    base=$(base_port "$i")
    mkdir -p "$work/node$i"
    : >"$work/node$i/rabbitmq-env.conf"
    echo '[].' >"$work/node$i/advanced.config"
    # Only the site values change: node names, ports, and where the files are.
    sed -e "s#rabbit@mq\([123]\)\.mash\.internal#mash-cluster-\1@localhost#" \
        -e "s#^load_definitions = .*#load_definitions = $root/deploy/rabbitmq/definitions.json#" \
        -e "s#/etc/rabbitmq/tls/ca.pem#$work/tls/ca.pem#" \
        -e "s#/etc/rabbitmq/tls/server.pem#$work/tls/servers/node$i.pem#" \
        -e "s#/etc/rabbitmq/tls/server.key#$work/tls/servers/node$i.key#" \
        -e "s#^listeners.ssl.default = 5671#listeners.ssl.default = 127.0.0.1:$((base + 1))#" \
        -e "s#^management.ssl.port = 15671#management.ssl.port = $((base + 2))#" \
        -e "s#^prometheus.ssl.port = 15691#prometheus.ssl.port = $((base + 3))#" \
        -e "s#^disk_free_limit.absolute = 5GB#disk_free_limit.absolute = 50MB#" \
        "$root/deploy/rabbitmq/cluster/rabbitmq.conf" >"$work/node$i/rabbitmq.conf"
    diff "$root/deploy/rabbitmq/cluster/rabbitmq.conf" "$work/node$i/rabbitmq.conf" >"$work/node$i/site-changes.diff" || true
done
# Every node must share one Erlang cookie: HOME is shared.
openssl rand -hex 20 | tr -d '\n' >"$work/home/.erlang.cookie"
chmod 400 "$work/home/.erlang.cookie"
# As deploy/rabbitmq/cluster/rabbitmq.conf says: the first node, then the other two together.
declare -A launcher=()
start_node() {
    node_env "$1" setsid nohup "$rmq_bin/rabbitmq-server" >"$work/node$1/server.out" 2>&1 </dev/null &
    launcher[$1]=$!
}
await_node() {
    local _
    for _ in $(seq 1 180); do
        ctl "$1" await_startup --timeout 10 >/dev/null 2>&1 && return 0
        kill -0 "${launcher[$1]}" 2>/dev/null || break
        sleep 1
    done
    tail -30 "$work/node$1/server.out" >&2 || true
    tail -n 30 "$work/node$1/log/$(node_name "$1").log" >&2 || true
    fatal "node $1 did not start (logs in $work/node$1)"
}
start_node 1
await_node 1
start_node 2
start_node 3
await_node 2
await_node 3
running=""
for _ in $(seq 1 120); do
    running=$(ctl 1 cluster_status --formatter json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))' 2>/dev/null || true)
    [ "$running" = 3 ] && break
    sleep 1
done
check "the three nodes form one cluster (running: ${running:-none})" test "$running" = 3
ctl 1 cluster_status --formatter json >"$work/cluster.json" 2>/dev/null || true
check "the cluster is named mash" python3 -c \
    'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("cluster_name") != "mash")' "$work/cluster.json"

node_env 2 "$rmq_bin/rabbitmq-diagnostics" -n "$(node_name 2)" listeners --formatter json >"$work/listeners.json" 2>"$work/listeners.err" || true
protocols=$(python3 -c 'import json,sys; print(" ".join(sorted(l["protocol"] for l in json.load(open(sys.argv[1]))["listeners"])))' "$work/listeners.json" 2>/dev/null || true)
echo "    node 2 listens for: ${protocols:-nothing}"
check "node 2 listens for AMQP over TLS" bash -c "echo ' $protocols ' | grep -q ' amqp/ssl '"
check "and not for plain AMQP, nor plain HTTP (management and Prometheus over HTTPS)" bash -c \
    "! echo ' $protocols ' | grep -qE ' (amqp|http|http/prometheus) ' && echo ' $protocols ' | grep -q ' https/prometheus '"

# Queues declared while only the first node ran have their replica there alone: adding a node's replicas
# to every quorum queue is the step deploy/README.md gives after mq2 and mq3 join.
for i in 2 3; do
    node_env 1 "$rmq_bin/rabbitmq-queues" -n "$(node_name 1)" grow "$(node_name "$i")" all >/dev/null 2>&1 \
        || flunk "rabbitmq-queues grow $(node_name "$i") all"
done
for _ in $(seq 1 60); do
    queues=$(ctl 3 list_queues -p mash name type members --formatter json 2>/dev/null || true)
    [ -n "$queues" ] && [ "$queues" != "[]" ] && break
    sleep 1
done
echo "$queues" >"$work/queues.json"
# shellcheck disable=SC2016
check "the definitions are loaded: every input queue is a quorum queue with a member on each node" python3 -c '
import json, sys
queues = {q["name"]: q for q in json.load(open(sys.argv[1]))}
inputs = ["coordinator.intake", "coordinator.responses", "coordinator.notifications", "agency.police.enquiries"]
missing = [n for n in inputs if n not in queues]
wrong = [n for n in inputs if n in queues and (queues[n]["type"] != "quorum" or len(queues[n]["members"]) != 3)]
print("    queues:", len(queues), "missing:", missing, "not quorum on 3 nodes:", wrong)
sys.exit(bool(missing or wrong))' "$work/queues.json"

port=$(( $(base_port 1) + 1 ))
check "a client with a certificate from the hub's CA completes the TLS handshake, verifying the node" bash -c \
    "echo | openssl s_client -connect 127.0.0.1:$port -servername localhost -CAfile '$work/tls/ca.pem' \
        -cert '$work/tls/clients/coordinator.pem' -key '$work/tls/clients/coordinator.key' -verify_return_error \
        -tls1_2 >/dev/null 2>&1"
check "a client without a certificate is refused" bash -c \
    "! (echo | openssl s_client -connect 127.0.0.1:$port -servername localhost -CAfile '$work/tls/ca.pem' \
        -verify_return_error -tls1_2 >/dev/null 2>&1)"
check "TLS 1.1 is refused" bash -c \
    "! (echo | openssl s_client -connect 127.0.0.1:$port -CAfile '$work/tls/ca.pem' \
        -cert '$work/tls/clients/coordinator.pem' -key '$work/tls/clients/coordinator.key' -tls1_1 >/dev/null 2>&1)"

for i in "${nodes[@]}"; do ctl "$i" stop >/dev/null 2>&1 || true; done

finish verify-deploy "node logs in $work"
