"""Help that helps: the scripts' commands first with their whole summaries, a description for every key in
print_config, one line (status 2) for a mistyped command, a missing `with` or no command, one ImportError
line where Keras has no backend, and `pip install ".[paper]"` named for a Python without the packages.
None of it trains or imports TensorFlow."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infodropout.paper.cli import preflight
from infodropout.paper.cli.command_line import SACRED_COMMANDS, commands_of, summary

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["cifar.py", "cluttered.py", "occluded.py", "mnist_fc.py", "vae.py"]


def load(script: str):
    """The experiment's module that ``script`` starts (cifar.py: infodropout.paper.experiments.cifar)."""
    return importlib.import_module(f"infodropout.paper.experiments.{script[:-3]}")


def run(*args, cwd, env=None):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_the_commands_whole_before_sacreds_options(script, tmp_path):
    result = run(str(ROOT / script), "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    commands_at, options_at = text.index("\nCommands:\n"), text.index("\nOptions (sacred's):\n")
    assert commands_at < options_at and "--file_storage" in text[options_at:]
    section = " ".join(text[commands_at:options_at].split())
    from infodropout.paper.cli.experiment import build_experiment

    experiment = build_experiment(load(script).COMMAND_LINE)
    commands = commands_of(experiment)
    assert "runs" in commands and "train" in commands and "test" in commands
    for name, function in commands.items():
        whole = summary(function)
        assert whole.endswith((".", "!", "?")), (name, whole)  # a sentence, not its first line
        assert f"{name} {whole}" in section, (name, whole)
    # The script's own commands come first, sacred's last.
    order = [section.index(f" {name} ") for name in commands]
    assert order == sorted(order) and list(commands)[-len(SACRED_COMMANDS):] == list(SACRED_COMMANDS)


def test_a_summary_is_the_whole_first_sentence():
    def command():
        """Figure 1: the histogram of the log of the activations against the prior, into
        plots/<run name>/histogram.png and .pdf, with its summary. More details follow here."""

    assert summary(command) == ("Figure 1: the histogram of the log of the activations against the prior, into "
                                "plots/<run name>/histogram.png and .pdf, with its summary.")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_key_of_every_script_has_a_description(script):
    descriptions = load(script).Config.descriptions()
    missing = [key for key in load(script).DEFAULTS if not descriptions.get(key)]
    assert missing == []


def _word_runs(text: str, length: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w'=<>.]+", text.lower())
    return {tuple(words[i:i + length]) for i in range(len(words) - length + 1)}


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_key_says_the_same_thing_twice_in_print_config(script):
    # print_config shows a key's description, then its rule: a rule that restates the description printed the
    # same words twice on the line (jobs and threads did).
    module = load(script)
    repeated = {}
    for key in module.DEFAULTS:
        description = module.Config.descriptions()[key]
        rule = module.Config.rules().get(key)
        shared = _word_runs(description) & _word_runs(rule.description) if rule else set()
        if shared:
            repeated[key] = sorted(" ".join(run) for run in shared)
    assert repeated == {}


def test_print_config_shows_a_description_on_every_line(tmp_path):
    result = run(str(ROOT / "cluttered.py"), "print_config", "with", "beta=0.1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entries = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines() if " = " in line]
    assert len(entries) == len(load("cluttered.py").DEFAULTS)
    assert all(" # " in line for line in entries), [line for line in entries if " # " not in line]
    beta = next(line for line in entries if line.strip().startswith("beta = 0.1"))
    assert "weight of the KL" in beta and "a number in [0, inf)" in beta  # its meaning and its valid values


@pytest.mark.parametrize("args, words", [
    (["cifar.py", "trian"], "unknown command 'trian': did you mean train?"),
    (["cifar.py", "trian", "with", "beta=3"], "did you mean train?"),
    (["cluttered.py", "plot", "beta=0.5"], "missing `with` before beta=0.5: `./cluttered.py plot with beta=0.5`"),
    (["cifar.py", "train", "softplus"], "missing `with` before softplus"),
    (["cifar.py", "beta=3"], "missing `with` before beta=3"),
    (["cifar.py", "with", "beta=3"], "no command: name one before `with`, e.g. `./cifar.py train with beta=3`"),
    (["cifar.py", "help", "trian"], "did you mean train?"),
    (["vae.py"], "no command: name one, e.g. `./vae.py train`"),
    (["vae.py", "-l", "ERROR"], "no command: name one, e.g. `./vae.py train`"),
])
def test_a_mistyped_command_line_is_answered_in_one_line(args, words, tmp_path):
    result = run(str(ROOT / args[0]), *args[1:], cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{args[0]}: ") and words in lines[0], result.stderr
    assert result.stdout == ""


def test_help_of_one_command_and_options_before_the_command_still_work(tmp_path):
    assert "Total correlation" in run(str(ROOT / "cifar.py"), "help", "correlation", cwd=tmp_path).stdout
    # -l takes a value: ERROR is not the command.
    result = run(str(ROOT / "cifar.py"), "-l", "ERROR", "print_config", "with", "beta=1.0", cwd=tmp_path)
    assert result.returncode == 0 and "beta = 1.0" in re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


HIDE_TENSORFLOW = "import sys; sys.modules['tensorflow'] = None; "


def test_the_library_without_a_keras_backend_says_so_in_one_line(tmp_path):
    env = {"KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT)}
    # The package itself imports (the scripts' own check then speaks); its first use of Keras does not.
    assert run("-c", HIDE_TENSORFLOW + "import infodropout", cwd=tmp_path, env=env).returncode == 0
    result = run("-c", HIDE_TENSORFLOW + "from infodropout import InformationDropout", cwd=tmp_path, env=env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: infodropout needs Keras 3 with a backend")
    assert "'tensorflow'" in last and "pip install keras tensorflow" in last and "jax" in last and "torch" in last
    assert "keras/src" not in result.stderr  # Keras's own traceback never starts


def test_a_keras_backend_named_but_not_installed_is_named(tmp_path):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here: KERAS_BACKEND=torch would work")
    result = run("-c", "import infodropout.layers", cwd=tmp_path, env={"KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)})
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "'torch' (KERAS_BACKEND), and torch is not installed" in last


def test_a_python_without_the_packages_is_told_the_pip_install_too(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "REPO_ROOT", tmp_path)  # no .venv here: a fresh clone
    fresh = preflight.how_to_run("cifar.py")
    assert "make setup" in fresh and 'pip install ".[paper]"' in fresh
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").touch()
    assert 'pip install ".[paper]"' in preflight.how_to_run("cifar.py")
