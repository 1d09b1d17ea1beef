"""The processes of tests/test_distributed.py (TensorFlow's devices and cluster must be set before it starts,
so each check runs in a fresh process). Prints one JSON line of measurements; the test asserts on them.

    python tests/distributed_check.py local OUT        # 2 logical CPUs: mirrored vs default, checkpoints, precision
    python tests/distributed_check.py worker I PORTS OUT   # one of the multi_worker processes (TF_CONFIG on 127.0.0.1)
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

RNG = np.random.default_rng(0)
# 15 examples in batches of 10: a full batch (5 + 5 on 2 replicas) then an uneven one (3 + 2).
X = RNG.normal(size=(15, 32, 32, 3)).astype("float32")
Y = RNG.integers(0, 10, size=15)


def build(seed=1):
    import keras

    from infodropout.models import all_cnn_32

    keras.utils.set_random_seed(seed)
    # Softplus with the log-normal prior: batch norm inside the Information Dropout layers, learnable μ, σ.
    return all_cnn_32(0.05, dropout="information", activation="softplus", kl_weight=3.0 / 1000, input_keep_prob=0.8,
                      fused=True)


def settings(**changes):
    from infodropout.paper.train.trainer import TrainSettings

    return TrainSettings(**{**dict(batch_size=10, epochs=1, learning_rate=0.05, lr_drops=(),
                                   weight_decay=1e-3), **changes})


def train(strategy, folder, name, noise=0.0, epochs=1, **changes):
    """One epoch (two steps) from the same initial weights, the noise scaled by ``noise``; returns the
    network's variables after it."""
    from infodropout.layers import noise_scale
    from infodropout.paper.train.trainer import train_classifier

    with strategy.scope():
        network = build()
        with noise_scale(network, noise):
            train_classifier(network, X, Y, settings(epochs=epochs, **changes), folder / f"{name}.keras", verbose=0,
                             monitor_alpha=False)
    return network


def values(network):
    """The weights, batch-norm statistics and the prior's μ and σ; left out are the noise generators' integer states
    (a .keras file does not hold them) and the noise scales (train sets them to 0 while it trains)."""
    return [np.asarray(v.numpy()) for v in network.variables
            if "float" in str(v.dtype) and not v.path.endswith("noise_scale")]


def largest_difference(a, b):
    return max(float(np.max(np.abs(x - y))) if x.size else 0.0 for x, y in zip(a, b))


def local(out: Path):
    import tensorflow as tf

    from infodropout.paper.train import trainer as training
    from infodropout.paper.train.distribution import make_strategy
    from infodropout.paper.train.evaluation import evaluate_classifier, load_network, recalibrate_batch_norm

    mirrored = make_strategy("mirrored", 2)  # splits the CPU in two before TensorFlow starts
    default = make_strategy("default")
    tf.get_logger().setLevel("ERROR")
    result = {"replicas": mirrored.num_replicas_in_sync}
    initial = values(build())

    single = values(train(default, out, "single"))
    distributed = train(mirrored, out, "mirrored")
    result["mirrored_vs_single"] = largest_difference(values(distributed), single)
    result["update_size"] = largest_difference(single, initial)

    # The same without synchronised batch norm: each replica normalises by its own half-batch.
    synchronize = training.synchronize_batch_norm
    training.synchronize_batch_norm = lambda network: None
    try:
        result["unsynchronized_vs_single"] = largest_difference(values(train(mirrored, out, "unsync")), single)
    finally:
        training.synchronize_batch_norm = synchronize

    # A checkpoint written under mirrored loads under the default strategy: the network, and the resumable state.
    loaded = load_network(out / "mirrored.keras")
    result["loaded_vs_mirrored"] = largest_difference(values(loaded), values(distributed))
    # ... and a run begun under mirrored resumes under default as if it had run on one device throughout (the
    # reference of the multi_worker test too: two epochs in one process).
    single_two = values(train(default, out, "single-2", epochs=2))
    np.savez(out / "single.npz", *single_two)
    result["resumed_vs_single"] = largest_difference(values(train(default, out, "mirrored", epochs=2)), single_two)

    # The test protocol under each strategy: the dry run then the evaluation give the same numbers.
    metrics = {}
    for name, strategy in (("default", default), ("mirrored", mirrored)):
        with strategy.scope():
            network = load_network(out / "mirrored.keras")
            recalibrate_batch_norm(network, X, 10)
            metrics[name] = evaluate_classifier(network, X, Y, 10, weight_decay=1e-3, verbose=0)
    result["test_metrics"] = metrics

    # Noise on, seeded: each run is repeatable under mirrored (its value differs from one device's, whose
    # replicas draw from one generator's state).
    result["noisy_repeat"] = largest_difference(values(train(mirrored, out, "noisy1", noise=1.0)),
                                                values(train(mirrored, out, "noisy2", noise=1.0)))
    print(json.dumps(result), file=sys.stderr, flush=True)
    result.update(precision(out, default))
    print(json.dumps(result))


def precision(out: Path, default):
    """The KL of every Information Dropout layer and one epoch of training (noise on, same seeds) under each
    mixed policy against float32."""
    import keras

    from infodropout.layers import information_dropout_layers
    from infodropout.paper.train.distribution import set_precision
    from infodropout.readouts import all_layer_readouts

    result = {}
    reference = None
    for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
        set_precision(policy)
        try:
            network = build()
            # Each layer's KL term (kl_weight · mean over the batch of the summed KL), from the same input.
            kls = []
            for layer in information_dropout_layers(network):
                layer(keras.Model(network.input, layer.input)(X, training=False), training=False)
                kls.append(np.asarray(keras.ops.convert_to_numpy(layer.losses[-1])))
            trained = train(default, out, f"precision-{policy}", noise=1.0, precision=policy)
            weights = values(trained)
            # The read-outs the α monitor and the analyses take from a trained network (the scripts' runs).
            readouts = all_layer_readouts(trained, X[:4], batch_size=4)
        finally:
            set_precision("float32")
        if reference is None:
            reference = (kls, weights)
            continue
        result[policy] = {
            "kl_dtype": str(kls[0].dtype),
            "kl_relative": max(float(abs(a - b) / abs(b)) for a, b in zip(kls, reference[0])),
            "finite": bool(all(np.isfinite(w).all() for w in weights)),
            "readouts_finite": bool(all(np.isfinite(r["kl"]).all() and np.isfinite(r["alpha"]).all()
                                        for r in readouts)),
            "step_vs_float32": largest_difference(weights, reference[1]),
        }
    return result


def worker(index: int, ports: list[int], out: Path):
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    })
    import tensorflow as tf

    from infodropout.paper.train.distribution import make_strategy

    strategy = make_strategy("multi_worker")
    tf.get_logger().setLevel("ERROR")
    network = train(strategy, out, "multi", epochs=2)
    np.savez(out / f"worker{index}.npz", *values(network))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync}))


if __name__ == "__main__":
    if sys.argv[1] == "local":
        local(Path(sys.argv[2]))
    else:
        worker(int(sys.argv[2]), [int(p) for p in sys.argv[3].split(",")], Path(sys.argv[4]))
