"""Issue 14, items 4, 5 and 7 (sweep results): values that would crash later are refused at once, in one
line; an unknown key gets a suggestion; over-long run names are shortened stably; a corrupt results.json
says how to recover."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infodropout.paper.train.runs import train_settings
from infodropout.paper.configs.rules import validate
from infodropout.paper.errors import CommandFailed
from infodropout.paper.cli.experiment import check_config_keys
from infodropout.paper.train.run_names import MAX_NAME_BYTES, run_name
from infodropout.paper.train.sweeps import read_sweep_results

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def cifar():
    from infodropout.paper.experiments import cifar as experiment

    return experiment


def refusal(config_updates: dict) -> str | None:
    """The message cifar.py's validation gives for its defaults updated with ``config_updates``."""
    script = cifar()
    try:
        validate({**script.DEFAULTS, **config_updates}, script.Config.rules(), script.DEFAULTS, 96)
    except ValueError as error:
        return str(error)
    return None


@pytest.mark.parametrize("updates, words", [
    ({"lr_drops": [2, 1]}, "strictly increasing"),
    ({"lr_drops": [1, 1]}, "strictly increasing"),
    ({"filter_percentage": 0.001}, "leaves the narrowest layer (96 filters) no filter"),
    ({"filter_percentages": [0.5, 0.005]}, "0.005 leaves"),
])
def test_values_that_would_crash_later_are_refused_naming_the_key(updates, words):
    message = refusal(updates)
    assert message is not None and words in message and f"{next(iter(updates))}=" in message


def test_the_filter_share_is_refused_with_the_builders_own_check_and_message():
    from infodropout.models import all_cnn_widths
    from infodropout.paper.configs.rules import ALL_CNN_SMALLEST_WIDTH

    # The narrowest layer of each script's network is the builders' table's, and the message is the builders'.
    assert ALL_CNN_SMALLEST_WIDTH == {"cifar": 96, "occluded": 96, "cluttered": 32}
    with pytest.raises(ValueError) as built:
        all_cnn_widths(0.001)
    assert refusal({"filter_percentage": 0.001}) == f"invalid config value filter_percentage=0.001: {built.value}"
    refused = refusal({"filter_percentage": 1.5})
    assert refused == "invalid config value filter_percentage=1.5: must be a number in (0, 1]."


def test_the_default_schedule_may_reach_past_a_shortened_run_and_integer_rates_are_floats():
    # epochs=1 with the paper's drops [80, 120, 160] is every quick test's command: they simply never happen.
    script = cifar()
    assert validate({**script.DEFAULTS, "epochs": 1}, script.Config.rules(), script.DEFAULTS, 96) == []
    # Typed drops past the end are kept (a typed command shortened with epochs=1) with one warning line.
    warnings = validate({**script.DEFAULTS, "epochs": 5, "lr_drops": [2, 5]}, script.Config.rules(), script.DEFAULTS, 96)
    assert len(warnings) == 1 and "[5] never happen with epochs=5" in warnings[0]
    assert refusal({"lr_drops": [], "epochs": 1}) is None
    assert refusal({"filter_percentage": 1 / 96 + 1e-9}) is None
    settings = train_settings({**cifar().DEFAULTS, "learning_rate": 1000})
    assert isinstance(settings.learning_rate, float) and settings.learning_rate == 1000.0


def test_an_unknown_key_suggests_the_closest_one_with_status_2():
    script = cifar()
    with pytest.raises(CommandFailed) as failure:
        check_config_keys(script.Config, ["cifar.py", "train", "with", "beta=1.0", "bta=3"])
    assert failure.value.code == 2 and "'bta'" in failure.value.message and "did you mean beta?" in failure.value.message
    with pytest.raises(CommandFailed) as failure:
        check_config_keys(script.Config, ["cifar.py", "train", "with", "softplu"])
    assert "did you mean softplus?" in failure.value.message
    # Known keys, a named config, dotted updates and sacred's options after the updates pass.
    check_config_keys(script.Config, ["cifar.py", "train", "with", "softplus", "beta=1", "lr_drops=[1]", "-l", "ERROR"])


def test_over_long_run_names_are_shortened_stably_and_still_distinct():
    defaults = {"betas": [1.0], "lr_drops": [80]}
    long_a = {"betas": [1.0], "lr_drops": list(range(1, 120))}
    long_b = {"betas": [1.0], "lr_drops": list(range(1, 121))}
    name_a = run_name("cifar", long_a, defaults)
    assert len(name_a.encode()) <= MAX_NAME_BYTES and name_a.startswith("cifar.lr_drops=[1,2,3,")
    assert name_a == run_name("cifar", dict(long_a), defaults)  # `test with` the same values finds it
    assert name_a != run_name("cifar", long_b, defaults)
    assert run_name("cifar", {"lr_drops": [12]}, defaults) == "cifar.lr_drops=[12]"  # short names unchanged


def test_a_corrupt_sweep_results_file_ends_in_one_line_with_the_fix(tmp_path):
    path = tmp_path / "results.json"
    assert read_sweep_results(path) == []
    path.write_text('[{"beta": 1.0, "error": 5.0}, {"beta": 3.')  # truncated
    with pytest.raises(CommandFailed) as failure:
        read_sweep_results(path)
    assert failure.value.code == 1 and "delete it" in failure.value.message and "\n" not in failure.value.message
    path.write_text('{"beta": 1.0}')  # valid JSON, not a list of records
    with pytest.raises(CommandFailed) as failure:
        read_sweep_results(path)
    assert "not a sweep's list of results" in failure.value.message


def test_the_command_line_gives_one_line_and_status_2_for_an_unknown_key_and_a_bad_schedule(tmp_path):
    for update, words in (("bta=3", "did you mean beta?"), ("lr_drops=[2,1]", "strictly increasing")):
        result = subprocess.run([sys.executable, str(ROOT / "cifar.py"), "train", "with", update], cwd=tmp_path,
                                env=ENV, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.stderr
        assert not (tmp_path / "models").exists()


def test_ctrl_c_inside_any_command_ends_in_one_line_with_status_130(capsys, monkeypatch):
    """`test`, a sweep between runs, a download or a data set's generation: KeyboardInterrupt reaches
    run_experiment, which turns it into one line and status 130 (the start-up case is a subprocess
    test in test_run_safety.py)."""
    import infodropout.paper.cli.experiment as glue
    from infodropout.paper.experiments import cifar

    class Interrupted:
        def run_commandline(self, argv):
            raise KeyboardInterrupt

    monkeypatch.setattr(glue, "build_experiment", lambda line, invocation=None: Interrupted())
    monkeypatch.setattr(glue, "check_command_line", lambda *args: None)
    monkeypatch.setattr(glue, "typed_keys", lambda *args: set())
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_experiment installs its own
    monkeypatch.setattr(sys, "argv", ["cifar.py", "test"])
    with pytest.raises(SystemExit) as exit_:
        glue.run_experiment(cifar.COMMAND_LINE)
    err = capsys.readouterr().err
    assert exit_.value.code == 130 and err.count("\n") == 1 and err.startswith("cifar.py: interrupted (Ctrl-C)")


@pytest.mark.parametrize("script, row", [("cifar", "CIFAR"), ("occluded", "CIFAR"), ("cluttered", "CLUTTERED"),
                                         ("mnist_fc", "MNIST_FC"), ("vae", "VAE")])
def test_each_script_trains_by_its_row_of_the_protocols(script, row):
    # β and the schedule are written once, in infodropout.paper.protocols; a script's defaults are that row.
    import importlib

    from infodropout.paper import protocols

    defaults = importlib.import_module(f"infodropout.paper.experiments.{script}").DEFAULTS
    row_values = getattr(protocols, row).items()
    expected = {key: list(value) if isinstance(value, tuple) else value for key, value in row_values}
    assert {key: defaults[key] for key in expected} == expected


def test_the_sweep_list_rules_take_the_builders_choices_and_shares():
    from infodropout.paper.configs.rules import ALL_CNN_METHODS, FILTER_SHARE_LIST, words_of

    assert ALL_CNN_METHODS.description == "a non-empty list of information, binary, lognormal, none"
    assert ALL_CNN_METHODS.check("[information,binary]") and ALL_CNN_METHODS.check(["none"])
    assert ALL_CNN_METHODS.check("[information,lognormal]")
    assert not ALL_CNN_METHODS.check("[information,gaussian]") and not ALL_CNN_METHODS.check([])
    assert words_of("gaussian", "information").check(["information"])
    assert FILTER_SHARE_LIST.check([0.1, 1]) and not FILTER_SHARE_LIST.check([0.5, 1.5])
    assert not FILTER_SHARE_LIST.check([]) and not FILTER_SHARE_LIST.check([True])
