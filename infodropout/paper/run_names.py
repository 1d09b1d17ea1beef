"""Run names: a run is named by the config entries that differ from their defaults (SPEC §8), so that
`test with` the same values finds the checkpoint that `train with` wrote."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

# Config entries that never enter a run's name: where things go, how fast (the speed options leave
# the mathematics unchanged), how a trained run is tested, and the lists a multi-run command loops
# over (each run it starts is named by its own values).
NAME_EXCLUDED_KEYS = frozenset({"datasets_dir", "models_dir", "plots_dir", "verbose", "tensorboard", "restart",
                                "fused", "jit_compile", "strategy", "devices", "jobs", "threads", "test_samples",
                                "plot_images", "probe_epochs", "widths", "methods", "seeds", "ks", "latents", "betas", "sweep_over",
                                "filter_percentages", "estimator_epochs", "learning_rates"})


def run_name(experiment: str, config: Mapping, defaults: Mapping) -> str:
    """``experiment`` followed by ``.key=value`` for each entry that differs from its default
    (SPEC §8), in key order, so that `test with` the same values finds what `train with` wrote."""
    changed = [
        f".{key}={_name_value(config[key])}"
        for key in sorted(config)
        if key in defaults and key not in NAME_EXCLUDED_KEYS and config[key] != defaults[key]
    ]
    return shortened(experiment + "".join(changed))


# File systems allow 255 bytes a name; a run's files add up to 28 (".<name>.state.tmp.npz.XXXXXXXX.npz",
# an atomic write's temporary), so names are kept well below.
MAX_NAME_BYTES = 200


def shortened(name: str) -> str:
    """``name`` if it fits in :data:`MAX_NAME_BYTES`, else its beginning followed by ``.~`` and 16 hex
    digits of its SHA-256: stable (the same values always give the same name, so `test with` finds what
    `train with` wrote), and two names that share a long beginning still differ."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    head = name.encode()[:MAX_NAME_BYTES - len(digest) - 2].decode(errors="ignore")
    return f"{head}.~{digest}"


def _name_value(value) -> str:
    """A value as it is typed after `with`: lists without spaces, so that names need no quoting."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_name_value(item) for item in value) + "]"
    return str(value)


def checkpoint_path(models_dir: str, name: str) -> Path:
    """Where the run ``name`` keeps its network (SPEC §8)."""
    return Path(models_dir) / f"{name}.keras"
