"""The training protocols of the paper's experiments (docs/implementation-notes.md, "Training protocols"), one row
per experiment: the scripts' defaults read them here, and so do the scales of the reproduction, which rescale the
paper's β to fewer training images. A value of the protocol (β above all) is written here once.

Plain values, at the harness's root so that every wing may read them; nothing here imports TensorFlow.
"""

from __future__ import annotations

from types import MappingProxyType

# The protocol of each experiment: the defaults of its config (infodropout.paper.configs.common.training_settings).
# CIFAR-10 with All-CNN-32 (cifar.py, occluded.py).
CIFAR = MappingProxyType(dict(batch_size=100, learning_rate=0.05, lr_drops=(80, 120, 160), epochs=200, beta=3.0,
                              weight_decay=0.001, max_alpha=0.7))
# Cluttered MNIST with All-CNN-96 (cluttered.py).
CLUTTERED = MappingProxyType(dict(batch_size=128, learning_rate=0.01, lr_drops=(30, 60), epochs=80, beta=0.5,
                                  weight_decay=0.0, max_alpha=1.0))
# MNIST with the fully connected network (mnist_fc.py): the paper gives the schedule; β, the batch size and the
# weight decay are this project's choices.
MNIST_FC = MappingProxyType(dict(batch_size=100, learning_rate=0.07, lr_drops=(30, 70), epochs=80, beta=3.0,
                                 weight_decay=0.0, max_alpha=0.7))
# The VAE on MNIST (vae.py): the paper gives the schedule and β = 1; Adam at 1e-3 and the batch size are this
# project's choices.
VAE = MappingProxyType(dict(batch_size=100, learning_rate=1e-3, lr_drops=(30, 120), epochs=300, beta=1.0,
                            weight_decay=0.0, max_alpha=0.7))

# The training images of the paper's CIFAR-10 and Cluttered MNIST: its β are for this many (the KL enters the loss
# as β/N·ΣKL, so a run on fewer images weighs the KL on each image as the paper did with β × images / this).
PAPER_TRAIN_IMAGES = 50_000


def per_image_beta(beta: float, images: int) -> float:
    """The β that weighs the KL on each of ``images`` training images as ``beta`` did on the paper's
    :data:`PAPER_TRAIN_IMAGES`, rounded to 10 digits so that it reads as typed (0.3, not 0.30000000000000004)."""
    return round(beta * images / PAPER_TRAIN_IMAGES, 10)


# The KL's weight per image in the paper's CIFAR-10 runs (β/N): what the benchmark's networks carry, so that their
# steps do the same work as a real run's.
PAPER_KL_WEIGHT = CIFAR["beta"] / PAPER_TRAIN_IMAGES
