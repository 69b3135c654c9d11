#!/usr/bin/env python3
"""Markdown table of the adaptation learning curve: ours vs in-domain baselines.

Reads our figures (`moderation curve --out`, default target/transfer/curve.jsonl;
rows {"model", "source", "k", "f1", "pr_auc", ...}, possibly with k = 0 for the
unadapted base model; every model in it is one of "ours"; the file may be
missing, then the table has the baselines only) and the baselines' figures
(curve.py, default target/transfer/curve-baselines.jsonl), and prints / writes
(`--out`, default target/transfer/curve.md):

  1. one row per (held-out source, k), sources sorted, k ascending; columns: the
     training texts / unwanted among them, the test texts / unwanted, then
     "F1 / PR-AUC" per model (ours first, in file order, then the baselines in
     curve.py's order). A model that could not be trained (e.g. one class among
     the k texts) shows "—" and its reason in a footnote. Several rows of one
     (model, source, k) (repeated draws) are averaged over their non-null values;
  2. a macro row per k: for each model, the mean over the sources that have a
     figure at that k for every model that has any figure at that k (so k = 0,
     where only ours is defined, averages ours alone), best per metric in bold;
  3. for every k >= --check-min-k (50) and every "ours" model, a check: on every
     source, is ours' F1 >= the best baseline F1 - --tolerance (0.01) and ours'
     PR-AUC >= the best baseline PR-AUC - 0.01? The sources where not are listed.
"""

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve import ALL_MODELS  # noqa: E402  (the baselines' column order; one definition)
from table import emit, fmt, load_jsonl, md_table  # noqa: E402

METRICS = [("f1", "F1"), ("pr_auc", "PR-AUC")]
EPS = 1e-9  # float slack of the tolerance comparisons


def num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def span(values):
    """Counts of repeated draws: "n" when they agree, "a–b" otherwise, "?" when unknown."""
    vals = sorted({int(v) for v in values if num(v) is not None})
    if not vals:
        return "?"
    return str(vals[0]) if len(vals) == 1 else f"{vals[0]}–{vals[-1]}"


class Cell:
    """The rows of one (model, source, k): mean figures over the draws that have them."""

    def __init__(self, rows):
        self.rows = rows
        self.value = {}
        self.partial = False  # some draws have a figure, others not
        for field, _ in METRICS:
            vals = [num(r.get(field)) for r in rows]
            known = [v for v in vals if v is not None]
            self.value[field] = statistics.fmean(known) if known else None
            self.partial |= bool(known) and len(known) < len(vals)
        self.skipped = sorted({str(r["skipped"]) for r in rows if r.get("skipped")})


def load(path, what):
    rows = load_jsonl(path)
    good = []
    for r in rows:
        src = r.get("source", r.get("held_out"))
        k = r.get("k")
        if r.get("model") is None or src is None or isinstance(k, bool) or not isinstance(k, int):
            print(f"warning: {path}: a {what} record without model / source / integer k: {str(r)[:200]}", file=sys.stderr)
            continue
        good.append(dict(r, source=str(src)))
    return good


def main(argv=None):
    ap = argparse.ArgumentParser(description="Markdown table of the adaptation learning curve")
    ap.add_argument("--ours", default=str(REPO / "target" / "transfer" / "curve.jsonl"))
    ap.add_argument("--baselines", default=str(REPO / "target" / "transfer" / "curve-baselines.jsonl"))
    ap.add_argument("--out", default=str(REPO / "target" / "transfer" / "curve.md"), help="Markdown file to write")
    ap.add_argument("--tolerance", type=float, default=0.01, help="allowed shortfall of ours vs the best baseline")
    ap.add_argument("--check-min-k", type=int, default=50, help="smallest k that the check covers (default 50)")
    args = ap.parse_args(argv)

    notes, ours_models, base_models = [], [], []
    ours, base = [], []
    if Path(args.ours).is_file():
        ours = load(args.ours, "ours")
        for r in ours:
            if r["model"] not in ours_models:
                ours_models.append(r["model"])
        notes.append(f"ours: {len(ours)} record(s) from `{args.ours}`.")
    else:
        notes.append(f"`{args.ours}` not found: baselines only.")
    if Path(args.baselines).is_file():
        base = [r for r in load(args.baselines, "baseline") if r["model"] not in ours_models]
        seen = []
        for r in base:
            if r["model"] not in seen:
                seen.append(r["model"])
        base_models = [m for m in ALL_MODELS if m in seen] + [m for m in seen if m not in ALL_MODELS]
        notes.append(f"baselines: {len(base)} record(s) from `{args.baselines}`.")
    else:
        notes.append(f"`{args.baselines}` not found: no baseline columns.")
    if not ours and not base:
        print(f"error: neither {args.ours} nor {args.baselines} has any record", file=sys.stderr)
        return 2
    models = ours_models + base_models

    grouped = {}
    for r in ours + base:
        grouped.setdefault((r["model"], r["source"], r["k"]), []).append(r)
    cells = {key: Cell(rows) for key, rows in grouped.items()}
    sources = sorted({s for _, s, _ in cells})
    ks_of = {s: sorted({k for _, s2, k in cells if s2 == s}) for s in sources}
    all_ks = sorted({k for _, _, k in cells})

    def val(m, s, k, field):
        c = cells.get((m, s, k))
        return None if c is None else c.value[field]

    # Test-set sizes: from any record that states them; a mismatch means different splits / corpora.
    def sizes(s, k, pre):
        rows = [r for m in models for r in grouped.get((m, s, k), [])]
        texts = [r.get(f"{pre}_texts") for r in rows]
        pos = [r.get(f"{pre}_positives") for r in rows]
        return rows, texts, pos

    for s in sources:
        # One test set per draw (the seed of the shuffle; records without one are one draw).
        test_sizes = {}
        for k in ks_of[s]:
            for r in sizes(s, k, "test")[0]:
                if r.get("test_texts") is not None:
                    test_sizes.setdefault(r.get("draw"), set()).add((r.get("test_texts"), r.get("test_positives")))
        for draw, found in sorted(test_sizes.items(), key=lambda x: str(x[0])):
            if len(found) > 1:
                print(
                    f"warning: {s} (draw {draw}): the records disagree on the test set (texts, unwanted): "
                    f"{sorted(found)}; were they made from the same split file?",
                    file=sys.stderr,
                )

    reasons = {}  # skipped reason -> footnote number

    def cell_text(m, s, k):
        c = cells.get((m, s, k))
        if c is None:
            return "·"
        if all(c.value[f] is None for f, _ in METRICS):
            marks = []
            for why in c.skipped:
                reasons.setdefault(why, len(reasons) + 1)
                marks.append(f"[{reasons[why]}]")
            return "—" + ("" if not marks else " " + " ".join(marks))
        t = " / ".join(fmt(c.value[f]) for f, _ in METRICS)
        if len(c.rows) > 1:
            t += f" (×{len(c.rows)}{', some —' if c.partial else ''})"
        return t

    out = ["# Adaptation learning curve: ours vs in-domain baselines", ""]
    out.append(
        "For each held-out source, every model gets the same k labelled texts of that source "
        "(the moderators' decisions) and is tested on the same held-out texts of it (the same test set for "
        "every k). Ours: the shipped model adapted with the k texts (k = 0: unadapted). Baselines "
        "(benches/baselines/curve.py): trained on the k texts alone, at their default thresholds "
        "(LinearSVC decision > 0, NB argmax, fastText top label). Cells: positive-class F1 / PR-AUC "
        "(average precision); \"—\" = not trained (reason below), \"·\" = no record; (×n) = mean of n draws. "
        "Target: unwanted (spam or scam). See benches/baselines/README.md."
    )
    out.append("")
    out.append(" ".join(notes))
    out.append("")

    rows = []
    for s in sources:
        for k in ks_of[s]:
            _, tt, tp = sizes(s, k, "train")
            _, et, ep = sizes(s, k, "test")
            if any(num(v) is not None for v in tt):
                train = f"{span(tt)} / {span(tp)}"
            else:
                train = "0 / 0" if k == 0 else f"{k} / ?"
            test = f"{span(et)} / {span(ep)}"
            rows.append([s, str(k), train, test] + [cell_text(m, s, k) for m in models])

    # Macro per k over the sources complete for every model that has any figure at that k.
    macro, summary = {}, []
    for k in all_ks:
        for field, _ in METRICS:
            present = [m for m in models if any(val(m, s, k, field) is not None for s in sources)]
            common = [s for s in sources if present and all(val(m, s, k, field) is not None for m in present)]
            for m in models:
                vals = [val(m, s, k, field) for s in common] if m in present else []
                macro[k, m, field] = statistics.fmean(vals) if vals else None
            macro[k, field] = common
        best = {
            f: max((round(macro[k, m, f], 3) for m in models if macro[k, m, f] is not None), default=None)
            for f, _ in METRICS
        }
        parts = []
        for m in models:
            p = []
            for f, _ in METRICS:
                v = macro[k, m, f]
                t = fmt(v)
                if v is not None and round(v, 3) == best[f] and sum(macro[k, x, f] is not None for x in models) > 1:
                    t = f"**{t}**"
                p.append(t)
            parts.append(" / ".join(p))
        n_f1, n_pr = len(macro[k, "f1"]), len(macro[k, "pr_auc"])
        n = f"{n_f1} source{'s' if n_f1 != 1 else ''}" if n_f1 == n_pr else f"{n_f1} (F1) / {n_pr} (PR-AUC) sources"
        rows.append([f"**macro** ({n})", f"**{k}**", "", ""] + parts)
        summary.append((k, n))

    out.append("## F1 / PR-AUC on the held-out texts of each source")
    out.append("")
    out.append(md_table(["source", "k", "train texts / unwanted", "test texts / unwanted"] + models, rows))
    out.append("")
    out.append(
        "Macro: unweighted mean over the sources that have a figure at that k for every model with any "
        "figure at that k (the sources differ between k when a source has too few texts for a large k or a "
        "model cannot be trained on a small one); best per metric in **bold**."
    )
    for k, n in summary:
        common = macro[k, "f1"]
        if len(common) < len(sources):
            missing = [s for s in sources if s not in common]
            out.append(f"k = {k}: {n}; not in the F1 mean: {', '.join(missing)}.")
    out.append("")
    if reasons:
        out.append("Not trained:")
        out.append("")
        for why, i in sorted(reasons.items(), key=lambda x: x[1]):
            out.append(f"- [{i}] {why}")
        out.append("")

    # The check: ours within --tolerance of the best baseline, per source, for k >= --check-min-k.
    out.append(
        f"## Check: ours ≥ best in-domain baseline − {args.tolerance:g} (F1 and PR-AUC), every source, k ≥ "
        f"{args.check_min_k}"
    )
    out.append("")
    checked = [k for k in all_ks if k >= args.check_min_k]
    if not ours_models:
        out.append("No figures of ours: not checked.")
    elif not base_models:
        out.append("No baseline figures: not checked.")
    elif not checked:
        out.append(f"No k ≥ {args.check_min_k}: nothing to check.")
    for om in ours_models if base_models else []:
        for k in checked:
            srcs = [s for s in sources if any((m, s, k) in cells for m in base_models)]
            fails, no_ours, no_base = [], [], []
            for s in srcs:
                bad = []
                for field, name in METRICS:
                    bvals = [(val(m, s, k, field), m) for m in base_models if val(m, s, k, field) is not None]
                    if not bvals:
                        no_base.append(f"{s} ({name})")
                        continue
                    bv, bm = max(bvals, key=lambda x: x[0])
                    ov = val(om, s, k, field)
                    if ov is None:
                        continue
                    if ov < bv - args.tolerance - EPS:
                        bad.append(f"{name} {fmt(ov)} vs {fmt(bv)} {bm}")
                if all(val(om, s, k, f) is None for f, _ in METRICS):
                    no_ours.append(s)
                elif bad:
                    fails.append(f"{s} ({'; '.join(bad)})")
            status = "**pass**" if not fails and not no_ours else "**FAIL**"
            line = f"- k = {k}, {om}: {status}"
            if fails:
                line += f"; below on {len(fails)} of {len(srcs)} sources: {', '.join(fails)}"
            else:
                line += f"; within {args.tolerance:g} on {len(srcs) - len(no_ours)} of {len(srcs)} sources"
            if no_ours:
                line += f"; no figure of ours on: {', '.join(no_ours)}"
            if no_base:
                line += f"; no baseline figure on: {', '.join(no_base)}"
            out.append(line)
    out.append("")

    emit("\n".join(out), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
