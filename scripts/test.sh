#!/usr/bin/env bash
# `make test`: installs what is missing, starts a fresh private RabbitMQ node (its own ports and data folder
# under .build/broker-test), runs every test against it, and stops it whatever the result.
# The broker-outage tests stop and kill the node, so they run in a pass after the others; then the deploy
# files are checked and the whole hub is brought up as a newcomer would (`make run`, `make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's headless Chromium and its driver for the desks' browser test; Prometheus and Alertmanager (promtool,
# amtool) for deploy/prometheus, checked by their own tools and run against live services.
scripts/deps.sh chromium chromium-driver prometheus prometheus-alertmanager

# Interop tests run independent libraries (joserfc for JOSE, holidays for the calendar) from a virtual
# environment of our own; the browser test drives Chromium with Selenium and checks pages with axe-core.
venv=$PWD/.build/venv
if ! "$venv/bin/python" -c 'import joserfc, holidays, selenium, axe_selenium_python' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'joserfc>=1.6,<2' 'holidays>=0.50' \
        'selenium>=4.20,<5' 'axe-selenium-python>=2.1,<3'
fi
export MASH_PYTHON=$venv/bin/python

export MASH_BROKER_DIR=$PWD/.build/broker-test
export MASH_BROKER_PORT=${MASH_TEST_BROKER_PORT:-27672}

# A second node on its own ports, as a placing authority's own broker (missing from home and care): the hub
# reaches it through shovels (deploy/rabbitmq/authorities.sh). Its variables are the hub node's with the
# prefix MASH_AUTHORITY_.
authority() {
    MASH_BROKER_DIR=$PWD/.build/broker-authority MASH_BROKER_PORT=${MASH_TEST_AUTHORITY_PORT:-27702} \
        MASH_BROKER_DEFINITIONS=$PWD/deploy/rabbitmq/authority/definitions.json scripts/broker.sh "$@"
}

# A failed test must not leave a coordinator it started running against the next run's node.
trap 'pkill -9 -f "$PWD/.build/debug/mash-" 2>/dev/null || true; scripts/broker.sh down || true; authority down || true' EXIT
scripts/broker.sh reset >/dev/null
scripts/broker.sh up
authority reset >/dev/null
authority up
set -a
eval "$(scripts/broker.sh env)"
eval "$(authority env | sed 's/^MASH_/MASH_AUTHORITY_/')"
set +a

swift format lint --strict --recursive Package.swift Sources Tests Benchmarks
swift build --build-tests -Xswiftc -warnings-as-errors
# The coordinator tests each run in a vhost of their own, three at a time (TestVhost); a pass of their own keeps
# the other tests' load off their clocks. The broker-restart tests stop the node, so they run alone.
# PostgresStoreTests.PostgresStoreTests need the PostgreSQL pair: Tests/Deploy/check-postgres.sh runs them while it is up.
swift test --skip-build --skip BrokerRecoveryTests --skip CoordinatorTests --skip PostgresStoreTests.PostgresStoreTests
# FailoverTests need the PostgreSQL pair: Tests/Deploy/check-postgres.sh runs them while it is up, and runs these
# coordinator tests again with the store on PostgreSQL (MASH_TEST_STORE=postgres).
swift test --skip-build --filter CoordinatorTests --skip FailoverTests
swift test --skip-build --filter BrokerRecoveryTests
# The deploy files for a real hub, checked for real: the systemd units, and a three-node cluster booted from
# the RabbitMQ config.
Tests/Deploy/verify-deploy.sh
# deploy/prometheus: promtool check and test rules (each alert fires from synthetic series, quiet when healthy),
# amtool on the routes.
Tests/Deploy/check-prometheus.sh
# deploy/postgres: a primary and a synchronous standby (scripts/postgres.sh, Debian's PostgreSQL): TLS and
# least-privilege roles, a commit on both disks before it returns, none while the standby is down, the primary
# lost and the standby promoted with every committed row.
Tests/Deploy/check-postgres.sh
# The newcomer's path: make run from nothing (TLS), make demo, Ctrl-C during a second demo, make run again
# (every enquiry completes), SIGTERM. Same build flags as above, so make run's build is the one just made.
MASH_SWIFT_BUILD_FLAGS="--build-tests -Xswiftc -warnings-as-errors" Tests/BringUp/run-and-demo.sh
# The desks in a real browser: make run with five desks, make demo, a kill -9 of the hub before a package is
# opened, then headless Chromium signs in, decides, acknowledges and is refused where it should be (axe-core on
# every page; screenshots in .build/test-output/desks/).
MASH_SWIFT_BUILD_FLAGS="--build-tests -Xswiftc -warnings-as-errors" Tests/Browser/run-desks.sh
