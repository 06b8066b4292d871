#!/usr/bin/env python3
"""The baseline `make bench` sets the hub's CTF roll reader against: Python's ElementTree (the C expat parser)
reading every CTF file in FOLDER into a dict per pupil: the header's qualifier and URN, the pupil's values
stripped, its own school history entry. Prints JSON: records, seconds, records per second.
usage: roll-ctf-baseline.py FOLDER"""
import json, os, sys, time
import xml.etree.ElementTree as ET

folder = sys.argv[1]
start = time.perf_counter()
records = 0
for name in sorted(os.listdir(folder)):
    root = ET.parse(os.path.join(folder, name)).getroot()
    qualifier = (root.findtext("Header/DocumentQualifier") or "").strip().lower()
    urn = (root.findtext("Header/SourceSchool/URN") or "").strip()
    pupils = []
    for pupil in root.iterfind("CTFpupilData/Pupil"):
        values = {tag: (pupil.findtext(tag) or "").strip() for tag in ("UPN", "Surname", "Forename", "DOB", "Gender")}
        values["YearGroup"] = (pupil.findtext("BasicDetails/NCyearActual") or "").strip()
        postcode = pupil.find("Address//PostCode")
        values["Postcode"] = (postcode.text or "").strip() if postcode is not None else ""
        schools = pupil.findall("SchoolHistory/School")
        own = next((s for s in reversed(schools) if (s.findtext("URN") or "").strip() == urn), schools[-1] if schools else None)
        for tag in ("EntryDate", "LeavingDate", "LeavingReason"):
            values[tag] = (own.findtext(tag) or "").strip() if own is not None else ""
        pupils.append(values)
    records += len(pupils)
seconds = time.perf_counter() - start
print(json.dumps({"records": records, "seconds": seconds, "records_per_s": records / seconds}))
