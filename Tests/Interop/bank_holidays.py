"""England and Wales bank holidays on weekdays, from the `holidays` package (independent of GOV.UK's file),
as a JSON list of yyyy-mm-dd strings: the calendar cross-check.

  bank_holidays.py FIRST_YEAR LAST_YEAR
"""
import json
import sys

import holidays

first, last = int(sys.argv[1]), int(sys.argv[2])
days = holidays.UK(subdiv="ENG", years=range(first, last + 1))
# A holiday on a Saturday or Sunday moves to a weekday substitute, which is the day that closes the MASH;
# GOV.UK lists only that day, `holidays` lists both.
print(json.dumps(sorted(d.isoformat() for d in days if d.weekday() < 5)))
