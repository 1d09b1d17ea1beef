"""The builders against Table II: the shape after every layer and the trainable parameter counts."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from infodropout.layers import BinaryDropout, InformationDropout, LogNormalDropout, information_dropout_layers
from infodropout.models import all_cnn_32, all_cnn_96, all_cnn_widths, fully_connected


def conv_bn(k, c_in, c_out):
    """A bias-free k×k convolution and batch norm's shift (no scale, as the original's batch_norm)."""
    return k * k * c_in * c_out + c_out


def information_pool(c_in, c_out, log_normal=False):
    """f's convolution and batch norm, plus the α convolution with its bias (and μ, σ of the prior)."""
    return conv_bn(3, c_in, c_out) + 9 * c_in * c_out + c_out + (2 if log_normal else 0)


def all_cnn_count(c_in, blocks, head, dropout, log_normal=False):
    count, c = 0, c_in
    for n in blocks:
        count += conv_bn(3, c, n) + conv_bn(3, n, n)
        count += information_pool(n, n, log_normal) if dropout == "information" else conv_bn(3, n, n)
        c = n
    count += conv_bn(3, c, head) + conv_bn(1, head, head) + conv_bn(1, head, 10)
    return count + 10 * 10 + 10  # the final linear layer


def conv_output_shapes(model):
    return [tuple(layer.output.shape[1:]) for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, InformationDropout))]


@pytest.mark.parametrize("dropout", ["information", "binary", "lognormal", "none"])
def test_all_cnn_32_matches_table_2(dropout):
    model = all_cnn_32(1.0, dropout=dropout, input_keep_prob=0.8)
    assert conv_output_shapes(model) == [
        (32, 32, 96), (32, 32, 96), (16, 16, 96),
        (16, 16, 192), (16, 16, 192), (8, 8, 192),
        (8, 8, 192), (8, 8, 192), (8, 8, 10),
    ]
    assert model.output.shape[1:] == (10,)
    n_trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert n_trainable == all_cnn_count(3, (96, 192), 192, dropout)
    assert len(information_dropout_layers(model)) == (2 if dropout == "information" else 0)
    n_binary = sum(isinstance(layer, BinaryDropout) for layer in model.layers)
    assert n_binary == {"information": 1, "binary": 3, "lognormal": 1, "none": 1}[dropout]  # the input's counts too
    lognormal = [layer for layer in model.layers if isinstance(layer, LogNormalDropout)]
    assert len(lognormal) == (2 if dropout == "lognormal" else 0)
    assert all(abs(float(layer.alpha) - 0.7) < 1e-6 for layer in lognormal)  # constant α = max_alpha


def test_all_cnn_32_filter_percentage_and_softplus_prior():
    model = all_cnn_32(0.25, dropout="information", activation="softplus")
    assert conv_output_shapes(model)[2] == (16, 16, 24) and conv_output_shapes(model)[5] == (8, 8, 48)
    assert all(layer.prior == "log_normal" for layer in information_dropout_layers(model))
    n_trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert n_trainable == all_cnn_count(3, (24, 48), 48, "information", log_normal=True)


def test_all_cnn_96_matches_table_2():
    model = all_cnn_96(1.0, dropout="information", max_alpha=1.0)
    pools = [tuple(layer.output.shape[1:]) for layer in information_dropout_layers(model)]
    assert pools == [(48, 48, 32), (24, 24, 64), (12, 12, 96), (6, 6, 192)]
    assert conv_output_shapes(model)[-3:] == [(6, 6, 192), (6, 6, 192), (6, 6, 10)]
    n_trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert n_trainable == all_cnn_count(1, (32, 64, 96, 192), 192, "information")
    assert not any(isinstance(layer, BinaryDropout) for layer in model.layers)  # no input dropout by default


@pytest.mark.parametrize("dropout, per_layer_extra", [("information", 784), ("binary", 0), ("lognormal", 0), ("none", 0)])
def test_fully_connected_has_three_hidden_layers(dropout, per_layer_extra):
    width = 50
    model = fully_connected(width, dropout=dropout)
    dense = (784 * width + width) + 2 * (width * width + width) + (width * 10 + 10)
    alpha_maps = (784 * width + width) + 2 * (width * width + width) if dropout == "information" else 0
    assert model.count_params() - _non_trainable(model) == dense + alpha_maps
    assert model.output.shape[1:] == (10,)


def _non_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


@pytest.mark.parametrize("bad", [dict(filter_percentage=0.0), dict(filter_percentage=1.5), dict(dropout="gaussian"),
                                 dict(activation="tanh"), dict(filter_percentage=0.001)])
def test_builders_refuse_bad_values(bad):
    filter_percentage = bad.pop("filter_percentage", 1.0)
    with pytest.raises(ValueError):
        all_cnn_32(filter_percentage, **bad)


def test_all_cnn_widths_scale_table_2_and_say_why_a_share_is_refused():
    assert all_cnn_widths(1.0) == (96, 192) and all_cnn_widths(0.25, "all_cnn_96") == (8, 16, 24, 48)
    assert all_cnn_widths(1 / 96 + 1e-9) == (1, 2)  # the original code's int(width · share)
    with pytest.raises(ValueError, match=r"^0.02 leaves the narrowest layer \(32 filters\) no filter; use at least "
                                         r"0.03125\.$"):
        all_cnn_widths(0.02, "all_cnn_96")
    for share in (0.0, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match=r"filter_percentage must be a number in \(0, 1\]"):
            all_cnn_widths(share)


def test_the_builders_module_imports_without_keras():
    # The scripts check their config against its widths and choices before TensorFlow starts.
    code = "import sys, infodropout.models; print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_all_cnn_saved_as_keras_loads_with_identical_test_outputs(tmp_path):
    model = all_cnn_32(0.1, dropout="information", activation="softplus")
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    model(x, training=True)
    model.save(tmp_path / "net.keras")
    loaded = keras.models.load_model(tmp_path / "net.keras")
    np.testing.assert_array_equal(model(x, training=False), loaded(x, training=False))
