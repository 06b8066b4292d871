#!/usr/bin/env python3
"""Writes each roll CSV in FOLDER as the Common Transfer File the hub reads (CTfile/Header, CTFpupilData/Pupil
with the pupil's own SchoolHistory entry), into OUT: the CTF side of `make bench`'s roll rows.
usage: ctf-from-csv.py FOLDER OUT"""
import csv, os, sys
from xml.sax.saxutils import escape

folder, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for name in sorted(os.listdir(folder)):
    if not name.endswith(".csv"):
        continue
    urn = name[:-4]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<CTfile>", "  <Header>",
             "    <DocumentName>Common Transfer File</DocumentName>",
             "    <DocumentQualifier>full</DocumentQualifier>",
             f"    <SourceSchool><URN>{urn}</URN></SourceSchool>", "  </Header>", "  <CTFpupilData>"]
    with open(os.path.join(folder, name), newline="") as f:
        for row in csv.DictReader(f):
            v = {k: escape(val) for k, val in row.items()}
            school = f"<URN>{urn}</URN><EntryDate>{v['EntryDate']}</EntryDate>"
            if v.get("LeavingDate"):
                school += f"<LeavingDate>{v['LeavingDate']}</LeavingDate><LeavingReason>{v.get('LeavingReason', '')}</LeavingReason>"
            lines += ["    <Pupil>",
                      f"      <UPN>{v['UPN']}</UPN><Surname>{v['Surname']}</Surname><Forename>{v['Forename']}</Forename>",
                      f"      <DOB>{v['DOB']}</DOB><Gender>{v.get('Gender', '')}</Gender>",
                      f"      <BasicDetails><NCyearActual>{v.get('YearGroup', '')}</NCyearActual></BasicDetails>",
                      f"      <Address><BS7666Address><PostCode>{v.get('Postcode', '')}</PostCode></BS7666Address></Address>",
                      f"      <SchoolHistory><School>{school}</School></SchoolHistory>",
                      "    </Pupil>"]
    lines += ["  </CTFpupilData>", "</CTfile>", ""]
    with open(os.path.join(out, urn + ".xml"), "w") as f:
        f.write("\n".join(lines))
