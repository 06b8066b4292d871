#!/usr/bin/env python3
"""The documents `make demo` sends: a Red and an Amber enquiry from the SPA, this week's rolls for the two
sample schools from Orchestra (990001 as CSV, 990002 as a CTF file), a High and a Standard Domestic Abuse
Notification from the police with children at those schools, and two missing children: one placed in Medway by
Kent County Council (missing, then found), one of Medway's own (missing, high risk). No real people: the Testperson family is the
demonstration family every synthetic extract holds (scripts/synthetic-extracts.py), the others are invented.

    scripts/demo-documents.py --out DIR [--now 2026-11-23T10:00:00Z]

Fresh ids on every run, times taken from --now (default: now), so the demo can run again and again.
"""
import argparse
import datetime as dt
import json
import os
import uuid


def instant(t):
    return t.astimezone(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def person(forename, surname, born, **more):
    return {"forename": forename, "surname": surname, "dateOfBirth": born, **more}


def enquiry(rag, reference, subject, household, reason, now):
    return {
        "schema": "mash.enquiry/1",
        "id": str(uuid.uuid4()),
        "reference": reference,
        "rag": rag,
        "receivedAt": instant(now),
        "referrer": "spa-worker-17",
        "reason": reason,
        "subject": subject,
        "household": household,
        "consent": {"status": "given", "givenBy": "mother", "recordedAt": instant(now)},
        "lawfulBasis": {"article6": "public-task", "article9": "substantial-public-interest",
                        "article10": "safeguarding-children"},
    }


def dan(level, reference, occurred, adults, children, circumstances, uplift=None):
    assessment = {"tool": "DASH", "toolVersion": "2009", "score": 17 if level == "high" else 6, "level": level}
    if uplift:
        assessment.update(uplift=uplift[0], upliftReason=uplift[1])
    return {
        "schema": "mash.domestic-abuse-notification/1",
        "id": str(uuid.uuid4()),
        "policeReference": reference,
        "occurredAt": instant(occurred),
        "place": "the family home, Chatham",
        "circumstances": circumstances,
        "riskAssessment": assessment,
        "adults": adults,
        "children": children,
    }


def missing(episode, reference, child, missing_from, place, reported, risk, flags=(), authority=None):
    document = {
        "schema": "mash.missing-report/1",
        "episodeID": episode,
        "policeReference": reference,
        "child": child,
        "missingFrom": missing_from,
        "place": place,
        "reportedAt": instant(reported),
        "lastSeenAt": instant(reported - dt.timedelta(hours=2)),
        "risk": risk,
        "circumstances": "Did not come back after school; phone switched off.",
    }
    if flags:
        document["exploitation"] = list(flags)
    if authority:
        document["placingAuthority"] = authority
    return document


def found(episode, found_at, where):
    return {
        "schema": "mash.found-report/1",
        "episodeID": episode,
        "foundAt": instant(found_at),
        "foundWhere": where,
        "safeAndWell": {"done": True, "by": "PC 4411 Harris", "at": instant(found_at + dt.timedelta(minutes=40))},
        "disclosures": "Said he had been staying with older boys in Gillingham.",
    }


def upn(digits):
    """A UPN with its DfE check letter: the sum of characters 2-13 weighted 2 to 13, modulo 23."""
    total = sum(int(c) * (i + 2) for i, c in enumerate(digits))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23] + digits


# Pupils: UPN, surname, forename, date of birth, gender, year group, entry date, postcode.
PRIMARY = [
    ("A123456789012", "Testperson", "Ellie", "2016-03-14", "F", "5", "2020-09-03", "ME4 4AA"),
    (upn("887990100001"), "Okafor", "Maya", "2019-01-20", "F", "2", "2023-09-06", "ME7 2BB"),
    (upn("887990100002"), "Begum", "Amira", "2018-06-11", "F", "3", "2022-09-07", "ME5 8CD"),
    (upn("887990100003"), "Nowak", "Jakub", "2017-10-02", "M", "4", "2021-09-08", "ME4 6EF"),
    (upn("887990100004"), "Wilson", "Freddie", "2020-02-29", "M", "1", "2024-09-04", "ME1 2GH"),
    (upn("887990100005"), "Patel", "Priya", "2021-04-17", "F", "R", "2025-09-03", "ME7 3JK"),
]
SECONDARY = [
    (upn("887990200001"), "Testperson", "Jack", "2012-05-02", "M", "9", "2023-09-05", "ME4 4AA"),
    (upn("887990200002"), "O'Connor", "Niamh", "2011-12-24", "F", "10", "2022-09-06", "ME2 4LM"),
    (upn("887990200003"), "Mensah", "Kofi", "2013-07-30", "M", "8", "2024-09-04", "ME8 7NP"),
    (upn("887990200004"), "García", "José", "2010-03-03", "M", "11", "2021-09-07", "ME5 9QR"),
]


def roll_csv(pupils):
    lines = ["UPN,Surname,Forename,DOB,Gender,YearGroup,EntryDate,Postcode"]
    for upn, surname, forename, born, gender, year, entry, postcode in pupils:
        lines.append(",".join([upn, surname, forename, born, gender, year, entry, postcode]))
    return "\n".join(lines) + "\n"


def roll_ctf(urn, name, pupils):
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<CTfile>", "  <Header>",
           "    <DocumentName>Common Transfer File</DocumentName>",
           "    <DocumentQualifier>full</DocumentQualifier>",
           f"    <SourceSchool><LEA>887</LEA><URN>{urn}</URN><SchoolName>{name}</SchoolName></SourceSchool>",
           "  </Header>", "  <CTFpupilData>"]
    for upn, surname, forename, born, gender, year, entry, postcode in pupils:
        out += ["    <Pupil>",
                f"      <UPN>{upn}</UPN><Surname>{surname}</Surname><Forename>{forename}</Forename>"
                f"<DOB>{born}</DOB><Gender>{gender}</Gender>",
                f"      <BasicDetails><NCyearActual>{year}</NCyearActual></BasicDetails>",
                f"      <Address><BS7666Address><PostCode>{postcode}</PostCode></BS7666Address></Address>",
                f"      <SchoolHistory><School><URN>{urn}</URN><EntryDate>{entry}</EntryDate></School></SchoolHistory>",
                "    </Pupil>"]
    out += ["  </CTFpupilData>", "</CTfile>"]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write the documents to (created)")
    parser.add_argument("--now", help="the demo's 'now', ISO 8601 with a zone (default: the clock)")
    args = parser.parse_args()
    now = (dt.datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now
           else dt.datetime.now(dt.timezone.utc))
    os.makedirs(args.out, exist_ok=True)
    mother = person("Jo", "Testperson", "1990-07-02", role="mother")
    father = person("Lee", "Testperson", "1988-01-15", role="father")

    placed_episode = str(uuid.uuid4())
    documents = {
        "red-enquiry.json": enquiry(
            "red", "FWI-204811",
            person("Ellie", "Testperson", "2016-03-14", gender="female", nhsNumber="9434765919",
                   upn="A123456789012", address="1 Sample Street, Chatham", postcode="ME4 4AA"),
            [mother, father, person("Jack", "Testperson", "2012-05-02", role="sibling")],
            "School reports bruising to Ellie's arm and a disclosure of shouting at home.", now),
        "amber-enquiry.json": enquiry(
            "amber", "FWI-204812",
            person("Maya", "Okafor", "2019-01-20", gender="female", postcode="ME7 2BB"),
            [person("Grace", "Okafor", "1994-09-09", role="mother")],
            "Nursery reports Maya often arrives hungry and unwashed.", now),
        "dan-high.json": dan(
            "medium", "46/80113/26", now - dt.timedelta(hours=3),
            [dict(mother, role="victim"), dict(father, role="alleged-perpetrator")],
            [dict(person("Ellie", "Testperson", "2016-03-14"), present=True),
             dict(person("Jack", "Testperson", "2012-05-02"), present=False)],
            "Officers attended a report of a man shouting and a door being kicked in; the mother had a facial "
            "injury. Ellie was in the house.",
            uplift=("high", "third incident in a month; escalating violence")),
        "dan-standard.json": dan(
            "standard", "46/80127/26", now - dt.timedelta(hours=2),
            [dict(person("Grace", "Okafor", "1994-09-09"), role="victim"),
             dict(person("Daniel", "Okafor", "1992-04-04"), role="alleged-perpetrator")],
            [dict(person("Maya", "Okafor", "2019-01-20"), present=True),
             dict(person("Noah", "Okafor", (now - dt.timedelta(days=150)).strftime("%Y-%m-%d")), present=True)],
            "Verbal argument overheard by a neighbour; no injuries; both children present."),
        # Tyler, placed in Medway by Kent County Council, missing from his children's home overnight and found
        # this morning; Niamh, a Medway child, missing from home since this afternoon, graded high risk.
        "missing-placed.json": missing(
            placed_episode, "KC/MISS/26/0412", person("Tyler", "Brooks", "2010-08-19", gender="male"), "care",
            "Riverside children's home, Rochester", now - dt.timedelta(hours=14), "medium",
            flags=("cce", "county-lines"), authority="la-kent"),
        "found-placed.json": found(placed_episode, now - dt.timedelta(hours=1), "a flat in Gillingham"),
        "missing-high.json": missing(
            str(uuid.uuid4()), "KC/MISS/26/0415", person("Niamh", "O'Connor", "2011-12-24", gender="female"),
            "home", "2 Canal Road, Strood", now - dt.timedelta(hours=2), "high", flags=("cse",)),
        # The Red enquiry as the school's Designated Safeguarding Lead makes it: the portal's referral form.
        "red-contact.json": {
            "child_forename": "Ellie", "child_surname": "Testperson", "child_dateOfBirth": "2016-03-14",
            "child_address": "1 Sample Street, Chatham", "child_postcode": "ME4 4AA",
            "child_nhsNumber": "9434765919", "child_upn": "A123456789012",
            "member1_role": "mother", "member1_forename": "Jo", "member1_surname": "Testperson",
            "member2_role": "sibling", "member2_forename": "Jack", "member2_surname": "Testperson",
            "concern": "Bruising to Ellie's upper arm this morning; she said her dad grabbed her, and that there "
                       "is shouting at home most nights.",
            "actionsTaken": "Recorded her words, told the head teacher, checked the school's own records.",
            "parentsAware": "yes", "consent": "given", "phone": "01634 000000",
        },
        "roll-990001.csv": roll_csv(PRIMARY),
        "roll-990002.xml": roll_ctf("990002", "Sample Secondary Academy", SECONDARY),
    }
    for name, document in documents.items():
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n" if isinstance(document, dict)
                    else document)
    print(documents["red-enquiry.json"]["id"], documents["amber-enquiry.json"]["id"])


if __name__ == "__main__":
    main()
