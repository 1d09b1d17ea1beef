"""Issue 14, items 1, 2, 3, 6, 7 and 8: the history written atomically and checked against the state,
restart=True that deletes nothing before it can start, one process per run, finite blow-ups caught,
Ctrl-C in one line, no litter, honest messages and file modes.

Each training here is a 32-unit network on 300 digits: about a second."""

import errno
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import keras
import pytest

from infodropout.models import fully_connected
from infodropout.paper.train.checkpoint import CheckpointError, RunLock, RunLocked, TrainingState, atomic_write
from infodropout.paper.data.formats import load_mnist_sample
from infodropout.paper.train.checkpoint import read_history
from infodropout.paper.train.evaluation import load_network
from infodropout.paper.train.trainer import TrainingDiverged, TrainSettings, train_classifier
from infodropout.paper.train.callbacks import DivergenceGuard, history_path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
DATA = load_mnist_sample()
X, Y = DATA.x_train[:300], DATA.y_train[:300]


def train(checkpoint, epochs, **options):
    settings = TrainSettings(batch_size=100, epochs=epochs, learning_rate=options.pop("learning_rate", 0.05),
                             lr_drops=(), weight_decay=options.pop("weight_decay", 0.0))
    network = fully_connected(32, dropout="information", kl_weight=1 / 300)
    return train_classifier(network, X, Y, settings, checkpoint, verbose=0, monitor_alpha=False, **options)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def fail_history_writes(monkeypatch) -> None:
    """From now on, writing a history file stops half-way as on a full disk; other files are written."""
    write_text = Path.write_text

    def failing(self, text, *args, **kwargs):
        if ".history.jsonl" in self.name:
            write_text(self, text[: len(text) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)


def test_a_full_disk_while_writing_the_history_leaves_the_previous_one_and_restart_keeps_everything(
        tmp_path, monkeypatch):
    checkpoint = tmp_path / "models" / "run.keras"
    train(checkpoint, 1)
    before = files(checkpoint.parent)
    fail_history_writes(monkeypatch)
    for restart in (False, True):
        with pytest.raises(CheckpointError, match="Free some disk space"):
            train(checkpoint, 2, restart=restart)
        # The history is written before the network and the state: nothing of epoch 2 (or of the
        # restarted epoch 1) replaced the files of the completed epoch 1, and no temporary is left.
        assert files(checkpoint.parent) == before
    monkeypatch.undo()
    assert [r["epoch"] for r in train(checkpoint, 2)] == [1, 2]
    assert [r["epoch"] for r in read_history(history_path(checkpoint))] == [1, 2]


def test_a_history_behind_the_state_is_refused_in_one_line_and_one_ahead_is_trimmed(tmp_path):
    checkpoint = tmp_path / "run.keras"
    train(checkpoint, 2)
    history = history_path(checkpoint)
    lines = history.read_text().splitlines()
    for broken in ("", lines[0] + "\n", lines[0] + "\n" + lines[1][:20], "garbage\n" + lines[1] + "\n"):
        history.write_text(broken)  # emptied, cut short, torn, corrupt
        with pytest.raises(CheckpointError, match="cannot be rebuilt") as error:
            train(checkpoint, 3)
        assert "\n" not in str(error.value) and "restart=True" in str(error.value)
    with pytest.raises(CheckpointError, match="is corrupt"):
        read_history(history)  # the reader the analyses use: one line, not a JSONDecodeError
    history.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        train(checkpoint, 3)
    # A record beyond the state (written before a kill could save the state) and a torn line after it.
    history.write_text("\n".join(lines) + "\n" + json.dumps({"epoch": 3, "loss": 1.0}) + "\n" + '{"epo')
    assert [r["epoch"] for r in train(checkpoint, 3)] == [1, 2, 3]
    assert TrainingState(checkpoint).completed_epochs() == 3


def test_a_second_process_on_the_same_run_is_refused_naming_the_holder_and_a_dead_ones_lock_is_taken(tmp_path):
    checkpoint = tmp_path / "run.keras"
    lock = tmp_path / "run.lock"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "since": "now"}))
        started = time.monotonic()
        with pytest.raises(RunLocked) as error:
            train(checkpoint, 1)
        assert time.monotonic() - started < 5  # at once, not after loading anything
        assert f"process {holder.pid} on {socket.gethostname()}" in str(error.value) and str(lock) in str(error.value)
        assert not checkpoint.exists() and lock.exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder is dead now (its pid reaped): the lock is stale and is taken over, then released.
    assert [r["epoch"] for r in train(checkpoint, 1)] == [1]
    assert not lock.exists()
    # Two holders in one process: the second refuses, the first's release frees it.
    with RunLock(checkpoint):
        with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
            RunLock(checkpoint).acquire()
    with RunLock(checkpoint):
        pass


def test_temporary_files_left_by_a_killed_run_are_removed_by_the_next_run_on_that_name(tmp_path):
    checkpoint = tmp_path / "run.keras"
    litter = [tmp_path / ".run.keras.0123456789ab.partial.keras", tmp_path / ".run.history.jsonl.abcdefabcdef.partial.jsonl",
              tmp_path / ".run.state.tmp.npz.00ff00ff00ff.partial.npz", tmp_path / "run.state.tmp.npz"]
    other_run = tmp_path / ".run.width=3.keras.0123456789ab.partial.keras"  # a run whose name begins the same
    for path in (*litter, other_run):
        path.write_bytes(b"half")
    train(checkpoint, 1)
    assert not any(path.exists() for path in litter) and other_run.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [other_run.name, "run.history.jsonl", "run.keras", "run.state.npz"])


def test_a_finite_blow_up_stops_the_run_keeping_the_last_good_epoch(tmp_path):
    checkpoint = tmp_path / "run.keras"
    train(checkpoint, 1)
    saved = checkpoint.read_bytes()
    with pytest.raises(TrainingDiverged, match=r"training diverged in epoch 2") as error:
        train(checkpoint, 3, learning_rate=1000.0, weight_decay=0.001)
    assert "keeps epoch 1" in str(error.value) and checkpoint.read_bytes() == saved
    assert TrainingState(checkpoint).completed_epochs() == 1


def guard_message(logs_by_batch, **terms) -> str:
    guard = DivergenceGuard("run.keras", 10, **terms)
    guard.on_epoch_begin(0)
    with pytest.raises(TrainingDiverged) as error:
        for batch, logs in enumerate(logs_by_batch):
            guard.on_train_batch_end(batch, logs)
    return str(error.value)


def test_the_divergence_rule_names_the_term_and_never_l2_without_weight_decay():
    first = {"loss": 2.5, "Lx": 2.3, "Lz": 0.2}
    calm = DivergenceGuard("run.keras", 10)
    for batch, loss in enumerate((2.5, 30.0, 240.0)):  # below 100 × 2.5: still training
        calm.on_train_batch_end(batch, {"loss": loss, "Lx": loss, "Lz": 0.0})
    message = guard_message([first, {"loss": 3e17, "Lx": 1e3, "Lz": 0.5, "error": 90.0}], weight_decay=0.001)
    assert "weight_decay·L2 is 3e+17" in message and "over 100 times" in message
    message = guard_message([first, {"loss": 5e6, "Lx": 5e6, "Lz": 0.1}], weight_decay=0.0)
    assert "Lx is 5e+06" in message
    # A NaN loss with finite terms and no weight decay: the sum is named, never L2.
    message = guard_message([first, {"loss": float("nan"), "Lx": 1e38, "Lz": 0.1}], weight_decay=0.0)
    assert "L2" not in message and "sum of the terms" in message
    assert "Lz is nan" in guard_message([{"loss": float("nan"), "Lx": 2.0, "Lz": float("nan")}])
    # Lz is logged with β already in it (the layers' kl_weight): the term is named with its logged value.
    assert "Lz is 4000" in guard_message([first, {"loss": 4e3, "Lx": 2.0, "Lz": 4e3}])


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.json", lambda path: Path(path).write_text("{}"))
        os.umask(0o077)
        atomic_write(tmp_path / "b.json", lambda path: Path(path).write_text("{}"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600


def test_an_unsafe_or_unknown_keras_file_is_refused_saying_why(tmp_path):
    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(tmp_path / "lambda.keras")
    with pytest.raises(CheckpointError, match="refused: it holds Python code"):
        load_network(tmp_path / "lambda.keras")
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "dense.keras")
    with zipfile.ZipFile(tmp_path / "dense.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = members["config.json"].replace(b'"Dense"', b'"Dense9"')
    with zipfile.ZipFile(tmp_path / "unknown.keras", "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(CheckpointError, match=r"names a class this code does not know \(keras.layers.Dense9\)"):
        load_network(tmp_path / "unknown.keras")


def test_saved_is_printed_only_when_the_checkpoint_was_written(tmp_path, capsys):
    from infodropout.paper.experiments import mnist_fc

    from infodropout.paper.train.runs import train_and_test

    config = {**mnist_fc.DEFAULTS, "dataset": "sample", "num_train": 200, "num_test": 100, "epochs": 1, "width": 16,
              "verbose": 0, "lr_drops": [], "models_dir": str(tmp_path / "models")}
    for _ in range(2):
        train_and_test("mnist_fc", config, mnist_fc.DEFAULTS, mnist_fc.load_mnist_data, mnist_fc.build_network)
    out = capsys.readouterr().out
    first, second = [line for line in out.splitlines() if "Testing" in line]
    assert first.startswith("Saved ") and not second.startswith("Saved") and "nothing to train" in out


def test_ctrl_c_during_start_up_ends_in_one_line_with_status_130_and_no_litter(tmp_path):
    process = subprocess.Popen([sys.executable, str(ROOT / "cifar.py"), "train", "with", "dataset=sample",
                                "num_train=100", "num_test=50", "epochs=1", "filter_percentage=0.05", "verbose=0"],
                               cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # A test run started in the background (`make test &`) inherits SIGINT ignored, and
                               # Python then keeps ignoring it, as it should for the user's `nohup`: undo that here.
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(1.5)  # importing sacred and TensorFlow
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    last = err.strip().splitlines()[-1]
    # Most likely still importing; if training had begun, its own SIGINT line is the one.
    assert "Traceback" not in err and last.startswith("cifar.py:") and ("interrupted" in last or "SIGINT" in last)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no hidden temporary anywhere


def test_a_generated_data_set_altered_but_well_formed_is_refused(tmp_path):
    import numpy as np

    from infodropout.paper.data.loaders import load_cluttered
    from infodropout.paper.errors import DataError

    first = load_cluttered(tmp_path, num_train=20, num_test=10, source="sample", progress=None)
    path = next(tmp_path.glob("cluttered-sample*train*.npz"))
    with np.load(path) as archive:
        arrays = dict(archive)
    assert "content_sha256" in arrays
    again = load_cluttered(tmp_path, num_train=20, num_test=10, source="sample", progress=None)
    assert np.array_equal(first.x_train, again.x_train)  # the checksum passes on an untouched file
    arrays["data"] = np.zeros_like(arrays["data"])  # rewritten well-formed: the zip's CRCs are all right
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="does not match the checksum written when it was made"):
        load_cluttered(tmp_path, num_train=20, num_test=10, source="sample", progress=None)


def test_partial_files_of_a_killed_download_or_archive_write_are_removed_by_the_next_one(tmp_path):
    import hashlib

    import numpy as np

    from infodropout.paper.data.checksums import Checksum
    from infodropout.paper.data.download import fetch
    from infodropout.paper.data.formats import save_npz

    killed = subprocess.Popen(["sleep", "60"])
    killed.kill()
    killed.wait()  # its pid is now free: the process that wrote the litter is dead
    dead, live, token = killed.pid, os.getpid(), "0123456789abcdef" * 2
    source = tmp_path / "mirror" / "f.gz"
    source.parent.mkdir()
    source.write_bytes(b"payload" * 100)
    folder = tmp_path / "datasets"
    folder.mkdir()
    stale = [folder / f".f.gz.{dead}.{token}.part", folder / f".out.npz.{dead}.{token}.tmp"]
    kept = [folder / f".f.gz.{live}.{token}.part", folder / f".other.npz.{dead}.{token}.tmp"]
    for path in (*stale, *kept):
        path.write_bytes(b"half")
    checksum = Checksum("sha256", hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_size)
    fetch("f.gz", source.parent.as_uri() + "/", folder, checksum, progress=None)
    save_npz(folder / "out.npz", np.zeros((2, 3)), np.arange(2))
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)  # a live download's, and another archive's
