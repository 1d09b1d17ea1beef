#!/usr/bin/env python3
"""Times one small sweep with jobs=1 and with jobs=2 on this machine and writes results/jobs-speedup.json; then
runs it once more one run at a time with each jobs=2 process's threads, which must give jobs=2's numbers exactly.

    .venv/bin/python tools/time_jobs.py

The sweep is four independent runs (two β × two seeds, All-CNN-32 at a tenth of its filters on the embedded
digits, 4 epochs): each setting trains them from scratch in its own folders, so neither reuses the other's runs.
Run it on an otherwise idle machine: the times are the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["sweep", "with", "dataset=sample", "epochs=4", "lr_drops=[3]", "filter_percentage=0.1", "betas=[0.5,2.0]",
         "seeds=[0,1]", "verbose=0"]


def timed_sweep(jobs: int, folder: Path, *extra: str) -> tuple[float, list[dict]]:
    """Seconds the sweep took with ``jobs`` (and ``extra`` entries) and its results, trained into ``folder``."""
    argv = [sys.executable, str(ROOT / "cifar.py"), *SWEEP, f"jobs={jobs}", f"models_dir={folder / 'models'}",
            f"plots_dir={folder / 'plots'}", *extra]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"jobs={jobs} failed:\n{done.stderr[-2000:]}")
    [results] = list((folder / "plots").rglob("results.json"))
    return seconds, json.loads(results.read_text())


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from infodropout.paper.machine import cpu_description
    from infodropout.paper.machine import threads_per_job

    share = threads_per_job(2)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        serial, serial_results = timed_sweep(1, Path(scratch) / "jobs1")
        parallel, parallel_results = timed_sweep(2, Path(scratch) / "jobs2")
        _, same_threads_results = timed_sweep(1, Path(scratch) / "threads", f"threads={share}")
    errors = lambda results: {(r["beta"], r["seed"]): r["error"] for r in results}  # noqa: E731
    record = {
        "what": "cifar.py " + " ".join(SWEEP) + ", from scratch, with jobs=1 and jobs=2 (tools/time_jobs.py)",
        "machine": f"{os.cpu_count()} cores, {cpu_description()}",
        "load_average_before": round(load_before, 2),
        "seconds_jobs1": round(serial, 1),
        "seconds_jobs2": round(parallel, 1),
        "speedup": round(serial / parallel, 2),
        "same_test_errors": errors(serial_results) == errors(parallel_results),
        "test_errors_jobs1": {f"beta={b} seed={s}": e for (b, s), e in sorted(errors(serial_results).items())},
        "test_errors_jobs2": {f"beta={b} seed={s}": e for (b, s), e in sorted(errors(parallel_results).items())},
        # One run after another with the threads each jobs=2 process had: every number of jobs=2, to the last bit.
        "threads_per_job": share,
        "jobs1_with_threads_per_job_repeats_jobs2": sorted(same_threads_results, key=_point)
        == sorted(parallel_results, key=_point),
    }
    out = ROOT / "results" / "jobs-speedup.json"
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(record, indent=1, ensure_ascii=False))
    print(f"Wrote {out}.")


def _point(result: dict) -> tuple:
    return result["beta"], result["seed"]


if __name__ == "__main__":
    main()
