#!/usr/bin/env python3
"""Whether a precision changes a medium verdict: one step of the medium plan trained again at another precision
(same command, seeds and data, `precision=<it>` added), set against the committed float32 step.

    .venv/bin/python tools/precision_verdicts.py --step figure3b-6 \
        --candidate /path/to/figure3b-6-mixed_bfloat16 --precision mixed_bfloat16

``--candidate`` is the folder the other precision's sweep drew into (its plots_dir). The tool prints, per sweep
point, the test error and every KL total at both precisions with their difference paired by seed (mean ± its
standard error over the seeds), then rebuilds the medium report in a scratch folder with the candidate's step in
place of the committed one and lists each claim that reads the step with its verdict both ways. It writes all of
it to ``results/precision-<step>-<precision>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDIUM = ROOT / "results" / "medium"
# What a sweep point is named by (the rest of a result's keys are what it measured).
POINT_KEYS = ("beta", "filter_percentage", "dropout", "method", "width")


def results(folder: Path) -> list[dict]:
    [path] = folder.rglob("results.json")
    return json.loads(path.read_text())


def paired(reference: list[dict], candidate: list[dict]) -> list[dict]:
    """Per point and measured quantity: both precisions' means and the seed-paired difference's mean ± SE."""
    def point(row: dict) -> tuple:
        return tuple((key, row[key]) for key in POINT_KEYS if key in row)

    by_run = {(point(row), row["seed"]): row for row in reference}
    rows: dict[tuple, dict[str, list]] = {}
    for row in candidate:
        base = by_run.get((point(row), row["seed"]))
        if base is None:
            continue
        for key, value in row.items():
            if key in (*POINT_KEYS, "seed") or not isinstance(value, (int, float)) or key.endswith(("_raw", "_bias")):
                continue
            if isinstance(base.get(key), (int, float)) and math.isfinite(value) and math.isfinite(base[key]):
                both = rows.setdefault((point(row), key), {"reference": [], "candidate": []})
                both["reference"].append(base[key])
                both["candidate"].append(value)
    table = []
    for (where, key), values in rows.items():
        differences = [c - r for r, c in zip(values["reference"], values["candidate"])]
        n = len(differences)
        table.append({"point": dict(where), "quantity": key, "seeds": n,
                      "float32": statistics.mean(values["reference"]), "candidate": statistics.mean(values["candidate"]),
                      "difference": statistics.mean(differences),
                      "standard_error": statistics.stdev(differences) / math.sqrt(n) if n > 1 else math.nan})
    return table


def verdicts(step: str, candidate: Path) -> list[dict]:
    """Every claim that reads ``step``: its verdict from the committed steps and with the candidate in their place."""
    sys.path.insert(0, str(ROOT))
    from infodropout.paper.report.claims import CLAIMS
    from infodropout.paper.reproduction.plans import make_plan
    from infodropout.paper.report.writer import write_report

    plan = make_plan("medium", cifar10=False)
    with tempfile.TemporaryDirectory() as scratch:
        work, outs = Path(scratch) / "work", {}
        shutil.copytree(MEDIUM, work, ignore=shutil.ignore_patterns("logs"))
        # Both judged by this code: the committed steps first, then with the candidate's step in place.
        for label in ("float32", "candidate"):
            if label == "candidate":
                shutil.rmtree(work / step)
                shutil.copytree(candidate, work / step)
            out = Path(scratch) / label
            out.mkdir()
            write_report(plan, work, out)
            outs[label] = {c["id"]: c for c in json.loads((out / "claims-medium.json").read_text())}
    reading = [claim.id for claim in CLAIMS if step in claim.steps]
    return [{"id": claim, "claim": outs["float32"][claim]["claim"],
             "float32": outs["float32"][claim]["verdict"], "candidate": outs["candidate"][claim]["verdict"],
             "float32_reason": outs["float32"][claim]["reason"], "candidate_reason": outs["candidate"][claim]["reason"]}
            for claim in reading]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", required=True, help="a medium step, e.g. figure3b-6")
    parser.add_argument("--candidate", type=Path, required=True, help="the other precision's plots_dir of that step")
    parser.add_argument("--precision", default="mixed_bfloat16")
    args = parser.parse_args()
    if not (MEDIUM / args.step).is_dir():
        parser.error(f"no committed medium step {args.step!r} in {MEDIUM}")
    table = paired(results(MEDIUM / args.step), results(args.candidate))
    if not table:
        parser.error(f"{args.candidate} holds no run of the step's points and seeds")
    judged = verdicts(args.step, args.candidate)
    print(f"| point | quantity | float32 | {args.precision} | difference (± SE over seeds, paired) |")
    print("|---|---|---|---|---|")
    for row in table:
        where = " ".join(f"{k}={v}" for k, v in row["point"].items())
        print(f"| {where} | {row['quantity']} | {row['float32']:.4g} | {row['candidate']:.4g} | "
              f"{row['difference']:+.3g} ± {row['standard_error']:.2g} |")
    print(f"\n| claim | float32 | {args.precision} |\n|---|---|---|")
    for claim in judged:
        print(f"| {claim['id']} | {claim['float32']} | {claim['candidate']} |")
    out = ROOT / "results" / f"precision-{args.step}-{args.precision}.json"
    out.write_text(json.dumps({"step": args.step, "precision": args.precision, "paired": table, "verdicts": judged},
                              indent=1, ensure_ascii=False) + "\n")
    print(f"Wrote {out}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
