#!/usr/bin/env bash
# Connects the hub to a placing authority's own broker (missing from home and care, docs/protocol.md
# "Other local authorities") with two RabbitMQ dynamic shovels, run by the hub's broker itself:
#
#   out  authority.<la>.outbound on the hub  ->  exchange hub.in (key mash) on the authority's broker
#   in   queue hub.outbound on the authority's broker  ->  exchange mash.intake (key missing) on the hub
#
# Both acknowledge a message only once the other broker has confirmed it (ack-mode on-confirm), so a shovel
# stopped, a link cut or a node restarted loses nothing; a message moved twice after a lost confirm keeps its
# message_id, which every receiver deduplicates on.
#
#   deploy/rabbitmq/authorities.sh add LA --hub-uri URI --authority-uri URI [--vhost mash]
#   deploy/rabbitmq/authorities.sh remove LA [--vhost mash]
#   deploy/rabbitmq/authorities.sh status [--vhost mash]
#
# LA is the authority's party name (la-kent). The hub URI is the hub's own broker as its `shovel` user
# (reads authority.*.outbound, writes mash.intake); the authority URI is its broker as the user it issued us
# (`hub-shovel` in deploy/rabbitmq/authority/definitions.json: reads hub.outbound, writes hub.in). Use amqps://
# with `cacertfile`, `certfile`, `keyfile`, `verify=verify_peer` and `server_name_indication` for the authority's
# broker; the files must be readable by the hub's RabbitMQ. URIs hold passwords: pass them from files
# (--hub-uri "$(cat /etc/mash/shovel.uri)"), never from the repository.
# RABBITMQCTL names the command (default: rabbitmqctl; the tests use scripts/broker.sh ctl).
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
verb=${1:-}; shift || true
authority=""
case "$verb" in add|remove) authority=${1:-}; shift || true ;; status) ;; *) usage ;; esac
vhost=mash hub_uri="" authority_uri=""
while [ $# -gt 0 ]; do
    case "$1" in
        --vhost) vhost=$2; shift 2 ;;
        --hub-uri) hub_uri=$2; shift 2 ;;
        --authority-uri) authority_uri=$2; shift 2 ;;
        *) echo "authorities.sh: unknown option '$1'" >&2; usage ;;
    esac
done
if [ -n "$authority" ] && ! [[ "$authority" =~ ^la-[a-z0-9][a-z0-9-]*$ ]]; then
    echo "authorities.sh: '$authority' is not an authority's party name: 'la-' and its code in lower case (la-kent)" >&2
    exit 2
fi
read -r -a ctl <<<"${RABBITMQCTL:-rabbitmqctl}"

shovel() {
    local name=$1 src_uri=$2 src_queue=$3 dest_uri=$4 dest_exchange=$5 dest_key=$6
    local body
    body=$(python3 -c 'import json,sys; a=sys.argv[1:]; print(json.dumps({
        "src-protocol": "amqp091", "src-uri": a[0], "src-queue": a[1],
        "dest-protocol": "amqp091", "dest-uri": a[2], "dest-exchange": a[3], "dest-exchange-key": a[4],
        "ack-mode": "on-confirm", "src-prefetch-count": 64, "reconnect-delay": 2,
        "dest-add-forward-headers": False, "src-delete-after": "never"}))' \
        "$src_uri" "$src_queue" "$dest_uri" "$dest_exchange" "$dest_key")
    "${ctl[@]}" set_parameter -p "$vhost" shovel "$name" "$body" >/dev/null
}

case "$verb" in
    add)
        [ -n "$hub_uri" ] && [ -n "$authority_uri" ] || { echo "authorities.sh add: --hub-uri and --authority-uri are required" >&2; exit 2; }
        shovel "$authority-out" "$hub_uri" "authority.$authority.outbound" "$authority_uri" hub.in mash
        shovel "$authority-in" "$authority_uri" hub.outbound "$hub_uri" mash.intake missing
        echo "authorities.sh: shovels $authority-out and $authority-in set in vhost $vhost"
        ;;
    remove)
        "${ctl[@]}" clear_parameter -p "$vhost" shovel "$authority-out" >/dev/null 2>&1 || true
        "${ctl[@]}" clear_parameter -p "$vhost" shovel "$authority-in" >/dev/null 2>&1 || true
        echo "authorities.sh: shovels of $authority removed from vhost $vhost (what waits stays in authority.$authority.outbound)"
        ;;
    status)
        "${ctl[@]}" shovel_status --formatter json | python3 -c '
import json, sys
vhost = sys.argv[1]
rows = [s for s in json.load(sys.stdin) if s.get("vhost") == vhost]
for s in rows: print(f"{s[\"name\"]:24} {s.get(\"state\", \"?\")}")
if not rows: print("no shovels in vhost " + vhost)' "$vhost"
        ;;
esac
