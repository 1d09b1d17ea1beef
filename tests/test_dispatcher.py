"""The one dispatcher, ``python -m infodropout.paper EXPERIMENT COMMAND ...``: it answers as the experiment's script
does (the scripts at the top are it, called with their own name), lists the experiments, and refuses an unknown one
in one line. None of it trains or imports TensorFlow."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infodropout.paper import __main__ as dispatcher

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["cifar", "cluttered", "mnist_fc", "occluded", "process_cifar", "vae"]


def run(*args, cwd, python=(sys.executable,)):
    return subprocess.run([*python, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def dispatch(*args, cwd, python=(sys.executable,)):
    return run("-m", "infodropout.paper", *args, cwd=cwd, python=python)


def test_the_experiments_are_the_modules_of_the_experiments_package():
    assert dispatcher.experiments() == EXPERIMENTS
    assert all((ROOT / f"{name}.py").is_file() for name in EXPERIMENTS)  # each has its script at the top


@pytest.mark.parametrize("args", [
    ["cifar", "print_config", "with", "softplus", "beta=1.0", "filter_percentage=0.25"],
    ["vae", "--help"],
    ["cluttered", "trian"],  # a mistyped command: the same one line, under the script's name
    ["process_cifar", "--help"],
])
def test_a_command_answers_as_the_script_does(args, tmp_path):
    dispatched = dispatch(*args, cwd=tmp_path)
    script = run(str(ROOT / f"{args[0]}.py"), *args[1:], cwd=tmp_path)
    assert (dispatched.returncode, dispatched.stdout, dispatched.stderr) == \
        (script.returncode, script.stdout, script.stderr)
    assert dispatched.returncode == (2 if "trian" in args else 0), dispatched.stderr


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_it_lists_the_experiments_without_importing_them(args, tmp_path):
    result = dispatch(*args, cwd=tmp_path, python=(sys.executable, "-X", "importtime"))
    assert result.returncode == 0
    rows = result.stdout.split("Experiments:\n", 1)[1].splitlines()
    assert [row.split()[0] for row in rows] == EXPERIMENTS
    assert "CIFAR-10 with All-CNN-32" in result.stdout and "the occluding MNIST digit is the nuisance." in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"sacred", "tensorflow", "numpy", "infodropout.paper.experiments.cifar"}


def test_an_unknown_experiment_is_one_line_naming_the_known_ones(tmp_path):
    result = dispatch("cifar.py", "train", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m infodropout.paper: unknown experiment 'cifar.py'")
    assert "did you mean cifar?" in lines[0] and all(name in lines[0] for name in EXPERIMENTS)


def test_a_python_without_the_packages_says_in_one_line_what_to_run(tmp_path):
    # -S: no site-packages, as a system Python without the project's packages (run from the top, where -m finds it).
    result = dispatch("cifar", "--help", cwd=ROOT, python=(sys.executable, "-S"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cifar.py: this Python") and "lacks" in lines[0], result.stderr


def test_run_from_python_restores_the_command_line(monkeypatch):
    # Called with its arguments (as from the dispatcher), an experiment reads them as its script's command line;
    # the caller's own is given back, also when the experiment ends the process.
    seen = []
    monkeypatch.setattr(sys, "argv", ["caller", "x"])
    monkeypatch.setattr("infodropout.paper.experiments.process_cifar.main", lambda: seen.append(list(sys.argv)) or 3)
    with pytest.raises(SystemExit) as ended:
        dispatcher.run("process_cifar", ["--out", "somewhere"])
    assert ended.value.code == 3 and sys.argv == ["caller", "x"]
    assert seen == [[str(ROOT / "process_cifar.py"), "--out", "somewhere"]]
