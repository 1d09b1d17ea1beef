"""Stopping a run and knowing its cost: Ctrl-C acts within seconds and keeps the last completed epoch, a second
Ctrl-C ends the process at once, a run whose folder is deleted stops instead of writing a new one, and a run of
hours says so before its first epoch."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from infodropout.paper.train.run_time import LONG_RUN_SECONDS, duration, long_run_notice
from infodropout.paper.train.trainer import CALL_SECONDS, MAX_STEPS_PER_CALL, steps_per_call

ROOT = Path(__file__).resolve().parents[1]

# Six dense layers of 4096 units at batch 100: about 60 GFLOP a step, over a second on 2 AVX-512 EPYC cores and at least
# 0.3 s on a far faster CPU, so that a call of ten steps (the former fixed number) would outlast CALL_SECONDS.
SLOW_RUN = textwrap.dedent("""
    import sys
    import keras, numpy as np
    from infodropout.paper.train.checkpoint import CheckpointError
    from infodropout.paper.train.trainer import TrainSettings, TrainingInterrupted, train_classifier
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4096,))
    h = inputs
    for _ in range(6):
        h = keras.layers.Dense(4096, activation="relu")(h)
    network = keras.Model(inputs, keras.layers.Dense(10)(h))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 4096)).astype("float32"), rng.integers(0, 10, 1000)
    settings = TrainSettings(batch_size=100, epochs=3, learning_rate=1e-4, lr_drops=())
    try:
        train_classifier(network, x, y, settings, sys.argv[1], verbose=0, monitor_alpha=False)
    except TrainingInterrupted as stop:
        print("STOPPED:", stop, flush=True)
        sys.exit(3)
    except CheckpointError as error:
        print("CHECKPOINT:", error, flush=True)
        sys.exit(4)
""")


def test_steps_per_call_fit_the_call_time_where_steps_are_slow():
    assert steps_per_call(200, seconds_per_step=0.05) == MAX_STEPS_PER_CALL
    assert steps_per_call(200, seconds_per_step=CALL_SECONDS / 4) == 4
    assert steps_per_call(200, seconds_per_step=CALL_SECONDS / 3) == 2  # 3 does not divide 200
    assert steps_per_call(200, seconds_per_step=10 * CALL_SECONDS) == 1
    assert steps_per_call(7, seconds_per_step=CALL_SECONDS / 8) == 7


def test_a_long_run_is_announced_with_its_estimate_and_the_cpu_settings():
    notice = long_run_notice("models/cifar.keras", epochs=200, steps_per_epoch=500, seconds_per_step=3.0, gpu=False)
    assert "200 epochs of 500 batches" in notice and "roughly 83 h 20 min" in notice
    assert "docs/experiments.md" in notice
    assert "docs/experiments.md" not in long_run_notice("m.keras", 200, 500, 3.0, gpu=True)
    # An hour's run or less says nothing.
    assert long_run_notice("m.keras", 10, 100, LONG_RUN_SECONDS / 1000, gpu=False) is None
    assert [duration(s) for s in (20, 60 * 12, 3600 * 3 + 300)] == ["under a minute", "12 min", "3 h 05 min"]


def start_slow_run(tmp_path):
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    checkpoint = tmp_path / "models" / "slow.keras"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.Popen([sys.executable, str(script), str(checkpoint)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, checkpoint


def wait_for_epochs(process, checkpoint, epochs: int, timeout: float = 240.0) -> None:
    history = checkpoint.with_suffix(".history.jsonl")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if history.exists() and len(history.read_text().splitlines()) >= epochs:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"epoch {epochs} did not complete in {timeout} s")


def test_ctrl_c_mid_epoch_stops_within_seconds_and_keeps_the_last_epoch(tmp_path):
    import re

    import keras
    import numpy as np

    process, checkpoint = start_slow_run(tmp_path)
    wait_for_epochs(process, checkpoint, 1)
    time.sleep(0.5)  # inside epoch 2's first compiled call
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    # Answered at once, whatever the compiled call in progress (and the machine's load).
    notice = ""
    while "SIGINT: stopping" not in notice:
        notice = process.stderr.readline()
        assert notice, "the process ended without answering the SIGINT"
    assert time.monotonic() - sent < 3, f"answered {time.monotonic() - sent:.1f} s after SIGINT"
    per_call = int(re.search(r"At most (\d+) more batch", notice).group(1))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, err[-2000:]
    # It stopped at the end of the call in progress, mid-epoch: calls of a few steps, where the former ten a call
    # ran to the epoch's end (batch 10/10) first, ten seconds and more here.
    stopped = int(re.search(r"SIGINT in epoch 2, batch (\d+)/10", out).group(1))
    assert per_call < 10 and stopped % per_call == 0 and stopped <= 2 * per_call < 10, (per_call, out)
    assert "Ctrl-C again stops at once" in notice and "keeps the last completed epoch (1)" in out
    # The last completed epoch is whole: its network loads and predicts, its state and history say epoch 1.
    network = keras.saving.load_model(checkpoint)
    assert np.isfinite(network.predict(np.zeros((2, 4096), "float32"), verbose=0)).all()
    with np.load(checkpoint.with_suffix(".state.npz")) as state:
        assert int(state["epoch"]) == 1
    records = [json.loads(line) for line in checkpoint.with_suffix(".history.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in records] == [1]


BLOCKED = textwrap.dedent("""
    import numpy as np
    from infodropout.paper.train.interrupts import interrupt_requests
    a = np.ones((6000, 6000), "float32")
    with interrupt_requests(notice=lambda: "NOTICE") as received:
        print("READY", flush=True)
        for _ in range(50):  # a long computation in C, as a compiled call is: Python handlers wait for its end
            a @ a
    print("ENDED", received, flush=True)
""")


def test_a_second_ctrl_c_ends_the_process_at_once(tmp_path):
    script = tmp_path / "blocked.py"
    script.write_text(BLOCKED)
    process = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "READY"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    took = time.monotonic() - sent
    assert process.returncode == 130 and "ENDED" not in out
    assert took < 5, f"ended {took:.1f} s after the second SIGINT"  # the loop of products takes a minute or more
    assert "SIGINT: stopping after the current compiled call. NOTICE" in err and "Second SIGINT" in err


def test_the_paper_default_on_a_cpu_says_its_cost_before_the_first_epoch(tmp_path):
    # The full-width All-CNN-32 for the paper's 200 epochs: days on 2 cores; said before epoch 1 ends, not after.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cifar.py"), "train", "with", "dataset=sample", "num_train=2000",
         f"models_dir={tmp_path / 'models'}", "verbose=2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "roughly" in line or "Epoch 1/" in line or "epoch 1" in line.lower():
                break
        notice = lines[-1]
        assert "200 epochs of 20 batches" in notice and "roughly" in notice, "".join(lines)
        assert "docs/experiments.md" in process.stdout.readline()
        assert not list((tmp_path / "models").glob("*.history.jsonl"))  # no epoch had ended
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)


def test_a_run_whose_folder_is_deleted_stops_instead_of_writing_a_new_one(tmp_path):
    import shutil

    process, checkpoint = start_slow_run(tmp_path)
    wait_for_epochs(process, checkpoint, 1)
    while not checkpoint.with_suffix(".state.npz").exists():  # epoch 1 saved: written after its history
        time.sleep(0.05)
    shutil.rmtree(checkpoint.parent)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 4, err[-2000:]
    assert f"{checkpoint.parent} was deleted while this run trained" in out
    assert not checkpoint.parent.exists()
