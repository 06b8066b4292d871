#!/usr/bin/env python3
"""A stand-in for an agency's own research program (the `command` backend), for tests.

    research_program.py answer            one finding about the subject, matched
    research_program.py garbage           prints something that is not JSON
    research_program.py hang              never answers
    research_program.py hang-with-child PIDS  starts a child that outlives it unless killed (its pid appended
                                          to PIDS, holding the output pipe), then never answers
    research_program.py slow MARKER SECS  creates MARKER, waits SECS, then answers (for crash tests)
    research_program.py record MARKER     appends to MARKER that it ran, then answers
    research_program.py outcome LOG       (as an `outcomes` command) appends the outcome it is given to LOG,
                                          one JSON line
"""
import json
import signal
import subprocess
import sys
import time

mode = sys.argv[1]
if mode == "outcome":
    outcome = json.load(sys.stdin)
    with open(sys.argv[2], "a") as log:
        log.write(json.dumps(outcome) + "\n")
    sys.exit(0)
if mode == "hang-with-child":
    # First, before anything slow: the test's timeout must find the child already started and recorded.
    child = subprocess.Popen(["sleep", "infinity"])
    with open(sys.argv[2], "a") as pids:
        pids.write("%d\n" % child.pid)
    signal.pause()
request = json.load(sys.stdin)
answer = {
    "outcome": "information-held",
    "findings": [{
        "summary": "Known to the service: %s %s, open case." % (request["subject"].get("forename", "?"),
                                                                  request["subject"].get("surname", "?")),
        "category": "personal",
        "recordedOn": "2026-10-01",
        "match": {"band": "match", "score": 0.97},
    }],
}
if mode == "garbage":
    print("Traceback (most recent call last): this is not JSON")
    sys.exit(0)
if mode == "hang":
    signal.pause()  # until the adapter's timeout stops it
if mode == "slow":
    open(sys.argv[2], "a").write("started\n")
    time.sleep(float(sys.argv[3]))
if mode == "record":
    open(sys.argv[2], "a").write("ran\n")
json.dump(answer, sys.stdout)
