"""Runs kept where they are committed: a run copied into the archive comes back into an empty models folder and
resumes after its last kept epoch; a run that went further is not overwritten; a large run is named, not kept; the
loop of tools/keep_runs.sh commits the runs it keeps and nothing else."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from infodropout.models import fully_connected
from infodropout.paper.data.formats import load_mnist_sample
from infodropout.paper.train import archive as run_archive
from infodropout.paper.train.archive import keep_runs, restore_runs
from infodropout.paper.train.checkpoint import TrainingState, read_history
from infodropout.paper.train.trainer import TrainSettings, train_classifier

ROOT = Path(__file__).resolve().parents[1]


def train(checkpoint: Path, epochs: int) -> list[dict]:
    data = load_mnist_sample()
    settings = TrainSettings(batch_size=100, epochs=epochs, learning_rate=0.05, lr_drops=(), seed=0)
    return train_classifier(fully_connected(16, dropout="binary"), data.x_train[:300], data.y_train[:300], settings,
                            checkpoint, verbose=0, monitor_alpha=False)


def test_a_kept_run_comes_back_into_an_empty_models_folder_and_resumes(tmp_path, capsys):
    models, archive = tmp_path / "models", tmp_path / "results" / "runs"
    train(models / "run.keras", epochs=2)
    kept = keep_runs(models, archive)
    assert kept.copied == ("run",)
    assert sorted(path.name for path in archive.iterdir()) == ["run.history.jsonl", "run.keras", "run.state.npz"]
    assert keep_runs(models, archive).unchanged == ("run",)  # nothing new: nothing copied again

    shutil.rmtree(models)  # the machine was replaced
    assert restore_runs(archive, models).copied == ("run",)
    assert TrainingState(models / "run.keras").completed_epochs() == 2
    capsys.readouterr()
    records = train(models / "run.keras", epochs=3)
    assert "Resuming" in capsys.readouterr().out and [r["epoch"] for r in records] == [1, 2, 3]
    assert records[:2] == read_history(archive / "run.history.jsonl")  # the kept epochs, not trained again


def test_a_run_that_went_further_is_not_overwritten_and_a_large_one_is_named(tmp_path, monkeypatch):
    models, archive = tmp_path / "models", tmp_path / "runs"
    train(models / "run.keras", epochs=1)
    keep_runs(models, archive)
    train(models / "run.keras", epochs=2)
    assert restore_runs(archive, models).unchanged == ("run",)
    assert len(read_history(models / "run.history.jsonl")) == 2
    monkeypatch.setattr(run_archive, "MAX_RUN_BYTES", 1000)
    kept = keep_runs(models, archive)
    assert kept.too_large == ("run",) and "not kept, over" in kept.summary("kept")
    assert TrainingState(archive / "run.keras").completed_epochs() == 1  # the archive keeps what it had


def test_the_loop_commits_the_kept_runs_and_only_them(tmp_path):
    repository = tmp_path / "repo"
    (repository / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "keep_runs.sh", repository / "tools" / "keep_runs.sh")
    models = tmp_path / "models"
    models.mkdir()
    np.savez(models / "a.state.npz", epoch=np.int64(1), v0=np.zeros(3))
    (models / "a.keras").write_bytes(b"network")
    (models / "a.history.jsonl").write_text('{"epoch": 1}\n')
    sweep = repository / "results" / "medium" / "figure9"
    sweep.mkdir(parents=True)
    (sweep / "results.json").write_text("[]\n")
    (repository / "other.txt").write_text("staged by someone else\n")
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "other.txt"], check=True)
    env = {**os.environ, "PYTHON": sys.executable, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    process = subprocess.Popen(["bash", str(repository / "tools" / "keep_runs.sh"), str(models), "1000"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    line = ""
    while "committed" not in line and time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line or process.poll() is None, process.stderr.read()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    committed = subprocess.run([*git, "show", "--name-only", "--format=", "HEAD"], capture_output=True, text=True,
                               check=True).stdout.split()
    assert sorted(committed) == ["results/medium/figure9/results.json", "results/medium/runs/a.history.jsonl",
                                 "results/medium/runs/a.keras", "results/medium/runs/a.state.npz"]
    staged = subprocess.run([*git, "diff", "--cached", "--name-only"], capture_output=True, text=True).stdout.split()
    assert staged == ["other.txt"]  # another's staged change is left staged, not swept into the commit
