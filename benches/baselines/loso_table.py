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
  3. cost: per model, total training CPU seconds and median prediction throughput.
"""

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loso import ALL_MODELS  # noqa: E402  (the baselines' column order; one definition)
from table import emit, load_jsonl  # noqa: E402

METRICS = [("f1", "F1"), ("pr_auc", "PR-AUC"), ("recall_at_1pct_fpr", "R@1%FPR")]


def num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_pct(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def fmt_rate(x):
    return "—" if x is None else f"{x:,.0f}"


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


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
    args = ap.parse_args(argv)

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
        "sources. Cells: positive-class F1 at the default threshold / PR-AUC (average precision) / "
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

    out.append("## Benign texts flagged at the default threshold (the review rate a forum would see)")
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


if __name__ == "__main__":
    sys.exit(main())
