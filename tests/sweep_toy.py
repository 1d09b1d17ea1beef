"""A toy experiment for the sweep tests: an experiment whose point function trains nothing, so that a sweep's
processes start in a second or two. Each point's result says which process computed it and what it was given;
a negative β fails as a real point's error does. Run by the sweep as ``python -m sweep_toy sweep_point with ...``
(tests/ on PYTHONPATH)."""

import os
from pathlib import Path

from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.errors import fail
from infodropout.paper.train.sweeps import PointCommand

Config = config_class("toy", [Setting(key, value, f"the toy's {key}") for key, value in {
    "beta": 3.0, "seed": 0, "plots_dir": "plots", "seeds": [0], "log": "", "threads": 0, "jobs": 1,
    "verbose": "auto"}.items()], module=__name__, doc="A toy experiment.")
DEFAULTS = Config.defaults()


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


TOY_POINT = PointCommand(__spec__.name if __spec__ else __name__, toy_point.__name__)


def nothing(config) -> None:
    """The toy's default command: nothing (its points are what the tests run)."""


if __name__ == "__main__":
    from infodropout.paper.cli.experiment import CommandLine, run_experiment

    run_experiment(CommandLine("toy", __doc__, __file__, Config, (nothing,), (toy_point,)))
