# Checks for the shell test passes (Tests/Deploy, Tests/BringUp, Tests/Browser): each check prints ok or FAIL and counts
# failures, so one run reports every failure; `finish NAME` ends the script with the verdict.
failures=0

pass() { echo "  ok   $*"; }
flunk() { echo "  FAIL $*" >&2; failures=$((failures + 1)); }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else flunk "$what"; fi
}
finish() {
    if [ "$failures" -gt 0 ]; then
        echo "$1: $failures check(s) failed${2:+; $2}" >&2
        exit 1
    fi
    echo "$1: every check passed${2:+; $2}"
}

# await_true SECONDS COMMAND...: polls the command until it succeeds; fails if it has not within SECONDS.
await_true() {
    local seconds=$1 i
    shift
    for i in $(seq 1 $((seconds * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
# await_text FILE SECONDS TEXT: waits for TEXT to appear in FILE.
await_text() { await_true "$2" grep -qF -- "$3" "$1" 2>/dev/null; }

# A pass that runs its own hub (make run) must not reach the test node's settings, which make test exports.
forget_test_node() {
    unset MASH_AMQP_URL MASH_AMQPS_URL MASH_AMQPS_PORT MASH_OPERATOR_URL MASH_SPA_URL MASH_BROKER_MANAGEMENT_URL \
        MASH_BROKER_TLS_PORT MASH_BROKER_MGMT_PORT MASH_BROKER_DIST_PORT MASH_BROKER_NODE MASH_BROKER_PROMETHEUS_URL \
        MASH_BROKER_PROMETHEUS_PORT
}
