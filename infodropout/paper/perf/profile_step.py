"""Where a training step's milliseconds go: ``python -m infodropout.paper.perf.profile_step``.

For each network it times, at batch 100 on tensors in memory, one network taken apart layer kind by layer kind:

- ``convolutions``: the network's convolutions alone (the same shapes, each followed by a ReLU, no batch norm,
  no dropout): the arithmetic the roofline counts, with as little else as a network can have;
- ``+ batch norm``: the network with dropout=none (convolutions, batch norm, activations);
- ``+ information dropout``: the real network (its α branch, its noise, its KL);
- each of these one step a compiled call (``train_on_batch``, the harness's path) and, for the real network,
  ``steps_per_execution`` steps a call, which leaves out the per-step Python and dispatch;
- the real network's forward pass alone (in training mode) and its forward and backward passes without the
  optimizer's update.

Each time is the median of interleaved windows (on a small machine the drift between two long runs is larger
than some of the effects), with its share of the real network's step and its fraction of the dense matmul
roofline. Prints a Markdown table and writes JSON (default results/profile-<host>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from infodropout.layers import iter_layers  # noqa: E402
from infodropout.paper.perf.bench import (  # noqa: E402
    NETWORKS, host_key, machine_record, matmul_rate, training_flops_per_image,
)
from infodropout.paper.machine import cpu_description  # noqa: E402
from infodropout.paper.train.trainer import Classifier  # noqa: E402
from infodropout.paper.protocols import PAPER_KL_WEIGHT  # noqa: E402

PROFILED_NETWORKS = ("All-CNN-32 @ 0.1", "All-CNN-32 @ 0.25", "All-CNN-32 @ 1.0")


def convolutions_only(network: keras.Model) -> keras.Model:
    """A network of the convolutions of ``network`` (one without dropout) in order, each with a ReLU, then the
    spatial mean and a dense layer to the logits: the same multiply-adds without batch norm."""
    x = inputs = keras.Input(network.input_shape[1:])
    for layer in iter_layers(network):
        if isinstance(layer, keras.layers.Conv2D):
            x = keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                                    use_bias=False, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="convolutions_only")


def compiled(network: keras.Model, steps_per_execution: int = 1) -> Classifier:
    classifier = Classifier(network, weight_decay=0.001)
    classifier.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                       loss=classifier.task_loss_function(), jit_compile=False,
                       steps_per_execution=steps_per_execution)
    return classifier


def step_functions(builder, filter_percentage: float, shape: tuple, batch_size: int,
                   steps_per_execution: int) -> dict[str, tuple[Callable[[], None], int, keras.Model]]:
    """name → (a call that runs some training steps, how many steps a call runs, the network it trains)."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch_size, *shape)).astype("float32"))
    y = tf.constant(rng.integers(0, 10, size=batch_size))
    real = builder(filter_percentage, dropout="information", kl_weight=PAPER_KL_WEIGHT, fused=True)
    plain = builder(filter_percentage, dropout="none")
    convs = convolutions_only(plain)
    calls = {}
    for name, network in (("convolutions", convs), ("+ batch norm", plain), ("+ information dropout", real)):
        classifier = compiled(network)
        calls[name] = (lambda c=classifier: c.train_on_batch(x, y), 1, network)
    many = compiled(builder(filter_percentage, dropout="information", kl_weight=PAPER_KL_WEIGHT, fused=True),
                    steps_per_execution)
    iterator = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    many.make_train_function()
    calls[f"+ information dropout, {steps_per_execution} steps a call"] = (
        lambda: many.train_function(iterator), steps_per_execution, many.network)
    forward = tf.function(lambda: real(x, training=True))
    calls["forward only (information)"] = (lambda: forward().numpy(), 1, real)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            logits = real(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
            loss += tf.add_n(real.losses)
        return tape.gradient(loss, real.trainable_variables)

    calls["forward + backward, no update (information)"] = (lambda: forward_backward()[0].numpy(), 1, real)
    return calls


def profile_network(name: str, batch_size: int, steps_per_execution: int, rounds: int, steps: int,
                    roofline: float) -> list[dict]:
    """The rows of one network: every step function timed in ``rounds`` interleaved windows of about
    ``steps`` steps each, after two warm-up calls."""
    builder, filter_percentage, shape = NETWORKS[name]
    calls = step_functions(builder, filter_percentage, shape, batch_size, steps_per_execution)
    for call, _, _ in calls.values():
        call(), call()
    windows: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(rounds):
        for key, (call, per_call, _) in calls.items():
            repeats = max(1, steps // per_call)
            start = time.perf_counter()
            for _ in range(repeats):
                call()
            windows[key].append((time.perf_counter() - start) / (repeats * per_call))
    real_step = statistics.median(windows["+ information dropout"])
    rows = []
    for key, (_, per_call, network) in calls.items():
        step = statistics.median(windows[key])
        flops = training_flops_per_image(network)
        if key.startswith("forward only"):
            flops /= 3  # the forward multiply-adds alone (the backward passes are the other two thirds)
        rows.append({"network": name, "part": key, "step_s": step, "windows_s": windows[key],
                     "share_of_step": step / real_step, "gflop_per_image": flops / 1e9,
                     "roofline_fraction": batch_size / step * flops / 1e9 / roofline})
        print(f"{name:18} {key:45} {step * 1000:8.2f} ms {step / real_step:7.1%} of the step "
              f"{rows[-1]['roofline_fraction']:6.1%} of roofline", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(PROFILED_NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed windows of each part")
    parser.add_argument("--steps", type=int, default=10, help="training steps in a window")
    parser.add_argument("--out", type=Path, default=None, help="default: results/profile-<host>.json")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps_per_execution, args.rounds, args.steps) < 1:
        parser.error("--batch-size, --steps-per-execution, --rounds and --steps must be at least 1")
    roofline = matmul_rate()
    print(f"dense float32 matmul: {roofline:.1f} GFLOP/s", flush=True)
    rows = [row for name in args.networks
            for row in profile_network(name, args.batch_size, args.steps_per_execution, args.rounds, args.steps,
                                       roofline)]
    out = args.out or Path(f"results/profile-{host_key()}.json")
    print(f"\nMachine: {os.cpu_count()} CPUs, {cpu_description()}, TensorFlow {tf.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}; roofline {roofline:.0f} GFLOP/s; batch {args.batch_size}\n")
    print("| network | part | ms/step | share of the step | % of roofline |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['part']} | {r['step_s'] * 1000:.1f} | {r['share_of_step']:.0%} | "
              f"{r['roofline_fraction']:.1%} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": machine_record(),
        "settings": vars(args) | {"out": str(out)}, "matmul_gflops": roofline, "rows": rows}, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
