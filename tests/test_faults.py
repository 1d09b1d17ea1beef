"""Faults a user or the machine can cause end in one line and a non-zero exit, and lose nothing: values the
validation refuses, a damaged ledger, a full disk while a data set is generated, an unwritable models folder,
and a blow-up in an epoch's last update."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.configs.cifar import Config as CifarConfig
from infodropout.paper.configs.rules import MAX_SEED, validate

CIFAR_DEFAULTS, CIFAR_RULES = CifarConfig.defaults(), CifarConfig.rules()

ROOT = Path(__file__).resolve().parents[1]


def refused(**changes) -> str:
    with pytest.raises(ValueError) as error:
        validate({**CIFAR_DEFAULTS, **changes}, CIFAR_RULES, CIFAR_DEFAULTS)
    message = str(error.value)
    assert "\n" not in message and len(message) < 300
    return message


def accepted(**changes) -> None:
    validate({**CIFAR_DEFAULTS, **changes}, CIFAR_RULES, CIFAR_DEFAULTS)


def test_seeds_must_fit_numpy_32_bits():
    accepted(seed=MAX_SEED)
    np.random.default_rng(MAX_SEED)  # the bound is numpy's own
    np.random.seed(MAX_SEED)
    with pytest.raises(ValueError):
        np.random.seed(MAX_SEED + 1)
    assert "seed=" in refused(seed=MAX_SEED + 1)
    assert "400 characters" in refused(seed=10**399)
    assert "seeds=" in refused(seeds=[0, 2**40])


@pytest.mark.parametrize("key, values", [("betas", [1.0, 1.0]), ("betas", [1, 1.0]), ("seeds", [0, 0]),
                                         ("widths", [16, 16]), ("ks", [1, 2, 1]), ("methods", "[binary,binary]"),
                                         ("filter_percentages", [0.1, 0.1]), ("learning_rates", [0.1, 0.1])])
def test_a_sweep_list_with_a_repeated_value_is_refused(key, values):
    from infodropout.paper.configs.rules import validate_together

    with pytest.raises(ValueError, match=f"{key}=.*appears more than once"):
        validate_together({**CIFAR_DEFAULTS, key: values}, CIFAR_DEFAULTS)
    validate_together({**CIFAR_DEFAULTS, key: [1, 2] if key != "methods" else "[binary,none]"}, CIFAR_DEFAULTS)


def test_max_alpha_stays_within_the_papers_bounds_and_the_ablations():
    accepted(max_alpha=0.7)  # CIFAR's
    accepted(max_alpha=1.0)  # the cluttered code's
    accepted(max_alpha=3.0)  # the α-cap ablation's (claim 8a)
    for value in (3.5, 0, -0.1):
        assert "(0, 3]" in refused(max_alpha=value)


def warnings_of(**changes) -> list[str]:
    return validate({**CIFAR_DEFAULTS, **changes}, CIFAR_RULES, CIFAR_DEFAULTS)


def test_a_validation_split_larger_than_the_training_images_is_refused_a_larger_batch_warned():
    assert "leaves no training images" in refused(num_train=200, validation=5000)
    assert warnings_of(num_train=100, batch_size=100) == []
    # Warned, not refused: one batch of the whole set an epoch is what the quickest runs use on purpose.
    [warning] = warnings_of(num_train=100, batch_size=100_000)
    assert warning == "batch_size=100000 is larger than the 100 training images (num_train=100): each epoch is one " \
                      "batch of 100."
    [warning] = warnings_of(num_train=200, validation=50, batch_size=151)
    assert "less validation=50" in warning and "one batch of 150" in warning
    assert warnings_of(num_train=0, batch_size=100_000) == []  # the whole set: its size is known once it is read


def test_a_validation_split_that_leaves_nothing_is_a_data_error():
    from infodropout.paper.train.early_stopping import validation_split
    from infodropout.paper.errors import DataError
    from infodropout.paper.data.formats import Dataset

    data = Dataset(np.zeros((10, 2)), np.zeros(10), np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(DataError, match="validation=10 leaves no training images"):
        validation_split(data, 10)


def test_a_damaged_ledger_is_named_with_the_way_back(tmp_path):
    from infodropout.paper.reproduction.ledger import LedgerError, read_ledger

    ledger = tmp_path / "steps.json"
    whole = json.dumps({"figure3a": {"argv": ["mnist_fc.py"], "status": "done", "seconds": 1.0}})
    ledger.write_text(whole[:len(whole) // 2])
    with pytest.raises(LedgerError, match="steps.json is not a ledger of steps"):
        read_ledger(ledger)
    ledger.write_text("[1, 2]")
    with pytest.raises(LedgerError):
        read_ledger(ledger)
    ledger.write_text(whole)
    assert read_ledger(ledger)["figure3a"]["status"] == "done"
    assert read_ledger(tmp_path / "absent.json") == {}


def test_reproduce_with_a_ledger_cut_in_half_answers_in_one_line(tmp_path):
    ledger = tmp_path / "steps.json"
    ledger.write_text('{"figure3a": {"argv": ["mnist_fc.py", "com')
    done = subprocess.run([sys.executable, "reproduce.py", "--scale", "tiny", "--work", str(tmp_path), "--step",
                           "figure3a"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and str(ledger) in done.stderr and "Traceback" not in done.stderr
    assert ledger.read_text() == '{"figure3a": {"argv": ["mnist_fc.py", "com'  # kept for the user to restore


def test_a_full_disk_while_generating_a_data_set_is_one_line_and_leaves_no_file(tmp_path, monkeypatch):
    from infodropout.paper.data import formats
    from infodropout.paper.data import generate
    from infodropout.paper.errors import DataError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(formats.np, "savez", full)  # the write itself fails, as on a full disk
    digits = np.zeros((20, 28, 28), np.uint8)
    digits[:, 10:18, 10:18] = 255
    path = tmp_path / "cluttered-train.npz"
    with pytest.raises(DataError) as error:
        generate.write_cluttered(path, digits, np.arange(20) % 10, 4, seed=0, stream=0, distractors=2,
                                 source="sample", progress=None)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "No space left" in message and "free at least" in message
    assert list(tmp_path.iterdir()) == []  # no partial archive


def test_an_unwritable_models_folder_is_one_line_from_the_lock(tmp_path, monkeypatch):
    from infodropout.paper.train.checkpoint import CheckpointError, RunLock

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "write_text", read_only)
    lock = RunLock(tmp_path / "models" / "run.keras")
    with pytest.raises(CheckpointError) as error:
        lock.acquire()
    assert "Read-only file system" in str(error.value) and "models_dir=" in str(error.value)
    assert not lock.held
    monkeypatch.undo()
    # A folder that is a file: mkdir fails too, also the same way.
    (tmp_path / "afile").write_text("")
    with pytest.raises(CheckpointError, match="could not create the run's lock"):
        RunLock(tmp_path / "afile" / "run.keras").acquire()


def test_a_blow_up_in_the_last_update_is_seen_and_not_saved(tmp_path):
    # One batch an epoch: the batch's loss is computed before its update, so only the weights after it
    # can show the blow-up.
    from infodropout.models import fully_connected
    from infodropout.paper.train.trainer import TrainingDiverged, TrainSettings, train_classifier

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(50, 28, 28, 1)).astype("float32"), rng.integers(0, 10, size=50)
    network = fully_connected(16, dropout="information", kl_weight=1 / 50)
    settings = TrainSettings(batch_size=50, epochs=2, learning_rate=1e6, lr_drops=(), weight_decay=0.0)
    checkpoint = tmp_path / "run.keras"
    with pytest.raises(TrainingDiverged, match="epoch 1: after its last update the weights") as error:
        train_classifier(network, x, y, settings, checkpoint, verbose=0, monitor_alpha=False)
    assert "no epoch was completed" in str(error.value)
    assert not checkpoint.exists() and not checkpoint.with_suffix(".history.jsonl").exists()


def test_a_healthy_epoch_passes_the_weight_check(tmp_path):
    from infodropout.models import fully_connected
    from infodropout.paper.train.trainer import TrainSettings, train_classifier

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(50, 28, 28, 1)).astype("float32"), rng.integers(0, 10, size=50)
    network = fully_connected(16, dropout="information", kl_weight=1 / 50)
    settings = TrainSettings(batch_size=50, epochs=2, learning_rate=0.05, lr_drops=(), weight_decay=0.0)
    records = train_classifier(network, x, y, settings, tmp_path / "run.keras", verbose=0, monitor_alpha=False)
    assert [record["epoch"] for record in records] == [1, 2]
