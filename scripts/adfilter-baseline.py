#!/usr/bin/env python3
"""Standard text classifiers on the very folds qunbot's ad filter was scored on.

    qunbot adfilter eval --folds 5 --spam S --ham H --show 0 --scores scores.tsv
    python3 scripts/adfilter-baseline.py scores.tsv [--max-fp 10]

It reads the messages, labels and folds that `adfilter eval --scores` wrote,
trains scikit-learn's usual baselines for short-text spam on the other folds
for each fold — TF-IDF over character 1-4-grams and words, then logistic
regression, a linear SVM, or complement naive Bayes — and prints, for each
and for qunbot's P(spam) from the file, the best F1 any cut of the score
reaches with at most --max-fp false positives per 1,000 ham, and with no
limit (what `adfilter eval` calls the model's ranking alone). An independent
implementation on identical folds: a figure to compare with, not one to
flatter. Not part of qunbot or its tests; needs Debian's python3-sklearn
(apt-get install python3-sklearn) and runs with /usr/bin/python3.
"""
import argparse
import csv
import sys

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

MODELS = {
    "logistic regression (C=30)": lambda: LogisticRegression(C=30, max_iter=3000),
    "linear SVM (C=1)": lambda: LinearSVC(C=1),
    "complement naive Bayes (alpha=0.1)": lambda: ComplementNB(alpha=0.1),
}


def best_f1(y, s, max_fp):
    """Best F1 over every cut of s: with at most max_fp false positives per 1,000 ham, and with no limit."""
    order = np.argsort(-s, kind="stable")
    ys = y[order]
    tp, fp = np.cumsum(ys), np.cumsum(1 - ys)
    pos, neg = ys.sum(), len(ys) - ys.sum()
    f1 = 2 * tp / (tp + fp + pos)
    within = fp / max(neg, 1) * 1000 <= max_fp
    return (f1[within].max() if within.any() else 0.0), f1.max()


def features(train, test):
    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    words = TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
    a = hstack([chars.fit_transform(train), words.fit_transform(train)]).tocsr()
    b = hstack([chars.transform(test), words.transform(test)]).tocsr()
    return a, b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scores", help="the file adfilter eval --folds K --scores wrote")
    ap.add_argument("--max-fp", type=float, default=10, help="false positives per 1,000 ham allowed (default 10)")
    args = ap.parse_args()
    csv.field_size_limit(1 << 24)
    with open(args.scores, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL))
    if not rows or "fold" not in rows[0]:
        sys.exit(f"{args.scores}: not a file adfilter eval --scores wrote")
    folds = np.array([int(r["fold"]) for r in rows])
    if (folds == 0).any():
        sys.exit(f"{args.scores}: no folds; write it with adfilter eval --folds K")
    texts = np.array([r["text"] for r in rows], dtype=object)
    y = np.array([1 if r["label"] == "spam" else 0 for r in rows])
    qunbot = np.array([float(r["p"]) for r in rows])
    scores = {name: np.zeros(len(rows)) for name in MODELS}
    for k in sorted(set(folds)):
        train, test = folds != k, folds == k
        a, b = features(texts[train], texts[test])
        for name, make in MODELS.items():
            m = make().fit(a, y[train])
            if isinstance(m, ComplementNB):
                lp = m.predict_log_proba(b)
                scores[name][test] = lp[:, 1] - lp[:, 0]
            else:
                scores[name][test] = m.decision_function(b)
    print(f"{len(rows)} messages ({y.sum()} spam), {len(set(folds))} folds as qunbot scored them")
    print(f"{'model':42} {'best F1 at <= %g FP/1000' % args.max_fp:>26} {'no limit':>9}")
    for name, s in [("qunbot (its P(spam))", qunbot)] + list(scores.items()):
        at, free = best_f1(y, s, args.max_fp)
        print(f"{name:42} {at:26.4f} {free:9.4f}")


if __name__ == "__main__":
    main()
