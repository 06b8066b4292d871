#!/usr/bin/env python3
"""A standard probabilistic linker on a labelled set, beside ours: Python's recordlinkage with its ECM
classifier (Fellegi–Sunter weights learnt without labels), on the same fields of the same files.

    ecm-linker.py DIR [--ours FILE]

DIR holds records.csv and queries.csv (scripts/linkage-set.py, or synthetic-extracts.py --labelled); the
identifier columns are not used. Candidate pairs come from blocking on the date of birth, on the postcode, and
on the NYSIIS code of the surname and of the forename with the year of birth; each pair is compared as the
recordlinkage documentation's FEBRL example does (Jaro–Winkler ≥ 0.85 on each name, the date of birth and
postcode exactly, sex exactly). Each query's link is its linked record of highest probability.

--ours takes matching-bench's per-query file (truth,record,score,never,match_at) and compares the two at equal
precision: our recall where our score threshold gives ECM's precision, and ECM's recall where its probability
threshold gives ours. Prints one JSON line.
"""
import argparse
import json
import os
import re

import pandas as pd
import recordlinkage as rl
from recordlinkage.preprocessing import phonetic


def load(folder, name):
    frame = pd.read_csv(os.path.join(folder, name), dtype=str, keep_default_na=False)
    for column in ("forename", "surname"):
        frame[column] = frame[column].map(lambda s: re.sub(r"[^a-z]", "", s.lower()))
    frame["postcode"] = frame["postcode"].map(lambda s: re.sub(r"\s", "", s.upper()))
    frame["gender"] = frame["gender"].map(lambda s: s[:1].upper())
    frame["year"] = frame["dob"].str[:4]
    for column in ("forename", "surname"):
        frame[column + "_code"] = phonetic(frame[column].replace("", None), "nysiis").fillna("")
    return frame.replace("", None)


def best_per_query(pairs, probabilities):
    """Each query's best-scoring record: {query: (record, probability)}."""
    best = {}
    for (query, record), p in zip(pairs, probabilities):
        if query not in best or p > best[query][1]:
            best[query] = (record, p)
    return best


def sweep(scored, present, target):
    """The highest recall of any score threshold whose precision is at least `target`. `scored` holds one
    (score, right) per query that has a best candidate; a threshold never splits equal scores."""
    best, predicted, right = 0.0, 0, 0
    ordered = sorted(scored, key=lambda x: -x[0])
    for i, (score, is_right) in enumerate(ordered):
        predicted += 1
        right += is_right
        if i + 1 < len(ordered) and ordered[i + 1][0] == score:
            continue
        if right / predicted >= target:
            best = max(best, right / present)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--ours", help="matching-bench's per-query file to compare with")
    args = parser.parse_args()

    records = load(args.folder, "records.csv").set_index("id")
    queries = load(args.folder, "queries.csv")
    truth = queries["truth_id"]
    present = int(truth.notna().sum())

    indexer = rl.Index()
    indexer.block("dob")
    indexer.block("postcode")
    indexer.block("surname_code")
    indexer.block(["forename_code", "year"])
    pairs = indexer.index(queries, records)

    compare = rl.Compare()
    compare.string("forename", "forename", method="jarowinkler", threshold=0.85, label="forename")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("dob", "dob", label="dob")
    compare.exact("postcode", "postcode", label="postcode")
    if queries["gender"].notna().any():
        compare.exact("gender", "gender", label="gender")
    features = compare.compute(pairs, queries, records)

    ecm = rl.ECMClassifier(binarize=None)
    links = ecm.fit_predict(features)
    linked = best_per_query(links, ecm.prob(features.loc[links]))
    right = sum(1 for q, (r, _) in linked.items() if truth[q] == r)
    ecm_precision = right / len(linked) if linked else 0.0
    ecm_recall = right / present

    # Every candidate's probability, not only those ECM calls links, for its recall at another precision.
    every = best_per_query(features.index, ecm.prob(features))
    ecm_scored = [(p, truth[q] == r) for q, (r, p) in every.items()]

    result = {"pairs": len(pairs), "present": present, "ecm_precision": round(ecm_precision, 4),
              "ecm_recall": round(ecm_recall, 4)}
    if args.ours:
        ours = pd.read_csv(args.ours, dtype=str, keep_default_na=False)
        ours_scored = [(float(row.score), row.record == row.truth and row.truth != "")
                       for row in ours.itertuples() if row.record != "" and row.never != "1"]
        predicted = [(s, ok) for s, ok in ours_scored if s >= float(ours["match_at"].iloc[0])]
        ours_precision = sum(ok for _, ok in predicted) / len(predicted) if predicted else 0.0
        result.update({
            "ours_precision": round(ours_precision, 4),
            "ours_recall": round(sum(ok for _, ok in predicted) / present, 4),
            "ours_recall_at_ecm_precision": round(sweep(ours_scored, present, ecm_precision), 4),
            "ecm_recall_at_our_precision": round(sweep(ecm_scored, present, ours_precision), 4),
        })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
