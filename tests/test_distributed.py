"""Data parallelism and mixed precision: a step on 2 logical CPU devices equals one on a single device;
two worker processes on 127.0.0.1 train to the weights of one process; checkpoints cross strategies; the KL and a
step under the mixed policies stay within tolerance of float32, without NaN.

The checks run in three fresh processes at once (tests/distributed_check.py), since TensorFlow's logical devices
and its cluster must be set before it starts.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
ENV.pop("TF_CONFIG", None)
TIMEOUT = 600  # seconds; every process is killed past it

# Three TensorFlow processes at once for a minute or more: with the end-to-end runs in make test-slow.
pytestmark = pytest.mark.slow


def free_loopback_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    local_dir, cluster_dir = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("cluster")
    ports = ",".join(map(str, free_loopback_ports(2)))
    script = str(HERE / "distributed_check.py")
    processes = {
        "local": subprocess.Popen([sys.executable, script, "local", str(local_dir)], env=ENV, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        **{f"worker{i}": subprocess.Popen([sys.executable, script, "worker", str(i), ports, str(cluster_dir)],
                                          env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
           for i in range(2)},
    }
    results = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, f"{name}: {err[-3000:]}"
            results[name] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results, local_dir, cluster_dir


def test_a_mirrored_step_on_two_devices_equals_one_device_step(checks):
    result = checks[0]["local"]
    assert result["replicas"] == 2
    # Two steps (a 5 + 5 batch, then an uneven 3 + 2 one), noise off: the same weights and batch-norm statistics.
    assert result["update_size"] > 1e-3
    assert result["mirrored_vs_single"] < 1e-5
    # Batch norm synchronisation matters: each replica's own half-batch statistics give other weights.
    assert result["unsynchronized_vs_single"] > 100 * result["mirrored_vs_single"]
    # Seeded noise: a mirrored run is repeatable.
    assert result["noisy_repeat"] == 0.0


def test_checkpoints_and_the_test_protocol_cross_strategies(checks):
    result = checks[0]["local"]
    assert result["loaded_vs_mirrored"] == 0.0
    # The first epoch under mirrored, the second resumed under default: as two epochs on one device.
    assert result["resumed_vs_single"] < 1e-5
    default, mirrored = result["test_metrics"]["default"], result["test_metrics"]["mirrored"]
    assert default.keys() == mirrored.keys()
    for key in default:
        assert mirrored[key] == pytest.approx(default[key], rel=1e-5, abs=1e-5)


def test_two_workers_on_loopback_train_to_the_weights_of_one_process(checks):
    results, local_dir, cluster_dir = checks
    assert results["worker0"]["replicas"] == results["worker1"]["replicas"] == 2
    single = np.load(local_dir / "single.npz")
    workers = [np.load(cluster_dir / f"worker{i}.npz") for i in range(2)]
    assert len(single.files) == len(workers[0].files)
    for key in single.files:
        np.testing.assert_array_equal(workers[0][key], workers[1][key])
        np.testing.assert_allclose(workers[0][key], single[key], atol=1e-5)
    # The chief wrote the run's files, the other worker its copy in a scratch folder; the epochs' metrics are
    # those of the global batches.
    chief = [json.loads(line) for line in (cluster_dir / "multi.history.jsonl").read_text().splitlines()]
    reference = [json.loads(line) for line in (local_dir / "single-2.history.jsonl").read_text().splitlines()]
    assert len(chief) == len(reference) == 2
    for a, b in zip(chief, reference):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5)
    assert (cluster_dir / ".workers" / "worker1" / "multi.keras").is_file()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_the_kl_in_float32_and_a_step_close_to_float32(checks, policy):
    result = checks[0]["local"][policy]
    assert result["kl_dtype"] == "float32"
    assert result["kl_relative"] < (1e-3 if policy == "mixed_float16" else 1e-2)
    assert result["finite"] and result["readouts_finite"]
    # One epoch (two steps, noise on, the same seeds) against float32: weights move by up to ~0.05 a step.
    assert result["step_vs_float32"] < 2e-2
