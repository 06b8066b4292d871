#!/usr/bin/env python3
"""Synthetic weekly school rolls for `make bench` (fixed seed; every person is invented).

Writes OUT/week1/<urn>.csv and OUT/week2/<urn>.csv for SCHOOLS schools holding PUPILS pupils in all, in the
CSV columns of docs/protocol.md. Week 2 has about 2 % leavers (half with a ground and destination, half simply
gone), 2 % joiners mid-term, a few invalid UPN check letters and identity conflicts, and messy spacing/case.
"""
import argparse, os, random

LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
FORENAMES = "Amy Ben Cal Dee Eve Fay Gus Hal Ivy Jo Kai Lee Mia Ned Ola Pat Ria Sam Tia Uma Vic Wes Zoe".split()
SURNAMES = "Carter Khan Jones Patel Smith Brown Green Hill Lowe Moss Price Reid Shaw Todd Wood Young".split()
HEADER = "UPN,Surname,Forename,DOB,EntryDate,Gender,YearGroup,LeavingDate,LeavingReason,Destination\n"


def upn(la, serial):
    body = f"{la:03d}{serial:09d}"[:12]
    total = sum(int(c) * (i + 2) for i, c in enumerate(body))
    return LETTERS[total % 23] + body


def pupil(rng, la, serial):
    year = rng.randint(1, 11)
    return {
        "upn": upn(la, serial), "surname": rng.choice(SURNAMES), "forename": rng.choice(FORENAMES),
        "dob": f"{2020 - year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "entry": f"{2026 - min(year, 5)}-09-0{rng.randint(2, 7)}", "gender": rng.choice("MF"), "year": str(year),
        "leaving": "", "reason": "", "destination": "",
    }


def row(p, messy=False):
    values = [p["upn"], p["surname"], p["forename"], p["dob"], p["entry"], p["gender"], p["year"],
              p["leaving"], p["reason"], p["destination"]]
    if messy:
        values[0] = " " + values[0].lower() + " "
        values[1] = values[1].upper()
    return ",".join(values) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=250_000)
    parser.add_argument("--schools", type=int, default=600)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(20261123)
    for week in ("week1", "week2"):
        os.makedirs(os.path.join(args.out, week), exist_ok=True)
    serial = 0
    for index in range(args.schools):
        urn = f"{700000 + index:06d}"
        size = args.pupils // args.schools + (1 if index < args.pupils % args.schools else 0)
        roll = []
        for _ in range(size):
            serial += 1
            roll.append(pupil(rng, 887, serial))
        with open(os.path.join(args.out, "week1", urn + ".csv"), "w") as f:
            f.write(HEADER)
            f.writelines(row(p) for p in roll)
        week2 = []
        for p in roll:
            r = rng.random()
            if r < 0.01:
                continue  # gone with no ground
            q = dict(p)
            if r < 0.02:
                q.update(leaving="2026-11-20", reason="Moved to another school", destination="700001")
            elif r < 0.021:
                q["upn"] = q["upn"][:-1] + str((int(q["upn"][-1]) + 1) % 10)  # check letter no longer fits
            elif r < 0.022:
                q.update(forename="Zed", dob="2010-01-01")  # same UPN, another child
            week2.append((q, r < 0.05))
        for _ in range(max(1, size // 50)):
            serial += 1
            p = pupil(rng, 887, serial)
            p["entry"] = "2026-11-18"
            week2.append((p, False))
        with open(os.path.join(args.out, "week2", urn + ".csv"), "w") as f:
            f.write(HEADER)
            f.writelines(row(p, messy) for p, messy in week2)


main()
