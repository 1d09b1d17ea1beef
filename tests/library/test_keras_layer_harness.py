"""Keras's own layer test harness (``keras.src.testing.TestCase.run_layer_test``) on the library's layers, in full:
build, symbolic and eager calls, config and serialization round trips, a training step, and the mixed-precision
check (a ``dtype="mixed_float16"`` layer must return what its ``compute_output_spec`` says, with float32
variables). Each case runs in inference and in training mode, so that the noise's dtype is checked too.

Beside it, per-layer 16-bit policies by hand: the compute dtype out, float32 variables, the KL in float32, and a
``.keras`` round trip that keeps the policy.
"""

import keras
import numpy as np
import pytest
from keras import ops
from keras.src.testing import TestCase

from infodropout import BinaryDropout, FusedBatchNormalization, InformationDropout, LogNormalDropout
from infodropout.vae import GaussianLatent

KL = 0.01  # any kl_weight > 0: the harness checks the loss is there, not its size


def information_dropout(layer, *, trainable, non_trainable, input_shape, output_shape, **kwargs):
    return dict(layer_cls=InformationDropout, init_kwargs=dict(layer=layer, kl_weight=KL, **kwargs),
                input_shape=input_shape, expected_output_shape=output_shape, expected_num_losses=1,
                expected_num_trainable_weights=trainable, expected_num_non_trainable_weights=non_trainable,
                expected_num_seed_generators=1)


# The weights counted from the layer's definition: f's kernel (and bias), g's kernel and bias, σ0 (non-trainable),
# the log-normal prior's μ and σ, batch norm's β (no scale) and its two moving statistics (non-trainable).
CASES = {
    "dense_relu_log_uniform": lambda: information_dropout(
        keras.layers.Dense(4), activation="relu", trainable=4, non_trainable=1, input_shape=(2, 3),
        output_shape=(2, 4)),
    "dense_softplus_log_normal": lambda: information_dropout(
        keras.layers.Dense(4), activation="softplus", trainable=6, non_trainable=1, input_shape=(2, 3),
        output_shape=(2, 4)),
    "conv2d_stride2": lambda: information_dropout(
        keras.layers.Conv2D(8, 3, strides=2, padding="same"), trainable=4, non_trainable=1,
        input_shape=(2, 8, 8, 3), output_shape=(2, 4, 4, 8)),
    "conv2d_stride2_batch_norm": lambda: information_dropout(
        keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False), batch_norm=True, trainable=4,
        non_trainable=3, input_shape=(2, 8, 8, 3), output_shape=(2, 4, 4, 8)),
    "conv2d_stride2_batch_norm_fused": lambda: information_dropout(
        keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False), batch_norm=True, fused=True,
        activation="softplus", trainable=6, non_trainable=3, input_shape=(2, 8, 8, 3), output_shape=(2, 4, 4, 8)),
    "binary_dropout": lambda: dict(
        layer_cls=BinaryDropout, init_kwargs=dict(rate=0.5), input_shape=(2, 3), expected_output_shape=(2, 3),
        expected_num_trainable_weights=0, expected_num_non_trainable_weights=1, expected_num_seed_generators=1),
    "log_normal_dropout": lambda: dict(
        layer_cls=LogNormalDropout, init_kwargs=dict(alpha=0.5), input_shape=(2, 3), expected_output_shape=(2, 3),
        expected_num_trainable_weights=0, expected_num_non_trainable_weights=1, expected_num_seed_generators=1),
    "fused_batch_normalization": lambda: dict(
        layer_cls=FusedBatchNormalization, init_kwargs=dict(momentum=0.9, scale=False), input_shape=(2, 4, 4, 8),
        expected_output_shape=(2, 4, 4, 8), expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=2),
    "gaussian_latent": lambda: dict(
        layer_cls=GaussianLatent, init_kwargs=dict(units=4), input_shape=(2, 3), expected_output_shape=(2, 4),
        expected_num_losses=1, expected_num_trainable_weights=4, expected_num_seed_generators=1),
}


class KerasLayerHarnessTest(TestCase):
    """One test per case and mode; ``run_layer_test`` with its defaults (training and mixed-precision checks on)."""

    def check(self, case: str, training: bool):
        self.run_layer_test(**CASES[case](), call_kwargs={"training": training})


def _add_case(case: str, training: bool) -> None:
    def test(self):
        self.check(case, training)

    setattr(KerasLayerHarnessTest, f"test_{case}_{'training' if training else 'inference'}", test)


for _case in CASES:
    for _training in (False, True):
        _add_case(_case, _training)


POLICIES = ["mixed_float16", "mixed_bfloat16"]


def skip_without_16_bit_support(policy: str) -> None:
    # Keras's own harness leaves out mixed precision on PyTorch's CPU, which lacks float16 kernels.
    if keras.backend.backend() == "torch" and policy == "mixed_float16":
        if not pytest.importorskip("torch").cuda.is_available():
            pytest.skip("PyTorch's CPU kernels lack float16")


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_per_layer_policy_gives_its_compute_dtype_out_float32_variables_and_a_float32_kl(policy, batch_norm):
    skip_without_16_bit_support(policy)
    keras.config.set_dtype_policy("float32")  # the global default: only the layer asks for 16 bits
    compute = policy.split("_")[1]
    layer = InformationDropout(keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=not batch_norm),
                               kl_weight=KL, activation="softplus", batch_norm=batch_norm, dtype=policy, seed=1)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    for training in (False, True):
        y = layer(x, training=training)
        assert keras.backend.standardize_dtype(y.dtype) == compute
        assert np.isfinite(np.asarray(ops.convert_to_numpy(ops.cast(y, "float32")))).all()
    sublayers = [layer.layer, layer.alpha_layer] + ([layer.normalization] if batch_norm else [])
    assert [sub.dtype_policy.name for sub in sublayers] == [policy] * len(sublayers)
    assert {keras.backend.standardize_dtype(w.dtype) for w in layer.weights} == {"float32"}
    assert [keras.backend.standardize_dtype(loss.dtype) for loss in layer.losses] == ["float32"]
    f, alpha = layer.activations_and_alpha(ops.cast(x, compute))
    assert keras.backend.standardize_dtype(alpha.dtype) == "float32"
    assert keras.backend.standardize_dtype(layer.kl_divergence(f, alpha).dtype) == "float32"


@pytest.mark.parametrize("policy", POLICIES)
def test_the_baselines_and_the_gaussian_latent_follow_a_per_layer_policy(policy):
    skip_without_16_bit_support(policy)
    keras.config.set_dtype_policy("float32")
    compute = policy.split("_")[1]
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    for layer in (BinaryDropout(0.5, dtype=policy), LogNormalDropout(0.5, dtype=policy),
                  GaussianLatent(3, dtype=policy)):
        y = layer(x, training=True)
        assert keras.backend.standardize_dtype(y.dtype) == compute, type(layer).__name__
        assert {keras.backend.standardize_dtype(w.dtype) for w in layer.weights} == {"float32"}
    assert [keras.backend.standardize_dtype(loss.dtype) for loss in layer.losses] == ["float32"]


def test_a_wrapped_layer_with_its_own_policy_keeps_it():
    keras.config.set_dtype_policy("float32")
    inner = keras.layers.Dense(4, dtype="float32")
    explicit_other = InformationDropout(keras.layers.Dense(4, dtype="mixed_bfloat16"), kl_weight=KL,
                                        dtype="mixed_float16")
    assert explicit_other.layer.dtype_policy.name == "mixed_bfloat16"
    assert explicit_other.alpha_layer.dtype_policy.name == "mixed_bfloat16"
    plain = InformationDropout(inner, kl_weight=KL)
    assert plain.layer.dtype_policy.name == plain.alpha_layer.dtype_policy.name == "float32"


def test_a_per_layer_policy_survives_a_keras_file_round_trip(tmp_path):
    skip_without_16_bit_support("mixed_float16")
    keras.config.set_dtype_policy("float32")
    inputs = keras.Input((6,))
    outputs = InformationDropout(keras.layers.Dense(5), kl_weight=KL, dtype="mixed_float16", seed=0)(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    layer = loaded.layers[-1]
    assert layer.dtype_policy.name == layer.layer.dtype_policy.name == layer.alpha_layer.dtype_policy.name \
        == "mixed_float16"
    assert keras.backend.standardize_dtype(loaded(x).dtype) == "float16"
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)))
