"""Figure titles a reader can read: a run's name (``cifar.beta=1.2.dataset=fashion...``) says which network, data
set and settings in words, so that a Fashion-MNIST image is never labelled as a CIFAR run; and a figure drawn
before that keeps its data with its title strip replaced (:func:`retitle`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

# The network each experiment trains, and its data set by the ``dataset`` setting (None: the experiment's default).
NETWORKS = {"cifar": "All-CNN-32", "occluded": "All-CNN-32", "cluttered": "All-CNN-96",
            "mnist_fc": "the fully connected network", "vae": "the VAE"}
DATA = {("cifar", "fashion"): "Fashion-MNIST (standing in for CIFAR-10)",
        ("cifar", "sample"): "MNIST digits (standing in for CIFAR-10)", ("cifar", None): "CIFAR-10",
        ("occluded", "fashion"): "Occluded Fashion-MNIST", ("occluded", None): "Occluded CIFAR",
        ("cluttered", None): "Cluttered MNIST", ("mnist_fc", None): "MNIST", ("vae", None): "binarised MNIST"}


def _setting(key: str, value: str) -> str | None:
    """One setting of a run's name in words; None for those a title need not carry (schedules, sizes, folders: the
    report's commands give them)."""
    if key == "beta":
        return f"β = {value}"
    if key == "filter_percentage":
        return f"{float(value) * 100:g} % of the filters"
    if key == "max_alpha":
        return f"α ≤ {value}"
    return None


def human_title(title: str) -> str:
    """``title`` with a run's name at its start (``<experiment>[-sweep].key=value...``, then ``: rest``) spelled
    in words: the network, its data set and its main settings; any other title as given."""
    name, colon, rest = title.partition(": ")
    head, *parts = re.split(r"\.(?=[A-Za-z_]\w*=)", name)
    experiment = head.split("-")[0]
    if experiment not in NETWORKS or not parts or not all("=" in part for part in parts):
        return title
    settings = dict(part.split("=", 1) for part in parts)
    data = DATA.get((experiment, settings.get("dataset")), DATA.get((experiment, None), ""))
    activation = {"cifar": "ReLU", "occluded": "ReLU"}.get(experiment)
    if "activations" in settings:
        activation = settings["activations"].capitalize()
    words = [f"{NETWORKS[experiment]}{f' ({activation})' if activation else ''} on {data}"]
    words += [text for key, value in settings.items() if (text := _setting(key, value))]
    return ", ".join(words) + (f": {rest}" if colon else "")


def wrapped(title: str, width: int = 80) -> str:
    """``title`` over lines of at most about ``width`` characters, broken after its commas where it can (so that
    "β = 1.2" stays whole), else between words."""
    lines: list[str] = []
    for part in re.split(r"(?<=,) ", title):
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append(part)
    return "\n".join(lines)


def retitle(source: str | os.PathLike, target: str | os.PathLike, title: str) -> Path:
    """Write ``source`` (a PNG with one axes under a title) to ``target`` with its title strip replaced by
    ``title``: everything above the axes' top spine, the first row dark across most of the image, is cut and the
    title drawn over what remains. The data, the axes and the legend are the source's pixels."""
    import matplotlib.pyplot as plt

    image = plt.imread(source)
    dark = image[..., :3].mean(axis=-1) < 0.35
    frame = np.flatnonzero(dark.sum(axis=1) > 0.5 * image.shape[1])
    if not len(frame):
        raise ValueError(f"{source}: no axes frame found to cut the title above")
    body = image[max(frame[0] - 4, 0):]
    height, width = body.shape[:2]
    text = wrapped(title)
    dpi, strip = 150, 10 + 16 * (text.count("\n") + 1)  # the source's resolution; a 7-point line is 15 pixels
    figure = plt.figure(figsize=(width / dpi, (height + strip) / dpi), dpi=dpi)
    axis = figure.add_axes((0.0, 0.0, 1.0, height / (height + strip)))
    axis.imshow(body, interpolation="none")
    axis.axis("off")
    figure.text(0.5, 1 - 5 / (height + strip), text, ha="center", va="top", fontsize=7)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=dpi, metadata={"Software": None})
    plt.close(figure)
    return target
