"""What a training run will cost, measured before its first step: the time of one step on this machine, and a
notice before a run of hours (the paper's full-size settings on a CPU) that says so and where shorter settings are.
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np

# A training step (forward, backward, update) takes about this many forward passes in inference mode: 3.6 to 4.0
# for All-CNN-32 at 10, 25 and 100 % of its filters on 2 AMD EPYC cores with AVX-512.
STEP_PER_FORWARD = 4.0
# A run expected to take longer than this says so before it starts.
LONG_RUN_SECONDS = 3600.0


def step_seconds(network: keras.Model, x: np.ndarray, batch_size: int) -> float:
    """About how many seconds one training step of ``network`` on ``batch_size`` inputs of ``x`` takes here: the
    second of two forward passes in inference mode (the first pays one-time costs), times
    :data:`STEP_PER_FORWARD`. Inference draws no noise and leaves batch norm's statistics alone, so the run's
    numbers are those it would have had without this measure."""
    batch = x[:batch_size]
    network(batch, training=False)
    started = time.perf_counter()
    network(batch, training=False)
    return STEP_PER_FORWARD * (time.perf_counter() - started)


def long_run_notice(checkpoint: str | os.PathLike, epochs: int, steps_per_epoch: int, seconds_per_step: float,
                    gpu: bool) -> str | None:
    """The lines to print before a run expected to take more than :data:`LONG_RUN_SECONDS` (None for a shorter
    one): its size, the estimate and, on a machine without a GPU, where settings that learn in minutes are."""
    expected = epochs * steps_per_epoch * seconds_per_step
    if expected <= LONG_RUN_SECONDS:
        return None
    lines = [f"{checkpoint}: {epochs} epochs of {steps_per_epoch} batches at about {seconds_per_step:.2g} s a batch "
             f"here (measured before the first): roughly {duration(expected)}. Ctrl-C stops it after the current "
             "batches, keeping the last completed epoch; the same command resumes it."]
    if not gpu:
        lines.append("This machine has no GPU: docs/experiments.md gives, for every script, settings that learn in "
                     "minutes on a CPU (fewer filters, images and epochs).")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    """``seconds`` in words to the minute: "3 h 05 min", "12 min", "under a minute"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
