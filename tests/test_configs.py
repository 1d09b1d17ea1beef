"""The experiments' typed configs (infodropout.paper.configs): defaults from the protocols, one description and rule
per field, validated once when made; a command called from Python with a config object; and the one rule of "differs
from its default", which keeps every committed run's name."""

import importlib
import json
import re
from pathlib import Path

import pytest

from infodropout.paper import protocols
from infodropout.paper.configs.base import ExperimentConfig
from infodropout.paper.train import registry
from infodropout.paper.train.run_names import checkpoint_path, differs, run_name

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = {"cifar": protocols.CIFAR, "cluttered": protocols.CLUTTERED, "occluded": protocols.CIFAR,
               "mnist_fc": protocols.MNIST_FC, "vae": protocols.VAE}
MEDIUM_RUNS = ROOT / "results" / "medium" / "runs"


def config_class(experiment: str) -> type[ExperimentConfig]:
    return importlib.import_module(f"infodropout.paper.configs.{experiment}").Config


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_config_takes_its_defaults_from_its_protocol_and_describes_every_field(experiment):
    cls = config_class(experiment)
    config = cls()
    for key, value in EXPERIMENTS[experiment].items():
        assert config[key] == (list(value) if isinstance(value, tuple) else value), key
    assert all(cls.descriptions().values()) and set(cls.rules()) == set(cls.field_names())
    # The experiment's module reads the same defaults (its commands' run names are computed against them).
    assert importlib.import_module(f"infodropout.paper.experiments.{experiment}").DEFAULTS == cls.defaults()


def test_a_config_reads_as_attributes_and_as_a_mapping_and_keeps_lists_as_lists():
    cls = config_class("cifar")
    config = cls(beta=1.0, lr_drops=(4, 6, 8))
    assert config.beta == config["beta"] == 1.0 and config.lr_drops == [4, 6, 8]  # a tuple given is a list
    assert dict(config) == {**cls.defaults(), "beta": 1.0, "lr_drops": [4, 6, 8]}
    assert {**config, "beta": 2.0}["beta"] == 2.0 and "beta" in config and "betta" not in config
    assert config.replace(epochs=3).epochs == 3 and config.epochs == 200
    with pytest.raises(AttributeError):
        config.beta = 2.0  # frozen: a changed value is a new config, validated again


def test_a_value_that_breaks_its_rule_is_refused_when_the_config_is_made_with_the_command_lines_message():
    cls = config_class("cifar")
    with pytest.raises(ValueError, match=r"^invalid config value beta=-1: must be a number in \[0, inf\)\.$"):
        cls(beta=-1)
    with pytest.raises(ValueError, match="leaves no training images"):
        config_class("vae")(num_train=10, validation=10)  # the checks that tie keys together, too
    with pytest.raises(ValueError, match=r"^invalid config value filter_percentage=0\.001: "):
        config_class("cluttered")(filter_percentage=0.001)
    with pytest.raises(TypeError, match="no config key 'betta'"):
        cls.from_values({"betta": 1.0})
    assert cls(epochs=5, lr_drops=[2, 5]).warnings() == [
        "lr_drops=[2, 5]: the drops at epochs [5] never happen with epochs=5 (a drop must be below epochs)."]


def test_differs_is_the_rule_of_run_names_and_of_the_registry():
    # Python's equality, as the computation reads the values (True is 1, 1 is 1.0), lists and tuples item by item.
    assert not differs(1, 1.0) and not differs(True, 1) and not differs(0, False)
    assert not differs([80, 120], (80, 120)) and differs([80], [80, 120]) and differs(0.3, 0.30000000000000004)
    defaults = config_class("mnist_fc").defaults()
    for value, name in ((False, "mnist_fc"), (0, "mnist_fc"), (True, "mnist_fc.nesterov=True"),
                        (1, "mnist_fc.nesterov=1")):
        config = {**defaults, "nesterov": value}
        assert run_name("mnist_fc", config, defaults) == name
        # The registry's record of a run lists the keys its name spells out, by the same rule.
        assert list(registry.differing(registry.name_values(config, defaults), defaults)) == (
            [] if name == "mnist_fc" else ["nesterov"])


def _medium_records() -> list[Path]:
    return sorted(MEDIUM_RUNS.glob("*.run.json"))


@pytest.mark.skipif(not _medium_records(), reason="no committed medium runs here")
def test_every_committed_medium_run_keeps_its_name():
    # Each record holds the run's name-relevant config: the new configs name it as it was named when it trained, and
    # the registry's differing keys are the ones its name spells out.
    checked = 0
    untrained = set()  # the names of the records' configs with β at its default
    for path in _medium_records():
        record = json.loads(path.read_text())
        cls = config_class(record["experiment"])
        defaults = cls.defaults()
        config = cls.from_values({**defaults, **record["config"]})
        assert run_name(record["experiment"], config, defaults) == record["name"] == path.name[:-len(".run.json")]
        assert registry.differing(registry.name_values(config, defaults), defaults) == record["keys"], path.name
        untrained.add(run_name(record["experiment"], cls.from_values({**config, "beta": defaults.get("beta")}),
                               defaults))
        checked += 1
    # The networks without a record (the nuisance probes' own) are named after a run's config, or after it with β at
    # its default (the untrained network's probe, shared by every β): each name is one those configs compute, never
    # parsed back.
    computed = untrained | {path.name[:-len(".run.json")] for path in _medium_records()}
    probe = re.compile(r"\.nuisance-probe-e\d+-lr[\d.e-]+?(-random)?$")
    for path in sorted(MEDIUM_RUNS.glob("*.keras")):
        stem = path.name[:-len(".keras")]
        if not (MEDIUM_RUNS / f"{stem}.run.json").exists():
            assert probe.sub("", stem) in computed, stem
            checked += 1
    assert checked >= 20


def test_a_command_runs_from_python_with_a_config_object(tmp_path, capsys):
    # What a notebook does: the experiment's command, a plain function of its config; no sacred, no command line.
    from infodropout.paper.experiments import mnist_fc

    config = mnist_fc.Config(dataset="sample", num_train=200, num_test=100, epochs=1, lr_drops=[], width=16,
                             batch_size=50, verbose=0, models_dir=str(tmp_path / "models"))
    logged = {}
    metrics = mnist_fc.train(config, log_scalar=lambda key, value, *step: logged.setdefault(key, value))
    assert 0 <= metrics["error"] <= 100 and logged["test.error"] == metrics["error"]
    name = "mnist_fc.batch_size=50.dataset=sample.epochs=1.lr_drops=[].num_test=100.num_train=200.width=16"
    assert run_name("mnist_fc", config, mnist_fc.DEFAULTS) == name
    assert checkpoint_path(config.models_dir, name).is_file()
    # `test` reads the same run back, from the same config.
    assert mnist_fc.test(config)["error"] == pytest.approx(metrics["error"])
    assert "Test: " in capsys.readouterr().out
