"""``jobs``: a sweep's runs train at once, each in its own process, with the same numbers as one after another
with the same threads per run, one writer of results.json, lines prefixed by their point, and a failed point
named in one line while the others are kept."""

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infodropout.paper.reproduction.plans import Plan, Step
from infodropout.paper.reproduction.ledger import ran_as_planned
from infodropout.paper.reproduction.runner import run_plan
from infodropout.paper.train.run_names import run_name
from infodropout.paper import machine
from infodropout.paper.machine import parallel_jobs, threads_per_job
from infodropout.paper.train.sweeps import point_label

ROOT = Path(__file__).resolve().parents[1]


def test_jobs_never_exceed_the_points_and_divide_the_cores():
    assert parallel_jobs(2, points=4, cores=2) == 2
    assert parallel_jobs(8, points=3, cores=2) == 3
    assert parallel_jobs(0, points=5, cores=4) == 4  # 0: one per core
    assert parallel_jobs(2, points=0, cores=2) == 1
    assert threads_per_job(2, cores=2) == 1
    assert threads_per_job(2, cores=16) == 8
    assert threads_per_job(3, cores=2) == 1  # at least one thread


def test_reproduce_runs_one_job_per_core_unless_a_gpu_is_visible(monkeypatch):
    monkeypatch.setattr(machine, "gpu_visible", lambda: False)
    assert machine.default_jobs() == 0  # one per core
    monkeypatch.setattr(machine, "gpu_visible", lambda: True)
    assert machine.default_jobs() == 1


@pytest.mark.parametrize("hidden", ["", "-1"])
def test_cuda_visible_devices_can_hide_every_gpu(monkeypatch, hidden):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
    assert machine.gpu_visible() is False


def test_reproduce_lists_no_jobs_option_unless_given():
    """--list prints commands a user could type: --jobs appears where it was given, and not otherwise."""
    def listed(*extra):
        done = subprocess.run([sys.executable, str(ROOT / "reproduce.py"), "--scale", "tiny", "--list", *extra],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert "--jobs" not in listed()
    assert "--jobs 1" in listed("--jobs", "1")


def test_jobs_and_threads_are_not_part_of_a_run_name_and_threads_is_checked():
    from infodropout.paper.configs.cifar import Config

    CIFAR_DEFAULTS, COMMON_RULES = Config.defaults(), Config.rules()

    assert run_name("cifar", {**CIFAR_DEFAULTS, "jobs": 2, "threads": 1}, CIFAR_DEFAULTS) == "cifar"
    assert COMMON_RULES["threads"].check(0) and COMMON_RULES["threads"].check(3)
    assert not COMMON_RULES["threads"].check(-1) and not COMMON_RULES["threads"].check(1.5)


def test_threads_are_set_before_tensorflow_starts_and_refused_after():
    script = ("from infodropout.paper.machine import set_threads\n"
              "import tensorflow as tf\n"
              "set_threads(1)\n"
              "print(tf.config.threading.get_intra_op_parallelism_threads(), "
              "tf.config.threading.get_inter_op_parallelism_threads())\n"
              "tf.constant(1.0) + 1.0\n"
              "set_threads(1)\n"  # unchanged: nothing to do
              "try:\n    set_threads(2)\nexcept RuntimeError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = done.stdout.strip().splitlines()
    assert first == "1 1"
    assert second.startswith("threads=2 must be set before TensorFlow starts")


def test_a_point_is_labelled_by_its_values():
    assert point_label({"beta": 0.5, "seed": 1}) == "beta=0.5 seed=1"


def test_reproduce_passes_jobs_to_the_sweep_steps_only(tmp_path):
    recorder = tmp_path / "python"
    calls = tmp_path / "calls.txt"
    recorder.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    recorder.chmod(recorder.stat().st_mode | stat.S_IEXEC)
    plan = Plan("tiny", (Step("a-sweep", "cifar", "sweep", config={"betas": [1, 2]}), Step("b-plot", "cifar", "histograms")))
    ledger = run_plan(plan, tmp_path / "work", echo=lambda line: None, python=str(recorder), jobs=2)
    lines = calls.read_text().splitlines()
    assert "jobs=2" in lines[0].split() and "jobs=2" not in lines[1].split()
    # Each step runs its experiment's module, while its ledger keeps the command a user types.
    assert lines[0].split()[:3] == ["-m", "infodropout.paper.experiments.cifar", "sweep"]
    assert (ledger["a-sweep"]["experiment"], ledger["a-sweep"]["command"], ledger["a-sweep"]["jobs"]) == ("cifar", "sweep", 2)
    # A step done with one jobs is done with any other: the second plan runs nothing.
    run_plan(plan, tmp_path / "work", echo=lambda line: None, python=str(recorder), jobs=1)
    assert len(calls.read_text().splitlines()) == 2
    assert ran_as_planned({**ledger["a-sweep"], "jobs": 4}, plan.steps[0], folders={})


SWEEP = ["dataset=sample", "num_train=200", "num_test=500", "epochs=1", "widths=[16]", "methods=[information]",
         "verbose=2"]


def compare(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "mnist_fc.py", "compare", "with", *SWEEP, f"models_dir={folder / 'models'}",
                           f"plots_dir={folder / 'plots'}", *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


def results(folder: Path) -> list[dict]:
    (path,) = (folder / "plots").glob("mnist_fc-sweep*/results.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_two_jobs_give_the_numbers_of_one_and_keep_the_others_when_one_point_fails(tmp_path):
    serial = compare(tmp_path / "serial", "seeds=[0,1]", f"threads={threads_per_job(2)}")
    assert serial.returncode == 0, serial.stderr[-2000:]

    # Seed 2's run is locked by a live process (this one): its point fails, the two others are kept.
    parallel = tmp_path / "parallel"
    from infodropout.paper.experiments import mnist_fc

    config = {**mnist_fc.DEFAULTS, "dataset": "sample", "num_train": 200, "num_test": 500, "epochs": 1,
              "width": 16, "dropout": "information", "seed": 2}
    lock = parallel / "models" / (run_name("mnist_fc", config, mnist_fc.DEFAULTS) + ".lock")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": "now"}))
    started = time.perf_counter()
    failed = compare(parallel, "seeds=[0,1,2]", "jobs=2")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("mnist_fc.py: 1 of 3 sweep points failed: [width=16 dropout=information seed=2]")
    assert "is being trained by process" in last and "Traceback" not in failed.stderr
    # Each point's lines come prefixed by it.
    assert any(line.startswith("[width=16 dropout=information seed=0] epoch 1/1") for line in failed.stdout.splitlines())
    kept = results(parallel)
    assert [r["seed"] for r in kept] == [0, 1]
    assert kept == results(tmp_path / "serial")  # the same threads per run: the same numbers to the last bit

    lock.unlink()
    again = compare(parallel, "seeds=[0,1,2]", "jobs=2")
    assert again.returncode == 0, again.stderr[-2000:]
    # One point left: it runs alone (jobs never exceed the points to run), one after another, unprefixed.
    assert again.stdout.startswith("Sweep point 3/3: width=16 dropout=information seed=2 (2 done).")
    assert [r["seed"] for r in results(parallel)] == [0, 1, 2]
    assert time.perf_counter() - started < 900


@pytest.mark.slow
def test_a_convolutional_sweep_in_two_jobs_repeats_one_after_another_with_the_same_threads(tmp_path):
    """The convolutions split their sums by thread: with the share of the cores each point's process gets, the
    serial sweep gives every number of the parallel one exactly (KL totals included, not only errors)."""
    sweep = ["dataset=sample", "num_train=500", "sample_test=300", "epochs=2", "lr_drops=[]", "filter_percentage=0.1",
             "betas=[0.5]", "seeds=[0,1]", "verbose=0"]

    def run(name: str, *extra: str) -> list[dict]:
        folder = tmp_path / name
        done = subprocess.run([sys.executable, "cifar.py", "sweep", "with", *sweep, f"models_dir={folder / 'models'}",
                               f"plots_dir={folder / 'plots'}", *extra], cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        (path,) = (folder / "plots").glob("cifar-sweep*/results.json")
        return json.loads(path.read_text())

    parallel = run("parallel", "jobs=2")
    assert [r["seed"] for r in parallel] == [0, 1] and "information_dropout1.total" in parallel[0]
    assert run("serial", f"threads={threads_per_job(2)}") == parallel


@pytest.mark.slow
def test_one_after_another_each_point_in_its_own_process_gives_the_numbers_of_one_process(tmp_path):
    """jobs=1: the points, each in a process of its own (test_sweep_seeds.py checks that they are), give to the last
    bit what the sweep gave when it called the point function for each in turn in its own process, with the same
    threads."""
    swept = compare(tmp_path / "swept", "seeds=[0,1]", "threads=1")
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert "Sweep point 2/2: width=16 dropout=information seed=1 (1 done)." in swept.stdout
    code = ("import json, sys\n"
            "from infodropout.paper.machine import set_threads\n"
            "set_threads(1)\n"  # as the sweep's own process did before its first TensorFlow op
            "from infodropout.paper.experiments import mnist_fc\n"
            "config = {**mnist_fc.DEFAULTS, **json.loads(sys.argv[1])}\n"
            "points = [{'width': 16, 'dropout': 'information', 'seed': seed} for seed in (0, 1)]\n"
            "print(json.dumps([{**p, **mnist_fc.train_test_and_probe({**config, **p})} for p in points]))\n")
    values = {"dataset": "sample", "num_train": 200, "num_test": 500, "epochs": 1, "widths": [16],
              "methods": ["information"], "verbose": 0, "threads": 1, "seeds": [0, 1],
              "models_dir": str(tmp_path / "one" / "models"), "plots_dir": str(tmp_path / "one" / "plots")}
    one = subprocess.run([sys.executable, "-c", code, json.dumps(values)], cwd=ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert one.returncode == 0, one.stderr[-2000:]
    assert results(tmp_path / "swept") == json.loads(one.stdout.strip().splitlines()[-1])
