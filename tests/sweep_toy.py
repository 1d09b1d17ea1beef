"""A toy experiment for the sweep tests: a sacred experiment whose point function trains nothing, so that a sweep's
processes start in a second or two. Each point's result says which process computed it and what it was given;
a negative β fails as a real point's error does. Run by the sweep as ``python -m sweep_toy sweep_point with ...``
(tests/ on PYTHONPATH)."""

import os
from pathlib import Path

from infodropout.paper.cli.experiment import make_experiment, run_experiment
from infodropout.paper.cli.points import add_point_function
from infodropout.paper.errors import fail

DEFAULTS = {"beta": 3.0, "seed": 0, "plots_dir": "plots", "seeds": [0], "log": "", "threads": 0, "jobs": 1,
            "verbose": "auto"}
ex = make_experiment("toy", DEFAULTS, {})


def toy_point(config) -> dict:
    """The point's "error" from its values, the process that computed it, its thread settings, and a line in the
    file ``log`` naming the point."""
    if config["beta"] < 0:
        fail("a negative beta", status=2)
    if config["log"]:
        with open(config["log"], "a") as log:
            log.write(f"{config['beta']} {config['seed']}\n")
    return {"error": 10 * config["beta"] + config["seed"], "pid": os.getpid(), "threads": config["threads"],
            "omp_threads": os.environ.get("OMP_NUM_THREADS"), "keys": sorted(config),
            "cwd": str(Path.cwd())}


TOY_POINT = add_point_function(ex, toy_point)


if __name__ == "__main__":
    run_experiment(ex)
