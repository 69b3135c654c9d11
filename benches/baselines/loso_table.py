#!/usr/bin/env python3
"""Markdown tables of the leave-one-source-out (LOSO) transfer evaluation.

Reads the baselines JSONL (written by loso.py) and, if it exists, the Rust
side's JSONL (`moderation transfer --out`, same schema; every model in it is
one of "ours", there may be several), and writes / prints:

  1. main table: one row per held-out source (sorted; marked "(eval only)" when
     its texts are never trained on, "(not used to choose)" when choose=false and
     "(team-written)" when a record says team_written=true),
     one column per model (ours first, in file order, then the baselines in
     loso.py's order); cells "F1 / PR-AUC / R@1%FPR", "recall x" for
     positive-only sources; then the macro average over the choose=true sources,
     the best macro figure per metric in bold;
  2. benign texts flagged per source and model (the review rate a forum would
     see), and the scam figures ("F1 / PR-AUC / recall") where a source has them;
  3. at the same 5% budget as ours: when the baselines' per-text scores exist
     (loso.py --scores-out, default <baselines name>-scores.jsonl next to --baselines),
     each baseline's review threshold for a held-out source S is chosen the way
     moderation-lab/src/transfer.rs chooses ours (`choose_threshold` over `choosers`):
     on the LOSO scores of that same baseline on the *other* trainable sources with
     choose=true (>= 100 texts of each class), as the lowest threshold at which no such
     source has more than --review-fpr (5%) of its benign texts at or above it (at most
     floor(5% x benign) of them; tied scores are flagged together, so the threshold
     sits just above the first benign score that must not be flagged). Cells: F1 on S
     at that threshold / S's benign texts reaching review; ours' cells are its own
     figures (already at its budget thresholds); then the thresholds themselves;
  4. the best F1 any review threshold reaches on each held-out source within the same budget,
     the threshold chosen with that source's own labels: an upper bound on what any way of
     setting thresholds (per forum, calibrated on its own traffic, ...) could give each model's
     ranking; for ours from `moderation transfer --scores-out` (--ours-scores), for the baselines
     from their per-text scores;
  5. at each baseline's own benign review rate (its default threshold's, per held-out source): ours'
     F1 at the lowest threshold sending no more of that source's benign texts to review, against the
     baseline's F1 (both models at one operating point; the rate is read with the source's labels);
  6. cost: per model, total training CPU seconds and median prediction throughput.
"""

import argparse
import gzip
import json
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loso import ALL_MODELS  # noqa: E402  (the baselines' column order; one definition)
from table import emit, load_jsonl, md_table  # noqa: E402

METRICS = [("f1", "F1"), ("pr_auc", "PR-AUC"), ("recall_at_1pct_fpr", "R@1%FPR")]


def num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_pct(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def fmt_rate(x):
    return "—" if x is None else f"{x:,.0f}"


def load_scores(path):
    """loso.py's --scores-out (JSON lines, gzip when the name ends in .gz) -> records."""
    if not str(path).endswith(".gz"):
        return load_jsonl(path)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_score(x):
    """A score or threshold, 6 significant digits; probabilities crowded against 1 (MultinomialNB,
    fastText) as "1 − d" so that they do not print as 1."""
    if 0.5 <= x < 1 and f"{x:.6g}" in ("1", "0.999999"):
        return f"1 − {1 - x:.3g}"  # exact: 1 - x has no rounding error for x in [0.5, 1]
    return f"{x:.6g}"


def budget_cut(scores, labels, max_fpr):
    """One source's part of transfer.rs's `choose_threshold`: the lowest threshold t at which at
    most floor(max_fpr x benign) of its benign texts score >= t; -inf when it has no benign
    text (no constraint). Unlike the Rust function (whose scores are probabilities) there is no
    floor at 0 and no cap at 1: the baselines' scores include decision functions, and a cap
    would let a tie of benign texts at 1.0 (MultinomialNB saturates) overrun the budget."""
    benign = sorted((s for s, y in zip(scores, labels) if not y), reverse=True)
    if not benign:
        return -math.inf
    allowed = math.floor(max_fpr * len(benign))
    if allowed >= len(benign):
        return -math.inf
    # Just above the first benign score that must not be flagged.
    return math.nextafter(benign[allowed], math.inf)


def at_threshold(scores, labels, t):
    """-> (f1, precision, recall, benign review rate) flagging score >= t; like transfer.rs's
    Confusion (0 when undefined) except that the benign rate is None without benign texts."""
    tp = sum(1 for s, y in zip(scores, labels) if y and s >= t)
    fp = sum(1 for s, y in zip(scores, labels) if not y and s >= t)
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    fn = pos - tp
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / pos if pos else 0.0
    return f1, precision, recall, (fp / neg if neg else None)


def shared_training(recs, seconds):
    """Training times of distinct trainings: every held-out source has its own training set,
    except the eval-only ones, which share one (every trainable text) and are counted once."""
    own = [num(seconds(r)) for r in recs if r.get("trainable") is not False]
    shared = [num(seconds(r)) for r in recs if r.get("trainable") is False]
    if shared:
        own.append(max((v for v in shared if v is not None), default=None))
    return own


def main(argv=None):
    ap = argparse.ArgumentParser(description="Markdown tables of the LOSO transfer evaluation")
    ap.add_argument("--baselines", default=str(REPO / "target" / "transfer" / "baselines.jsonl"))
    ap.add_argument("--ours", default=str(REPO / "target" / "transfer" / "ours.jsonl"))
    ap.add_argument("--out", default=str(REPO / "target" / "transfer" / "table.md"), help="Markdown file to write")
    ap.add_argument(
        "--scores",
        default=None,
        help="the baselines' per-text scores (loso.py --scores-out; default: <baselines name>-scores.jsonl "
        "next to --baselines); without them there is no table at the 5%% budget",
    )
    ap.add_argument(
        "--ours-scores",
        default=None,
        help="our per-text scores (`moderation transfer --scores-out`; default: ours-scores.jsonl next to "
        "--ours); without them ours has no column in the best-threshold table",
    )
    ap.add_argument(
        "--review-fpr",
        type=float,
        default=0.05,
        help="highest share of each choosing source's benign texts that may reach review (default 0.05, "
        "as `moderation transfer --review-fpr`)",
    )
    args = ap.parse_args(argv)
    if args.scores is None:
        b = Path(args.baselines)
        args.scores = str(b.with_name(b.stem + "-scores.jsonl"))
    if args.ours_scores is None:
        args.ours_scores = str(Path(args.ours).with_name("ours-scores.jsonl"))

    records, ours_models, base_seen = [], [], []
    notes = []
    if Path(args.ours).is_file():
        ours = load_jsonl(args.ours)
        records += ours
        for r in ours:
            if r.get("model") is not None and r["model"] not in ours_models:
                ours_models.append(r["model"])
        notes.append(f"ours: {len(ours)} record(s) from `{args.ours}`.")
    else:
        notes.append(f"`{args.ours}` not found: no column for our classifier.")
    if Path(args.baselines).is_file():
        base = load_jsonl(args.baselines)
        records += base
        for r in base:
            if r.get("model") is not None and r["model"] not in base_seen and r["model"] not in ours_models:
                base_seen.append(r["model"])
        notes.append(f"baselines: {len(base)} record(s) from `{args.baselines}`.")
    else:
        notes.append(f"`{args.baselines}` not found: no baseline columns.")
    if not records:
        print(f"error: neither {args.ours} nor {args.baselines} has any record", file=sys.stderr)
        return 2

    models = ours_models + [m for m in ALL_MODELS if m in base_seen] + [m for m in base_seen if m not in ALL_MODELS]

    # held-out source -> model -> record (the last one wins); source facts from the first record.
    index, facts = {}, {}
    for r in records:
        try:
            src, model = r["held_out"], r["model"]
        except KeyError as e:
            print(f"warning: record without {e}: {r}", file=sys.stderr)
            continue
        index.setdefault(src, {})[model] = r
        f = {k: r.get(k) for k in ("texts", "positives", "trainable", "choose")}
        if src not in facts:
            facts[src] = f
        elif f != facts[src]:
            print(
                f"warning: {src}: {model} reports {f}, {next(iter(index[src]))} reported {facts[src]}; "
                "were the two files made from the same corpus?",
                file=sys.stderr,
            )
    sources = sorted(index)

    def get(src, model, field):
        return num(index.get(src, {}).get(model, {}).get(field))

    def kind(src):
        texts, pos = num(facts[src]["texts"]), num(facts[src]["positives"])
        if texts is not None and pos is not None:
            if pos == texts:
                return "positive-only"
            if pos == 0:
                return "benign-only"
        return "both"

    team = {s for s in sources if any(r.get("team_written") is True for r in index[s].values())}

    def label(src):
        tags = ["team-written"] if src in team else []
        if facts[src]["trainable"] is False:
            tags.append("eval only")
        if facts[src]["choose"] is False:
            tags.append("not used to choose")
        if kind(src) != "both":
            tags.append(kind(src))
        return src + "".join(f" ({t})" for t in tags)

    def size(src):
        t, p = facts[src]["texts"], facts[src]["positives"]
        return f"{t if t is not None else '?'} / {p if p is not None else '?'}"

    def cell(src, model):
        if model not in index.get(src, {}):
            return "—"
        k = kind(src)
        if k == "positive-only":
            return f"recall {fmt(get(src, model, 'recall'))}"
        if k == "benign-only":
            return f"flagged {fmt_pct(get(src, model, 'benign_flagged'))}"
        return " / ".join(fmt(get(src, model, m)) for m, _ in METRICS)

    choosing = [s for s in sources if facts[s]["choose"] is True]

    out = ["# Leave-one-source-out transfer", ""]
    out.append(
        "Each held-out source is tested with models trained on the trainable texts of all the *other* "
        "sources. Cells: positive-class F1 at the default threshold (ours: at its own review threshold, chosen "
        f"within its {100 * args.review_fpr:g}% budget; the baselines at that budget are further down) / "
        "PR-AUC (average precision) / "
        "recall at ≤ 1% false-positive rate on that source; positive-only sources: recall. "
        "Baselines without a suffix give every training source equal total weight (sample weights; "
        "fastText: resampled to equal per-source counts); \"(unweighted)\" = plain concatenation. "
        "See benches/baselines/README.md."
    )
    out.append("")
    out.append(" ".join(notes))
    out.append("")

    rows = [[label(s), size(s)] + [cell(s, m) for m in models] for s in sources]
    macro = {}
    for m in models:
        for field, _ in METRICS:
            vals = [get(s, m, field) for s in choosing]
            vals = [v for v in vals if v is not None]
            macro[m, field] = (statistics.fmean(vals) if vals else None, len(vals))
    # Sources where a figure is defined at all (for every model that has the source).
    expected = {
        field: sum(1 for s in choosing if any(get(s, m, field) is not None for m in models)) for field, _ in METRICS
    }
    complete = {(m, f): macro[m, f][1] == expected[f] for m in models for f, _ in METRICS}
    best = {}
    for field, _ in METRICS:
        vals = [round(macro[m, field][0], 3) for m in models if complete[m, field] and macro[m, field][0] is not None]
        best[field] = max(vals) if vals else None
    macro_cells = []
    for m in models:
        parts = []
        for field, _ in METRICS:
            v, n = macro[m, field]
            s = fmt(v)
            if v is not None and complete[m, field] and round(v, 3) == best[field]:
                s = f"**{s}**"
            if v is not None and not complete[m, field]:
                s += f" ({n} of {expected[field]})"
            parts.append(s)
        macro_cells.append(" / ".join(parts))
    rows.append([f"**macro (choose=true sources, {len(choosing)})**", ""] + macro_cells)
    out.append("## F1 / PR-AUC / R@1%FPR on the held-out source")
    out.append("")
    out.append(md_table(["held-out source", "texts / unwanted"] + models, rows))
    out.append("")
    out.append(
        "Macro: unweighted mean over the choose=true sources; best per metric in **bold** "
        "(a model missing some of those sources shows \"(k of n)\" and is not ranked)."
    )
    out.append("")

    out.append(
        "## Benign texts flagged at the default threshold (ours: at its review threshold; "
        "the review rate a forum would see)"
    )
    out.append("")
    rows = []
    for s in sources:
        if kind(s) == "positive-only":
            continue
        rows.append([label(s)] + [fmt_pct(get(s, m, "benign_flagged")) for m in models])
    cells = []
    n_flag = sum(1 for s in choosing if any(get(s, m, "benign_flagged") is not None for m in models))
    for m in models:
        vals = [get(s, m, "benign_flagged") for s in choosing]
        vals = [v for v in vals if v is not None]
        c = fmt_pct(statistics.fmean(vals)) if vals else "—"
        cells.append(c + (f" ({len(vals)} of {n_flag})" if vals and len(vals) < n_flag else ""))
    rows.append([f"**macro (choose=true sources, {len(choosing)})**"] + cells)
    out.append(md_table(["held-out source"] + models, rows))
    out.append("")
    audited = []
    for s in sources:
        for m in models:
            a = index.get(s, {}).get(m, {}).get("audited")
            if isinstance(a, dict):
                audited.append(
                    f"- {label(s)}, {m}: benign → review {fmt_pct(num(a.get('benign_flagged')))}, "
                    f"benign → hold {fmt_pct(num(a.get('benign_held')))} once the "
                    f"{a.get('negatives_audited_unwanted')} negatives a team audit read as unwanted are left out "
                    "(`datasets/audits/`; team-labelled; an unaudited negative counts as benign)"
                )
    if audited:
        out.append("Where the team audited a source's negatives:")
        out.append("")
        out += audited
        out.append("")

    scored = load_baseline_scores(args, base_seen, facts)
    out += budget_section(args, scored, sources, models, ours_models, base_seen, index, facts, kind, label, size, choosing)
    out += oracle_section(args, scored, sources, models, ours_models, facts, label, size, choosing)
    out += matched_section(args, sources, base_seen, ours_models, index, facts, label, size, choosing)

    scam_sources = [s for s in sources if any(isinstance(r.get("scam"), dict) for r in index[s].values())]
    if scam_sources:
        out.append("## Scam (positive = scam) on the held-out source: F1 / PR-AUC / recall")
        out.append("")
        out.append(
            "Trained on the other sources' scam-labelled texts; only sources whose texts carry scam labels "
            "of both classes."
        )
        out.append("")
        rows = []
        for s in scam_sources:
            cells = []
            for m in models:
                sc = index[s].get(m, {}).get("scam")
                if isinstance(sc, dict):
                    cells.append(" / ".join(fmt(num(sc.get(k))) for k in ("f1", "pr_auc", "recall")))
                else:
                    cells.append("—")
            given = [r["scam"] for r in index[s].values() if isinstance(r.get("scam"), dict)]
            pos = next((g["positives"] for g in given if g.get("positives") is not None), None)
            texts = next((g["texts"] for g in given if g.get("texts") is not None), None)
            rows.append([label(s), f"{texts if texts is not None else '?'} / {pos if pos is not None else '?'}"] + cells)
        out.append(md_table(["held-out source", "texts / scams"] + models, rows))
        out.append("")

    out.append("## Cost (one core)")
    out.append("")
    for m in models:
        recs = [index[s][m] for s in sources if m in index[s]]
        scams = [r["scam"] for r in recs if isinstance(r.get("scam"), dict)]
        train = shared_training(recs, lambda r: r.get("train_seconds"))
        scam = shared_training(
            [r for r in recs if isinstance(r.get("scam"), dict)], lambda r: r["scam"].get("train_seconds")
        )
        rates = [v for v in (num(r.get("predict_per_sec")) for r in recs) if v is not None]
        known = [v for v in train if v is not None]
        if known:
            line = f"- **{m}**: training {sum(known):.1f} s CPU over {len(known)} training set(s)"
            if len(known) < len(train):
                line += f" ({len(train) - len(known)} more without a time)"
        else:
            line = f"- **{m}**: training time not reported ({len(train)} training set(s))"
        scam_known = [v for v in scam if v is not None]
        if scam_known:
            line += f" + {sum(scam_known):.1f} s for {len(scam_known)} scam model(s)"
        elif scams:
            line += " (scam figures without a separate training time)"
        line += f"; median {fmt_rate(statistics.median(rates)) if rates else '—'} texts/s predicted"
        out.append(line)
    timing = sorted({r.get("timing") for r in records if r.get("timing")})
    out.append("")
    out.append(
        "Prediction throughput includes feature extraction from the raw text. "
        + (f"Timings: {'; '.join(timing)}. " if timing else "")
        + "They depend on machine load; compare within one run."
    )
    out.append("")

    emit("\n".join(out), args.out)
    return 0


def load_baseline_scores(args, base_seen, facts):
    """The baselines' per-text scores: (model, held-out source) -> (scores, labels), each checked
    against the baselines' records (read once, for the budget and the best-threshold tables);
    None when the file is missing."""
    if not base_seen or not Path(args.scores).is_file():
        return None
    scored, rounded_to = {}, set()
    for r in load_scores(args.scores):
        m, s = r.get("model"), r.get("held_out")
        sc, y = r.get("score"), r.get("unwanted")
        if m not in base_seen or s not in facts or not isinstance(sc, list) or not isinstance(y, list):
            print(f"warning: {args.scores}: skipping a record of {m!r} / {s!r}", file=sys.stderr)
            continue
        f = facts[s]
        if len(sc) != len(y) or len(y) != f["texts"] or sum(y) != f["positives"]:
            print(
                f"warning: {args.scores}: {m} / {s}: {len(y)} texts, {sum(y)} unwanted, but the records say "
                f"{f['texts']} / {f['positives']}; skipped (made from another corpus?)",
                file=sys.stderr,
            )
            continue
        if r.get("trainable") != f["trainable"] or r.get("choose") != f["choose"]:
            print(f"warning: {args.scores}: {m} / {s}: trainable / choose differ from the records", file=sys.stderr)
        scored[m, s] = (sc, [bool(v) for v in y])
        if isinstance(r.get("digits"), int) and r["digits"] >= 0:
            rounded_to.add(r["digits"])
    if rounded_to:
        print(
            f"warning: {args.scores}: scores rounded to {'/'.join(map(str, sorted(rounded_to)))} decimals; "
            "ties made by the rounding can move the thresholds (loso.py --score-digits -1 keeps them whole)",
            file=sys.stderr,
        )
    return scored


def budget_section(args, scored, sources, models, ours_models, base_seen, index, facts, kind, label, size, choosing):
    """Markdown lines of the table "at the same budget as ours" (see the module doc): none without
    baseline records, only a note when the baselines' per-text scores are missing."""
    pct = f"{100 * args.review_fpr:g}%"
    title = f"## At the same {pct} budget as ours: F1 / benign texts reaching review on the held-out source"
    if not base_seen:
        return []
    if scored is None:
        print(f"warning: {args.scores} not found: no table at the {pct} budget", file=sys.stderr)
        return [title, "", f"`{args.scores}` not found (written by loso.py --scores-out): not computed.", ""]

    # transfer.rs's `choosers`: trainable sources with choose=true (>= 100 texts of each class).
    chooser_set = [s for s in sources if facts[s]["trainable"] is True and facts[s]["choose"] is True]
    for s in sources:
        t, p = facts[s]["texts"], facts[s]["positives"]
        if isinstance(t, int) and isinstance(p, int) and facts[s]["choose"] is not ((p >= 100) and (t - p >= 100)):
            print(f"warning: {s}: choose={facts[s]['choose']} but {p} unwanted of {t} texts", file=sys.stderr)

    # Per (model, source): that source's own cut; a held-out source's threshold is the highest
    # cut among the choosers other than itself (all of them for an eval-only source).
    cut = {k: budget_cut(sc, y, args.review_fpr) for k, (sc, y) in scored.items()}
    result = {}  # (model, held-out source) -> (threshold, binding chooser, f1, precision, recall, benign rate)
    for m in base_seen:
        for s in sources:
            if (m, s) not in scored:
                continue
            others = [c for c in chooser_set if c != s]
            if not others or any((m, c) not in cut for c in others):
                continue  # a chooser's scores are missing: no threshold
            binding = max(others, key=lambda c: cut[m, c])
            t = cut[m, binding]
            result[m, s] = (t, binding) + at_threshold(*scored[m, s], t)

    def ours_fig(s, m, field):
        return num(index.get(s, {}).get(m, {}).get(field))

    def figs(s, m):
        """-> (f1, recall, benign rate) or None."""
        if m in ours_models:
            if m not in index.get(s, {}):
                return None
            return ours_fig(s, m, "f1"), ours_fig(s, m, "recall"), ours_fig(s, m, "benign_flagged")
        if (m, s) not in result:
            return None
        f1, _, recall, benign = result[m, s][2:]
        return f1, recall, benign

    def cell(s, m):
        v = figs(s, m)
        if v is None:
            return "—"
        if kind(s) == "positive-only":
            return f"recall {fmt(v[1])}"
        if kind(s) == "benign-only":
            return f"flagged {fmt_pct(v[2])}"
        return f"{fmt(v[0])} / {fmt_pct(v[2])}"

    rows = [[label(s), size(s)] + [cell(s, m) for m in models] for s in sources]
    macro = {}
    for m in models:
        got = [figs(s, m) for s in choosing]
        got = [g for g in got if g is not None and g[0] is not None and g[2] is not None]
        macro[m] = (
            statistics.fmean(g[0] for g in got) if got else None,
            statistics.fmean(g[2] for g in got) if got else None,
            len(got),
        )
    complete = [m for m in models if macro[m][2] == len(choosing)]
    best = max((round(macro[m][0], 3) for m in complete), default=None)
    cells = []
    for m in models:
        f1, benign, n = macro[m]
        if f1 is None:
            cells.append("—")
            continue
        c = fmt(f1)
        if m in complete and round(f1, 3) == best:
            c = f"**{c}**"
        c += f" / {fmt_pct(benign)}"
        if m not in complete:
            c += f" ({n} of {len(choosing)})"
        cells.append(c)
    rows.append([f"**macro (choose=true sources, {len(choosing)})**", ""] + cells)

    out = [title, ""]
    out.append(
        f"The default-threshold figures above send the baselines' benign texts to review at very different "
        f"rates, so here every model works at ours' operating point. For held-out source S, each baseline's "
        f"review threshold is chosen on *its own* leave-one-source-out scores of the other trainable "
        f"choose=true sources ({', '.join(chooser_set)}; all of them for an eval-only S): the lowest "
        f"threshold at which none of them sends more than {pct} of its benign texts to review (score ≥ "
        f"threshold; tied scores are flagged together, so the threshold sits just above the first benign score "
        f"that must not be flagged), as moderation-lab/src/transfer.rs chooses ours. Cells: F1 on S at that "
        f"threshold / share of S's benign texts reaching review (positive-only sources: recall; benign-only: "
        f"the benign share). "
        + (
            f"Ours: its own figures from `{args.ours}`, at its shipped review threshold (the engine's default "
            f"0.5 after one log-odds shift that keeps both the {pct} review and the 1% hold budgets, so it is "
            f"never below the pure {pct} threshold). "
            if ours_models
            else ""
        )
        + "Scores of different baselines are on different scales (LinearSVC: decision function; the others: "
        f"P(unwanted)); each threshold is chosen on the baseline's own scores. Per-text scores: `{args.scores}`."
    )
    out.append("")
    out.append(md_table(["held-out source", "texts / unwanted"] + models, rows))
    out.append("")
    out.append(
        "Macro: unweighted mean of F1 / of the benign review share over the choose=true sources; best F1 in "
        "**bold** (a model missing some of those sources shows \"(k of n)\" and is not ranked)."
    )
    out.append("")

    out.append(f"### Review thresholds at the {pct} budget")
    out.append("")
    out.append(
        "Baselines: flagged when the score is *above* the benign score shown, which is the highest of the "
        f"choosing sources' cuts (the (floor({pct} × benign) + 1)-th highest benign score), and the source "
        "whose cut it is. Ours: `review_threshold` from its records (flagged when ≥)."
    )
    out.append("")
    rows = []
    for s in sources:
        r = [label(s)]
        for m in models:
            if m in ours_models:
                t = ours_fig(s, m, "review_threshold")
                r.append("—" if t is None else f"≥ {fmt_score(t)}")
            elif (m, s) in result:
                t, binding = result[m, s][:2]
                r.append(f"> {fmt_score(math.nextafter(t, -math.inf))} ({binding})")
            else:
                r.append("—")
        rows.append(r)
    out.append(md_table(["held-out source"] + models, rows))
    out.append("")
    return out


def tie_cuts(scores, labels):
    """Every threshold at which a text's score is flagged (score >= threshold; tied scores together),
    highest first: yields (true positives, false positives, positives, benign) flagged at each."""
    pairs = sorted(zip(scores, labels), key=lambda p: p[0], reverse=True)
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    tp = fp = 0
    i = 0
    while i < len(pairs):
        t = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == t:
            tp += pairs[i][1]
            fp += not pairs[i][1]
            i += 1
        yield tp, fp, pos, neg


def best_within_budget(scores, labels, max_fpr):
    """-> (f1, recall, benign review rate) of the best-F1 threshold that sends at most max_fpr of
    the benign texts to review (score >= threshold; tied scores flagged together), chosen with
    these labels; (0, 0, 0) when none flags anything within the budget."""
    best = (0.0, 0.0, 0.0)
    for tp, fp, pos, neg in tie_cuts(scores, labels):
        if neg and fp / neg > max_fpr:
            break
        f1 = 2 * tp / (tp + fp + pos) if tp + fp + pos else 0.0
        if f1 > best[0]:
            best = (f1, tp / pos if pos else 0.0, fp / neg if neg else 0.0)
    return best


def load_ours_scores(args, ours_models, facts):
    """Our per-text scores (`moderation transfer --scores-out`): held-out source -> (unwanted scores,
    labels), checked against the records; empty without the file or with several of ours."""
    if not Path(args.ours_scores).is_file() or len(ours_models) != 1:
        return {}
    per, out = {}, {}
    for r in load_jsonl(args.ours_scores):
        if r.get("source") in facts:
            sc, y = per.setdefault(r["source"], ([], []))
            sc.append(max(float(r["spam"]), float(r["scam"])))
            y.append(bool(r["unwanted"]))
    for s, (sc, y) in per.items():
        if len(y) == facts[s]["texts"] and sum(y) == facts[s]["positives"]:
            out[s] = (sc, y)
        else:
            print(f"warning: {args.ours_scores}: {s}: {len(y)} texts, not {facts[s]['texts']}; skipped", file=sys.stderr)
    return out


def at_rate(scores, labels, max_rate):
    """-> (f1, recall, benign review rate) at the lowest threshold that sends at most max_rate of the
    benign texts to review (score >= threshold; tied scores flagged together): the operating point
    of another model that flags that share, whatever F1 it gives (not the best F1 within it)."""
    got = (0.0, 0.0, 0.0)
    for tp, fp, pos, neg in tie_cuts(scores, labels):
        if neg and fp / neg > max_rate + 1e-12:
            break
        got = (2 * tp / (tp + fp + pos) if tp + fp + pos else 0.0, tp / pos if pos else 0.0, fp / neg if neg else 0.0)
    return got


def matched_section(args, sources, base_seen, ours_models, index, facts, label, size, choosing):
    """Markdown lines of the table "at each baseline's own benign review rate" (module doc, part 5)."""
    ours = load_ours_scores(args, ours_models, facts)
    shown = [m for m in base_seen if any(m in index.get(s, {}) for s in choosing)]
    if not ours or not shown:
        return []
    rows, sums = [], {m: [[], []] for m in shown}
    for s in choosing:
        if s not in ours:
            continue
        cells = []
        for m in shown:
            r = index.get(s, {}).get(m)
            rate, f1 = (num(r.get("benign_flagged")), num(r.get("f1"))) if r else (None, None)
            if rate is None or f1 is None:
                cells.append("—")
                continue
            mine = at_rate(*ours[s], rate)[0]
            sums[m][0].append(mine)
            sums[m][1].append(f1)
            cells.append(f"{fmt(mine)} vs {fmt(f1)} ({fmt_pct(rate)})")
        rows.append([label(s), size(s)] + cells)
    macro = []
    for m in shown:
        a, b = sums[m]
        n = f" ({len(a)} of {len(choosing)})" if len(a) < len(choosing) else ""
        macro.append(f"{fmt(statistics.fmean(a)) if a else '—'} vs {fmt(statistics.fmean(b)) if b else '—'}{n}")
    rows.append([f"**macro (choose=true sources, {len(choosing)})**", ""] + macro)
    out = ["## At each baseline's own benign review rate: ours' F1 vs the baseline's F1 at its default threshold", ""]
    out.append(
        "A baseline at its default threshold sends some share of the held-out source's benign texts to review "
        "(in brackets). Here ours is read at the lowest threshold that sends no more than that share of the same "
        "texts to review: both models at one operating point, so the F1s compare the rankings. That share is "
        "the baseline's, read with the source's labels; no deployed threshold of ours knows it (ours' own "
        f"operating point is in the first table). Ours: per-text scores from `{args.ours_scores}`."
    )
    out.append("")
    out.append(md_table(["held-out source", "texts / unwanted"] + [f"ours vs {m}" for m in shown], rows))
    out.append("")
    return out


def oracle_section(args, baseline_scored, sources, models, ours_models, facts, label, size, choosing):
    """Markdown lines of the best-threshold table (see the module doc, part 4)."""
    pct = f"{100 * args.review_fpr:g}%"
    scored = dict(baseline_scored or {})  # (model, source) -> (scores, labels)
    ours = load_ours_scores(args, ours_models, facts)
    ours_name = ours_models[0] if ours else None
    for s, v in ours.items():
        scored[ours_name, s] = v
    shown = [m for m in models if any((m, s) in scored for s in choosing)]
    if not shown:
        return []
    best = {k: best_within_budget(sc, y, args.review_fpr) for k, (sc, y) in scored.items()}
    rows = []
    for s in choosing:
        cells = []
        for m in shown:
            v = best.get((m, s))
            cells.append("—" if v is None else f"{fmt(v[0])} (recall {fmt(v[1])})")
        rows.append([label(s), size(s)] + cells)
    macro = []
    for m in shown:
        got = [best[m, s][0] for s in choosing if (m, s) in best]
        cell = fmt(statistics.fmean(got)) if got else "—"
        macro.append(cell + (f" ({len(got)} of {len(choosing)})" if got and len(got) < len(choosing) else ""))
    rows.append([f"**macro (choose=true sources, {len(choosing)})**", ""] + macro)
    out = [f"## The best any threshold could do within the {pct} budget: F1 (recall) on the held-out source", ""]
    out.append(
        f"For each held-out source, the threshold with the best F1 among those that send at most {pct} of "
        f"*that source's* benign texts to review, chosen with its own labels: no deployed threshold can know "
        f"them, so this is an upper bound on what any way of setting thresholds (per forum, calibrated on its "
        f"own traffic, ...) gives each model's ranking. "
        + (f"Ours: per-text scores from `{args.ours_scores}`. " if ours_name else "Ours: no per-text scores. ")
        + f"Baselines: `{args.scores}`."
    )
    out.append("")
    out.append(md_table(["held-out source", "texts / unwanted"] + shown, rows))
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main())
