#!/usr/bin/env python3
"""Markdown tables from the comparison JSONL files.

Reads the baselines JSONL (written by baselines.py) and, if it exists, the
Rust side's JSONL (same schema; any model name that is not one of the five
baselines is treated as one of "ours"), and prints:

  1. accuracy: one row per (train -> test, column), one column per model, cells "F1 / PR-AUC";
  2. precision / recall, same layout;
  3. cost: training seconds and prediction throughput (texts/s, one core) per row and model;
  4. reproduction check: the baseline figures quoted in <datasets>/splits/README.md vs the
     measured ones, with the deltas; |delta| > 0.01 is flagged.

Standard library only.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

TOLERANCE = 0.01

# The model names and the row order are baselines.py's (one definition).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import CROSS_DOMAIN, IN_DOMAIN, MODEL_NAMES as BASELINES  # noqa: E402

# The README's in-domain rows, then the cross-domain rows, as (train, test, test column).
ROW_ORDER = IN_DOMAIN + [(train, test, column) for train, _, test, column in CROSS_DOMAIN]

# Row labels used in the splits/README.md baseline table -> (dataset, column).
README_ROWS = {
    "sms-spam-collection (spam)": ("sms-spam-collection", "y_spam"),
    "janitr (scam or spam)": ("crypto-scam-x-posts-janitr", "y_scam_or_spam"),
    "janitr (scam)": ("crypto-scam-x-posts-janitr", "y_scam"),
    "mishra-soni (spam or smishing)": ("sms-smishing-mishra-soni", "y_spam_or_smishing"),
    "thai (scam or spam)": ("thai-sms-spam-scam", "y_scam_or_spam"),
    "indonesian (fraud or promo)": ("indonesian-sms-spam", "y_fraud_or_promo"),
}

# The same figures as quoted in splits/README.md (F1, PR-AUC), used when that file can't be read.
README_FALLBACK = {
    ("sms-spam-collection", "y_spam"): [(.842, .967), (.897, .980), (.944, .957), (.936, .973), (.959, .978)],
    ("crypto-scam-x-posts-janitr", "y_scam_or_spam"): [(.685, .933), (.737, .935), (.813, .843), (.860, .938), (.828, .896)],
    ("crypto-scam-x-posts-janitr", "y_scam"): [(.727, .961), (.779, .958), (.857, .863), (.906, .965), (.864, .931)],
    ("sms-smishing-mishra-soni", "y_spam_or_smishing"): [(.858, .967), (.903, .977), (.928, .951), (.941, .978), (.952, .981)],
    ("thai-sms-spam-scam", "y_scam_or_spam"): [(.934, .977), (.932, .985), (.922, .975), (.946, .982), (.937, .987)],
    ("indonesian-sms-spam", "y_fraud_or_promo"): [(.958, .988), (.961, .994), (.957, .988), (.957, .994), (.961, .992)],
}

SHORT = {
    "sms-spam-collection": "sms-spam-collection",
    "crypto-scam-x-posts-janitr": "janitr",
    "sms-smishing-mishra-soni": "mishra-soni",
    "thai-sms-spam-scam": "thai",
    "indonesian-sms-spam": "indonesian",
}


def emit(text, out):
    """Prints a table and, with `out`, writes it there too."""
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")


def load_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"warning: {path}:{n}: skipping malformed line ({e})", file=sys.stderr)
    return rows


def readme_reference(datasets_dir):
    """Parse the baseline table of splits/README.md -> {(dataset, column): {model: (f1, pr_auc)}}."""
    ref = {k: dict(zip(BASELINES, v)) for k, v in README_FALLBACK.items()}
    source = "built-in copy of splits/README.md figures"
    path = Path(datasets_dir) / "splits" / "README.md" if datasets_dir else None
    if path and path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        header = None
        parsed = {}
        for line in lines:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] == "test split":
                header = cells[1:]
                continue
            if header and cells and cells[0] in README_ROWS:
                figs = {}
                for model, cell in zip(header, cells[1:]):
                    m = re.fullmatch(r"(\d*\.\d+)\s*/\s*(\d*\.\d+)", cell)
                    if m and model in BASELINES:
                        figs[model] = (float(m.group(1)), float(m.group(2)))
                parsed[README_ROWS[cells[0]]] = figs
        if parsed:
            ref, source = parsed, str(path)
    return ref, source


def row_label(key):
    train, test, column = key
    if train == test:
        return f"{SHORT.get(test, test)} ({column})"
    return f"{SHORT.get(train, train)} → {SHORT.get(test, test)} ({column})"


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_delta(d):
    if d is None:
        return "—"
    d = round(d, 3) or 0.0  # no "-0.000"
    return f"{d:+.3f}"


def fmt_rate(x):
    if x is None:
        return "—"
    return f"{x:,.0f}"


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Markdown comparison tables")
    ap.add_argument("--baselines", default=str(REPO / "target" / "compare" / "baselines.jsonl"))
    ap.add_argument("--ours", default=str(REPO / "target" / "compare" / "ours.jsonl"))
    ap.add_argument(
        "--datasets",
        default=os.environ.get("MODERATION_DATASETS") or str(REPO.parent / "shared" / "datasets"),
        help="datasets root, to read the reference figures from splits/README.md",
    )
    ap.add_argument("--out", help="also write the Markdown to this file")
    args = ap.parse_args(argv)

    if not Path(args.baselines).is_file():
        print(f"error: baselines file not found: {args.baselines} (run baselines.py first)", file=sys.stderr)
        return 2
    records = load_jsonl(args.baselines)
    ours_note = f"`{args.ours}` not found: no row for our classifier."
    if Path(args.ours).is_file():
        ours = load_jsonl(args.ours)
        records += ours
        ours_note = f"ours: {len(ours)} record(s) from `{args.ours}`."

    # Index: (train, test, column) -> model -> record (the last one wins).
    index = {}
    ours_models = []
    for r in records:
        try:
            key = (r["train"], r["test"], r["column"])
            model = r["model"]
        except KeyError as e:
            print(f"warning: record without {e}: {r}", file=sys.stderr)
            continue
        index.setdefault(key, {})[model] = r
        if model not in BASELINES and model not in ours_models:
            ours_models.append(model)
    models = ours_models + BASELINES
    keys = [k for k in ROW_ORDER if k in index] + [k for k in index if k not in ROW_ORDER]

    def get(key, model, field):
        v = index.get(key, {}).get(model, {}).get(field)
        return float(v) if isinstance(v, (int, float)) else None

    def pair_table(keys, models, first, second, show):
        """One row per key, one "first / second" cell per model ("—" when missing)."""
        rows = []
        for key in keys:
            cells = []
            for m in models:
                a, b = get(key, m, first), get(key, m, second)
                cells.append("—" if a is None and b is None else show(a, b))
            rows.append([row_label(key)] + cells)
        return md_table(["train → test (column)"] + models, rows)

    def n_label(key):
        r = next(iter(index[key].values()))
        return f"{r.get('n_train', '?')} / {r.get('n_test', '?')}"

    out = []
    out.append("## Accuracy on the canonical test sides (positive-class F1 at the default threshold / PR-AUC)")
    out.append("")
    out.append(ours_note + " Best F1 in each row in **bold**.")
    out.append("")
    rows = []
    for key in keys:
        f1s = [get(key, m, "f1") for m in models]
        best = max((f for f in f1s if f is not None), default=None)
        cells = []
        for m, f1 in zip(models, f1s):
            cell = f"{fmt(f1)} / {fmt(get(key, m, 'pr_auc'))}" if f1 is not None else "—"
            if f1 is not None and best is not None and round(f1, 3) == round(best, 3):
                cell = f"**{fmt(f1)}** / {fmt(get(key, m, 'pr_auc'))}"
            cells.append(cell)
        rows.append([row_label(key), n_label(key)] + cells)
    out.append(md_table(["train → test (column)", "n train / test"] + models, rows))
    out.append("")

    out.append("## Precision / recall at the default threshold")
    out.append("")
    out.append(pair_table(keys, models, "precision", "recall", lambda p, r: f"{fmt(p)} / {fmt(r)}"))
    out.append("")

    out.append("## Cost: training seconds / prediction throughput (texts per second, one core)")
    out.append("")
    timing = {r.get("timing") for r in records if r.get("timing")}
    out.append(
        "Throughput includes feature extraction (vectorising the raw text). "
        + (f"Baseline timings: {', '.join(sorted(timing))}. " if timing else "")
        + "Timings depend on machine load; compare within one run."
    )
    out.append("")
    out.append(
        pair_table(keys, models, "train_seconds", "predict_per_sec", lambda t, r: f"{fmt(t, 2)} s / {fmt_rate(r)}")
    )
    out.append("")

    ref, source = readme_reference(args.datasets)
    out.append(f"## Reproduction check: splits/README.md baseline figures vs measured (flag: |Δ| > {TOLERANCE})")
    out.append("")
    out.append(f"Reference: {source}.")
    out.append("")
    rows = []
    n_flag = n_cells = 0
    for (ds, col), figs in ref.items():
        key = (ds, ds, col)
        for m in BASELINES:
            if m not in figs:
                continue
            rf1, rauc = figs[m]
            f1, auc = get(key, m, "f1"), get(key, m, "pr_auc")
            d1 = None if f1 is None else f1 - rf1
            d2 = None if auc is None else auc - rauc
            bad = [d for d in (d1, d2) if d is not None and abs(d) > TOLERANCE + 1e-9]
            missing = f1 is None or auc is None
            n_cells += 2
            n_flag += len(bad) + (2 if missing else 0)
            flag = "missing" if missing else ("**⚠ off**" if bad else "ok")
            rows.append(
                [
                    row_label(key),
                    m,
                    f"{rf1:.3f}",
                    fmt(f1),
                    fmt_delta(d1),
                    f"{rauc:.3f}",
                    fmt(auc),
                    fmt_delta(d2),
                    flag,
                ]
            )
    out.append(
        md_table(
            ["test split", "model", "README F1", "F1", "Δ F1", "README PR-AUC", "PR-AUC", "Δ PR-AUC", "check"], rows
        )
    )
    out.append("")
    out.append(f"{n_cells - n_flag} of {n_cells} figures within ±{TOLERANCE}; {n_flag} off or missing.")
    out.append("")

    emit("\n".join(out), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
