"""Run names: a run is named by the config entries that differ from their defaults (SPEC §8), so that
`test with` the same values finds the checkpoint that `train with` wrote."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

# Config entries that never enter a run's name, by why.
# Where things go and what is printed:
OUTPUT_KEYS = frozenset({"datasets_dir", "models_dir", "plots_dir", "verbose", "tensorboard", "restart"})
# How a trained run is tested or probed afterwards (its training is unchanged; a probe that trains names its own
# files by its schedule):
AFTER_TRAINING_KEYS = frozenset({"test_samples", "plot_images", "probe_epochs", "estimator_epochs"})
# The lists a multi-run command loops over (each run it starts is named by its own values):
LOOPED_KEYS = frozenset({"widths", "methods", "seeds", "ks", "latents", "betas", "sweep_over", "filter_percentages",
                         "learning_rates"})
# How the same mathematics is computed on one machine. These change a run's numbers in their last bits
# (fused=False computes f and α in two convolutions, XLA sums in its own order), and nothing obliges a
# run to change them halfway, so a run records them and refuses to resume under others (registry.check_resume).
# They stay out of the name so that `test with` the values a user remembers finds the run all the same.
COMPUTATION_KEYS = frozenset({"fused", "jit_compile"})
# Which devices, processes and threads. strategy, devices and threads change the last bits too (jobs only through
# the threads it leaves each run), but they follow the machine, and a run may move to another one (begun on
# several GPUs, finished on one), so a resume under others is said in one line rather than refused.
MACHINE_KEYS = frozenset({"strategy", "devices", "jobs", "threads"})
NAME_EXCLUDED_KEYS = OUTPUT_KEYS | AFTER_TRAINING_KEYS | LOOPED_KEYS | COMPUTATION_KEYS | MACHINE_KEYS


def computation_values(config: Mapping) -> dict:
    """The config's :data:`COMPUTATION_KEYS`."""
    return {key: config[key] for key in sorted(COMPUTATION_KEYS) if key in config}


def run_name(experiment: str, config: Mapping, defaults: Mapping) -> str:
    """``experiment`` followed by ``.key=value`` for each entry that differs from its default
    (SPEC §8), in key order, so that `test with` the same values finds what `train with` wrote."""
    changed = [
        f".{key}={_name_value(config[key])}"
        for key in sorted(config)
        if key in defaults and key not in NAME_EXCLUDED_KEYS and differs(config[key], defaults[key])
    ]
    return shortened(experiment + "".join(changed))


def differs(value, default) -> bool:
    """Whether a config value differs from its default: the one rule of a run's name and of the registry's record of
    it. Values compare as Python compares them (1 equals 1.0, and True equals 1: they are the same number to the
    computation), lists and tuples item by item (a list typed and a tuple given from Python are the same value)."""
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return len(value) != len(default) or any(differs(item, other) for item, other in zip(value, default))
    return value != default


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
