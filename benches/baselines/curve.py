#!/usr/bin/env python3
"""In-domain baselines for the adaptation learning curve.

"Adapt the shipped model to a forum from k of its moderators' decisions" is
compared with classical baselines trained *in domain* on the same k labelled
posts. Our Rust tool (`moderation curve --splits-out`, default
target/transfer/curve-splits.jsonl) writes the splits, one JSON object per line:

    {"source": "<source name>", "k": <int>, "draw": <int>, "train": ["<id>", ...], "test": ["<id>", ...]}

The ids are the `id` values of the pooled corpus (`--corpus`, default
target/transfer/corpus.jsonl, the file loso.py reads; one JSON object per line
with at least "source", "id", "text", "unwanted"). Labels are the corpus'
`unwanted` (spam or scam = 1). For one source and draw (the seed of the shuffle
that chose the texts; `draw` is optional), `test` is the same for every k.

For every split row and every model, the model is trained on the `train` texts
alone and scores the `test` texts. One JSON object per (split row, model) goes
to `--out` (default target/transfer/curve-baselines.jsonl), in split-file order
and `--models` order:

    {"model", "source", "k", "train_texts", "train_positives", "test_texts",
     "test_positives", "f1", "precision", "recall", "pr_auc",
     "recall_at_1pct_fpr", "benign_flagged", "train_seconds"}

plus `predict_seconds`, `timing`, `settings`, any other scalar keys of the
split row (e.g. a repeat number) and, when the model could not be trained,
"skipped": "<reason>" with every figure null (a train set with fewer than two
classes, or a library error such as an empty vocabulary).

Metrics are loso.py's (`metrics`, imported), on the test texts at each model's
default threshold: LinearSVC decision_function > 0, MultinomialNB / LR argmax
of predict_proba, fastText top label; pr_auc = average_precision_score of the
continuous score (LinearSVC decision_function, otherwise P(unwanted));
recall_at_1pct_fpr = largest recall at <= 1% false positives on the test texts;
benign_flagged = share of the test's benign texts predicted unwanted. A test
set of one class has only recall (positive-only) or benign_flagged
(benign-only), as in loso.py.

Models (baselines.py's settings, one definition; default: loso.py's base set
LinearSVC, MultinomialNB, fastText; the TF-IDF + LR models can be added with
--models). There is one training source, so loso.py's weighting does not apply:
  * LinearSVC      TfidfVectorizer(ngram_range=(1, 2)) + LinearSVC(random_state=--seed)
  * MultinomialNB  CountVectorizer() + MultinomialNB()
  * fastText       lowercased, newlines -> spaces; train_supervised(minn=2, maxn=4,
                   wordNgrams=2, epoch=25, lr=0.5, thread=1, seed=--seed); fastText's
                   supervised minCount is 1, so 20 texts train (a failure would be
                   reported as "skipped", not raised)
--seed (default 0, baselines.py's value) is fastText's seed and LinearSVC's
random_state (fastText's seeds 0 and 1 give the same model: its std::minstd_rand
maps a zero seed to 1); the training texts are used in the split file's order.

Everything runs on one core (thread pools pinned before numpy loads, by
baselines.py; fastText thread=1); `train_seconds` / `predict_seconds` are
process CPU time.
"""

import sys
from pathlib import Path

# baselines.py (imported by loso.py) pins every native thread pool to one thread before numpy
# loads, so it is imported first.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import MODEL_SETTINGS, fasttext_settings  # noqa: E402
from loso import BASE_MODELS, OPTIONAL_MODELS, FastText, Sklearn, _label, metrics, rounded  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

DEFAULT_MODELS = list(BASE_MODELS)  # LinearSVC, MultinomialNB, fastText
ALL_MODELS = BASE_MODELS + OPTIONAL_MODELS
# The keys curve.py writes itself; a split row's other scalar keys are copied next to them.
OWN_KEYS = {
    "model", "source", "k", "train_texts", "train_positives", "test_texts", "test_positives", "f1",
    "precision", "recall", "pr_auc", "recall_at_1pct_fpr", "benign_flagged", "train_seconds",
    "predict_seconds", "timing", "settings", "skipped", "train", "test",
}
FIGURES = ["f1", "precision", "recall", "pr_auc", "recall_at_1pct_fpr", "benign_flagged"]


def log(msg):
    print(f"[curve] {msg}", file=sys.stderr, flush=True)


def json_lines(path):
    """-> ("file:line", object) for every non-blank line; malformed JSON stops with its place."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{where}: malformed JSON ({e})")


class Corpus:
    """id -> (source, text, unwanted) of the pooled corpus."""

    def __init__(self, path):
        self.source, self.text, self.unwanted = {}, {}, {}
        for where, r in json_lines(path):
            try:
                id_, text = r["id"], r["text"]
                if not isinstance(id_, str) or not isinstance(text, str):
                    raise SystemExit(f"{where}: id and text must be strings")
                if id_ in self.text:
                    raise SystemExit(f"{where}: duplicate id {id_!r}")
                self.source[id_] = str(r["source"])
                self.text[id_] = text
                self.unwanted[id_] = _label(r["unwanted"], where, False)
            except KeyError as e:
                raise SystemExit(f"{where}: missing key {e}")
        if not self.text:
            raise SystemExit(f"{path}: no texts")


def load_splits(path, corpus):
    """-> split rows (dicts with source, k, train, test), checked against the corpus."""
    rows, tests = [], {}
    for where, r in json_lines(path):
        try:
            source, k, train, test = r["source"], r["k"], r["train"], r["test"]
        except KeyError as e:
            raise SystemExit(f"{where}: missing key {e}")
        if not isinstance(source, str) or isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise SystemExit(f"{where}: source must be a string and k an integer >= 0")
        if not isinstance(train, list) or not isinstance(test, list):
            raise SystemExit(f"{where}: train and test must be lists of ids")
        for side, ids in (("train", train), ("test", test)):
            if len(set(ids)) != len(ids):
                raise SystemExit(f"{where}: {side} lists an id more than once")
            for id_ in ids:
                if id_ not in corpus.source:
                    raise SystemExit(f"{where}: {side} id {id_!r} is not in the corpus (another corpus file?)")
                if corpus.source[id_] != source:
                    raise SystemExit(
                        f"{where}: {side} id {id_!r} belongs to source {corpus.source[id_]!r}, not {source!r}"
                    )
        overlap = set(train) & set(test)
        if overlap:
            raise SystemExit(f"{where}: {len(overlap)} id(s) in both train and test, e.g. {sorted(overlap)[0]!r}")
        if not test:
            raise SystemExit(f"{where}: empty test set")
        if len(train) != k:
            log(f"warning: {where}: k = {k} but {len(train)} training ids; reporting k = {k}")
        key = (source, r.get("draw"))
        if key in tests and tests[key] != set(test):
            log(f"warning: {where}: the test set of {source} (draw {r.get('draw')}) differs from its first row's")
        tests.setdefault(key, set(test))
        rows.append(r)
    if not rows:
        raise SystemExit(f"{path}: no split rows")
    return rows


def settings(base, seed):
    if base == "fastText":
        return fasttext_settings().replace("seed=0", f"seed={seed}")
    s = MODEL_SETTINGS[base]
    return s.replace("random_state=0", f"random_state={seed}") if base == "LinearSVC" else s


def make_model(base, tmpdir, seed):
    if base == "fastText":
        model = FastText(tmpdir)
        model.model.PARAMS = dict(model.model.PARAMS, seed=seed)  # instance copy; the class keeps seed 0
        return model
    model = Sklearn(base)
    if base == "LinearSVC":
        model.pipe.set_params(linearsvc__random_state=seed)
    return model


def run_one(base, split, corpus, test_texts, yt, tmpdir, seed):
    """Train one model on one split row's train side and score its test side -> output row."""
    train_ids = split["train"]
    y = np.array([corpus.unwanted[i] for i in train_ids], dtype=np.int64)
    row = {
        "model": base,
        "source": split["source"],
        "k": split["k"],
        "train_texts": len(train_ids),
        "train_positives": int(y.sum()),
        "test_texts": len(test_texts),
        "test_positives": int(yt.sum()),
        **{f: None for f in FIGURES},
        "train_seconds": None,
        "predict_seconds": None,
    }
    classes = len(set(y.tolist()))
    if classes < 2:
        row["skipped"] = (
            "no training texts"
            if not len(y)
            else f"the training texts have one class only ({'all unwanted' if y.all() else 'all benign'})"
        )
    else:
        model = make_model(base, tmpdir, seed)
        c0 = time.process_time()
        try:
            model.fit([corpus.text[i] for i in train_ids], y, None)
            c1 = time.process_time()
            hard, score = model.predict(test_texts)
            c2 = time.process_time()
        except (ValueError, RuntimeError) as e:  # e.g. an empty vocabulary
            row["skipped"] = f"{base} failed: {type(e).__name__}: {e}"
        else:
            if not np.all(np.isfinite(score)):
                row["skipped"] = f"{base} gave non-finite scores"
            else:
                row.update(rounded(metrics(yt, hard, score)))
                row["train_seconds"] = round(c1 - c0, 4)
                row["predict_seconds"] = round(c2 - c1, 4)
    row["timing"] = "process CPU time, single thread"
    row["settings"] = settings(base, seed) + "; trained on the split's train texts only (in domain)"
    for key, v in split.items():  # e.g. a repeat number: kept so that the table can tell draws apart
        if key not in OWN_KEYS and (v is None or isinstance(v, (str, int, float, bool))):
            row[key] = v
    return row


def fmt(v):
    return "  —  " if v is None else f"{v:.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(REPO / "target" / "transfer" / "corpus.jsonl"))
    ap.add_argument("--splits", default=str(REPO / "target" / "transfer" / "curve-splits.jsonl"))
    ap.add_argument("--out", default=str(REPO / "target" / "transfer" / "curve-baselines.jsonl"))
    ap.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated models (default: %(default)s; also available: "
        f"{', '.join(m for m in ALL_MODELS if m not in DEFAULT_MODELS)})",
    )
    ap.add_argument("--seed", type=int, default=0, help="fastText's seed and LinearSVC's random_state (default 0)")
    args = ap.parse_args(argv)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown or not models:
        log(f"unknown model(s): {', '.join(unknown) or '(none given)'}; known: {', '.join(ALL_MODELS)}")
        return 2
    models = [m for m in ALL_MODELS if m in models]  # fixed order
    for name, path, writer in (
        ("corpus", args.corpus, "`moderation transfer --corpus-out` or `moderation curve --corpus-out`"),
        ("splits", args.splits, "`moderation curve --splits-out`"),
    ):
        if not Path(path).is_file():
            log(f"{name} not found: {path} (written by {writer})")
            return 2

    import fasttext
    import sklearn

    log(
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"fasttext {getattr(fasttext, '__version__', '0.9.2')}"
    )
    c_start, w_start = time.process_time(), time.perf_counter()
    corpus = Corpus(args.corpus)
    splits = load_splits(args.splits, corpus)
    log(
        f"corpus {args.corpus}: {len(corpus.text)} texts; {len(splits)} split rows over "
        f"{len({s['source'] for s in splits})} sources from {args.splits}; models: {', '.join(models)}"
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")  # rows appear as they are made; replaces --out at the end
    n_rows = 0
    test_cache = {}  # tuple of test ids -> (texts, labels)
    with tempfile.TemporaryDirectory(prefix="curve-") as tmpdir, tmp_out.open("w", encoding="utf-8") as f:
        for split in splits:
            key = tuple(split["test"])
            if key not in test_cache:
                test_cache.clear()  # one source's test set at a time (rows usually come grouped by source)
                test_cache[key] = (
                    [corpus.text[i] for i in key],
                    np.array([corpus.unwanted[i] for i in key], dtype=np.int64),
                )
            test_texts, yt = test_cache[key]
            for base in models:
                row = run_one(base, split, corpus, test_texts, yt, tmpdir, args.seed)
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                n_rows += 1
                log(
                    f"{row['source']:<20} draw {row.get('draw', '-')} k={row['k']:<5} {base:<14} train {row['train_texts']:>5} "
                    f"({row['train_positives']:>4} unwanted)  "
                    + (
                        f"skipped: {row['skipped']}"
                        if "skipped" in row
                        else f"F1 {fmt(row['f1'])}  PR-AUC {fmt(row['pr_auc'])}  "
                        f"flagged {fmt(row['benign_flagged'])}  train {row['train_seconds']:.2f}s  "
                        f"predict {row['predict_seconds']:.2f}s"
                    )
                )
    tmp_out.replace(out)
    log(
        f"wrote {n_rows} rows to {out} ({time.process_time() - c_start:.0f} s CPU, "
        f"{time.perf_counter() - w_start:.0f} s wall)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
