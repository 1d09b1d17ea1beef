"""The experiments as modules of the package (infodropout.paper.experiments): each runs with ``python -m``, the
scripts at the top only start them, sacred sees the same experiments as when they were scripts, a sweep's point
process is handed the experiment's point function by module and name and its config as an object (no command of
its own), and the report's runner starts each step by module, not by a script's path."""

import ast
import importlib
import inspect
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from infodropout.paper.cli.experiment import build_experiment
from infodropout.paper.reproduction.plans import make_plan
from infodropout.paper.reproduction.runner import step_module, step_process
from infodropout.paper.train.sweeps import PointFunction

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["cifar", "cluttered", "occluded", "mnist_fc", "vae"]
ENTRY_POINTS = [*EXPERIMENTS, "process_cifar"]


def module(name: str):
    return importlib.import_module(f"infodropout.paper.experiments.{name}")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_runs_as_a_module_from_any_folder(name, tmp_path):
    result = subprocess.run([sys.executable, "-m", f"infodropout.paper.experiments.{name}", "print_config", "with",
                             "seed=3"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "seed = 3" in result.stdout and "Running command 'print_config'" in result.stderr
    assert not (tmp_path / "models").exists()


def test_a_module_run_speaks_under_the_scripts_name(tmp_path):
    result = subprocess.run([sys.executable, "-m", "infodropout.paper.experiments.cifar", "trian"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert result.stderr.startswith("cifar.py: unknown command 'trian': did you mean train?")
    assert "`./cifar.py --help`" in result.stderr


def test_process_cifar_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "infodropout.paper.experiments.process_cifar", "--help"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stdout.startswith("usage: process_cifar.py"), result.stderr


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_the_scripts_at_the_top_are_thin_entry_points(name):
    path = ROOT / f"{name}.py"
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env python3\n") and os.access(path, os.X_OK)
    assert len(text.splitlines()) <= 30
    assert "@ex." not in text and "make_experiment" not in text and "def " not in text
    tree = ast.parse(text)
    # The same first line as the module's docstring: --help shows the module's, under the script's name.
    own, experiment = ast.get_docstring(tree), ast.get_docstring(ast.parse(inspect.getsource(module(name))))
    assert own.splitlines()[0] == experiment.splitlines()[0]
    # Nothing runs when it is imported: every statement but the docstring and standard imports is under the guard.
    body = [node for node in tree.body[1:] if not isinstance(node, ast.Import)
            and not (isinstance(node, ast.ImportFrom) and node.module in ("pathlib",))]
    assert len(body) == 1 and isinstance(body[0], ast.If) and "__main__" in ast.unparse(body[0].test)
    # Each starts its experiment through the one dispatcher, as `python -m infodropout.paper NAME` does.
    assert "from infodropout.paper.__main__ import run" in text and f'run("{name}")' in text


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sacred_sees_the_experiment_as_when_it_was_a_script(name):
    experiment = build_experiment(module(name).COMMAND_LINE)
    assert experiment.path == name  # the experiment's name, in an observer's records
    assert experiment.base_dir == str(ROOT)  # sources named from the repository's top, as before
    assert Path(experiment.mainfile.filename) == ROOT / "infodropout" / "paper" / "experiments" / f"{name}.py"
    assert module(name).MODULE == f"infodropout.paper.experiments.{name}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_no_experiment_has_a_command_for_a_sweeps_point_and_its_config_crosses_to_a_process_whole(name):
    experiment = build_experiment(module(name).COMMAND_LINE)
    assert "sweep_point" not in dict(experiment.gather_commands())
    # A point's process (spawned) is handed the config object itself: it pickles by its class, and comes back equal.
    config = module(name).COMMAND_LINE.config(seed=3)
    again = pickle.loads(pickle.dumps(config))
    assert type(again) is type(config) and again == config and again.seed == 3


def test_each_sweep_runs_its_points_by_a_function_of_its_module_named_by_module_and_name():
    functions = {"cifar": {"measured_run"}, "cluttered": {"localised_run"}, "occluded": {"nuisance_run"},
                 "mnist_fc": {"train_test_and_probe"}, "vae": {"train_one"}}
    for name in EXPERIMENTS:
        source = inspect.getsource(module(name))
        for line in (line for line in source.splitlines() if "run_sweep(" in line and "import" not in line):
            # The last argument is a PointFunction of a point function, never a callable of the sweep's.
            assert "run_one" not in line and "lambda" not in line, (name, line)
        named = [value for value in vars(module(name)).values() if isinstance(value, PointFunction)]
        assert {point.name for point in named} == functions[name], name
        for point in named:
            assert point.module == f"infodropout.paper.experiments.{name}"
            assert pickle.loads(pickle.dumps(point)).load() is getattr(module(name), point.name)
    # The probe sweep's points: the function the probe commands made, under its name in the experiment's module.
    for name in ("cifar", "cluttered", "occluded"):
        assert PointFunction(module(name).MODULE, "probed_run").load() is module(name).probed_run


def test_nothing_is_done_when_an_experiment_is_imported(tmp_path):
    # Importing an experiment (from a notebook, say) leaves the interpreter as it was: no sacred, no TensorFlow, the
    # same excepthook, import machinery and command line.
    code = ("import sys\nhook, finders, argv = sys.excepthook, list(sys.meta_path), list(sys.argv)\n"
            "from infodropout.paper.experiments import cifar, cluttered, mnist_fc, occluded, vae, process_cifar\n"
            "print(sys.excepthook is hook, sys.meta_path == finders, sys.argv == argv, "
            "[m for m in ('sacred', 'tensorflow') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "[]"]


def test_the_harness_reads_no_callers_frame_and_adds_no_import_finder():
    for path in (ROOT / "infodropout" / "paper").rglob("*.py"):
        text = path.read_text()
        assert "inspect.stack" not in text and "meta_path" not in text and "f_globals" not in text, path


def test_the_runner_starts_every_step_by_its_module_not_a_scripts_path():
    assert step_module("cifar.py") == "infodropout.paper.experiments.cifar"
    assert step_process("python", ["vae.py", "table", "with", "ks=[1]"]) == [
        "python", "-m", "infodropout.paper.experiments.vae", "table", "with", "ks=[1]"]
    for scale in ("tiny", "small", "medium", "full"):
        for step in make_plan(scale, cifar10=False).steps + make_plan(scale, cifar10=True).steps:
            assert importlib.util.find_spec(step_module(step.script)) is not None, step.script
