#!/usr/bin/env python3
"""Fits the matcher's weights (MatchWeights.tuned in Sources/MASHCore/IdentityMatching.swift) from the
tuning half of a labelled set, and prints them as Swift.

    swift build -c release --product matching-bench
    scripts/linkage-set.py --out .build/linkage
    .build/release/matching-bench .build/linkage/tune --comparisons /tmp/comparisons.csv
    scripts/tune-matching.py /tmp/comparisons.csv [--precision 0.995]

Each field's weight at each level of agreement is fitted by logistic regression on the pairs the index
compares (every record sharing a block with a query), telling a person's own record from the others. The match threshold is the
lowest total at which each query's best candidate is right at least --precision of the time on this half;
the potential-match threshold is where a best candidate is right no more than half the time. Both are turned
into the score's centre and scale so that the default thresholds (0.85 and 0.3) fall on them. Which way round
the names were compared was decided with the weights of the run that wrote the file: run it twice.
"""
import argparse
import csv
import math

import numpy as np
from sklearn.linear_model import LogisticRegression

FIELDS = {"forename": 6, "surname": 6, "dob": 5, "postcode": 5, "sex": 2}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("comparisons")
    parser.add_argument("--precision", type=float, default=0.995)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength (default 1)")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.comparisons)))

    # A logistic regression on the blocked pairs, one indicator per field and level (a missing field has none):
    # its coefficients are the weights, fitted to tell a person's own record from the others in its blocks,
    # which is the choice the matcher makes. (ln(m/u) under independence overrates agreement that runs in
    # families: twins share a surname, an address and a birthday.)
    columns = [(f, l) for f, levels in FIELDS.items() for l in range(levels)] + [("swapped", 1)]
    x = np.zeros((len(rows), len(columns)))
    y = np.array([int(row["truth"]) for row in rows])
    for i, row in enumerate(rows):
        for j, (field, level) in enumerate(columns):
            if row[field] != "" and int(row[field]) == level:
                x[i, j] = 1
    model = LogisticRegression(C=args.c, max_iter=5000).fit(x, y)
    coefficients = dict(zip(columns, model.coef_[0]))
    weights = {f: [round(float(coefficients[(f, l)]), 1) for l in range(levels)] for f, levels in FIELDS.items()}
    swap_weight = round(float(coefficients[("swapped", 1)]), 1)

    def total(row):
        w = swap_weight if row["swapped"] == "1" else 0.0
        for field in FIELDS:
            if row[field] != "":
                w += weights[field][int(row[field])]
        return w

    best = {}
    for row in rows:
        w = total(row)
        q = row["query"]
        if q not in best or w > best[q][0]:
            best[q] = (w, row["truth"] == "1")
    ordered = sorted(best.values(), key=lambda x: -x[0])
    present = len({row["query"] for row in rows if row["truth"] == "1"})

    match_at, right, predicted = None, 0, 0
    for i, (w, ok) in enumerate(ordered):
        predicted += 1
        right += ok
        if i + 1 < len(ordered) and ordered[i + 1][0] == w:
            continue
        if right / predicted >= args.precision:
            match_at = (w, right / predicted, right / present)
    # The potential-match threshold: below it a best candidate is more often wrong than right (in bins of 1).
    potential_at = match_at[0] - 1
    while potential_at > match_at[0] - 12:
        window = [ok for w, ok in ordered if potential_at - 1 <= w < potential_at]
        if window and sum(window) / len(window) < 0.5:
            break
        potential_at -= 1
    scale = (match_at[0] - potential_at) / (math.log(0.85 / 0.15) - math.log(0.3 / 0.7))
    centre = match_at[0] - scale * math.log(0.85 / 0.15)

    print(f"// tuned on {len(best)} queries, {len(rows)} blocked pairs: at a total of {match_at[0]:.1f} the best "
          f"candidate is right {match_at[1]:.4f} of the time, recall {match_at[2]:.4f}")
    print("public static let tuned = MatchWeights(")
    print(f"    forename: {weights['forename']},")
    print(f"    surname: {weights['surname']},")
    print(f"    dateOfBirth: {weights['dob']},")
    print(f"    postcode: {weights['postcode']},")
    print(f"    sexAgrees: {weights['sex'][1]}, sexDiffers: {weights['sex'][0]}, namesSwapped: {swap_weight},")
    print(f"    identifierAgrees: 16, identifierDisagrees: -12, centre: {centre:.2f}, scale: {scale:.2f})")


if __name__ == "__main__":
    main()
