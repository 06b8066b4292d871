#!/usr/bin/env bash
# A private PostgreSQL pair on this machine, as deploy/postgres sets one up on two hosts: a primary and a
# synchronous standby on their own ports, so a commit returns only once the standby has it too (the
# coordinator's replicated store, `mash-coordinator --postgres`). TLS with certificates from the
# hub's CA (deploy/tls/mash-ca.sh), scram-sha-256 passwords, least-privilege roles, WAL archived for point-in-time
# recovery.
#
#   scripts/postgres.sh up          create (first time) and start both; waits until the standby is synchronous
#   scripts/postgres.sh down        stop both (fast shutdown)
#   scripts/postgres.sh reset       stop and delete everything under MASH_PG_DIR
#   scripts/postgres.sh env         MASH_PG_* variables for clients (eval "$(scripts/postgres.sh env)")
#   scripts/postgres.sh stop NODE   primary or standby, at once (pg_ctl -m immediate: a lost host)
#   scripts/postgres.sh start NODE
#   scripts/postgres.sh promote     the standby becomes the primary (the runbook's failover step)
#   scripts/postgres.sh psql NODE [PSQL ARGS...]   as the clusters' superuser, over the local socket
#
# MASH_PG_DIR (default .build/postgres) holds both clusters, their TLS files, the archive and the roles'
# passwords (credentials/, mode 0600); MASH_PG_PORT (default 25432) is the primary's port, the standby's is the
# next. Roles: mash_coordinator (LOGIN; owns the `mash` database's schema, so it runs its migrations; no
# superuser, no CREATEDB, no CREATEROLE), mash_reader (LOGIN; SELECT only, for mashctl and backups' checks),
# mash_replicator (REPLICATION only). pg_hba.conf admits each over TLS from 127.0.0.1 only, the superuser on
# the local socket only (peer), and rejects everything else.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${MASH_PG_DIR:-$root/.build/postgres}
port=${MASH_PG_PORT:-25432}
standby_port=$((port + 1))
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
fail() { echo "postgres.sh: $*" >&2; exit 1; }
say() { echo "postgres.sh: $*"; }

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
[ -n "$version" ] || fail "PostgreSQL is not installed (scripts/deps.sh postgresql installs Debian's)"
bin=/usr/lib/postgresql/$version/bin

# PostgreSQL refuses to run as root: as root, the clusters belong to Debian's `postgres` user.
if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    owner=$(id -un)
    as_owner() { "$@"; }
fi
node_dir() { case "$1" in primary|standby) echo "$dir/$1" ;; *) fail "no node '$1' (primary or standby)" ;; esac; }
node_port() { [ "$1" = primary ] && echo "$port" || echo "$standby_port"; }
running() { as_owner "$bin/pg_ctl" -D "$(node_dir "$1")" status >/dev/null 2>&1; }
sql() { # sql NODE COMMAND: as the superuser over the node's local socket
    as_owner "$bin/psql" -X -q -At -h "$dir/run" -p "$(node_port "$1")" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "$2"
}
password() { cat "$dir/credentials/$1"; }

start() {
    local node=$1
    running "$node" && return 0
    as_owner "$bin/pg_ctl" -D "$(node_dir "$node")" -l "$dir/log/$node.log" -w -t 60 start >/dev/null \
        || fail "$node did not start; see $dir/log/$node.log"
}

tls() {
    [ -f "$dir/tls/servers/postgres.pem" ] && return 0
    MASH_CA_QUIET=1 "$root/deploy/tls/mash-ca.sh" init "$dir/tls" --days 30
    MASH_CA_QUIET=1 "$root/deploy/tls/mash-ca.sh" server "$dir/tls" postgres localhost 127.0.0.1 --days 30
    # The CA's folder holds its key (0700): clients, the standby among them, read this copy.
    install -m 644 "$dir/tls/ca.pem" "$dir/ca.pem"
}

# The settings both nodes share (the standby is a copy of the primary's data directory).
settings() {
    cat <<EOF
# scripts/postgres.sh: a primary with one synchronous standby (deploy/postgres/README.md explains each line).
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/run'
ssl = on
ssl_cert_file = 'server.pem'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
# A commit waits until the standby has written it to disk (synchronous_standby_names, set by ALTER SYSTEM once
# the standby streams: before that every commit would wait for it): an acked message's effect is on two hosts.
synchronous_commit = on
archive_mode = on
archive_command = 'test ! -f $dir/archive/%f && cp %p $dir/archive/%f'
log_connections = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

hba() {
    cat <<'EOF'
# TYPE     DATABASE     USER              ADDRESS         METHOD
local      all          postgres                          peer
hostssl    mash         mash_coordinator  127.0.0.1/32    scram-sha-256
hostssl    mash         mash_reader       127.0.0.1/32    scram-sha-256
hostssl    replication  mash_replicator   127.0.0.1/32    scram-sha-256
host       all          all               0.0.0.0/0       reject
host       all          all               ::/0            reject
local      all          all                               reject
EOF
}

create_primary() {
    local data=$dir/primary
    mkdir -p "$dir/run" "$dir/archive" "$dir/credentials" "$dir/log"
    chmod 700 "$dir/credentials"
    for role in mash_coordinator mash_reader mash_replicator; do
        [ -f "$dir/credentials/$role" ] || (umask 077; openssl rand -hex 24 >"$dir/credentials/$role")
    done
    tls
    mkdir -p "$data"
    chown "$owner" "$dir/run" "$dir/archive" "$dir/log" "$data"
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=reject -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" || fail "initdb failed; see $dir/initdb.log"
    settings >>"$data/postgresql.conf"
    echo "port = $port" >>"$data/postgresql.conf"
    hba >"$data/pg_hba.conf"
    install -o "$owner" -m 600 "$dir/tls/servers/postgres.pem" "$data/server.pem"
    install -o "$owner" -m 600 "$dir/tls/servers/postgres.key" "$data/server.key"
    start primary
    sql primary "CREATE ROLE mash_coordinator LOGIN PASSWORD '$(password mash_coordinator)'"
    sql primary "CREATE ROLE mash_reader LOGIN PASSWORD '$(password mash_reader)'"
    sql primary "CREATE ROLE mash_replicator LOGIN REPLICATION PASSWORD '$(password mash_replicator)'"
    sql primary "CREATE DATABASE mash OWNER mash_coordinator"
    as_owner "$bin/psql" -X -q -h "$dir/run" -p "$port" -U postgres -d mash -v ON_ERROR_STOP=1 <<'EOF'
REVOKE ALL ON DATABASE mash FROM PUBLIC;
GRANT CONNECT ON DATABASE mash TO mash_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO mash_coordinator;
GRANT USAGE ON SCHEMA public TO mash_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE mash_coordinator IN SCHEMA public GRANT SELECT ON TABLES TO mash_reader;
EOF
    sql primary "SELECT pg_create_physical_replication_slot('standby')" >/dev/null
}

create_standby() {
    local data=$dir/standby
    mkdir -p "$data"
    chown "$owner" "$data"
    chmod 700 "$data"
    local pass=$dir/standby.pgpass
    (umask 077; echo "127.0.0.1:$port:replication:mash_replicator:$(password mash_replicator)" >"$pass")
    chown "$owner" "$pass"
    as_owner env PGPASSFILE="$pass" "$bin/pg_basebackup" -D "$data" -S standby -X stream \
        -d "host=127.0.0.1 port=$port user=mash_replicator sslmode=verify-full sslrootcert=$dir/ca.pem" \
        >"$dir/basebackup.log" 2>&1 || fail "pg_basebackup failed; see $dir/basebackup.log"
    as_owner touch "$data/standby.signal"
    cat <<EOF | as_owner tee -a "$data/postgresql.auto.conf" >/dev/null
port = $standby_port
primary_conninfo = 'host=127.0.0.1 port=$port user=mash_replicator passfile=$pass sslmode=verify-full sslrootcert=$dir/ca.pem application_name=standby'
primary_slot_name = 'standby'
EOF
}

# wait_replication COLUMN VALUE WHAT: until pg_stat_replication's COLUMN is VALUE for the standby (30 s).
wait_replication() {
    for _ in $(seq 1 300); do
        [ "$(sql primary "SELECT $1 FROM pg_stat_replication WHERE application_name = 'standby'" 2>/dev/null)" \
            = "$2" ] && return 0
        sleep 0.1
    done
    fail "the standby did not $3 in 30 s; see $dir/log/standby.log"
}

verb=${1:-}
[ -n "$verb" ] || usage
shift || true
case "$verb" in
    up)
        [ -d "$dir/primary" ] || create_primary
        start primary
        [ -d "$dir/standby" ] || create_standby
        start standby
        if [ -z "$(sql primary "SHOW synchronous_standby_names")" ]; then
            wait_replication state streaming stream
            sql primary "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby)'"
            sql primary "SELECT pg_reload_conf()" >/dev/null
        fi
        wait_replication sync_state sync "become synchronous"
        say "primary 127.0.0.1:$port, synchronous standby 127.0.0.1:$standby_port (TLS; data in $dir)"
        ;;
    down)
        for node in standby primary; do
            [ -d "$dir/$node" ] && running "$node" && as_owner "$bin/pg_ctl" -D "$dir/$node" -m fast -w stop >/dev/null
        done
        true
        ;;
    reset)
        "$0" down || true
        rm -rf "$dir"
        ;;
    env)
        url() { echo "postgresql://$1@127.0.0.1:$2/mash?sslmode=verify-full&sslrootcert=$dir/ca.pem"; }
        echo "MASH_PG_PRIMARY_URL='$(url mash_coordinator "$port")'"
        echo "MASH_PG_STANDBY_URL='$(url mash_coordinator "$standby_port")'"
        echo "MASH_PG_READER_URL='$(url mash_reader "$port")'"
        echo "MASH_PG_CREDENTIALS='$dir/credentials'"
        echo "MASH_PG_CA='$dir/ca.pem'"
        ;;
    stop)
        node=${1:?stop primary|standby}
        running "$node" && as_owner "$bin/pg_ctl" -D "$(node_dir "$node")" -m immediate -w stop >/dev/null
        true
        ;;
    start)
        start "${1:?start primary|standby}"
        ;;
    promote)
        as_owner "$bin/pg_ctl" -D "$dir/standby" -w promote >/dev/null
        say "the standby (127.0.0.1:$standby_port) is the primary now"
        ;;
    psql)
        node=${1:?psql primary|standby}
        shift
        as_owner "$bin/psql" -X -h "$dir/run" -p "$(node_port "$node")" -U postgres "$@"
        ;;
    *) usage ;;
esac
