#!/usr/bin/env python3
"""Synthetic agency extracts for development, tests and benchmarks. No real people: every name, date and
identifier is drawn from a seeded random generator, so the same seed always gives the same files.

    scripts/synthetic-extracts.py --out .build/extracts            seven agency extracts (csv / sqlite)
    scripts/synthetic-extracts.py --labelled 10000 --out DIR       records.csv + queries.csv with the truth,
                                                                   for measuring matching quality

Each agency sees the same families through its own, imperfect records: typos, nicknames, day and month
swapped, moved addresses, missing identifiers, names the wrong way round, odd case and spacing. Families give
realistic near misses too: siblings and twins share a surname, an address and sometimes a birthday.

Every extract also holds the demonstration child Ellie Testperson (born 2016-03-14, NHS number 943 476 5919,
UPN A123456789012, ME4 4AA), recorded a little differently by each agency, so a sample enquiry finds something.
"""
import argparse
import csv
import os
import random
import sqlite3

GIRLS = """Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna Poppy
Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Ruby Maya Alice Sophie Eleanor Chloe Zoe
Hannah Jessica Megan Abigail Victoria Rebecca Katherine Elizabeth Margaret Amira Aisha Zainab Maryam Priya Anika
Chloé Zoë Niamh Siobhan Aoife Leah Layla Nadia Yasmin Imogen Harriet Madeleine Josephine Samantha Jennifer""".split()
BOYS = """Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie Finley
Alfie Thomas Jacob William James Joshua Lucas Alexander Edward Samuel Daniel Benjamin Matthew Nicholas Christopher
Joseph Michael Richard Robert Anthony Stephen Andrew David Peter Patrick Frederick Nathaniel Zachary Gabriel Mohammed
Ibrahim Yusuf Omar Ravi Arjun Kofi Kwame Tomasz Jakub Mateusz José Luca Rhys Dylan Callum Connor Liam Ethan""".split()
SURNAMES = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright
Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris
Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths
Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon
Harvey Okafor Adeyemi Mensah Kowalski Nowak Novak O'Brien O'Connor McDonald MacLeod Fernández García Müller Şahin
Nguyen Chen Wang Kaur Ahmed Rahman Chowdhury Okonkwo Achterberg""".split()
NICKNAMES = {
    "William": "Will", "Robert": "Bobby", "Elizabeth": "Beth", "Margaret": "Maggie", "Katherine": "Katie",
    "Alexander": "Alex", "Thomas": "Tom", "James": "Jamie", "Michael": "Mikey", "Richard": "Ricky",
    "Edward": "Eddie", "Charlotte": "Lottie", "Daniel": "Danny", "Matthew": "Matty", "Christopher": "Chris",
    "Joseph": "Joe", "Samuel": "Sam", "Samantha": "Sammie", "Benjamin": "Ben", "Nicholas": "Nick",
    "Anthony": "Tony", "Jennifer": "Jenny", "Rebecca": "Becky", "Victoria": "Vicky", "Abigail": "Abby",
    "Olivia": "Liv", "Oliver": "Ollie", "Isabella": "Bella", "Amelia": "Millie", "Harriet": "Hattie",
    "Henry": "Harry", "Frederick": "Freddie", "Patrick": "Paddy", "Stephen": "Steve", "Peter": "Pete",
    "David": "Dave", "Andrew": "Andy", "Jacob": "Jake", "Joshua": "Josh", "Nathaniel": "Nathan",
    "Zachary": "Zach", "Eleanor": "Ellie", "Sophia": "Sophie", "Jessica": "Jess", "Madeleine": "Maddie",
    "Theodore": "Theo", "Josephine": "Josie", "Mohammed": "Mo", "Muhammad": "Mohammed", "Gabriel": "Gabe",
}
STREETS = """High Street|Station Road|Church Lane|Victoria Road|Castle View|Mill Road|Park Avenue|Maidstone Road|
Canterbury Street|Luton Road|Balmoral Road|Watling Street|Pier Road|Dock Road|Chatham Hill|Magpie Hall Road|
Rainham Road|Walderslade Road|Princes Avenue|Gillingham Road""".replace("\n", "").split("|")
TOWNS = {"ME1": "Rochester", "ME2": "Strood", "ME3": "Hoo", "ME4": "Chatham", "ME5": "Walderslade",
         "ME7": "Gillingham", "ME8": "Rainham"}
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
TODAY = (2026, 11, 23)


def nhs_number(rng):
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        digits[0] = rng.randint(4, 9)
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def upn(rng):
    body = "886%04d%02d%03d" % (rng.randint(2000, 6999), rng.randint(10, 26), rng.randint(0, 999))
    total = sum(int(c) * (i + 2) for i, c in enumerate(body))
    return UPN_LETTERS[total % 23] + body


def pnc(rng, year):
    serial = rng.randint(1, 999999)
    yy = year % 100
    return "%02d/%07d%s" % (yy, serial, PNC_LETTERS[(yy * 10_000_000 + serial) % 23])


def postcode(rng):
    outward = rng.choice(list(TOWNS))
    return "%s %d%s%s" % (outward, rng.randint(1, 9), rng.choice("ABDEFGHJLNPQRSTUWXYZ"), rng.choice("ABDEFGHJLNPQRSTUWXYZ"))


def address(rng, code):
    return "%d %s, %s" % (rng.randint(1, 180), rng.choice(STREETS), TOWNS[code.split()[0]])


def birth_date(rng, min_age, max_age):
    """A birthday in the past (a newborn's too): a date after TODAY is drawn again."""
    while True:
        born = (TODAY[0] - rng.randint(min_age, max_age), rng.randint(1, 12), rng.randint(1, 28))
        if born <= TODAY:
            return born


def families(rng, count):
    """Households: one or two adults and one to four children, sharing a surname and an address."""
    people = []
    for family in range(count):
        surname = rng.choice(SURNAMES)
        if rng.random() < 0.08:
            surname = surname + "-" + rng.choice(SURNAMES)
        code = postcode(rng)
        home = address(rng, code)
        members = []
        for role in ["mother"] + (["father"] if rng.random() < 0.55 else []):
            sex = "female" if role == "mother" else "male"
            members.append(dict(role=role, sex=sex, forename=rng.choice(GIRLS if sex == "female" else BOYS),
                                dob=birth_date(rng, 20, 48)))
        twin = None
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            sex = rng.choice(["female", "male"])
            dob = twin if twin and rng.random() < 0.5 else birth_date(rng, 0, 17)
            twin = dob if rng.random() < 0.04 else None
            members.append(dict(role="child", sex=sex, forename=rng.choice(GIRLS if sex == "female" else BOYS), dob=dob))
        for member in members:
            member.update(family=family, surname=surname, postcode=code, address=home, nhs=nhs_number(rng),
                          upn=upn(rng) if member["role"] == "child" and 4 <= TODAY[0] - member["dob"][0] <= 16 else "",
                          pnc="")
            people.append(member)
    for i, person in enumerate(people):
        person["id"] = i + 1
    return people


def typo(rng, text):
    if len(text) < 3:
        return text
    i = rng.randint(1, len(text) - 2)
    kind = rng.random()
    if kind < 0.33:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.66:
        return text[:i] + text[i + 1:]
    return text[:i] + rng.choice("aeiourstnl") + text[i + 1:]


def noisy(rng, person, level=1.0):
    """The person as one agency recorded them."""
    forename, surname = person["forename"], person["surname"]
    year, month, day = person["dob"]
    code, home = person["postcode"], person["address"]
    r = lambda p: rng.random() < p * level
    if r(0.10) and forename in NICKNAMES:
        forename = NICKNAMES[forename]
    if r(0.08):
        forename = typo(rng, forename)
    if r(0.08):
        surname = typo(rng, surname)
    if "-" in surname and r(0.3):
        surname = rng.choice([surname.replace("-", " "), surname.split("-")[0]])
    if r(0.05) and day <= 12 and (year, day, month) <= TODAY:
        month, day = day, month
    if r(0.12):
        code = postcode(rng)
        home = address(rng, code)
    if r(0.02):
        forename, surname = surname, forename
    if r(0.10):
        forename, surname = forename.upper(), surname.upper()
    if r(0.05):
        surname = "  " + surname.lower() + " "
    return dict(forename=forename, surname=surname, dob="%04d-%02d-%02d" % (year, month, day), gender=person["sex"],
                nhs="" if r(0.25) else person["nhs"], upn="" if r(0.25) else person["upn"],
                pnc=person["pnc"], postcode=code if not r(0.05) else "", address=home)


def ellie(variant):
    base = dict(role="child", forename="Ellie", surname="Testperson", dob=(2016, 3, 14), sex="female",
                nhs="9434765919", upn="A123456789012", pnc="", postcode="ME4 4AA", address="1 Sample Street, Chatham",
                family=-1, id=0)
    base.update(variant)
    return base


def pick(rng, people, share, test):
    return [p for p in people if test(p) and rng.random() < share]


def age(person):
    return TODAY[0] - person["dob"][0]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_sqlite(path, table, header, rows):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE %s (%s)" % (table, ", ".join("%s TEXT" % h for h in header)))
    db.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * len(header))), rows)
    db.commit()
    db.close()


def uk_date(iso):
    y, m, d = iso.split("-")
    return "%s/%s/%s" % (d, m, y)


def recent(rng):
    return "%04d-%02d-%02d" % (rng.choice([2024, 2025, 2026]), rng.randint(1, 10), rng.randint(1, 28))


def agency_extracts(rng, out):
    people = families(rng, 900)
    for p in people:
        if p["role"] != "child" or age(p) >= 10:
            if rng.random() < 0.3:
                p["pnc"] = pnc(rng, TODAY[0] - rng.randint(1, 12))

    police = pick(rng, people, 0.25, lambda p: True) + [ellie(dict(forename="ELLIE", surname="TESTPERSON"))]
    rows = []
    for p in police:
        n = noisy(rng, p)
        rows.append([n["forename"].strip(), n["surname"].strip(), n["dob"], n["gender"], n["pnc"], n["address"],
                     n["postcode"], rng.choice(["Domestic incident", "Missing person", "Assault", "Concern for welfare",
                                                "Criminal damage", "Anti-social behaviour"]),
                     rng.choice(["victim", "witness", "suspect", "subject", "present"]), recent(rng)])
    write_sqlite(os.path.join(out, "police.sqlite"), "nominals",
                 ["forename", "surname", "date_of_birth", "gender", "pnc_id", "address", "postcode", "occurrence",
                  "involvement", "occurrence_date"], rows)

    health = pick(rng, people, 0.9, lambda p: True) + [ellie(dict(forename="Eleanor", dob=(2016, 3, 14)))]
    rows = []
    for p in health:
        n = noisy(rng, p)
        rows.append([n["nhs"], n["forename"], n["surname"], uk_date(n["dob"]), n["gender"], n["postcode"],
                     rng.choice(["Rochester Health Centre", "Chatham Medical Practice", "Gillingham Surgery"]),
                     rng.choice(["", "", "", "Child protection plan (health visitor aware)", "Frequent A&E attender"]),
                     rng.choice(["", "A&E attendance, minor injury", "Missed immunisations", "Paediatric referral"]),
                     recent(rng)])
    write_csv(os.path.join(out, "health.csv"),
              ["nhs_number", "given_name", "family_name", "date_of_birth", "sex", "postcode", "gp_practice",
               "safeguarding_flag", "recent_contact", "contact_date"], rows)

    school_age = lambda p: p["role"] == "child" and 4 <= age(p) <= 16
    education = pick(rng, people, 0.9, school_age) + [ellie(dict(surname="Test-Person"))]
    rows = []
    for p in education:
        n = noisy(rng, p)
        rows.append([n["upn"], n["forename"], n["surname"], n["dob"], n["gender"], n["postcode"],
                     rng.choice(["Balfour Junior School", "Chatham Grammar", "Rainham Mark", "Hoo St Werburgh Primary"]),
                     "%d%%" % rng.randint(62, 100), rng.choice(["none", "none", "1 fixed-term", "2 fixed-term"]),
                     rng.choice(["", "", "", "SEN support", "EHC plan"]), "2026-09-04"])
    write_csv(os.path.join(out, "education.csv"),
              ["upn", "forename", "surname", "dob", "gender", "postcode", "school", "attendance", "exclusions",
               "send", "recorded_on"], rows)

    housing = pick(rng, people, 0.35, lambda p: True) + [ellie(dict(postcode="ME4 6QQ", address="9 Other Road, Chatham"))]
    rows = []
    for p in housing:
        n = noisy(rng, p)
        rows.append([n["forename"], n["surname"], n["dob"], n["address"], n["postcode"],
                     rng.choice(["secure tenancy", "temporary accommodation", "homeless application", "housing register"]),
                     rng.choice(["none", "none", "under 4 weeks", "over 8 weeks"]),
                     rng.choice(["", "", "noise complaint", "disrepair reported"]), recent(rng)])
    write_sqlite(os.path.join(out, "housing.sqlite"), "tenancies",
                 ["forename", "surname", "dob", "address", "postcode", "tenancy", "arrears", "notes", "updated_on"], rows)

    yos = pick(rng, people, 0.15, lambda p: p["role"] == "child" and 10 <= age(p) <= 17)
    yos += [ellie(dict(forename="Elly", pnc="", dob=(2016, 3, 14)))]
    rows = []
    for p in yos:
        n = noisy(rng, p)
        rows.append([n["pnc"], n["forename"], n["surname"], n["dob"], n["postcode"],
                     rng.choice(["Referral order", "Youth rehabilitation order", "Out of court disposal", "Prevention"]),
                     rng.choice(["case manager A", "case manager B"]), recent(rng)])
    write_csv(os.path.join(out, "yos.csv"),
              ["pnc_id", "forename", "surname", "dob", "postcode", "intervention", "worker", "start_date"], rows)

    probation = pick(rng, people, 0.12, lambda p: p["role"] != "child")
    probation += [ellie(dict(role="mother", forename="Jo", surname="Testperson", dob=(1990, 7, 2), nhs="", upn=""))]
    rows = []
    for p in probation:
        n = noisy(rng, p)
        rows.append([n["forename"], n["surname"], n["dob"], n["pnc"], n["postcode"],
                     rng.choice(["Community order", "Licence", "Suspended sentence order"]),
                     rng.choice(["low", "medium", "high"]), rng.choice(["", "domestic abuse perpetrator programme"]),
                     recent(rng)])
    write_sqlite(os.path.join(out, "probation.sqlite"), "supervisions",
                 ["forename", "surname", "dob", "pnc_id", "postcode", "supervision", "risk_of_serious_harm",
                  "programme", "start_date"], rows)

    turning = pick(rng, people, 0.08, lambda p: p["role"] != "child" or age(p) >= 13)
    turning += [ellie(dict(role="mother", forename="Joanne", surname="Testperson", dob=(1990, 7, 2), nhs="", upn=""))]
    rows = []
    for p in turning:
        n = noisy(rng, p)
        rows.append([n["forename"], n["surname"], n["dob"], n["postcode"],
                     rng.choice(["alcohol", "opiates", "cannabis", "cocaine"]),
                     rng.choice(["in treatment", "discharged", "referred"]), recent(rng)])
    write_csv(os.path.join(out, "turning-point.csv"),
              ["first_name", "last_name", "dob", "postcode", "substance", "status", "last_contact"], rows)


def labelled(rng, count, out):
    """An extract of `count` records and as many queries: 80 % describe someone in the extract (differently
    noised), 20 % someone who is not, often a sibling or twin of someone who is."""
    people = families(rng, int(count / 2.6) + 50)
    rng.shuffle(people)
    inside = people[:count]
    outside = people[count:]
    header = ["id", "forename", "surname", "dob", "gender", "nhs_number", "upn", "postcode"]
    write_csv(os.path.join(out, "records.csv"), header,
              [[p["id"]] + [noisy(rng, p, 0.6)[k] for k in ["forename", "surname", "dob", "gender", "nhs", "upn", "postcode"]]
               for p in inside])
    queries = []
    for i in range(count):
        if rng.random() < 0.8 or not outside:
            p, truth = rng.choice(inside), None
            truth = p["id"]
        else:
            p, truth = rng.choice(outside), ""
        n = noisy(rng, p, 1.0)
        queries.append([truth] + [n[k] for k in ["forename", "surname", "dob", "gender", "nhs", "upn", "postcode"]])
    write_csv(os.path.join(out, "queries.csv"), ["truth_id"] + header[1:], queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed (default 20261123)")
    parser.add_argument("--labelled", type=int, metavar="N", help="write a labelled matching set of N records instead")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    if args.labelled:
        labelled(rng, args.labelled, args.out)
    else:
        agency_extracts(rng, args.out)


if __name__ == "__main__":
    main()
