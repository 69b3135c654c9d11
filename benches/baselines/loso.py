#!/usr/bin/env python3
"""Leave-one-source-out (LOSO) transfer evaluation of the classical baselines.

Reads the pooled corpus written by our Rust tool (`moderation transfer
--corpus-out`, default target/transfer/corpus.jsonl), one JSON object per line:

    {"source": ..., "id": ..., "text": ..., "unwanted": 0|1, "scam": 0|1|null,
     "trainable": bool, "choose": bool}

and, for every distinct source S, trains each baseline on all texts with
trainable=true from the *other* sources and tests it on every text of S
(texts with trainable=false are only ever held out, never trained on). One
JSON object per (model, held-out source) goes to `--out` (default
target/transfer/baselines.jsonl):

    {"model", "held_out", "trainable", "choose", "texts", "positives",
     "f1", "precision", "recall", "pr_auc", "recall_at_1pct_fpr", "benign_flagged",
     "scam": {"f1", "precision", "recall", "pr_auc", "positives", "texts", "train_seconds",
              "n_train"} | null,
     "train_seconds", "predict_per_sec"}

plus informational keys (`variant`, `n_train`, `train_sources`, `timing`,
`settings`). Other keys of the corpus lines (e.g. `id`) are not used.

Every per-text score behind those figures goes to `--scores-out` (default: next
to `--out`, `<out name>-scores.jsonl`, e.g. baselines-scores.jsonl; written with
gzip when the name ends in .gz; "" = none), one JSON object per (model, held-out
source), in the same order as `--out`:

    {"model", "held_out", "trainable", "choose", "score_kind", "digits",
     "corpus_texts", "index": [...], "unwanted": [...], "score": [...],
     "scam": {"index": [...], "scam": [...], "score": [...]} | null}

`index` is each text's 0-based line number in the corpus file (`--corpus`),
`unwanted` its label and `score` the model's score (the one pr_auc uses: LinearSVC
decision_function, otherwise P(positive)), unrounded by default (`digits` -1;
--score-digits N rounds to N decimals for a smaller file); `scam` holds the scam
model's scores on the source's scam-labelled texts when "scam" is reported.
loso_table.py uses them to choose each baseline's review threshold the way ours is
chosen. Rounding is not the default because MultinomialNB's probabilities crowd
against 1: on the first real corpus the 5%-of-benign cut of crypto-pump under
MultinomialNB is P = 0.9999999998, 6 decimals would tie 160 of its benign texts
at 1.0, and the budget rule would then flag nothing on any other source.

Target: `unwanted` (spam or scam = 1). Metrics on the held-out source at each
model's default threshold (LinearSVC decision > 0, NB / LR argmax of
predict_proba, i.e. P > 0.5, fastText top label):
  * f1 / precision / recall of the positive class;
  * pr_auc = average_precision_score of the model's score (LinearSVC
    decision_function, NB / LR / fastText P(positive));
  * recall_at_1pct_fpr = the largest recall reachable by a score threshold with
    false-positive rate <= 1% on S; a threshold admits every text scoring >= it,
    so tied scores enter together (conservative);
  * benign_flagged = fraction of S's benign texts predicted positive.
Undefined figures are null: a positive-only source (no benign texts) has only
recall (f1, precision, pr_auc, recall_at_1pct_fpr and benign_flagged are null);
a benign-only source has only benign_flagged.

Scam figure: when S has texts with a non-null `scam` label and both classes
among them, each model is also trained on the trainable texts of the other
sources whose scam label is non-null (positive = scam 1, with the same
weighting variant) and evaluated on S's scam-labelled texts -> "scam";
otherwise "scam" is null.

Weighting. The training pool is very unequal (one source can be 20x another),
so each model is run twice:
  * weighted (plain model name, e.g. "LinearSVC"): every training source gets
    the same total weight. scikit-learn models get
        sample_weight = n_train / (n_sources * n_texts_of_that_source),
    so each source sums to n_train / n_sources and the mean weight is 1 (the
    regularisation strength C means the same as unweighted). The vectorisers
    (vocabulary, IDF) are fitted on the unweighted pool; only the classifier
    sees the weights. MultinomialNB's class prior is weighted too.
    fastText has no sample weights, so its training file is resampled
    deterministically to the same number of texts per source:
        k = min(--fasttext-per-source (default 5000), largest training source),
    each source stratified by class (its class ratio kept, rounded): a source
    with more than k texts is subsampled without replacement, a smaller one is
    repeated whole floor(k / n) times plus a sample of the remainder. The
    sample of a source depends only on (--seed, source name), and the combined
    file is shuffled with a seeded permutation.
  * unweighted ("LinearSVC (unweighted)", ...): plain concatenation of the
    training sources, as in baselines.py.

Model settings are baselines.py's (imported from it, one definition):
  * LinearSVC      TfidfVectorizer(ngram_range=(1, 2)) + LinearSVC(random_state=0)
  * MultinomialNB  CountVectorizer() + MultinomialNB()
  * fastText       lowercased, newlines -> spaces; train_supervised(minn=2, maxn=4,
                   wordNgrams=2, epoch=25, lr=0.5, thread=1, seed=0)
  * TF-IDF word 1-2 + LR / TF-IDF char_wb 2-5 + LR (baselines.py's settings) can be added with
    --models but are not in the default set: the default set alone is far over the few-minute
    budget of a run on one core. Measured on the first real corpus (52k texts, 11 sources, 6 of
    them trainable, 7 training sets; per training on ~20-25k texts, process CPU): fastText
    weighted ~170-235 s and unweighted ~160 s (the SpamAssassin e-mails, ~270 tokens each,
    dominate its cost), LinearSVC ~7 s, MultinomialNB ~2 s; word LR ~8 s and char_wb LR ~38 s
    per training (+ ~1 / ~7 s for the scam model) would add a few more minutes. LinearSVC covers
    the linear word-TF-IDF family; --jobs N runs the (training set, model) tasks in parallel.

Held-out sources with no trainable texts (evaluation-only sources) all share
one training set (every trainable text), so each model is trained once for all
of them and they report the same train_seconds.

Everything runs on one core (thread pools pinned before numpy loads, fastText
thread=1), and `train_seconds` / `predict_per_sec` are process CPU time like
baselines.py; `predict_per_sec` is measured on the held-out texts (feature
extraction included), repeating the prediction until --min-predict-cpu-seconds
have passed if one pass is shorter.
"""

import sys
from pathlib import Path

# baselines.py pins every native thread pool to one thread before numpy
# loads, so it is imported first.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import MODEL_SETTINGS, FastTextModel, fasttext_settings, make_sklearn  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

UNWEIGHTED = " (unweighted)"
BASE_MODELS = ["LinearSVC", "MultinomialNB", "fastText"]
OPTIONAL_MODELS = ["TF-IDF word 1-2 + LR", "TF-IDF char_wb 2-5 + LR"]
# Output / table order: each base model, weighted then unweighted.
DEFAULT_MODELS = [m + v for m in BASE_MODELS for v in ("", UNWEIGHTED)]
ALL_MODELS = [m + v for m in BASE_MODELS + OPTIONAL_MODELS for v in ("", UNWEIGHTED)]


def log(msg):
    print(f"[loso] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------


def _label(v, where, allow_null):
    if v is None and allow_null:
        return -1
    if isinstance(v, bool) or v not in (0, 1):
        raise SystemExit(f"{where}: label must be 0 or 1{' or null' if allow_null else ''}, got {v!r}")
    return int(v)


class Corpus:
    def __init__(self, path):
        sources, texts, unwanted, scam, trainable, choose, lines = [], [], [], [], [], [], []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}:{n}"
                lines.append(n - 1)
                try:
                    r = json.loads(line)
                    sources.append(str(r["source"]))
                    text = r["text"]
                    if not isinstance(text, str):
                        raise SystemExit(f"{where}: text is not a string")
                    texts.append(text)
                    unwanted.append(_label(r["unwanted"], where, False))
                    scam.append(_label(r.get("scam"), where, True))
                    trainable.append(bool(r["trainable"]))
                    choose.append(bool(r["choose"]))
                except json.JSONDecodeError as e:
                    raise SystemExit(f"{where}: malformed JSON ({e})")
                except KeyError as e:
                    raise SystemExit(f"{where}: missing key {e}")
        if not texts:
            raise SystemExit(f"{path}: no texts")
        self.texts = texts
        self.line = np.array(lines, dtype=np.int64)  # 0-based line number in the corpus file
        self.source = np.array(sources, dtype=object)
        self.unwanted = np.array(unwanted, dtype=np.int64)
        self.scam = np.array(scam, dtype=np.int64)  # -1 = null
        self.trainable = np.array(trainable, dtype=bool)
        self.choose = np.array(choose, dtype=bool)
        self.sources = sorted(set(sources))

    def source_flag(self, source, flags, name):
        v = flags[self.source == source]
        if v.all() != v.any():
            log(f"warning: source {source}: '{name}' differs between its texts; reporting {name}=false")
        return bool(v.all())

    def take(self, idx):
        return [self.texts[i] for i in idx]


# ---------------------------------------------------------------------------
# Weighting
# ---------------------------------------------------------------------------


def source_weights(sources):
    """Per-text weights giving every source the same total weight; mean weight 1."""
    names, inverse, counts = np.unique(sources, return_inverse=True, return_counts=True)
    return len(sources) / (len(names) * counts[inverse].astype(np.float64))


def _crc(s):
    return zlib.crc32(s.encode("utf-8"))


def balanced_resample(sources, y, cap, seed):
    """fastText's stand-in for weights: the same number of texts per source (see the module doc).

    sources / y: the training texts' sources and labels. Returns (positions into them, with
    repeats, in a seeded shuffled order; the per-source count k).
    """
    names, counts = np.unique(sources, return_counts=True)
    k = int(min(cap, counts.max()))
    picked = []
    for name, n in zip(names, counts):
        rng = np.random.default_rng([seed, _crc(name)])
        in_src = sources == name
        for c in sorted(set(y[in_src].tolist())):
            members = np.flatnonzero(in_src & (y == c))
            want = int(round(k * len(members) / n))
            whole, rest = divmod(want, len(members))
            picked.append(np.tile(members, whole))
            picked.append(rng.choice(members, size=rest, replace=False))
    picked = np.concatenate(picked).astype(np.int64)
    rng = np.random.default_rng([seed, _crc("\x00".join(names.tolist()))])
    return picked[rng.permutation(len(picked))], k


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class Sklearn:
    def __init__(self, base):
        self.pipe = make_sklearn(base)
        self.use_decision = base == "LinearSVC"

    def fit(self, texts, y, weights):
        kw = {} if weights is None else {f"{self.pipe.steps[-1][0]}__sample_weight": weights}
        self.pipe.fit(texts, y, **kw)

    def predict(self, texts):
        """-> (hard 0/1 predictions at the default threshold, positive-class scores)."""
        if self.use_decision:
            score = self.pipe.decision_function(texts)
            return (score > 0).astype(np.int64), np.asarray(score, dtype=np.float64)
        proba = self.pipe.predict_proba(texts)
        pos = proba[:, list(self.pipe.classes_).index(1)]
        return self.pipe.classes_[np.argmax(proba, axis=1)].astype(np.int64), pos


class FastText:
    def __init__(self, tmpdir):
        self.model = FastTextModel(tmpdir)

    def fit(self, texts, y, weights):
        assert weights is None, "fastText is balanced by resampling, not weights"
        self.model.fit(texts, y)

    def predict(self, texts):
        return self.model.predict(texts)


def settings(base, weighted, ft_note):
    s = fasttext_settings() if base == "fastText" else MODEL_SETTINGS[base]
    if not weighted:
        return s + "; unweighted concatenation of the training sources"
    if base == "fastText":
        return s + f"; training file resampled to equal per-source counts ({ft_note})"
    return s + "; sample_weight = n_train / (n_sources * n_source): equal total weight per training source"


def train(base, weighted, corpus, idx, y, tmpdir, seed, ft_cap):
    """Fit one model on corpus texts idx with labels y. -> (model, cpu seconds, fastText note)."""
    srcs = corpus.source[idx]
    note = None
    c0 = time.process_time()
    if base == "fastText":
        model = FastText(tmpdir)
        if weighted:
            pick, k = balanced_resample(srcs, y, ft_cap, seed)
            idx_fit, y_fit = idx[pick], y[pick]
            note = f"{k} per source, seed {seed}"
        else:
            idx_fit, y_fit = idx, y
        model.fit(corpus.take(idx_fit), y_fit, None)
    else:
        model = Sklearn(base)
        model.fit(corpus.take(idx), y, source_weights(srcs) if weighted else None)
    return model, time.process_time() - c0, note


def predict_timed(model, texts, min_cpu):
    c0 = time.process_time()
    hard, score = model.predict(texts)
    cpu, n = time.process_time() - c0, len(texts)
    while cpu < min_cpu and texts:
        model.predict(texts)
        cpu, n = time.process_time() - c0, n + len(texts)
    return hard, score, n / max(cpu, 1e-9)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def recall_at_fpr(y, score, max_fpr_percent=1):
    """Largest recall with FPR <= max_fpr_percent% over thresholds t admitting every score >= t."""
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    if pos == 0 or neg == 0:
        return None
    values, inverse = np.unique(score, return_inverse=True)  # ascending
    tp = np.bincount(inverse, weights=(y == 1), minlength=len(values))[::-1].cumsum()
    fp = np.bincount(inverse, weights=(y == 0), minlength=len(values))[::-1].cumsum()
    ok = fp * 100 <= neg * max_fpr_percent  # exact: fp / neg <= pct / 100
    best = tp[ok].max() if ok.any() else 0.0  # an infinite threshold admits nothing: recall 0
    return float(best) / pos


def metrics(y, hard, score):
    from sklearn.metrics import average_precision_score

    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    tp = int(((hard == 1) & (y == 1)).sum())
    flagged = int((hard == 1).sum())
    recall = tp / pos if pos else None
    out = {
        "f1": None,
        "precision": None,
        "recall": recall,
        "pr_auc": None,
        "recall_at_1pct_fpr": None,
        "benign_flagged": int(((hard == 1) & (y == 0)).sum()) / neg if neg else None,
    }
    if pos and neg:
        precision = tp / flagged if flagged else 0.0
        out["precision"] = precision
        out["f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out["pr_auc"] = float(average_precision_score(y, score, pos_label=1))
        out["recall_at_1pct_fpr"] = recall_at_fpr(y, score)
    return out


def rounded(d):
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


def score_list(score, digits):
    """Scores as JSON numbers, rounded to `digits` decimals (digits < 0: unrounded)."""
    score = np.asarray(score, dtype=np.float64)
    if digits >= 0:
        score = np.round(score, digits)
    return [float(v) for v in score]


# ---------------------------------------------------------------------------
# Main loop
# ---------------------------------------------------------------------------


# Set before the worker processes fork (see run()).
_CORPUS = None


def training_groups(corpus, held_outs):
    """-> {training sources: [held-out sources]}; held-out sources with the same training set
    (the eval-only ones: every trainable text) share one trained model."""
    groups = {}
    for s in held_outs:
        train_mask = corpus.trainable & (corpus.source != s)
        key = tuple(sorted(set(corpus.source[train_mask].tolist())))
        groups.setdefault(key, []).append(s)
    return groups


def run_task(task):
    """Train one model on one training set; evaluate it on the held-out sources sharing it."""
    key, group, name, tmpdir, seed, ft_cap, min_cpu, digits = task
    corpus = _CORPUS
    weighted = not name.endswith(UNWEIGHTED)
    base = name[: -len(UNWEIGHTED)] if not weighted else name
    train_mask = corpus.trainable & np.isin(corpus.source, key)
    idx = np.flatnonzero(train_mask)
    y = corpus.unwanted[idx]
    sidx = np.flatnonzero(train_mask & (corpus.scam >= 0))
    sy = corpus.scam[sidx]
    scam_trainable = len(set(sy.tolist())) == 2
    tmpdir = tempfile.mkdtemp(dir=tmpdir)  # fastText's training file, per task

    model, train_cpu, note = train(base, weighted, corpus, idx, y, tmpdir, seed, ft_cap)
    scam_model = scam_cpu = None
    rows, scores = [], []
    for s in group:
        t = np.flatnonzero(corpus.source == s)
        yt = corpus.unwanted[t]
        hard, score, per_sec = predict_timed(model, corpus.take(t), min_cpu)
        m = metrics(yt, hard, score)
        scam = scam_scores = None
        st = t[corpus.scam[t] >= 0]
        if scam_trainable and len(set(corpus.scam[st].tolist())) == 2:
            if scam_model is None:
                scam_model, scam_cpu, _ = train(base, weighted, corpus, sidx, sy, tmpdir, seed, ft_cap)
            ys = corpus.scam[st]
            scam_hard, scam_score = scam_model.predict(corpus.take(st))
            sm = metrics(ys, scam_hard, scam_score)
            scam_scores = {
                "index": corpus.line[st].tolist(),
                "scam": ys.tolist(),
                "score": score_list(scam_score, digits),
            }
            scam = rounded(
                {
                    "f1": sm["f1"],
                    "precision": sm["precision"],
                    "recall": sm["recall"],
                    "pr_auc": sm["pr_auc"],
                    "positives": int(ys.sum()),
                    "texts": len(st),
                    "train_seconds": round(scam_cpu, 4),
                    "n_train": len(sidx),
                }
            )
        rows.append(
            {
                "model": name,
                "held_out": s,
                "trainable": corpus.source_flag(s, corpus.trainable, "trainable"),
                "choose": corpus.source_flag(s, corpus.choose, "choose"),
                "texts": len(t),
                "positives": int(yt.sum()),
                **rounded(m),
                "scam": scam,
                "train_seconds": round(train_cpu, 4),
                "predict_per_sec": round(per_sec, 1),
                "variant": "weighted" if weighted else "unweighted",
                "n_train": len(idx),
                "train_sources": len(key),
                "timing": "process CPU time, single thread",
                "settings": settings(base, weighted, note),
            }
        )
        scores.append(
            {
                "model": name,
                "held_out": s,
                "trainable": rows[-1]["trainable"],
                "choose": rows[-1]["choose"],
                "score_kind": "decision_function" if base == "LinearSVC" else "P(positive)",
                "digits": digits,
                "corpus_texts": len(corpus.texts),
                "index": corpus.line[t].tolist(),
                "unwanted": yt.tolist(),
                "score": score_list(score, digits),
                "scam": scam_scores,
            }
        )

        def fmt(v):
            return "  —  " if v is None else f"{v:.3f}"

        log(
            f"{s:<22} {name:<24} F1 {fmt(m['f1'])}  PR-AUC {fmt(m['pr_auc'])}  "
            f"R@1%FPR {fmt(m['recall_at_1pct_fpr'])}  R {fmt(m['recall'])}  "
            f"flagged {fmt(m['benign_flagged'])}"
            + (f"  scam F1 {fmt(scam['f1'])}" if scam else "")
            + f"  train {train_cpu:.1f}s  {per_sec:.0f}/s"
        )
    return rows, scores


def run(corpus, models, tmpdir, seed, ft_cap, min_cpu, held_out_filter, jobs, partial, digits=-1):
    """-> (all rows, their per-text score records), both sorted; each task's rows are also
    appended to the open file `partial` as it ends."""
    global _CORPUS
    _CORPUS = corpus
    held_outs = [s for s in corpus.sources if not held_out_filter or s in held_out_filter]
    tasks = []
    for key, group in training_groups(corpus, held_outs).items():
        idx = np.flatnonzero(corpus.trainable & np.isin(corpus.source, key))
        y = corpus.unwanted[idx]
        if len(set(y.tolist())) < 2:
            log(f"held out {', '.join(group)}: the training texts have {'no' if not len(y) else 'one'} class; skipped")
            continue
        log(
            f"held out {', '.join(group)}: train on {len(idx)} texts from {len(key)} sources "
            f"({int(y.sum())} unwanted)"
        )
        tasks += [(key, group, name, tmpdir, seed, ft_cap, min_cpu, digits) for name in models]
    rows, scores = [], []

    def done(result):
        r, sc = result
        rows.extend(r)
        scores.extend(sc)
        for row in r:
            partial.write(json.dumps(row, ensure_ascii=False) + "\n")
        partial.flush()

    if jobs <= 1:
        for task in tasks:
            done(run_task(task))
    else:
        import multiprocessing

        # Slowest (fastText) first so the processes finish together; each is single-threaded.
        tasks.sort(key=lambda t: not t[2].startswith("fastText"))
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for r in pool.imap_unordered(run_task, tasks):
                done(r)
    order = {m: i for i, m in enumerate(models)}
    rows.sort(key=lambda r: (r["held_out"], order[r["model"]]))
    scores.sort(key=lambda r: (r["held_out"], order[r["model"]]))
    return rows, scores


def scores_path(out, scores_out):
    """--scores-out: None = next to --out (<out name>-scores.jsonl), "" = none."""
    if scores_out is None:
        return out.with_name(out.stem + "-scores.jsonl")
    return Path(scores_out) if scores_out else None


def write_scores(path, records):
    """One JSON line per (model, held-out source); gzip when the name ends in .gz."""
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(tmp, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    tmp.replace(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(REPO / "target" / "transfer" / "corpus.jsonl"))
    ap.add_argument("--out", default=str(REPO / "target" / "transfer" / "baselines.jsonl"))
    ap.add_argument(
        "--scores-out",
        default=None,
        help="every per-text score, one JSON line per (model, held-out source) (default: <out name>-scores.jsonl "
        "next to --out; gzip when it ends in .gz; \"\" = not written)",
    )
    ap.add_argument(
        "--score-digits",
        type=int,
        default=-1,
        help="decimals kept of each score in --scores-out (default -1: unrounded; rounding can tie "
        "MultinomialNB's probabilities near 1 and move the budget thresholds)",
    )
    ap.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated models (default: %(default)s; also available: "
        f"{', '.join(m for m in ALL_MODELS if m not in DEFAULT_MODELS)})",
    )
    ap.add_argument("--held-out", default="", help="comma-separated subset of held-out sources (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of fastText's per-source resampling (default 0)")
    ap.add_argument(
        "--fasttext-per-source",
        type=int,
        default=5000,
        help="cap on texts per source in fastText's balanced training file (default 5000)",
    )
    ap.add_argument(
        "--min-predict-cpu-seconds",
        type=float,
        default=0.2,
        help="repeat a held-out source's prediction until this much CPU time has passed, for throughput",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="(training set, model) tasks run in this many single-threaded processes (default 1); "
        "CPU timings stay per process, but cores shared with other work can slow them",
    )
    args = ap.parse_args(argv)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown:
        log(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(ALL_MODELS)}")
        return 2
    models = [m for m in ALL_MODELS if m in models]  # fixed order
    if args.fasttext_per_source < 1:
        log("--fasttext-per-source must be >= 1")
        return 2
    if not Path(args.corpus).is_file():
        log(f"corpus not found: {args.corpus} (written by `moderation transfer --corpus-out`)")
        return 2

    import fasttext
    import sklearn

    log(
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"fasttext {getattr(fasttext, '__version__', '0.9.2')}"
    )
    corpus = Corpus(args.corpus)
    log(f"corpus {args.corpus}: {len(corpus.texts)} texts, {len(corpus.sources)} sources")
    for s in corpus.sources:
        m = corpus.source == s
        log(
            f"  {s:<24} {int(m.sum()):>7} texts  {int(corpus.unwanted[m].sum()):>6} unwanted  "
            f"scam-labelled {int((corpus.scam[m] >= 0).sum()):>6}  "
            f"trainable={corpus.source_flag(s, corpus.trainable, 'trainable')}  "
            f"choose={corpus.source_flag(s, corpus.choose, 'choose')}"
        )
    held_out_filter = {s.strip() for s in args.held_out.split(",") if s.strip()}
    missing = held_out_filter - set(corpus.sources)
    if missing:
        log(f"unknown held-out source(s): {', '.join(sorted(missing))}")
        return 2

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    c0, w0 = time.process_time(), time.perf_counter()
    # Rows are appended to <out>.tmp as each model finishes (so a long run can be watched and a
    # crash loses little); the sorted file replaces <out> at the end.
    tmp_out = out.with_name(out.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="loso-") as tmpdir, tmp_out.open("w", encoding="utf-8") as partial:
        rows, scores = run(
            corpus,
            models,
            tmpdir,
            args.seed,
            args.fasttext_per_source,
            args.min_predict_cpu_seconds,
            held_out_filter,
            args.jobs,
            partial,
            args.score_digits,
        )
    with tmp_out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp_out.replace(out)
    spath = scores_path(out, args.scores_out)
    if spath is not None:
        write_scores(spath, scores)
        log(f"wrote the per-text scores of {len(scores)} (model, held-out source) pairs to {spath}")
    log(
        f"wrote {len(rows)} rows to {out} "
        f"({time.process_time() - c0:.0f} s CPU{' in this process, workers not counted' if args.jobs > 1 else ''}, "
        f"{time.perf_counter() - w0:.0f} s wall)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
