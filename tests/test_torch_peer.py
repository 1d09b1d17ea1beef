"""The PyTorch port that issue 48's comparison times ours against is the same network as the Keras builders make (the
trainable parameters, the FLOPs counted as bench.py counts them, the output's shape), its Information Dropout is the
library's (α's floor, the noise, the KL), it learns; and torch stays optional: the modules import without it."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from infodropout.paper.perf.torch_peer import parse_network
from infodropout.paper.perf.versus_torch import spread

SKIP_WITHOUT_TORCH = ("PyTorch is a benchmark-only dependency of issue 48's comparison: pip install torch to test "
                      "the port")


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch", reason=SKIP_WITHOUT_TORCH)
    torch.manual_seed(0)
    return torch


def keras_network(name):
    from infodropout.models import all_cnn_32, all_cnn_96
    from infodropout.paper.protocols import PAPER_KL_WEIGHT
    from infodropout.vae import variational_autoencoder

    spec = parse_network(name)
    if spec.kind == "vae":
        return variational_autoencoder(int(spec.size), "information", kl_weight=1.0)
    builder = {"all_cnn_32": all_cnn_32, "all_cnn_96": all_cnn_96}[spec.kind]
    return builder(spec.size, dropout="information", kl_weight=PAPER_KL_WEIGHT, fused=True)


def test_the_modules_import_without_torch_or_tensorflow():
    # torch hidden (None in sys.modules makes its import fail): the harness and the command still import, and the
    # command says what to install.
    code = ("import sys; sys.modules['torch'] = None\n"
            "import infodropout.paper.perf.torch_peer, infodropout.paper.perf.versus_torch as v\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "v.main(['--windows', '1'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "PyTorch is not installed" in result.stderr, result.stderr


def test_names_are_parsed_and_nonsense_refused():
    assert parse_network("All-CNN-96 @ 0.125").input_shape == (96, 96, 1)
    assert parse_network("VAE k=2").size == 2
    for name in ("All-CNN-32 @ 1.5", "All-CNN-32 @ 0.001", "ResNet @ 1", "VAE k=0"):
        with pytest.raises(ValueError):
            parse_network(name)


def test_the_spread_of_a_figure_over_its_windows():
    assert spread([3.0, 1.0, 2.0, 4.0, 5.0]) == {"median": 3.0, "min": 1.0, "max": 5.0, "q1": 2.0, "q3": 4.0,
                                                  "windows": [3.0, 1.0, 2.0, 4.0, 5.0]}
    assert spread([7.0])["q1"] == spread([7.0])["q3"] == 7.0


@pytest.mark.parametrize("name", ["All-CNN-32 @ 0.1", "All-CNN-96 @ 0.125", "VAE k=1"])
def test_the_port_is_the_keras_network(torch, name):
    from infodropout.paper.perf import bench, torch_peer

    spec = parse_network(name)
    ours, port = keras_network(name), torch_peer.build(spec)
    assert torch_peer.trainable_parameters(port) == sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    assert torch_peer.training_flops_per_image(port, spec) == bench.training_flops_per_image(ours)
    with torch.no_grad():
        outputs, kl = port(torch_peer.example_batch(spec, 2)[0])
    # NCHW against channels last: the same axes, the channels moved.
    expected = (2, *ours.output_shape[1:])
    assert tuple(outputs.permute(0, 2, 3, 1).shape if outputs.ndim == 4 else outputs.shape) == expected
    assert kl.ndim == 0 and float(kl) > 0


def test_the_layer_is_the_library_s_information_dropout(torch):
    from infodropout.kl import ALPHA_FLOOR
    from infodropout.paper.perf import torch_peer

    assert torch_peer.ALPHA_FLOOR == ALPHA_FLOOR
    port = torch_peer.build(parse_network("VAE k=1"), kl_weight=2.0)
    layer = port.latent
    with torch.no_grad():
        layer.alpha_map.weight.zero_()  # α = 0.001 + 0.7 · sigmoid(0) for every unit
        layer.alpha_map.bias.zero_()
    h = torch.rand(4000, 512)
    torch.set_grad_enabled(False)
    try:
        z, kl = layer(h)
        f = torch.relu(layer.linear(h))
        layer.eval()
        test_output = layer(h)[0]
    finally:
        torch.set_grad_enabled(True)
    alpha = ALPHA_FLOOR + 0.7 * 0.5
    # −log(α / (max_alpha + 0.001)) a unit, summed over the 256 units, kl_weight times the batch's mean.
    assert float(kl) == pytest.approx(2.0 * 256 * -math.log(alpha / 0.701), rel=1e-5)
    live = f > 0
    log_noise = torch.log(z[live] / f[live])
    # ε = exp(α·n): log ε has mean 0 (no rescaling to E[ε] = 1) and standard deviation α.
    assert float(log_noise.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(log_noise.std()) == pytest.approx(alpha, rel=0.02)
    assert torch.equal(test_output, f)  # no noise at inference


def test_the_port_learns_the_digits(torch):
    from infodropout.paper.data.formats import load_mnist_sample
    from infodropout.paper.data.preprocessing import pad_to_cifar_shape
    from infodropout.paper.perf.torch_peer import train_on_digits

    digits = load_mnist_sample()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        losses = train_on_digits(0.1, pad_to_cifar_shape(digits.x_train[:64]), digits.y_train[:64], steps=20,
                                 batch_size=32)
    finally:
        torch.set_num_threads(threads)
    assert all(math.isfinite(loss) for loss in losses)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.05


def test_a_step_of_the_port_updates_every_trainable_parameter(torch):
    from infodropout.paper.perf import torch_peer

    spec = parse_network("All-CNN-32 @ 0.1")
    port = torch_peer.build(spec)
    before = [p.detach().clone() for p in port.parameters()]
    step = torch_peer.training_step(spec, port, *torch_peer.example_batch(spec, 4))
    assert math.isfinite(float(step().detach()))
    assert all(not torch.equal(old, new) for old, new in zip(before, port.parameters()))


def test_sgd_s_weight_decay_is_the_loss_s_l2_term(torch):
    from infodropout.paper.perf import torch_peer

    spec = parse_network("All-CNN-32 @ 0.1")
    batch = torch_peer.example_batch(spec, 4)
    ports = []
    for decay_in_optimizer in (False, True):
        torch.manual_seed(0)  # the same initial weights and the same noise
        port = torch_peer.build(spec)
        step = torch_peer.training_step(spec, port, *batch, decay_in_optimizer=decay_in_optimizer)
        for _ in range(2):
            step()
        ports.append(port)
    for in_loss, in_sgd in zip(*(port.parameters() for port in ports)):
        torch.testing.assert_close(in_loss, in_sgd, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_the_comparison_times_both_sides_in_turn_and_writes_them(torch, tmp_path):
    from infodropout.paper.perf.versus_torch import main

    out = tmp_path / "versus.json"
    assert main(["--networks", "All-CNN-32 @ 0.1", "--threads", "1", "--windows", "2", "--steps", "2",
                 "--steps-per-call", "2", "--warmup", "0", "--batch-size", "4", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["networks"][0]
    assert row["steps_per_window"] == 2 and len(row["paired_ratios"]["windows"]) == 2
    assert row["ours"]["trainable_parameters"] == row["torch"]["trainable_parameters"]
    assert row["ours"]["training_flops_per_image"] == row["torch"]["training_flops_per_image"]
    assert row["ratio"] == pytest.approx(row["ours"]["images_per_s"]["median"] / row["torch"]["images_per_s"]["median"])
