#!/usr/bin/env python3
"""Classical text-classifier baselines on the project's canonical splits.

Trains each baseline on the `train` side of a canonical split (see
`<datasets>/splits/README.md`) and evaluates it on a `test` side, writing one
JSON object per (train set, test set, label column, model) to `--out`:

    {"train": ..., "test": ..., "column": ..., "model": ..., "f1": ...,
     "precision": ..., "recall": ..., "pr_auc": ..., "train_seconds": ...,
     "predict_per_sec": ..., "n_train": ..., "n_test": ...}

plus a few extra informational keys (`train_wall_seconds`,
`predict_wall_per_sec`, `timing`, `settings`).

Everything runs on one core: BLAS/OpenMP pools are pinned to one thread
before numpy is imported and fastText is trained/predicts with thread=1.
`train_seconds` and `predict_per_sec` are measured in process CPU time
(time.process_time), which equals single-core time for a single-threaded
process and is not inflated when other jobs compete for the machine; the
wall-clock figures are recorded next to them.

Settings (these reproduce the figures in splits/README.md; see
benches/baselines/README.md for the check):
  * TF-IDF word 1-2 + LR     TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(max_iter=10000)
  * TF-IDF char_wb 2-5 + LR  TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)) + LogisticRegression(max_iter=10000)
  * MultinomialNB            CountVectorizer() + MultinomialNB()
  * LinearSVC                TfidfVectorizer(ngram_range=(1, 2)) + LinearSVC(random_state=0); PR-AUC from decision_function
  * fastText                 lowercased text, train_supervised(minn=2, maxn=4, wordNgrams=2, epoch=25,
                             lr=0.5, thread=1, seed=0); PR-AUC from P(__label__1)
All other hyper-parameters are library defaults (scikit-learn 1.9.1, fastText 0.9.2).
Hard predictions use each model's default threshold (argmax / decision > 0).

scikit-learn models see the raw texts (as the split README says). fastText
sees them with newlines replaced by spaces (its input format is one example
per line) and lowercased (see the fastText note in benches/baselines/README.md).
"""

import os

# Pin every native thread pool to one thread *before* numpy/scipy load.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

MODEL_NAMES = [
    "TF-IDF word 1-2 + LR",
    "TF-IDF char_wb 2-5 + LR",
    "MultinomialNB",
    "LinearSVC",
    "fastText",
]

# Canonical in-domain rows (the README table), then cross-domain rows.
IN_DOMAIN = [
    ("sms-spam-collection", "sms-spam-collection", "y_spam"),
    ("crypto-scam-x-posts-janitr", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
    ("crypto-scam-x-posts-janitr", "crypto-scam-x-posts-janitr", "y_scam"),
    ("sms-smishing-mishra-soni", "sms-smishing-mishra-soni", "y_spam_or_smishing"),
    ("thai-sms-spam-scam", "thai-sms-spam-scam", "y_scam_or_spam"),
    ("indonesian-sms-spam", "indonesian-sms-spam", "y_fraud_or_promo"),
]
# (train set, train column, test set, test column); the row's "column" is the test column.
CROSS_DOMAIN = [
    ("sms-spam-collection", "y_spam", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
    ("crypto-scam-x-posts-janitr", "y_scam_or_spam", "sms-spam-collection", "y_spam"),
    ("sms-smishing-mishra-soni", "y_spam_or_smishing", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
]


def log(msg):
    print(f"[baselines] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Data loading
# ---------------------------------------------------------------------------


def dedup_key(text):
    """splits/README.md step 1: sha256(NFKC -> casefold -> whitespace collapse)[:16]."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def _line_file(path):
    """1-based line number -> line (without its LF). Lines are split on LF only."""
    data = path.read_bytes().decode("utf-8")
    lines = data.split("\n")
    return {i + 1: line for i, line in enumerate(lines)}


def _csv_file(path):
    """1-based data-record number after the header -> record dict (real CSV parsing)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return {i + 1: row for i, row in enumerate(reader)}


def _text_sms(line):
    label, text = line.split("\t", 1)
    return text


def _text_janitr(line):
    return json.loads(line)["text"]


def _text_thai(line):
    label, text = line.split("|", 1)
    return text


# dataset -> (file kind, text extractor); the file name comes from the id.
DATASET_FORMATS = {
    "sms-spam-collection": ("lines", _text_sms),
    "crypto-scam-x-posts-janitr": ("lines", _text_janitr),
    "thai-sms-spam-scam": ("lines", _text_thai),
    "sms-smishing-mishra-soni": ("csv", lambda row: row["TEXT"]),
    "indonesian-sms-spam": ("csv", lambda row: row["teks"]),
}


class Split:
    def __init__(self, name, ids, keys, sides, labels):
        self.name = name
        self.ids = ids
        self.keys = keys
        self.sides = sides
        self.labels = labels  # column -> np.ndarray[int]
        self.texts = None

    def side(self, which, column):
        mask = self.sides == which
        texts = [t for t, m in zip(self.texts, mask) if m]
        return texts, self.labels[column][mask]


def load_split(datasets_dir, name):
    tsv = datasets_dir / "splits" / f"{name}.tsv"
    with tsv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    label_cols = [c for c in rows[0].keys() if c.startswith("y_")]
    split = Split(
        name,
        [r["id"] for r in rows],
        [r["key"] for r in rows],
        np.array([r["split"] for r in rows]),
        {c: np.array([int(r[c]) for r in rows], dtype=np.int64) for c in label_cols},
    )
    kind, extract = DATASET_FORMATS[name]
    cache = {}
    texts = []
    mismatched = 0
    for id_, key in zip(split.ids, split.keys):
        fname, n = id_.rsplit(":", 1)
        if fname not in cache:
            path = datasets_dir / name / fname
            cache[fname] = _line_file(path) if kind == "lines" else _csv_file(path)
        text = extract(cache[fname][int(n)])
        if dedup_key(text) != key:
            mismatched += 1
        texts.append(text)
    if mismatched:
        raise SystemExit(
            f"{name}: {mismatched} of {len(texts)} texts do not match their split key; "
            "the id -> row mapping or the data files differ from the ones the split was made from"
        )
    split.texts = texts
    log(
        f"loaded {name}: {len(texts)} texts "
        f"(train {int((split.sides == 'train').sum())}, test {int((split.sides == 'test').sum())}), "
        "all keys verified"
    )
    return split


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------

# Human-readable record of the configuration of each model (also written to the JSONL).
MODEL_SETTINGS = {
    "TF-IDF word 1-2 + LR": "TfidfVectorizer(ngram_range=(1,2)) + LogisticRegression(max_iter=10000)",
    "TF-IDF char_wb 2-5 + LR": "TfidfVectorizer(analyzer='char_wb', ngram_range=(2,5)) + LogisticRegression(max_iter=10000)",
    "MultinomialNB": "CountVectorizer() + MultinomialNB()",
    "LinearSVC": "TfidfVectorizer(ngram_range=(1,2)) + LinearSVC(random_state=0); score = decision_function",
    "fastText": None,  # filled in by fasttext_settings()
}


def make_sklearn(model):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if model == "TF-IDF word 1-2 + LR":
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=10000))
    if model == "TF-IDF char_wb 2-5 + LR":
        return make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)), LogisticRegression(max_iter=10000)
        )
    if model == "MultinomialNB":
        return make_pipeline(CountVectorizer(), MultinomialNB())
    if model == "LinearSVC":
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LinearSVC(random_state=0))
    raise ValueError(model)


class SklearnModel:
    def __init__(self, model):
        self.pipe = make_sklearn(model)
        self.use_decision = model == "LinearSVC"

    def fit(self, texts, y):
        self.pipe.fit(texts, y)

    def predict(self, texts):
        """-> (hard 0/1 predictions at the default threshold, positive-class scores)."""
        if self.use_decision:
            score = self.pipe.decision_function(texts)
            return (score > 0).astype(np.int64), score
        proba = self.pipe.predict_proba(texts)
        pos = proba[:, list(self.pipe.classes_).index(1)]
        # predict() == argmax of predict_proba for these binary models.
        return self.pipe.classes_[np.argmax(proba, axis=1)].astype(np.int64), pos


def _ft_clean(text, lowercase):
    # fastText reads one example per line and tokenises on whitespace itself.
    text = " ".join(text.splitlines())
    return text.lower() if lowercase else text


class FastTextModel:
    # Stated in splits/README.md: minn 2, maxn 4, wordNgrams 2, 25 epochs. Not stated there,
    # but needed to reproduce its figures (see benches/baselines/README.md): lowercased input
    # and lr 0.5 (fastText's default is 0.1). Override with --fasttext-lr / --fasttext-no-lowercase.
    PARAMS = dict(minn=2, maxn=4, wordNgrams=2, epoch=25, thread=1, seed=0, verbose=0)
    lr = 0.5
    lowercase = True

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.model = None

    def fit(self, texts, y):
        import fasttext

        path = Path(self.tmpdir) / "ft-train.txt"
        with path.open("w", encoding="utf-8") as f:
            for t, label in zip(texts, y):
                f.write(f"__label__{int(label)} {_ft_clean(t, self.lowercase)}\n")
        self.model = fasttext.train_supervised(input=str(path), lr=self.lr, **self.PARAMS)
        path.unlink()

    def predict(self, texts):
        labels, probs = self.model.predict([_ft_clean(t, self.lowercase) for t in texts], k=-1)
        pos = np.array(
            [dict(zip(ls, ps)).get("__label__1", 0.0) for ls, ps in zip(labels, probs)], dtype=np.float64
        )
        hard = np.array([1 if ls[0] == "__label__1" else 0 for ls in labels], dtype=np.int64)
        return hard, pos


def fasttext_settings():
    return (
        ("lowercased text; " if FastTextModel.lowercase else "raw text; ")
        + f"train_supervised(minn=2, maxn=4, wordNgrams=2, epoch=25, lr={FastTextModel.lr:g}, thread=1, seed=0); "
        "score = P(__label__1)"
    )


def make_model(model, tmpdir):
    if model == "fastText":
        return FastTextModel(tmpdir)
    return SklearnModel(model)


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def measure_throughput(model, texts, min_cpu_seconds):
    """Predict the whole test side repeatedly until min_cpu_seconds of CPU time have passed."""
    reps = 0
    c0, w0 = time.process_time(), time.perf_counter()
    while True:
        model.predict(texts)
        reps += 1
        cpu = time.process_time() - c0
        if cpu >= min_cpu_seconds:
            break
    wall = time.perf_counter() - w0
    n = reps * len(texts)
    return n / max(cpu, 1e-9), n / max(wall, 1e-9)


def evaluate(model_name, train_texts, y_train, test_texts, y_test, tmpdir, min_cpu_seconds):
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    model = make_model(model_name, tmpdir)
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(train_texts, y_train)
    train_cpu, train_wall = time.process_time() - c0, time.perf_counter() - w0
    hard, score = model.predict(test_texts)
    per_sec_cpu, per_sec_wall = measure_throughput(model, test_texts, min_cpu_seconds)
    return {
        "f1": float(f1_score(y_test, hard, pos_label=1, zero_division=0)),
        "precision": float(precision_score(y_test, hard, pos_label=1, zero_division=0)),
        "recall": float(recall_score(y_test, hard, pos_label=1, zero_division=0)),
        "pr_auc": float(average_precision_score(y_test, score, pos_label=1)),
        "train_seconds": round(train_cpu, 4),
        "predict_per_sec": round(per_sec_cpu, 1),
        "train_wall_seconds": round(train_wall, 4),
        "predict_wall_per_sec": round(per_sec_wall, 1),
        "timing": "process CPU time, single thread",
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--datasets",
        default=os.environ.get("MODERATION_DATASETS") or str(REPO.parent / "shared" / "datasets"),
        help="datasets root (env MODERATION_DATASETS; default <repo>/../shared/datasets)",
    )
    ap.add_argument("--out", default=str(REPO / "target" / "compare" / "baselines.jsonl"))
    ap.add_argument("--models", default=",".join(MODEL_NAMES), help="comma-separated subset of models")
    ap.add_argument("--no-cross", action="store_true", help="skip the cross-domain rows")
    ap.add_argument("--fasttext-lr", type=float, default=FastTextModel.lr, help="fastText learning rate (default 0.5)")
    ap.add_argument(
        "--fasttext-no-lowercase", action="store_true", help="feed fastText raw (not lowercased) text"
    )
    ap.add_argument(
        "--min-predict-cpu-seconds",
        type=float,
        default=0.5,
        help="repeat test-side prediction until this much CPU time has passed, for throughput",
    )
    args = ap.parse_args(argv)
    FastTextModel.lr = args.fasttext_lr
    FastTextModel.lowercase = not args.fasttext_no_lowercase
    MODEL_SETTINGS["fastText"] = fasttext_settings()

    datasets_dir = Path(args.datasets)
    if not (datasets_dir / "splits" / "README.md").is_file():
        log(f"datasets directory not found or has no splits/: {datasets_dir}")
        return 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODEL_NAMES:
            log(f"unknown model {m!r}; choose from {MODEL_NAMES}")
            return 2

    import fasttext
    import sklearn

    log(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, fasttext {getattr(fasttext, '__version__', '0.9.2')}")

    jobs = [(tr, col, te, col) for tr, te, col in IN_DOMAIN]
    if not args.no_cross:
        jobs += CROSS_DOMAIN

    splits = {}
    for tr, _, te, _ in jobs:
        for name in (tr, te):
            if name not in splits:
                splits[name] = load_split(datasets_dir, name)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="baselines-") as tmpdir, tmp_out.open("w", encoding="utf-8") as f:
        for tr, tr_col, te, te_col in jobs:
            train_texts, y_train = splits[tr].side("train", tr_col)
            test_texts, y_test = splits[te].side("test", te_col)
            for m in models:
                res = evaluate(m, train_texts, y_train, test_texts, y_test, tmpdir, args.min_predict_cpu_seconds)
                row = {
                    "train": tr,
                    "test": te,
                    "column": te_col,
                    "model": m,
                    **{k: res[k] for k in ("f1", "precision", "recall", "pr_auc", "train_seconds", "predict_per_sec")},
                    "n_train": len(train_texts),
                    "n_test": len(test_texts),
                }
                if tr_col != te_col:
                    row["train_column"] = tr_col
                row.update({k: res[k] for k in ("train_wall_seconds", "predict_wall_per_sec", "timing")})
                row["settings"] = MODEL_SETTINGS[m]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                log(
                    f"{tr} -> {te} [{te_col}] {m:<24} F1 {res['f1']:.3f}  P {res['precision']:.3f}  "
                    f"R {res['recall']:.3f}  PR-AUC {res['pr_auc']:.3f}  train {res['train_seconds']:.2f}s  "
                    f"{res['predict_per_sec']:.0f} texts/s"
                )
    tmp_out.replace(out)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
