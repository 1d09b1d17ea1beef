#!/usr/bin/env python3
"""Compare the runs two models folders share, trained by two versions of the code with the same commands.

For each run (a ``<name>.keras`` in both folders): the largest absolute difference between their final weights,
and for each key of their per-epoch histories the largest difference, with ``Lz`` compared after dividing the
second folder's by ``--lz-factor-key``'s value in the run's config (β, where the second version logs β·KL / N and
the first logged KL / N). Writes the table as JSON and prints one line a run.

    .venv/bin/python tools/compare_runs.py BEFORE_DIR AFTER_DIR --out results/objective-move.json \
        --lz-factor-key beta --note "what the two versions are"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def history(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def largest_difference(a: list[float], b: list[float]) -> float:
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def compare(before: Path, after: Path, lz_factor_key: str | None) -> dict:
    import keras
    import numpy as np

    import infodropout.vae  # noqa: F401  (registers the library's layers for loading)

    weights_before = keras.models.load_model(f"{before}.keras").get_weights()
    weights_after = keras.models.load_model(f"{after}.keras").get_weights()
    weight_difference = max(float(np.max(np.abs(a - b))) if a.size else 0.0
                            for a, b in zip(weights_before, weights_after))
    records_before = history(before.parent / f"{before.name}.history.jsonl")
    records_after = history(after.parent / f"{after.name}.history.jsonl")
    factor = 1.0
    if lz_factor_key:
        config = json.loads((after.parent / f"{after.name}.run.json").read_text())["config"]
        factor = float(config[lz_factor_key])
    keys = sorted(set(records_before[0]) & set(records_after[0]) - {"epoch"})
    differences = {}
    for key in keys:
        scale = factor if key == "Lz" and factor else 1.0
        differences[key] = largest_difference([r[key] for r in records_before], [r[key] / scale for r in records_after])
    return {"epochs": len(records_after), "weights_max_abs_difference": weight_difference,
            "weights_identical": weight_difference == 0.0, "history_max_abs_difference": differences,
            "history_identical": all(value == 0.0 for value in differences.values()),
            "Lz_divided_by": factor if lz_factor_key else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lz-factor-key", default=None)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    names = sorted(p.stem for p in args.before.glob("*.keras") if (args.after / p.name).exists())
    if not names:
        sys.exit(f"no run is in both {args.before} and {args.after}")
    runs = {}
    for name in names:
        runs[name] = compare(args.before / name, args.after / name, args.lz_factor_key)
        row = runs[name]
        print(f"{name}: weights {'identical' if row['weights_identical'] else row['weights_max_abs_difference']}, "
              f"history {'identical' if row['history_identical'] else max(row['history_max_abs_difference'].values())}")
    args.out.write_text(json.dumps({"note": args.note, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
