"""This project's training step against a plain PyTorch port of the same network, back to back:
``python -m infodropout.paper.perf.versus_torch``.

For each network, two worker processes are started, one a framework: ours (TensorFlow/Keras, the step as ``fit``
runs it: :func:`infodropout.paper.perf.bench.classifier_for`, ``steps_per_call`` steps a compiled call as the
trainer chooses them for a CIFAR-10 epoch, on one batch held in memory) and the port's
(:mod:`infodropout.paper.perf.torch_peer`, eager). This process imports neither framework; it tells the workers in
turn to run a window of the same number of steps (ours, the port's, ours, the port's ...), so that a load that
drifts while it runs falls on both, and reads back each window's time. Each figure is the median over the windows
with its spread (min–max and quartiles), and the ratio is ours over the port's images/s.

Why a process each: TensorFlow's thread pools (Eigen's) and PyTorch's (OpenMP) are separate, and both spin for a
while after their work before they sleep; in one process both frameworks' pools, with their oneDNN copies, would
sit beside each other and the threads of the one idle would take cycles from the one timed. Two processes keep
each framework alone with its ``--threads`` threads, and the pause between windows lets the idle one's pool settle.
torch is needed only here, for the benchmark: it is never a requirement of the project.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from infodropout.paper.machine import available_cores, cpu_description
from infodropout.paper.perf.torch_peer import NETWORK_NAMES, NetworkSpec, parse_network

DEFAULT_NETWORKS = ("All-CNN-32 @ 0.1", "All-CNN-32 @ 0.25", "All-CNN-32 @ 1.0", "All-CNN-96 @ 0.125")
SIDES = ("ours", "torch")
# The epoch whose steps the trainer divides into compiled calls: CIFAR-10's 50,000 images at the batch size.
EPOCH_IMAGES = 50_000
# Seconds between two windows, for the pool of the framework just timed to stop spinning and sleep.
PAUSE_S = 0.2
# The lines a worker writes for this process start with this; anything else (a framework's log) is passed on.
MESSAGE = "versus_torch: "


def seconds_per_step(call: Callable[[], object], calls: int, steps_per_call: int) -> float:
    """The seconds a training step took over ``calls`` calls of ``call``, each running ``steps_per_call`` steps: the
    one clock both sides are read by."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / (calls * steps_per_call)


def our_step(spec: NetworkSpec, batch_size: int, threads: int,
             per_call: int = 0) -> tuple[dict, Callable[[], object], int]:
    """Ours: the network's information-dropout step as fit runs it, ``per_call`` steps a compiled call (0: as the
    trainer chooses); what it is, its compiled call, its steps a call."""
    from infodropout.paper.machine import set_threads

    set_threads(threads)  # before TensorFlow's first op
    import keras
    import numpy as np
    import tensorflow as tf

    from infodropout.models import all_cnn_32, all_cnn_96
    from infodropout.paper.perf.bench import classifier_for, training_flops_per_image
    from infodropout.paper.perf.torch_peer import keras_batch
    from infodropout.paper.train.run_time import step_seconds
    from infodropout.paper.train.trainer import steps_per_call

    images, targets = keras_batch(spec, batch_size)
    builders = {"all_cnn_32": all_cnn_32, "all_cnn_96": all_cnn_96}
    steps_per_epoch = math.ceil(EPOCH_IMAGES / batch_size)
    if spec.kind == "vae":
        per_call = per_call or steps_per_call(steps_per_epoch)  # its steps take milliseconds: the largest count
        trainer = vae_trainer(spec, per_call)
    else:
        # The trainer's choice of steps a call reads the time of a step, estimated on a network of its own.
        per_call = per_call or steps_per_call(steps_per_epoch, step_seconds(
            builders[spec.kind](spec.size, dropout="information"), images, batch_size))
        trainer = classifier_for(builders[spec.kind], spec.size, "information", jit_compile=False, fused=True,
                                 steps_per_call=per_call)
    iterator = iter(tf.data.Dataset.from_tensors((images, targets)).repeat())
    trainer.make_train_function()
    info = {"trainable_parameters": int(sum(np.prod(w.shape) for w in trainer.network.trainable_weights)),
            "training_flops_per_image": training_flops_per_image(trainer.network),
            "framework": f"TensorFlow {tf.__version__}, Keras {keras.__version__}"}
    return info, lambda: trainer.train_function(iterator), per_call


def vae_trainer(spec: NetworkSpec, per_call: int):
    """The VAE's trainer as vae.py makes it (Adam, β = 1, no weight decay, digits binarised once)."""
    import keras

    from infodropout.paper.protocols import VAE
    from infodropout.paper.train.vae import Autoencoder
    from infodropout.vae import reconstruction_loss, variational_autoencoder

    network = variational_autoencoder(int(spec.size), "information", max_alpha=VAE["max_alpha"], kl_weight=VAE["beta"])
    trainer = Autoencoder(network, beta=VAE["beta"], weight_decay=VAE["weight_decay"])
    trainer.compile(optimizer=keras.optimizers.Adam(VAE["learning_rate"]), loss=reconstruction_loss,
                    jit_compile=False, steps_per_execution=per_call)
    return trainer


def torch_step(spec: NetworkSpec, batch_size: int, threads: int,
               decay_in_optimizer: bool = False) -> tuple[dict, Callable[[], object], int]:
    """The port's eager step (``decay_in_optimizer``: SGD's weight decay rather than the loss's L2 term, the same
    gradient); what it is, the step, one step a call."""
    import torch

    from infodropout.paper.perf import torch_peer

    torch_peer.set_threads(threads)
    torch.manual_seed(0)
    model = torch_peer.build(spec)
    x, y = torch_peer.example_batch(spec, batch_size)
    info = {"trainable_parameters": torch_peer.trainable_parameters(model),
            "training_flops_per_image": torch_peer.training_flops_per_image(model, spec),
            "framework": f"PyTorch {torch.__version__}", "decay_in_optimizer": decay_in_optimizer}
    return info, torch_peer.training_step(spec, model, x, y, decay_in_optimizer), 1


def send(message: dict) -> None:
    print(MESSAGE + json.dumps(message), flush=True)


def worker(side: str, network: str, batch_size: int, threads: int, per_call: int = 0,
           decay_in_optimizer: bool = False) -> int:
    """A worker's life: build, say what it is, then run the windows asked of it on stdin until told to stop."""
    spec = parse_network(network)
    if side == "ours":
        info, call, per_call = our_step(spec, batch_size, threads, per_call)
    else:
        info, call, per_call = torch_step(spec, batch_size, threads, decay_in_optimizer)
    send({**info, "steps_per_call": per_call, "threads": threads})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("stop"):
            break
        send({"step_s": seconds_per_step(call, request["steps"] // per_call, per_call)})
    return 0


class Worker:
    """One side's worker process, seen from here."""

    def __init__(self, side: str, network: str, batch_size: int, threads: int, per_call: int = 0,
                 torch_decay: str = "loss"):
        # The framework's own thread settings see one count, whichever pools it reads.
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, "-m", __spec__.name if __spec__ else "infodropout.paper.perf.versus_torch",
                   "--worker", side, "--networks", network, "--batch-size", str(batch_size), "--threads", str(threads),
                   "--steps-per-call", str(per_call), "--torch-decay", torch_decay]
        self.side = side
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self.receive()

    def receive(self) -> dict:
        for line in self.process.stdout:
            if line.startswith(MESSAGE):
                return json.loads(line[len(MESSAGE):])
            sys.stderr.write(line)
        raise RuntimeError(f"the {self.side} worker ended with status {self.process.wait()} before it answered")

    def window(self, steps: int) -> float:
        """Seconds per step over a window of ``steps`` steps."""
        self.process.stdin.write(json.dumps({"steps": steps}) + "\n")
        self.process.stdin.flush()
        return self.receive()["step_s"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"stop": True}) + "\n")
            self.process.stdin.close()
        self.process.wait(timeout=60)


def spread(values: list[float]) -> dict:
    """The median, extremes and quartiles of a figure over its windows."""
    quartiles = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "q1": quartiles[0],
            "q3": quartiles[2], "windows": values}


def compare(network: str, batch_size: int, threads: int, windows: int, steps: int, warmup: int,
            per_call: int = 0, torch_decay: str = "loss") -> dict:
    """Ours and the port on ``network``, window by window in turn."""
    workers = {}
    try:
        # One after the other: ours times a forward pass to choose its steps a call, on otherwise idle cores.
        for side in SIDES:
            workers[side] = Worker(side, network, batch_size, threads, per_call, torch_decay)
        per_call = workers["ours"].info["steps_per_call"]
        steps = max(1, math.ceil(steps / per_call)) * per_call  # whole compiled calls, the same steps on both sides
        for side in SIDES:
            if warmup:
                workers[side].window(warmup * per_call)
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        for _ in range(windows):
            for side in SIDES:
                time.sleep(PAUSE_S)
                times[side].append(workers[side].window(steps))
    finally:
        for item in workers.values():
            item.stop()
    images = {side: [batch_size / t for t in times[side]] for side in SIDES}
    paired = [ours / theirs for ours, theirs in zip(images["ours"], images["torch"])]
    record = {"network": network, "batch_size": batch_size, "threads": threads, "steps_per_window": steps,
              "steps_per_call": per_call, "paired_ratios": spread(paired)}
    for side in SIDES:
        record[side] = {**workers[side].info, "images_per_s": spread(images[side]), "step_s": spread(times[side])}
    record["ratio"] = record["ours"]["images_per_s"]["median"] / record["torch"]["images_per_s"]["median"]
    return record


def machine() -> dict:
    versions = {}
    for name in ("tensorflow", "keras", "torch"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"processor": cpu_description(), "cpus": os.cpu_count(), "available_cores": available_cores(),
            "platform": platform.platform(), **versions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(DEFAULT_NETWORKS), help=NETWORK_NAMES)
    parser.add_argument("--threads", type=int, default=available_cores(), help="threads of each framework's ops")
    parser.add_argument("--windows", type=int, default=5, help="timed windows of each side, taken in turn")
    parser.add_argument("--steps", type=int, default=10,
                        help="training steps a window (rounded up to whole compiled calls of ours)")
    parser.add_argument("--warmup", type=int, default=2, help="compiled calls of ours (and as many steps of the "
                        "port) before the windows")
    parser.add_argument("--steps-per-call", type=int, default=0,
                        help="training steps a compiled call of ours (0: as the trainer chooses them, from the time "
                             "of a forward pass, for an epoch of CIFAR-10's 50,000 images)")
    parser.add_argument("--torch-decay", choices=("loss", "optimizer"), default="loss",
                        help="the port's weight decay: an L2 term in the loss, as ours (default), or SGD's "
                             "weight_decay, PyTorch's idiom (the same gradient)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("results/versus-torch.json"))
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.threads, args.windows, args.steps, args.batch_size) < 1 or min(args.warmup, args.steps_per_call) < 0:
        parser.error("--threads, --windows, --steps and --batch-size must be at least 1, --warmup and "
                     "--steps-per-call at least 0")
    for name in args.networks:
        try:
            parse_network(name)
        except ValueError as error:
            parser.error(str(error))
    if args.worker:
        return worker(args.worker, args.networks[0], args.batch_size, args.threads, args.steps_per_call,
                      args.torch_decay == "optimizer")
    if importlib.util.find_spec("torch") is None:
        parser.error("PyTorch is not installed: `pip install torch` (CPU build) into this environment for the "
                     "benchmark; it is no requirement of the project")
    load_before = os.getloadavg()
    rows = []
    for name in args.networks:
        row = compare(name, args.batch_size, args.threads, args.windows, args.steps, args.warmup,
                      args.steps_per_call, args.torch_decay)
        rows.append(row)
        print(f"{name:20} ours {row['ours']['images_per_s']['median']:8.1f} img/s, PyTorch "
              f"{row['torch']['images_per_s']['median']:8.1f} img/s, ratio {row['ratio']:.2f}", flush=True)
    result = {"machine": {**machine(), "load_average_before": load_before, "load_average_after": os.getloadavg()},
              "settings": vars(args) | {"out": str(args.out)}, "networks": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"written to {args.out}")
    return 0


def print_table(result: dict) -> None:
    """The comparison as a Markdown table, under a line that names the machine and its load."""
    settings, load = result["settings"], result["machine"]
    print(f"\n{load['cpus']} CPUs, {load['processor']}; {settings['threads']} threads a framework; batch "
          f"{settings['batch_size']}; {settings['windows']} windows a side; load average "
          f"{load['load_average_before'][0]:.1f} before, {load['load_average_after'][0]:.1f} after\n")
    print("| network | ours, images/s (min–max) | PyTorch port, images/s (min–max) | "
          "ratio (paired windows, min–max) |")
    print("|---|---|---|---|")
    for r in result["networks"]:
        ours, theirs, paired = r["ours"]["images_per_s"], r["torch"]["images_per_s"], r["paired_ratios"]
        print(f"| {r['network']} | {ours['median']:.1f} ({ours['min']:.1f}–{ours['max']:.1f}) | "
              f"{theirs['median']:.1f} ({theirs['min']:.1f}–{theirs['max']:.1f}) | {r['ratio']:.2f} "
              f"({paired['min']:.2f}–{paired['max']:.2f}) |")

if __name__ == "__main__":
    raise SystemExit(main())
