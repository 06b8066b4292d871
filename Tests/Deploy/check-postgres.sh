#!/usr/bin/env bash
# The replicated store (issue #40), checked on this machine with Debian's PostgreSQL: scripts/postgres.sh
# brings up a primary and a synchronous standby as deploy/postgres describes, and this pass checks what the
# coordinator will rely on. Only TLS connections with a password are admitted; the coordinator's role owns its
# tables but is no superuser and cannot stream WAL; the reader only reads. A commit has reached the standby's disk
# when it returns, and while the standby is down a commit does not return (so nothing would be acked); once the
# standby is back the waiting commit completes. The primary lost at once (kill -9 of the cluster), the standby
# promoted holds every committed row and takes writes; the WAL was archived for point-in-time recovery. Every
# coordinator broker test runs again with its store on the pair, and two coordinators fail over (FailoverTests).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# shellcheck source=../Shell/checks.sh
. "$root/Tests/Shell/checks.sh"

export MASH_PG_DIR=$root/.build/postgres-test
export MASH_PG_PORT=${MASH_TEST_PG_PORT:-27432}
pg=$root/scripts/postgres.sh
trap '"$pg" down >/dev/null 2>&1 || true' EXIT
"$pg" reset
"$pg" up
eval "$("$pg" env)"

as() { # as ROLE URL SQL: psql over TLS as ROLE with its password
    PGPASSWORD=$(cat "$MASH_PG_CREDENTIALS/$1") psql -X -q -At -v ON_ERROR_STOP=1 "$2" -c "$3" 2>&1
}
coordinator() { as mash_coordinator "$MASH_PG_PRIMARY_URL" "$1"; }
superuser() { "$pg" psql "$1" -q -At -v ON_ERROR_STOP=1 -d postgres -c "$2"; }
refused() { ! "$@" >/dev/null 2>&1; }

check "the coordinator's role creates its table and writes over TLS (verify-full)" \
    coordinator "CREATE TABLE acked (id integer PRIMARY KEY); INSERT INTO acked VALUES (1)"
lsn=$(superuser primary "SELECT pg_current_wal_lsn()")
check "the commit was on the standby's disk when it returned" test "$(superuser primary \
    "SELECT flush_lsn >= '$lsn' AND sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'standby'")" = t
standby_has() { test "$(as mash_coordinator "$MASH_PG_STANDBY_URL" "SELECT count(*) FROM acked" 2>/dev/null)" = "$1"; }
check "the standby serves it (hot standby, once applied)" await_true 10 standby_has 1

check "a connection without TLS is refused" refused env PGPASSWORD="$(cat "$MASH_PG_CREDENTIALS/mash_coordinator")" \
    psql -X -At "host=127.0.0.1 port=$MASH_PG_PORT dbname=mash user=mash_coordinator sslmode=disable" -c "SELECT 1"
check "a wrong password is refused" refused env PGPASSWORD=wrong psql -X -At "$MASH_PG_PRIMARY_URL" -c "SELECT 1"
check "the coordinator's role is no superuser and creates no roles" \
    test "$(coordinator "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication FROM pg_roles WHERE rolname = current_user")" = f
# The coordinator's engine against the pair: every kind of value and statement the flows use, the coordinator's
# migrations (once, under a lock; the ledger append-only), the lease (taken only when expired; its old holder's
# writes refused). Built by make test's swift build before this pass.
check "the PostgreSQL engine, the coordinator's migrations and the lease (PostgresStoreTests)" env \
    MASH_PG_PRIMARY_URL="$MASH_PG_PRIMARY_URL" MASH_PG_CREDENTIALS="$MASH_PG_CREDENTIALS" \
    swift test --skip-build --filter PostgresStoreTests.PostgresStoreTests
# Every coordinator broker test a second time with the store on the pair (each test a schema of its own, the
# in-process coordinator and mashctl on the coordinator role's URL): the same assertions as make test's SQLite
# pass, against the private broker.
check "every coordinator broker test on PostgreSQL with its synchronous standby (CoordinatorTests, MASH_TEST_STORE=postgres)" \
    env MASH_TEST_STORE=postgres MASH_PG_PRIMARY_URL="$MASH_PG_PRIMARY_URL" MASH_PG_STANDBY_URL="$MASH_PG_STANDBY_URL" \
    MASH_PG_CREDENTIALS="$MASH_PG_CREDENTIALS" swift test --skip-build --filter CoordinatorTests --skip FailoverTests
check "the reader reads" test "$(as mash_reader "$MASH_PG_READER_URL" "SELECT count(*) FROM acked")" = 1
check "the reader cannot write" refused as mash_reader "$MASH_PG_READER_URL" "INSERT INTO acked VALUES (9)"
check "the replicator cannot log in to the database" refused as mash_replicator "$MASH_PG_PRIMARY_URL" "SELECT 1"

# The standby lost: a commit waits for it (the coordinator would not ack), and completes when it is back.
"$pg" stop standby
waiting=$(mktemp)
(coordinator "INSERT INTO acked VALUES (2)" >"$waiting" 2>&1; echo "rc=$?" >>"$waiting") &
writer=$!
sleep_until() { for _ in $(seq 1 20); do [ -s "$waiting" ] && return 1; sleep 0.1; done; return 0; }
check "without the standby the commit does not return" sleep_until
"$pg" start standby
check "once the standby is back the waiting commit completes" await_true 30 grep -q "rc=0" "$waiting"
wait "$writer" || true
rm -f "$waiting"

superuser primary "SELECT pg_switch_wal()" >/dev/null
check "the WAL is archived (point-in-time recovery)" await_true 30 bash -c "ls '$MASH_PG_DIR/archive' | grep -q '^0000'"

# The primary's host lost at once; the standby promoted holds every committed row and takes writes.
"$pg" stop primary
"$pg" promote
check "the promoted standby holds every committed row" await_true 30 standby_has 2
check "the promoted standby takes writes" as mash_coordinator "$MASH_PG_STANDBY_URL" "INSERT INTO acked VALUES (3)"

# Two coordinators on a fresh pair, the private broker and test agencies (FailoverTests): the active one killed
# with kill -9 and then the primary lost and the standby promoted, under a stream of enquiries and answers; and
# the active one paused past its lease with SIGSTOP, then resumed. They stop and promote the pair themselves.
"$pg" down
"$pg" reset >/dev/null
"$pg" up
eval "$("$pg" env)"
check "failover: kill -9 of the active coordinator, the primary lost; a paused holder stops (FailoverTests)" env \
    MASH_PG_PRIMARY_URL="$MASH_PG_PRIMARY_URL" MASH_PG_STANDBY_URL="$MASH_PG_STANDBY_URL" \
    MASH_PG_CREDENTIALS="$MASH_PG_CREDENTIALS" MASH_PG_DIR="$MASH_PG_DIR" MASH_PG_PORT="$MASH_PG_PORT" \
    swift test --skip-build --filter FailoverTests

"$pg" down
finish postgres "data in $MASH_PG_DIR"
