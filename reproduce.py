#!/usr/bin/env python3
"""Reproduce every figure and table of the paper at one scale, then write the report.

    ./reproduce.py --scale small          # about an hour on 2 CPU cores; results/REPORT.md
    ./reproduce.py --scale medium         # about 12 hours on 2 AVX2 cores, Fashion-MNIST; results/REPORT-medium.md
    ./reproduce.py --scale full           # the paper's protocol (GPU-days)
    ./reproduce.py --scale small --report-only
    ./reproduce.py --scale small --list     # one line a step: id, wave, the ids it needs, its command, minutes
    ./reproduce.py --scale small --step figure3a    # one step only (several may run at once)
    ./reproduce.py --scale medium --jobs 1  # each sweep step trains one run at a time (default: one per core
                                            # without a GPU)

Relative paths are taken from this script's folder. Steps already done are reused (their ledger: steps.json in
plots/reproduce-<scale>/, or results/medium/ for the medium plan, which is committed), and so are trained runs
(models/): an interrupted reproduction picks up where it stopped. See infodropout/paper/reproduction/plans.py for each scale.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from infodropout.paper.cli.preflight import require_packages  # noqa: E402

require_packages()  # one line on what to run, before a package is missing mid-import

from infodropout.paper.reproduction.plans import (  # noqa: E402
    SCALES, Plan, cifar10_present, make_plan, step_list,
)
from infodropout.paper.reproduction.ledger import LedgerError, cifar10_in_ledger, read_ledger  # noqa: E402
from infodropout.paper.reproduction.runner import default_work_dir, run_plan  # noqa: E402
from infodropout.paper.machine import default_jobs  # noqa: E402
from infodropout.paper.train.archive import keep_runs, restore_runs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--out", default="results", help="where the report and its figures go (default: results; "
                        "REPORT.md for the small scale, REPORT-<scale>.md for the others)")
    parser.add_argument("--work", default=None, help="where the steps' figures and logs go "
                        "(default: plots/reproduce-<scale>; results/medium for the medium scale)")
    parser.add_argument("--datasets-dir", default="datasets", help="the scripts' datasets_dir")
    parser.add_argument("--models-dir", default="models", help="the scripts' models_dir")
    parser.add_argument("--report-only", action="store_true", help="write the report from the steps done so far")
    parser.add_argument("--list", action="store_true", help="print every step, one a line, tab-separated: its id, its "
                        "wave (the steps of a wave may run at once after the waves before), the ids it needs done "
                        "first (- for none), the shell command that runs it and the minutes it is expected to take "
                        "(- where not sized); the report last")
    parser.add_argument("--jobs", type=int, default=None, metavar="N", help="train N runs of each sweep step at "
                        "once, each in its own process with the cores divided among them (0: one per core); default: "
                        "one per core without a GPU, 1 with one (see docs/performance.md); the steps still run one "
                        "after another")
    parser.add_argument("--step", action="append", metavar="ID", help="run only this step (repeatable); "
                        "then write no report (--report-only gathers what is done)")
    parser.add_argument("--keep-runs", action="store_true", help="keep the trained runs (network, state, history, "
                        "record; small runs only) in <work>/runs, which the medium plan commits: put them back into "
                        "the models folder before the steps and keep them again after, so that a plan carried over "
                        "machines trains no run twice (tools/keep_runs.sh keeps them while a long step runs)")
    args = parser.parse_args()
    if args.jobs is not None and args.jobs < 0:
        parser.error("--jobs must be 0 (one per core) or more")
    # The options a listed command passes on, so that every step works in the same folders.
    options = [item for flag, value, default in (("--work", args.work, None), ("--datasets-dir", args.datasets_dir,
                                                 "datasets"), ("--models-dir", args.models_dir, "models"))
               if value != default for item in (flag, value)]
    options += ["--jobs", str(args.jobs)] if args.jobs is not None else []
    jobs = default_jobs() if args.jobs is None else args.jobs
    # The steps run in the project's folder, so every relative path is taken from there.
    os.chdir(Path(__file__).resolve().parent)

    work = args.work or default_work_dir(args.scale)
    # A damaged ledger is named before any step runs or any report is written.
    ledger = read_ledger(Path(work) / "steps.json")
    cifar10 = cifar10_present(args.datasets_dir)
    # A report rebuilt from a ledger judges the plan its steps ran, whether or not this host holds CIFAR-10.
    plan = make_plan(args.scale, cifar10_in_ledger(ledger, cifar10) if args.report_only else cifar10)
    if args.list:
        for name, wave, needs, command, seconds in step_list(plan, options):
            minutes = "-" if seconds is None else f"{seconds / 60:.1f}"
            print(f"{name}\t{wave}\t{','.join(needs) or '-'}\t{command}\t{minutes}")
        if plan.expected_seconds() is not None:
            print(f"Expected in all: {plan.expected_seconds() / 3600:.1f} h on 2 AVX2 cores.", file=sys.stderr)
        return 0
    if args.step:
        known = {step.name: step for step in plan.steps}
        unknown = [name for name in args.step if name not in known]
        if unknown:
            print(f"reproduce.py: no step {', '.join(unknown)} at the {args.scale} scale; --list shows them.",
                  file=sys.stderr)
            return 2
        plan = Plan(plan.scale, tuple(known[name] for name in args.step), plan.skipped)
    start = time.perf_counter()
    if not args.report_only:
        expected = plan.expected_seconds()
        print(f"Reproducing at the {args.scale} scale: {len(plan.steps)} steps on {platform.node() or 'this machine'}"
              + ("" if expected is None else f", expected to take about {expected / 3600:.1f} h on 2 AVX2 cores")
              + f"; {'one run per core' if jobs == 0 else f'{jobs} run(s)'} of each sweep at once; logs in {work}/logs/.",
              flush=True)
        archive = Path(work) / "runs"
        if args.keep_runs:
            restored = restore_runs(archive, args.models_dir)
            print(f"{args.models_dir}: " + restored.summary(f"restored from {archive}"), flush=True)
        try:
            # Only non-default folders are passed on, so that the steps' commands stay the ones a user types.
            folders = {key: value for key, value, default in (("datasets_dir", args.datasets_dir, "datasets"),
                                                               ("models_dir", args.models_dir, "models"))
                       if value != default}
            run_plan(plan, work, echo=lambda line: print(line, flush=True), folders=folders, jobs=jobs)
        except KeyboardInterrupt:
            print("Interrupted: run the same command again to go on from here.", file=sys.stderr)
            return 130
        finally:
            if args.keep_runs:
                print(f"{archive}: " + keep_runs(args.models_dir, archive).summary("kept"), flush=True)
        ledger = _ledger(work)
        failed = [step.name for step in plan.steps if ledger.get(step.name, {}).get("status") != "done"]
        took = f"{time.perf_counter() - start:.0f} s"
        if failed:
            print(f"{len(failed)} of {len(plan.steps)} steps did not finish ({', '.join(failed)}; their logs are in "
                  f"{work}/logs/), after {took}.", file=sys.stderr)
        else:
            print(f"All {len(plan.steps)} steps ran in {took}.")
    if args.step:
        failed = [name for name in args.step if _ledger(work).get(name, {}).get("status") != "done"]
        return 1 if failed else 0
    from infodropout.paper.report.writer import write_report

    report = write_report(plan, work, args.out)
    print(f"Wrote {report}.")
    ledger = _ledger(work)
    failed = [step.name for step in plan.steps if ledger.get(step.name, {}).get("status", "done") != "done"]
    if failed:
        print(f"Failed steps: {', '.join(failed)} (logs in {work}/logs/).", file=sys.stderr)
        return 1
    return 0


def _ledger(work: str) -> dict:
    return read_ledger(Path(work) / "steps.json")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LedgerError as error:  # a damaged steps.json: one line naming it and the way back
        print(f"reproduce.py: {error}", file=sys.stderr)
        sys.exit(1)
