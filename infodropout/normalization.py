"""Batch normalisation whose training step is one fused kernel on TensorFlow, where that is faster.

Keras 3's ``BatchNormalization`` is written in backend-neutral ops: in training, TensorFlow runs the batch
moments, the normalisation and their gradients as a dozen separate element-wise and reduction kernels, each a
pass over the activations. TensorFlow's fused kernel (``FusedBatchNormV3``, oneDNN's on x86 CPUs) makes one pass
forward and one backward. Measured on 2 AMD EPYC cores with AVX-512 (batch norm + ReLU, forward and backward,
100×H×W×C): 2.2–3.5 times faster for C = 8, 16, 24, 32, 40, 48, 96, 192, and slower for C = 9 or 19, where oneDNN
reorders the tensor out of its blocked layout and back (see docs/performance.md). Hence the rule below.
"""

from __future__ import annotations

import keras
from keras import ops

# oneDNN's CPU kernels keep channels in blocks of 8 (AVX2) or 16 (AVX-512); other counts cost a reorder each
# way, which made the fused kernel slower than Keras's ops for 9 and 19 channels.
FUSED_CHANNEL_MULTIPLE = 8
# FusedBatchNormV3 refuses a smaller epsilon (cuDNN's CUDNN_BN_MIN_EPSILON, enforced on every device).
FUSED_MIN_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="infodropout")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with a fused training kernel on TensorFlow.

    The same layer, weights, arguments and results as Keras's: in training, ``y = γ (x − μ_B) / √(σ²_B + ε) + β``
    with the batch's mean μ_B and biased variance σ²_B, and the moving statistics updated as
    ``m ← momentum · m + (1 − momentum) · μ_B`` (likewise the variance, biased as in Keras). On the TensorFlow
    backend, a training call on a 4-D channels-last input whose channel count is a multiple of
    :data:`FUSED_CHANNEL_MULTIPLE` computes it with ``tf.compat.v1.nn.fused_batch_norm``; every other call
    (inference, JAX, PyTorch, masks, renorm, synchronised statistics, other shapes) is Keras's own code. The
    two agree to float32 rounding (the sums are taken in another order).

    Args: those of ``keras.layers.BatchNormalization``.

    Example:

    >>> import keras
    >>> from infodropout.normalization import FusedBatchNormalization
    >>> norm = FusedBatchNormalization(momentum=0.9, epsilon=1e-3, scale=False)
    >>> norm(keras.random.normal((8, 4, 4, 16)), training=True).shape
    (8, 4, 4, 16)
    """

    def uses_fused_kernel(self, input_shape) -> bool:
        """Whether a training call on inputs of ``input_shape`` takes the fused kernel."""
        channels = input_shape[-1]
        return (keras.backend.backend() == "tensorflow" and len(input_shape) == 4
                and self.axis in (-1, 3) and channels is not None and channels % FUSED_CHANNEL_MULTIPLE == 0
                and not self.renorm and not self.synchronized and self.epsilon >= FUSED_MIN_EPSILON)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and mask is None and self.uses_fused_kernel(tuple(inputs.shape))):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # only reached on the TensorFlow backend

        # As Keras's layer: statistics in float32 whatever the dtype policy.
        x = tf.cast(inputs, "float32")
        channels = x.shape[-1]
        scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones((channels,), "float32")
        offset = tf.cast(self.beta, "float32") if self.center else tf.zeros((channels,), "float32")
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        # The kernel returns the batch variance with Bessel's correction (n / (n − 1)); Keras's moving variance
        # averages the biased one.
        count = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + tf.cast(mean, self.moving_mean.dtype)
                                * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + tf.cast(variance, self.moving_variance.dtype) * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)
