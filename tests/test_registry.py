"""The run registry: the runs of a models folder read from their records and histories, never from their names; the run
a user's few keys choose (one, several, none); `runs` and the checkpoint commands on the command line.

The fast tests build runs from files (an empty ``.keras``, a history, a record): the registry reads no
network. The slow one trains a tiny run and finds it by a subset of its keys."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infodropout.paper.train import registry
from infodropout.paper.errors import CommandFailed
from infodropout.paper.train.run_names import checkpoint_path, run_name

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"beta": 3.0, "epochs": 3, "lr_drops": [2], "dataset": "mnist", "width": 512, "seed": 0,
            "models_dir": "models", "verbose": "auto", "widths": [64]}


def fake_run(models: Path, values: dict, epochs_done: int, experiment: str = "toy", record: bool = False,
             test: dict | None = None, defaults: dict = DEFAULTS) -> Path:
    """A run's files as training leaves them: the network (empty here), its history, and its record."""
    config = {**defaults, **values, "models_dir": str(models)}
    checkpoint = checkpoint_path(str(models), run_name(experiment, config, defaults))
    models.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"")
    checkpoint.with_suffix(".history.jsonl").write_text(
        "".join(json.dumps({"epoch": e, "loss": 1.0 / e}) + "\n" for e in range(1, epochs_done + 1)))
    if record:
        registry.record_training(checkpoint, experiment, config, defaults)
        if test:
            registry.record_test(checkpoint, test)
    return checkpoint


def resolve(models: Path, typed: dict, experiment="toy", defaults=DEFAULTS):
    config = {**defaults, **typed, "models_dir": str(models)}
    return registry.resolve(experiment, config, defaults, set(typed), f"./{experiment}.py")


def failure(models: Path, typed: dict) -> str:
    with pytest.raises(CommandFailed) as caught:
        resolve(models, typed)
    assert caught.value.code == 1
    return caught.value.message


def test_a_runs_values_come_from_its_record_and_a_network_without_one_is_found_by_its_computed_name(tmp_path):
    models = tmp_path / "models"
    values = {"beta": 0.5, "lr_drops": [1, 2], "dataset": "sample"}
    recorded = fake_run(models, values, 3, record=True)
    assert recorded.stem == "toy.beta=0.5.dataset=sample.lr_drops=[1,2]"
    # The record, not the name, says what the run was trained with: a name whose parts read otherwise changes nothing.
    record = registry.read_record(recorded)
    registry.record_path(recorded).write_text(json.dumps({**record, "config": {**record["config"], "width": 32}}))
    bare = fake_run(models, {"beta": 1.0, "seed": 1}, 2)  # trained before records were kept, stopped at epoch 2
    (models / "toy.beta=1.0.nuisance.keras").write_bytes(b"")  # a nuisance probe's network: not a run of its own
    (models / "other.beta=1.0.keras").write_bytes(b"")  # another experiment's
    [run] = registry.trained_runs(models, "toy", DEFAULTS)
    assert run.name == recorded.stem and run.config["width"] == 32 and run.keys == {**values, "width": 32}
    # The values a user types compute the name of the run without a record: that one, its progress read.
    found = resolve(models, {"beta": 1.0, "seed": 1})
    assert found.run.name == bare.stem and found.updates == {} and found.note is None
    assert found.run.keys == {"beta": 1.0, "seed": 1} and found.run.status() == "stopped at epoch 2 of 3"
    assert found.run.unfinished_note().startswith(f"run {bare.stem} stopped at epoch 2 of 3")


def test_the_listing_shows_keys_progress_and_test(tmp_path):
    models = tmp_path / "models"
    fake_run(models, {"beta": 0.5}, 3, record=True, test={"error": 12.345, "loss": 0.4})
    fake_run(models, {"beta": 1.0, "seed": 1}, 2, record=True)  # stopped at epoch 2
    runs = registry.trained_runs(models, "toy", DEFAULTS)
    assert [run.name for run in runs] == ["toy.beta=0.5", "toy.beta=1.0.seed=1"]
    tested, stopped = runs
    assert tested.complete and tested.keys == {"beta": 0.5} and tested.test_text() == "test error 12.35 %"
    assert not stopped.complete and stopped.status() == "stopped at epoch 2 of 3" and stopped.test_text() == "not tested"
    assert stopped.unfinished_note().startswith("run toy.beta=1.0.seed=1 stopped at epoch 2 of 3: results are of "
                                                "an unfinished run")
    table = registry.runs_table(runs, str(models), "toy").splitlines()
    assert len(table) == 3 and "beta=0.5" in table[1] and "12.35 %" in table[1]
    assert "beta=1.0 seed=1" in table[2] and "stopped at epoch 2 of 3" in table[2]


def test_a_hashed_name_is_read_from_its_record(tmp_path):
    models = tmp_path / "models"
    long_drops = list(range(1, 80))  # a name past the file system's limit: hashed
    checkpoint = fake_run(models, {"lr_drops": long_drops, "beta": 0.25}, 3, record=True)
    assert ".~" in checkpoint.stem
    bare = fake_run(models, {"lr_drops": long_drops, "beta": 0.75}, 3)  # hashed, and no record: not listed
    runs = {run.name: run for run in registry.trained_runs(models, "toy", DEFAULTS)}
    assert list(runs) == [checkpoint.stem] and runs[checkpoint.stem].keys == {"beta": 0.25, "lr_drops": long_drops}
    # Its keys choose it, and the values it was trained with come back whole.
    found = resolve(models, {"beta": 0.25})
    assert found.run.name == checkpoint.stem and found.updates["lr_drops"] == long_drops
    assert run_name("toy", {**DEFAULTS, **found.updates}, DEFAULTS) == checkpoint.stem  # the command finds its file
    # The one without a record is found by every value it was trained with, which compute its name.
    assert resolve(models, {"beta": 0.75, "lr_drops": long_drops}).run.name == bare.stem


def test_a_folder_that_cannot_be_written_leaves_the_record_out_quietly(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    registry.record_training(blocked / "toy.keras", "toy", DEFAULTS, DEFAULTS)  # no exception: training reports it
    assert registry.read_record(blocked / "toy.keras") is None


def test_the_exact_name_wins_then_a_single_match_gives_its_whole_config(tmp_path):
    models = tmp_path / "models"
    fake_run(models, {"beta": 0.5, "epochs": 2, "lr_drops": [1]}, 2, record=True)
    fake_run(models, {"beta": 1.0}, 3, record=True)
    exact = resolve(models, {"beta": 1.0})
    assert exact.updates == {} and exact.note is None and exact.run.name == "toy.beta=1.0"
    picked = resolve(models, {"beta": 0.5})
    assert picked.run.name == "toy.beta=0.5.epochs=2.lr_drops=[1]"
    assert picked.updates["epochs"] == 2 and picked.updates["lr_drops"] == [1] and picked.updates["beta"] == 0.5
    assert "verbose" not in picked.updates and "models_dir" not in picked.updates  # the user's to choose
    assert picked.note.startswith("Using run toy.beta=0.5.epochs=2.lr_drops=[1]: the one trained toy run with beta=0.5")
    # The updated config names that run exactly.
    config = {**DEFAULTS, **picked.updates}
    assert run_name("toy", config, DEFAULTS) == picked.run.name
    # 1 typed for a float default is the same value.
    assert resolve(models, {"beta": 1}).run.name == "toy.beta=1.0"


def test_several_matches_are_listed_one_line_each(tmp_path):
    models = tmp_path / "models"
    fake_run(models, {"beta": 0.5, "seed": 1}, 3, record=True)
    fake_run(models, {"beta": 0.5, "seed": 2}, 1, record=True)
    fake_run(models, {"beta": 0.5, "seed": 1, "epochs": 2}, 2, record=True)  # epochs typed below at its default: not it
    fake_run(models, {"beta": 2.0}, 3, record=True)
    message = failure(models, {"beta": 0.5, "epochs": 3})
    lines = message.splitlines()
    assert lines[0].startswith("2 trained runs have beta=0.5 epochs=3")
    assert len(lines) == 3 and "beta=0.5 seed=1  (complete" in lines[1]
    assert "beta=0.5 seed=2  (stopped at epoch 1 of 3" in lines[2]


def test_no_match_names_the_closest_and_what_differs(tmp_path):
    models = tmp_path / "models"
    fake_run(models, {"beta": 0.5, "dataset": "sample"}, 3, record=True)
    fake_run(models, {"beta": 2.0, "width": 32}, 3, record=True)
    message = failure(models, {"beta": 0.7, "dataset": "sample"})
    assert len(message.splitlines()) == 1
    assert message.startswith("no trained toy run has beta=0.7 dataset=sample")
    assert "the closest, toy.beta=0.5.dataset=sample (complete, 3 epochs), has beta=0.5 (not 0.7)" in message
    assert "`./toy.py runs` lists all 2" in message


def test_no_run_at_all_says_what_training_costs_and_the_offline_variant(tmp_path):
    defaults = {**DEFAULTS, "digits": "mnist", "beta": 0.5, "epochs": 80}
    del defaults["dataset"]
    with pytest.raises(CommandFailed) as caught:
        registry.resolve("cluttered", {**defaults, "models_dir": str(tmp_path)}, defaults, {"beta"}, "./cluttered.py")
    message = caught.value.message
    assert message.startswith(f"no checkpoint at {tmp_path}/cluttered.keras (the run with beta=0.5)")
    assert "`./cluttered.py train with beta=0.5`" in message and "downloaded" in message and "80 epochs" in message
    assert "digits=sample" in message


def test_the_record_follows_training_and_testing(tmp_path):
    checkpoint = fake_run(tmp_path, {"epochs": 5}, 2, record=True)
    run = registry.trained_runs(tmp_path, "toy", DEFAULTS)[0]
    assert not run.complete
    registry.record_trained(checkpoint)  # early stopping ended training at epoch 2 of 5
    registry.record_test(checkpoint, {"error": 3.0})
    run = registry.trained_runs(tmp_path, "toy", DEFAULTS)[0]
    assert run.complete and run.status() == "complete, 2 epochs" and run.test == {"error": 3.0}
    # A restart forgets both; a resumed run keeps them until they are rewritten.
    registry.record_training(checkpoint, "toy", {**DEFAULTS, "epochs": 5}, DEFAULTS, restart=True)
    assert "test" not in registry.read_record(checkpoint) and "trained_epochs" not in registry.read_record(checkpoint)
    # A run without a record gets one when it is tested.
    bare = fake_run(tmp_path, {"epochs": 4}, 4)
    registry.record_test(bare, {"error": 7.0}, "toy", {**DEFAULTS, "epochs": 4}, DEFAULTS)
    assert registry.read_record(bare)["keys"] == {"epochs": 4} and registry.read_record(bare)["test"] == {"error": 7.0}


def script(name, *args, cwd, importtime=False):
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    result = subprocess.run([*python, str(ROOT / name), *args], cwd=cwd, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    messages = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:"))
    return result, messages, imported


def mnist_fc_defaults():
    from infodropout.paper.experiments import mnist_fc

    return mnist_fc.DEFAULTS


def test_runs_and_an_ambiguous_choice_answer_before_tensorflow(tmp_path):
    defaults = mnist_fc_defaults()
    fake_run(tmp_path / "models", {"dataset": "sample", "width": 32, "epochs": 1}, 1, "mnist_fc", record=True,
             test={"error": 40.0}, defaults=defaults)
    fake_run(tmp_path / "models", {"dataset": "sample", "width": 64, "epochs": 2}, 1, "mnist_fc", record=True,
             defaults=defaults)
    listed, messages, imported = script("mnist_fc.py", "runs", cwd=tmp_path, importtime=True)
    assert listed.returncode == 0, messages
    lines = listed.stdout.strip().splitlines()
    assert lines[0].startswith("2 trained mnist_fc runs in models/")
    assert "dataset=sample epochs=1 width=32" in lines[1] and "test error 40.00 %" in lines[1]
    assert "stopped at epoch 1 of 2" in lines[2]
    assert "tensorflow" not in imported
    filtered, _, _ = script("mnist_fc.py", "runs", "with", "width=64", cwd=tmp_path)
    assert len(filtered.stdout.strip().splitlines()) == 2 and "width=64" in filtered.stdout
    several, messages, imported = script("mnist_fc.py", "test", "with", "dataset=sample", cwd=tmp_path, importtime=True)
    assert several.returncode == 1 and "2 trained runs have dataset=sample" in messages
    assert "tensorflow" not in imported
    none, messages, _ = script("mnist_fc.py", "test", "with", "width=128", cwd=tmp_path)
    assert none.returncode == 1 and "the closest" in messages and "width=32 (not 128)" in messages


def test_plot_with_beta_echoes_it_and_says_what_training_costs(tmp_path):
    result, messages, imported = script("cluttered.py", "plot", "with", "beta=0.5", cwd=tmp_path, importtime=True)
    assert result.returncode == 1
    line = messages.strip().splitlines()[-1]
    assert "beta=0.5" in line and "80 epochs" in line and "download" in line and "digits=sample" in line
    assert "tensorflow" not in imported


@pytest.mark.slow
def test_a_trained_run_is_listed_and_found_by_a_subset_of_its_keys(tmp_path):
    models = tmp_path / "m"
    values = ["dataset=sample", "num_train=200", "num_test=100", "epochs=1", "width=16", "verbose=0",
              f"models_dir={models}"]
    trained, messages, _ = script("mnist_fc.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, messages
    listed, messages, _ = script("mnist_fc.py", "runs", "with", f"models_dir={models}", cwd=tmp_path)
    assert "dataset=sample epochs=1 num_test=100 num_train=200 width=16  complete, 1 epoch  test error" in listed.stdout
    tested, messages, _ = script("mnist_fc.py", "test", "with", "width=16", f"models_dir={models}", "verbose=0",
                                 cwd=tmp_path)
    assert tested.returncode == 0, messages
    first = tested.stdout.splitlines()[0]
    assert first.startswith("Using run mnist_fc.dataset=sample.epochs=1.num_test=100.num_train=200.width=16")
    # The run's own values were used (its 100 test images, not the sample's 2,000): the error training printed.
    def error(output):
        return float(output.split("Test: ")[1].split(" error ")[1].split()[0])

    assert error(tested.stdout) == error(trained.stdout)
    record = json.loads(next(models.glob("*.run.json")).read_text())
    assert record["test_epoch"] == 1 and record["test"]["error"] == error(tested.stdout)
    # The same network under a name that asks for 2 epochs, with the record its training began: a run that stopped
    # at epoch 1 of 2.
    stem = "mnist_fc.dataset=sample.epochs=1.num_test=100.num_train=200.width=16"
    unfinished = stem.replace("epochs=1", "epochs=2")
    for suffix in (".keras", ".history.jsonl"):
        os.link(models / f"{stem}{suffix}", models / f"{unfinished}{suffix}")
    begun = {key: value for key, value in record.items() if key not in ("test", "test_epoch", "trained_epochs")}
    begun.update(name=unfinished, config={**record["config"], "epochs": 2}, keys={**record["keys"], "epochs": 2})
    (models / f"{unfinished}.run.json").write_text(json.dumps(begun))
    tested, messages, _ = script("mnist_fc.py", "test", "with", "width=16", "epochs=2", f"models_dir={models}",
                                 "verbose=0", cwd=tmp_path)
    assert tested.returncode == 0, messages
    first, second = tested.stdout.splitlines()[:2]
    assert first.startswith(f"run {unfinished} stopped at epoch 1 of 2: results are of an unfinished run")
    assert second.startswith(f"Using run {unfinished}")


# CI leaves this out: the test above runs the same registry and classifier commands on mnist_fc.py.
@pytest.mark.slow
@pytest.mark.slow_extra
def test_cifar_runs_lists_a_trained_run_and_test_finds_it_by_one_key(tmp_path):
    import numpy as np

    (tmp_path / "datasets").mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 100), ("test", 100)):  # random images in CIFAR-10's file layout: plumbing only
        np.savez(tmp_path / "datasets" / f"cifar10-{split}.npz",
                 data=rng.normal(size=(n, 32, 32, 3)).astype("float32"), labels=rng.integers(0, 10, size=n))
    values = ["filter_percentage=0.05", "epochs=1", "batch_size=50", "beta=1.0", "lr_drops=[]", "verbose=0"]
    trained, messages, _ = script("cifar.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, messages
    listed, messages, _ = script("cifar.py", "runs", cwd=tmp_path)
    assert listed.returncode == 0, messages
    assert "batch_size=50 beta=1.0 epochs=1 filter_percentage=0.05 lr_drops=[]  complete, 1 epoch  test error" \
        in listed.stdout
    tested, messages, _ = script("cifar.py", "test", "with", "beta=1.0", "verbose=0", cwd=tmp_path)
    assert tested.returncode == 0, messages
    assert tested.stdout.startswith("Using run cifar.batch_size=50.beta=1.0.epochs=1.filter_percentage=0.05.lr_drops=[]")


# The keys left out of a run's name that change its numbers: what the run records and a resume is compared with.
COMPUTED = {**DEFAULTS, "fused": True, "jit_compile": False, "strategy": "default", "devices": 0, "threads": 0}


def trained_with(models: Path, **computation) -> tuple[Path, dict]:
    """A run that began training with ``computation`` and has an epoch to resume from."""
    config = {**COMPUTED, **computation, "models_dir": str(models)}
    checkpoint = fake_run(models, {}, 1, defaults=COMPUTED)
    registry.record_training(checkpoint, "toy", config, COMPUTED)
    checkpoint.with_suffix(".state.npz").write_bytes(b"")  # only its presence is read
    return checkpoint, config


def refusal(checkpoint: Path, config: dict) -> str:
    with pytest.raises(CommandFailed) as caught:
        registry.check_resume(checkpoint, config)
    assert caught.value.code == 1 and "\n" not in caught.value.message
    return caught.value.message


def test_a_resume_under_other_numerics_is_refused_in_one_line_and_restart_or_the_same_values_go_on(tmp_path, capsys):
    checkpoint, config = trained_with(tmp_path, fused=True)
    assert registry.read_record(checkpoint)["computation"] == {"fused": True, "jit_compile": False}
    message = refusal(checkpoint, {**config, "fused": False})
    assert f"{checkpoint.name} was trained with fused=True; resuming it with fused=False" in message
    assert "Resume it with fused=True, or start over with restart=True" in message
    message = refusal(checkpoint, {**config, "jit_compile": True})
    assert "jit_compile=False; resuming it with jit_compile=True" in message
    registry.check_resume(checkpoint, config)  # the same values: resumed
    registry.check_resume(checkpoint, {**config, "fused": False}, restart=True)  # starting over: allowed
    registry.check_resume(checkpoint, {**config, "devices": 2})  # the default strategy reads no devices
    assert capsys.readouterr().out == ""


def test_a_run_moved_to_other_devices_or_threads_resumes_and_says_so_in_one_line(tmp_path, capsys):
    mirrored, config = trained_with(tmp_path, strategy="mirrored", devices=2, threads=1)
    registry.check_resume(mirrored, config)
    assert capsys.readouterr().out == ""
    registry.check_resume(mirrored, {**config, "strategy": "default", "threads": 3})
    said = capsys.readouterr().out.strip().splitlines()
    assert said == [f"Resuming {mirrored.name} with devices=(unset) strategy=default threads=3 where it began with "
                    "devices=2 strategy=mirrored threads=1: its numbers will differ in their last bits from a run that "
                    "kept them."]


def test_a_restart_records_its_own_numerics_and_a_run_without_epochs_has_nothing_to_resume(tmp_path):
    checkpoint, config = trained_with(tmp_path, fused=True)
    registry.record_training(checkpoint, "toy", {**config, "fused": False}, COMPUTED, restart=True)
    assert registry.read_record(checkpoint)["computation"]["fused"] is False
    registry.check_resume(checkpoint, {**config, "fused": False})
    # A resume keeps what the run began with rather than the values it was resumed under.
    registry.record_training(checkpoint, "toy", {**config, "fused": True, "threads": 7}, COMPUTED)
    record = registry.read_record(checkpoint)
    assert record["computation"]["fused"] is False and record["machine"]["threads"] != 7
    checkpoint.with_suffix(".state.npz").unlink()  # no epoch to resume from: any values train from scratch
    registry.check_resume(checkpoint, {**config, "fused": True})


def test_a_run_begun_before_records_said_how_it_was_computed_is_not_given_values_it_may_not_have_had(tmp_path):
    checkpoint, config = trained_with(tmp_path, fused=True)
    record = registry.read_record(checkpoint)
    del record["computation"], record["machine"]
    registry.record_path(checkpoint).write_text(json.dumps(record))
    registry.check_resume(checkpoint, {**config, "fused": False})  # unknown: nothing to hold it to
    registry.record_training(checkpoint, "toy", {**config, "fused": False}, COMPUTED)
    assert "computation" not in registry.read_record(checkpoint)


def test_train_refuses_a_resume_under_other_numerics_before_tensorflow(tmp_path):
    from infodropout.paper.experiments import cifar as module

    values = {"dataset": "sample", "epochs": 2, "filter_percentage": 0.1}
    config = {**module.DEFAULTS, **values, "models_dir": str(tmp_path / "models")}
    checkpoint = checkpoint_path(config["models_dir"], run_name("cifar", config, module.DEFAULTS))
    checkpoint.parent.mkdir()
    registry.record_training(checkpoint, "cifar", config, module.DEFAULTS)
    checkpoint.with_suffix(".state.npz").write_bytes(b"")
    typed = [f"{key}={value}" for key, value in values.items()]
    result, messages, imported = script("cifar.py", "train", "with", *typed, "fused=False", cwd=tmp_path,
                                        importtime=True)
    assert result.returncode == 1 and "Traceback" not in messages
    last = messages.strip().splitlines()[-1]  # after sacred's own log lines
    assert last.startswith("cifar.py: ") and "was trained with fused=True; resuming it with fused=False" in last
    assert "tensorflow" not in imported


def test_every_key_that_changes_a_runs_numbers_is_in_its_name_or_recorded_with_it():
    from infodropout.paper.configs.cifar import Config

    CIFAR_DEFAULTS = Config.defaults()
    from infodropout.paper.train.run_names import COMPUTATION_KEYS, MACHINE_KEYS

    config = {**CIFAR_DEFAULTS, "models_dir": "m"}
    # precision changes every sum's rounding: in the name, so a run of another precision is another run.
    assert ".precision=mixed_bfloat16" in run_name("cifar", {**config, "precision": "mixed_bfloat16"}, CIFAR_DEFAULTS)
    from infodropout.paper.machine import available_cores

    other_threads = available_cores() + 1  # never what threads=0 stands for here
    for key, value in (("fused", False), ("jit_compile", True), ("strategy", "mirrored"), ("threads", other_threads)):
        assert run_name("cifar", {**config, key: value}, CIFAR_DEFAULTS) == "cifar"  # left out of the name...
        assert key in COMPUTATION_KEYS | MACHINE_KEYS  # ...so recorded with the run and compared on resume
        changed = {**config, key: value}
        assert registry.computation_values(changed) != registry.computation_values(config) or \
            registry.machine_values(changed) != registry.machine_values(config), key
