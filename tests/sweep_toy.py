"""A toy experiment for the sweep tests: an experiment whose point function trains nothing, so that a sweep's
processes start in a second or two. Each point's result says which process computed it and what it was given;
a negative β fails as a real point's error does, a β of 99 raises as a bug would, and a β of 5 waits until it is
stopped, as a long training run is. Its point processes import
it by name (tests/ on the sweep's sys.path, which they are handed)."""

import os
import sys
import time
from pathlib import Path

from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.errors import fail
from infodropout.paper.train.sweeps import PointFunction

Config = config_class("toy", [Setting(key, value, f"the toy's {key}") for key, value in {
    "beta": 3.0, "seed": 0, "plots_dir": "plots", "seeds": [0], "log": "", "threads": 0, "jobs": 1,
    "verbose": "auto"}.items()], module=__name__, doc="A toy experiment.")
DEFAULTS = Config.defaults()


def toy_point(config) -> dict:
    """The point's "error" from its values, the process that computed it, its thread settings, and a line in the
    file ``log`` naming the point."""
    if config["beta"] < 0:
        fail("a negative beta", status=2)
    if config["beta"] == 99:
        raise ZeroDivisionError("a bug")
    if config["beta"] == 5:  # a long run: it stops when asked, as a training run does, and says what it kept
        from infodropout.paper.train.interrupts import interrupt_requests

        with interrupt_requests() as received:
            Path(f"{config['log']}.waiting").write_text(str(os.getpid()))
            while not received:
                time.sleep(0.05)
        fail(f"{received[0]}: stopped, its last completed epoch kept", status=130)
    print(f"toy point beta={config['beta']} seed={config['seed']}", flush=True)
    if config["log"]:
        with open(config["log"], "a") as log:
            log.write(f"{config['beta']} {config['seed']}\n")
    return {"error": 10 * config["beta"] + config["seed"], "pid": os.getpid(), "threads": config["threads"],
            "omp_threads": os.environ.get("OMP_NUM_THREADS"), "tf_threads": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "keys": sorted(config), "typed": isinstance(config, Config), "tensorflow": "tensorflow" in sys.modules,
            "cwd": str(Path.cwd())}


TOY_POINT = PointFunction(__name__, toy_point.__name__)
