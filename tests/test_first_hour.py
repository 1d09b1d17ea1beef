"""What a new user meets first, none of it training: how to run the scripts, their help, how fast they
refuse, and what they print on the way.

The scripts run with ``-X importtime``, which lists every module imported on stderr: "fails before
TensorFlow is imported" is then checked as such, not as a time that depends on the machine's load.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["cifar.py", "cluttered.py", "occluded.py", "mnist_fc.py", "vae.py"]


def run(script, *args, cwd, python=(sys.executable,), env=None):
    return subprocess.run([*python, str(ROOT / script), *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def run_counting_imports(script, *args, cwd, env=None):
    """Run with ``-X importtime``; returns the result, its stderr without the import lines, and the
    names of the modules imported."""
    result = run(script, *args, cwd=cwd, python=(sys.executable, "-X", "importtime"), env=env)
    lines = result.stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    messages = "\n".join(line for line in lines if not line.startswith("import time:"))
    return result, messages, imported


@pytest.mark.parametrize("script", SCRIPTS + ["process_cifar.py", "reproduce.py"])
def test_a_python_without_the_packages_says_in_one_line_what_to_run(script, tmp_path):
    # -S: no site-packages, as a system Python without the project's packages.
    result = run(script, "--help", cwd=tmp_path, python=(sys.executable, "-S"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{script}: this Python") and "lacks" in lines[0]
    assert ".venv/bin/python" in lines[0] or "make setup" in lines[0]


def test_the_environment_imports_the_package_outside_the_checkout(tmp_path):
    # The README says to run one's own scripts with .venv's Python: `make setup` installs the checkout into it.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", "import infodropout, sys; print(infodropout.__file__)"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{sys.executable} outside the checkout: {result.stderr[-500:]}"
    assert Path(result.stdout.strip()).resolve() == ROOT / "infodropout" / "__init__.py"


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_the_script_docstring_under_its_own_name(script, tmp_path):
    result, messages, imported = run_counting_imports(script, "--help", cwd=tmp_path)
    assert result.returncode == 0, messages
    first_line = (ROOT / script).read_text().split('"""')[1].splitlines()[0]
    assert first_line in result.stdout
    assert f"  {script} help [COMMAND]" in result.stdout and "../" not in result.stdout
    assert "sacred glue" not in result.stdout
    assert "tensorflow" not in imported


def test_help_of_a_command_shows_its_docstring(tmp_path):
    result = run("cifar.py", "help", "correlation", cwd=tmp_path)
    assert result.returncode == 0 and "Total correlation" in result.stdout


@pytest.mark.parametrize("script, command", [
    ("cifar.py", "test"), ("cifar.py", "correlation"), ("cifar.py", "histograms"), ("cluttered.py", "plot"),
    ("occluded.py", "nuisance"), ("vae.py", "test"), ("mnist_fc.py", "test"),
])
def test_a_missing_checkpoint_fails_before_tensorflow_is_imported(script, command, tmp_path):
    result, messages, imported = run_counting_imports(script, command, "with", "beta=0.25", cwd=tmp_path)
    assert result.returncode == 1
    assert messages.strip().splitlines()[-1].startswith(f"{script}: no checkpoint at models/")
    assert "beta=0.25" in messages
    assert "tensorflow" not in imported and "keras" not in imported


def test_an_invalid_value_fails_before_tensorflow_is_imported(tmp_path):
    result, messages, imported = run_counting_imports("cluttered.py", "train", "with", "beta=-1", cwd=tmp_path)
    assert result.returncode == 2 and "beta" in messages.strip().splitlines()[-1]
    assert "tensorflow" not in imported


def test_a_failed_download_fails_before_tensorflow_and_names_the_offline_choice(tmp_path):
    # Port 9 (discard) on this machine refuses the connection at once: a download that cannot happen.
    env = {"INFODROPOUT_CIFAR_URL": "http://127.0.0.1:9/"}
    result, messages, imported = run_counting_imports("cifar.py", "train", "with", "epochs=1", cwd=tmp_path, env=env)
    assert result.returncode == 1
    last = messages.strip().splitlines()[-1]
    assert "could not download cifar-10-python.tar.gz" in last
    assert "dataset=sample" in last and "INFODROPOUT_CIFAR_URL" in last and "md5" in last.lower()
    assert "tensorflow" not in imported


def test_word_lists_typed_without_quotes_become_lists():
    from infodropout.paper.cli.experiment import quote_word_lists

    assert quote_word_lists(["with", "methods=[information,binary]", "betas=[0.5,1]", "lr_drops=[]", "beta=1",
                             "names=['a',b]"]) == [
        "with", 'methods=["information","binary"]', "betas=[0.5,1]", "lr_drops=[]", "beta=1", "names=['a',\"b\"]"]


def test_print_config_of_a_word_list_keeps_a_list_without_warning(tmp_path):
    result = run("mnist_fc.py", "print_config", "with", "methods=[information,binary]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "methods = ['information', 'binary']" in result.stdout
    assert "Changed type" not in result.stderr + result.stdout
    # Into a pipe, without a terminal's colour codes; with them on a terminal (a pseudo-terminal here).
    assert "\x1b[" not in result.stdout


def test_print_config_is_coloured_on_a_terminal_only(tmp_path):
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "mnist_fc.py"), "print_config", "with", "seed=3"],
                               cwd=tmp_path, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0 and b"\x1b[" in b"".join(chunks) and b"seed = 3" in b"".join(chunks)


def test_the_scripts_hide_tensorflows_start_up_lines_on_a_machine_without_gpu(tmp_path):
    from infodropout.paper.machine import gpu_visible

    if gpu_visible():
        pytest.skip("this machine has a GPU: TensorFlow's lines about it are kept")
    script = tmp_path / "probe.py"
    script.write_text(
        "import sys\nsys.path.insert(0, %r)\n"
        "from infodropout.paper.cli import preflight\n"
        "from infodropout.paper.train.runs import import_tensorflow_quietly\n"
        "preflight.quiet_tensorflow_environment()\n"  # what a script's main does first
        "import_tensorflow_quietly()\n"  # what a command does once its data are read
        "import keras\nimport tensorflow as tf\n"
        "print(float(tf.constant(1.0) + 1), tf.__name__, tf.__file__ is not None, keras.__name__)\n" % str(ROOT))
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2.0", "tensorflow", "True", "keras"]
    assert "cuda" not in result.stderr.lower() and "absl" not in result.stderr, result.stderr


def test_progress_is_a_bar_on_a_terminal_and_one_line_an_epoch_into_a_file(tmp_path, monkeypatch):
    from infodropout.paper.train.runs import fit_options, progress_verbosity

    controller, terminal_fd = os.openpty()  # a real terminal, as an interactive shell gives
    config = {"verbose": "auto", "restart": False, "tensorboard": False}
    with open(terminal_fd, "w") as terminal, open(tmp_path / "log", "w") as log:
        assert progress_verbosity("auto", terminal) == 1
        assert progress_verbosity("auto", log) == 2  # Keras's bar would write escape codes into the log
        assert [progress_verbosity(value, log) for value in (0, 1, 2)] == [0, 1, 2]  # asked for: kept
        # The scripts' default reaches training so, read from stdout where it is.
        for stdout, verbose in ((terminal, 1), (log, 2)):
            with monkeypatch.context() as patch:
                patch.setattr(sys, "stdout", stdout)
                assert fit_options(config, tmp_path / "run.keras")["verbose"] == verbose
    os.close(controller)
