"""Training speed against the machine's limit: ``python -m infodropout.paper.perf.bench``.

Measures, in one process, the dense float32 matmul rate (the roofline), the training throughput of
the paper's networks for each dropout method, the FLOPs of a training image counted from the layers
(hence the fraction of the roofline reached), the Information/binary step-time ratio, the cost of
the real input pipeline, and the peak memory. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from infodropout.layers import iter_layers  # noqa: E402
from infodropout.paper.machine import bfloat16_units, cpu_description  # noqa: E402
from infodropout.models import all_cnn_32, all_cnn_96  # noqa: E402
from infodropout.paper.train.distribution import make_strategy, set_precision, synchronize_batch_norm  # noqa: E402
from infodropout.paper.train.trainer import (  # noqa: E402
    MAX_STEPS_PER_CALL, Classifier, TrainSettings, epoch_batches, make_optimizer,
)
from infodropout.paper.protocols import PAPER_KL_WEIGHT  # noqa: E402

# (builder, filter_percentage): the configurations the speed targets are about.
NETWORKS = {
    "All-CNN-32 @ 0.1": (all_cnn_32, 0.1, (32, 32, 3)),
    "All-CNN-32 @ 0.25": (all_cnn_32, 0.25, (32, 32, 3)),
    "All-CNN-32 @ 1.0": (all_cnn_32, 1.0, (32, 32, 3)),
    "All-CNN-96 @ 0.25": (all_cnn_96, 0.25, (96, 96, 1)),
}
# What the full benchmark times by default (All-CNN-32 @ 0.1, the medium plan's size, on request).
DEFAULT_NETWORKS = ("All-CNN-32 @ 0.25", "All-CNN-32 @ 1.0", "All-CNN-96 @ 0.25")
DROPOUTS = ("none", "binary", "information")
# The precisions the per-host table compares (mixed_float16 is for GPUs: CPUs have no fast float16).
PRECISIONS = ("float32", "mixed_bfloat16")


def matmul_rate(size: int = 2048, repeats: int = 10) -> float:
    """The machine's dense float32 matmul rate in GFLOP/s (median of ``repeats`` timed products)."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, b)))
    product().numpy()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def machine_record(load_average: bool = True, **extra) -> dict:
    """What a benchmark's JSON says of the machine it ran on (``extra``: further facts, e.g. its bfloat16 units);
    the load average at the end, where asked, says how quiet the machine was."""
    record = {"platform": platform.platform(), "processor": cpu_description(), **extra, "cpus": os.cpu_count(),
              "tensorflow": tf.__version__, "keras": keras.__version__}
    return record | ({"load_average": os.getloadavg()} if load_average else {})


def training_flops_per_image(network: keras.Model) -> float:
    """FLOPs of one training image: 3× the forward multiply-adds (forward, and the gradients with
    respect to the inputs and to the weights) of every convolution and dense layer, each counted 2
    FLOPs; element-wise work is left out, so the roofline fraction is a slight underestimate."""
    forward = 0
    for layer in iter_layers(network):
        if isinstance(layer, keras.layers.Conv2D):
            out_h, out_w, out_c = layer.compute_output_shape(layer._build_shapes_dict["input_shape"])[1:]
            k_h, k_w, in_c, _ = layer.kernel.shape
            forward += 2 * k_h * k_w * in_c * out_c * out_h * out_w
        elif isinstance(layer, keras.layers.Dense):
            forward += 2 * int(np.prod(layer.kernel.shape))
    return 3.0 * forward


def step_times(train_step: Callable[[], None], warmup: int, windows: int, steps: int) -> list[float]:
    """Seconds per step in each of ``windows`` timed windows of ``steps`` steps, after ``warmup`` steps."""
    for _ in range(warmup):
        train_step()
    times = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(steps):
            train_step()
        times.append((time.perf_counter() - start) / steps)
    return times


def classifier_for(builder, filter_percentage: float, dropout: str, jit_compile: bool, fused: bool,
                   steps_per_call: int = 1) -> Classifier:
    network = builder(filter_percentage, dropout=dropout, kl_weight=PAPER_KL_WEIGHT, fused=fused)
    classifier = Classifier(network, weight_decay=0.001)
    classifier.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                       loss=classifier.task_loss_function(), jit_compile=jit_compile,
                       steps_per_execution=steps_per_call)
    return classifier


def measure_network(name: str, dropout: str, batch_size: int, jit_compile: bool, fused: bool, warmup: int,
                    windows: int, steps: int, steps_per_call: int = MAX_STEPS_PER_CALL) -> dict:
    """The training step as fit runs it: ``steps_per_call`` steps a compiled call (the harness's largest) on one
    batch held in memory; ``warmup``, then ``windows`` windows of ``steps`` calls."""
    builder, filter_percentage, shape = NETWORKS[name]
    classifier = classifier_for(builder, filter_percentage, dropout, jit_compile, fused, steps_per_call)
    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(batch_size, *shape)).astype("float32"), rng.integers(0, 10, size=batch_size))
    iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
    classifier.make_train_function()
    times = [call / steps_per_call for call in
             step_times(lambda: classifier.train_function(iterator), warmup, windows, steps)]
    median = statistics.median(times)
    return {
        "network": name, "dropout": dropout, "batch_size": batch_size, "jit_compile": jit_compile, "fused": fused,
        "steps_per_call": steps_per_call, "step_s": median, "step_s_windows": times, "images_per_s": batch_size / median,
        "training_flops_per_image": training_flops_per_image(classifier.network),
    }


def input_pipeline_cost(batch_size: int, steps: int, jit_compile: bool, fused: bool, rounds: int = 8) -> dict:
    """The real input path's cost per training step of All-CNN-32 @ 0.25: ``epoch_batches`` over
    CIFAR-sized arrays in memory against one batch already held as a tensor.

    Windows of ``steps`` steps fed by each path alternate for ``rounds`` rounds, and the medians are
    compared: on 2 cores the machine's own drift between two long runs is larger than the effect.
    The start of an epoch (its shuffle, the first batch) is timed apart and spread over an epoch."""
    builder, filter_percentage, shape = NETWORKS["All-CNN-32 @ 0.25"]
    classifier = classifier_for(builder, filter_percentage, "information", jit_compile, fused)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50_000, *shape)).astype("float32")
    y = rng.integers(0, 10, size=50_000)
    epochs = rounds * steps * batch_size // len(x) + 2
    start = time.perf_counter()
    real = iter(epoch_batches(x, y, batch_size, seed=0, first_epoch=0, epochs=epochs))
    next(real)
    epoch_start = time.perf_counter() - start
    in_memory = (tf.constant(x[:batch_size]), tf.constant(y[:batch_size]))
    paths = {"real": lambda: classifier.train_on_batch(*next(real)),
             "in_memory": lambda: classifier.train_on_batch(*in_memory)}
    for step in paths.values():
        step_times(step, warmup=3, windows=0, steps=0)
    windows: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, step in paths.items():
            windows[name] += step_times(step, warmup=0, windows=1, steps=steps)
    real_s, memory_s = statistics.median(windows["real"]), statistics.median(windows["in_memory"])
    steps_per_epoch = len(x) // batch_size
    per_epoch = (real_s * steps_per_epoch + epoch_start) / (memory_s * steps_per_epoch)
    return {"rounds": rounds, "steps_per_window": steps, "real_step_s": real_s, "in_memory_step_s": memory_s,
            "real_windows": windows["real"], "in_memory_windows": windows["in_memory"],
            "epoch_start_s": epoch_start, "overhead": per_epoch - 1}


# The data-parallel and precision variants, against "default" (one device, float32): (strategy, precision).
VARIANTS = {
    "default": ("default", "float32"),
    "mirrored": ("mirrored", "float32"),
    "mixed_float16": ("default", "mixed_float16"),
    "mixed_bfloat16": ("default", "mixed_bfloat16"),
}


def measure_variant(variant: str, name: str, batch_size: int, devices: int, warmup: int, windows: int,
                    steps: int) -> dict:
    """Step time of Information Dropout on ``name`` under a strategy/precision variant, through the path fit
    takes (a distributed iterator, so that each replica gets its share of the global batch), with the
    harness's optimizer (loss scaling under mixed_float16) and synchronised batch norm under mirrored."""
    strategy_name, precision = VARIANTS[variant]
    strategy = make_strategy(strategy_name, devices if strategy_name == "mirrored" else 0)
    builder, filter_percentage, shape = NETWORKS[name]
    set_precision(precision)
    try:
        with strategy.scope():
            network = builder(filter_percentage, dropout="information", kl_weight=PAPER_KL_WEIGHT, fused=True)
            if strategy_name != "default":
                synchronize_batch_norm(network)
            classifier = Classifier(network, weight_decay=0.001)
            optimizer = make_optimizer(TrainSettings(learning_rate=0.01, lr_drops=(), precision=precision), 1)
            classifier.compile(optimizer=optimizer, loss=classifier.task_loss_function(), jit_compile=False)
            optimizer.build(network.trainable_variables)
            rng = np.random.default_rng(0)
            batch = (rng.normal(size=(batch_size, *shape)).astype("float32"), rng.integers(0, 10, size=batch_size))
            iterator = iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch).repeat()))
            classifier.make_train_function()
            train_function = classifier.train_function
            times = step_times(lambda: train_function(iterator), warmup, windows, steps)
    finally:
        set_precision("float32")
    median = statistics.median(times)
    return {"variant": variant, "network": name, "replicas": strategy.num_replicas_in_sync, "precision": precision,
            "batch_size": batch_size, "step_s": median, "step_s_windows": times, "images_per_s": batch_size / median}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON written (default: results/bench.json; with --precisions "
                             "results/bench-precision-<host>.json)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--networks", nargs="+", default=list(DEFAULT_NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--dropouts", nargs="+", default=list(DROPOUTS), choices=list(DROPOUTS))
    parser.add_argument("--jit-compile", choices=("true", "false"), default="false")
    parser.add_argument("--fused", choices=("true", "false"), default="true",
                        help="compute f and α in one convolution (InformationDropout(fused=...))")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="compiled calls per timed window")
    parser.add_argument("--steps-per-call", type=int, default=MAX_STEPS_PER_CALL,
                        help="training steps a compiled call runs in the networks' table (fit's largest by default; "
                             "1: one step a call, as train_on_batch)")
    parser.add_argument("--pipeline-steps", type=int, default=25, help="steps per timed window of each path")
    parser.add_argument("--variants", nargs="*", default=[], choices=list(VARIANTS),
                        help="also time Information Dropout on the first network under these strategy/precision "
                             "variants, with their overhead against default (mirrored: over --devices)")
    parser.add_argument("--devices", type=int, default=2, help="mirrored's devices (on a CPU: logical ones)")
    parser.add_argument("--variants-only", action="store_true", help="time the variants alone")
    parser.add_argument("--precisions", action="store_true",
                        help=f"time Information Dropout on every --networks at each of {', '.join(PRECISIONS)} on "
                             "this host and write the host's table (default --out: results/bench-precision-<host>.json)")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps, args.windows, args.steps_per_call) < 1:
        parser.error("--batch-size, --steps, --windows and --steps-per-call must be at least 1")
    if args.precisions:
        return print_precisions(args)
    args.out = args.out or Path("results/bench.json")
    jit_compile, fused = args.jit_compile == "true", args.fused == "true"
    if "mirrored" in args.variants:
        make_strategy("mirrored", args.devices)  # splits a CPU into logical devices, before TensorFlow starts
    if args.variants_only:
        return print_variants(args)

    roofline = matmul_rate()
    print(f"dense float32 matmul: {roofline:.1f} GFLOP/s", flush=True)
    rows = []
    for name in args.networks:
        for dropout in args.dropouts:
            row = measure_network(name, dropout, args.batch_size, jit_compile, fused, args.warmup, args.windows,
                                  args.steps, args.steps_per_call)
            row["roofline_fraction"] = row["images_per_s"] * row["training_flops_per_image"] / 1e9 / roofline
            rows.append(row)
            print(f"{name:18} {dropout:12} {row['step_s'] * 1000:8.1f} ms/step {row['images_per_s']:8.1f} img/s "
                  f"{row['roofline_fraction']:6.1%} of roofline", flush=True)
    ratios = {}
    for name in args.networks:
        steps = {r["dropout"]: r["step_s"] for r in rows if r["network"] == name}
        if "information" in steps and "binary" in steps:
            ratios[name] = steps["information"] / steps["binary"]
    pipeline = input_pipeline_cost(args.batch_size, args.pipeline_steps, jit_compile, fused)
    variants = measure_variants(args)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "machine": machine_record(load_average=False),
        "settings": vars(args) | {"out": str(args.out)},
        "matmul_gflops": roofline, "runs": rows, "information_binary_ratio": ratios,
        "input_pipeline": pipeline, "variants": variants, "peak_rss_mb": peak_rss_mb,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\nMachine: {os.cpu_count()} CPUs, {cpu_description()}, TensorFlow {tf.__version__}; "
          f"matmul roofline {roofline:.1f} GFLOP/s; batch {args.batch_size}; jit_compile={jit_compile}, fused={fused}; "
          f"{args.steps_per_call} step(s) a call\n")
    print("| network | dropout | ms/step | images/s | GFLOP/image (train) | % of roofline |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['dropout']} | {r['step_s'] * 1000:.0f} | {r['images_per_s']:.1f} | "
              f"{r['training_flops_per_image'] / 1e9:.3f} | {r['roofline_fraction']:.1%} |")
    for name, ratio in ratios.items():
        print(f"information/binary step time, {name}: {ratio:.2f}")
    print(f"input pipeline: {pipeline['overhead']:+.1%} per epoch over in-memory tensors "
          f"(median step {pipeline['real_step_s'] * 1000:.1f} vs {pipeline['in_memory_step_s'] * 1000:.1f} ms, "
          f"epoch start {pipeline['epoch_start_s'] * 1000:.0f} ms)")
    print_variant_table(variants)
    print(f"peak RSS: {peak_rss_mb:.0f} MB; written to {args.out}")
    return 0


def measure_variants(args) -> list[dict]:
    """The --variants rows, each with its step time's overhead against default's (measured first)."""
    if not args.variants:
        return []
    name = args.networks[0]
    rows = [measure_variant(variant, name, args.batch_size, args.devices, args.warmup, args.windows, args.steps)
            for variant in ["default", *(v for v in args.variants if v != "default")]]
    for row in rows:
        row["overhead"] = row["step_s"] / rows[0]["step_s"] - 1
        print(f"{row['variant']:15} {row['step_s'] * 1000:8.1f} ms/step {row['overhead']:+7.1%}", flush=True)
    return rows


def print_variant_table(rows: list[dict]) -> None:
    if not rows:
        return
    print("\n| network | variant | replicas | ms/step | images/s | overhead vs default |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['variant']} | {r['replicas']} | {r['step_s'] * 1000:.0f} | "
              f"{r['images_per_s']:.1f} | {r['overhead']:+.1%} |")


def print_variants(args) -> int:
    """--variants-only: time the variants, print their table and write them alone to --out."""
    rows = measure_variants(args)
    print(f"\nMachine: {os.cpu_count()} CPUs, {cpu_description()}, TensorFlow {tf.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}; batch {args.batch_size}")
    print_variant_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": machine_record(),
        "settings": vars(args) | {"out": str(args.out)}, "variants": rows}, indent=2) + "\n")
    return 0


def host_key() -> str:
    """A file-name-safe name of this host's kind: its CPU model, widest vector unit and bfloat16 units."""
    import re

    words = [cpu_description(), *bfloat16_units()]
    return re.sub(r"[^a-z0-9]+", "-", " ".join(words).lower()).strip("-")[:80] or "unknown-cpu"


def measure_precisions(networks: list[str], batch_size: int, warmup: int, windows: int, steps: int) -> list[dict]:
    """Step time of Information Dropout on each network at each precision of :data:`PRECISIONS`, through the
    path fit takes (:func:`measure_variant`), each with its change against float32 on the same network."""
    rows = []
    for name in networks:
        base = None
        for precision in PRECISIONS:
            row = measure_variant("default" if precision == "float32" else precision, name, batch_size, 0, warmup,
                                  windows, steps)
            base = base or row["step_s"]
            row["change_vs_float32"] = row["step_s"] / base - 1
            rows.append(row)
            print(f"{name:18} {precision:15} {row['step_s'] * 1000:8.1f} ms/step {row['change_vs_float32']:+7.1%}",
                  flush=True)
    return rows


def print_precisions(args) -> int:
    """--precisions: the host's precision table, printed and written to --out (or the host's own file)."""
    rows = measure_precisions(args.networks, args.batch_size, args.warmup, args.windows, args.steps)
    units = bfloat16_units()
    out = args.out or Path(f"results/bench-precision-{host_key()}.json")
    print(f"\nMachine: {os.cpu_count()} CPUs, {cpu_description()}, bfloat16 units: {', '.join(units) or 'none'}, "
          f"TensorFlow {tf.__version__}, load average {os.getloadavg()[0]:.1f}; batch {args.batch_size}")
    print("\n| network | precision | ms/step | images/s | step time vs float32 |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['network']} | {r['precision']} | {r['step_s'] * 1000:.0f} | {r['images_per_s']:.1f} | "
              f"{r['change_vs_float32']:+.1%} |")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": machine_record(bfloat16_units=units),
        "settings": vars(args) | {"out": str(out)}, "precisions": rows}, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
