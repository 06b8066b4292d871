#!/usr/bin/env bash
# deploy/prometheus checked with Debian's own tools (a pass of `make test`): the scrape config and the rule
# files load (promtool check), every alert fires from synthetic series and stays quiet on a healthy hub's
# (promtool test rules), each alert has such a unit test, and Alertmanager's routes send each rota where it
# should (amtool). The rules on live data are CoordinatorTests' PrometheusTests.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/deploy/prometheus"
# shellcheck source=../Shell/checks.sh
. "$root/Tests/Shell/checks.sh"

check "promtool check config prometheus.yml" promtool check config prometheus.yml
check "promtool check rules rules/*.yml" promtool check rules rules/*.yml
check "promtool test rules tests/*.test.yml" promtool test rules tests/*.test.yml
# fires ALERT: a unit test expects ALERT firing (an exp_labels within two lines of its alertname).
fires() {
    awk -v alert="alertname: $1" '$0 ~ alert "$" { at = NR } at && NR <= at + 2 && /exp_labels/ { found = 1 }
        END { exit !found }' tests/mash-alerts.test.yml
}
for alert in $(sed -n 's/^ *- alert: \([A-Za-z]*\)$/\1/p' rules/mash-alerts.yml); do
    check "$alert fires in a unit test" fires "$alert"
    check "$alert is quiet on the healthy hub" grep -q "alertname: $alert, exp_alerts: \[\] }" tests/mash-alerts.test.yml
done
check "amtool check-config alertmanager.yml" amtool check-config alertmanager.yml
route() { # route LABELS... EXPECTED: the receiver Alertmanager picks for an alert with LABELS
    local expected=${*: -1}
    [ "$(amtool config routes test --config.file=alertmanager.yml "${@:1:$#-1}" 2>/dev/null)" = "$expected" ]
}
check "a Red breach pages the out-of-hours rota" \
    route alertname=MASHRedEnquiryBreached rag=red severity=page rota=out-of-hours out-of-hours
check "an Encompass notice unacknowledged pages the out-of-hours rota" \
    route alertname=MASHEncompassNoticeUnacknowledged severity=page rota=out-of-hours out-of-hours
check "a breach report due pages the MASH duty rota" route severity=page rota=mash-duty mash-duty-page
check "an amber breach goes to the MASH duty rota" route rag=amber severity=critical rota=mash-duty mash-duty
check "a silent adapter goes to IT operations" route agency=police severity=critical rota=it-operations it-operations
finish check-prometheus
