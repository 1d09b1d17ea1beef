"""What machine a measurement was taken on, in words, for the report and the benchmark, and what it holds: its
cores and GPUs, so how many runs fit at once and how many threads each run's ops use."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_description(cpuinfo: str | None = None) -> str:
    """The CPU's model name and its widest vector unit, e.g. ``"AMD EPYC, AVX2"``.

    The vector unit decides how fast convolutions run on a CPU: the 2-core hosts of this project
    train about 2.5 times faster with AVX-512 than with AVX2 alone, so a time means little without
    it. ``cpuinfo``: the text of /proc/cpuinfo (read from the system when None).
    """
    lines = _cpuinfo(cpuinfo).splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    flags = _flags(lines)
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return ", ".join(part for part in (model or platform.processor(), vector) if part) or "unknown CPU"


# The CPU flags that decide whether 16-bit arithmetic pays: AMX tiles and AVX-512's bfloat16 dot products
# run bfloat16 matrix products natively; without them TensorFlow converts bfloat16 to float32 and back.
_BF16_UNITS = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}


def bfloat16_units(cpuinfo: str | None = None) -> list[str]:
    """The CPU's units that compute in bfloat16 natively (AMX-BF16, AVX512-BF16), empty where it has none;
    ``cpuinfo`` as for :func:`cpu_description`."""
    flags = _flags(_cpuinfo(cpuinfo).splitlines())
    return [name for flag, name in _BF16_UNITS.items() if flag in flags]


def _cpuinfo(cpuinfo: str | None) -> str:
    """``cpuinfo``, or the text of /proc/cpuinfo where it is None (empty where that cannot be read)."""
    if cpuinfo is not None:
        return cpuinfo
    try:
        with open("/proc/cpuinfo") as handle:
            return handle.read()
    except OSError:
        return ""


def _flags(lines: list[str]) -> set[str]:
    """The first processor's feature flags."""
    return set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))


def describe_machine() -> str:
    """The machine and software a measurement ran on, in one line: cores, CPU, system, TensorFlow and Keras."""
    import importlib.metadata
    import os

    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("tensorflow", "keras"))
    return f"{os.cpu_count()} CPU cores ({cpu_description()}), {platform.system()} {platform.release()}; {versions}"


def set_threads(threads: int) -> None:
    """Make TensorFlow's ops use ``threads`` threads each (0: TensorFlow's own choice, one per core). Must come
    before TensorFlow runs its first op. A run's numbers depend on it to the last bit: the threads split float32
    sums differently (the same seed with another thread count drifts apart over epochs of SGD)."""
    if threads <= 0:
        return
    import tensorflow as tf

    if (tf.config.threading.get_intra_op_parallelism_threads() == threads
            and tf.config.threading.get_inter_op_parallelism_threads() == threads):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:  # TensorFlow already started: the count can no longer change
        raise RuntimeError(f"threads={threads} must be set before TensorFlow starts ({error})") from None


def threads_in_use(threads: int) -> int:
    """The threads each op of a run with ``threads=`` uses: the value itself, or for 0 TensorFlow's own choice,
    one per core this process may run on."""
    return threads if threads > 0 else available_cores()


def available_cores() -> int:
    """The cores this process may run on (its affinity, which a container or ``taskset`` may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def gpu_visible() -> bool:
    """Whether an NVIDIA GPU is visible to this process (a device file, unless ``CUDA_VISIBLE_DEVICES`` hides every
    one), found without starting TensorFlow."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "0").strip() in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


def default_jobs() -> int:
    """``reproduce.py``'s runs at once by default: one per core (0) on a host without a GPU, where two
    one-thread processes trained 1.19 to 1.53 times as many images as one two-thread process on every network
    measured (2-core Intel and AMD hosts, docs/performance.md); 1 where a GPU is visible, which the runs would
    share."""
    return 1 if gpu_visible() else 0


def parallel_jobs(jobs: int, points: int, cores: int | None = None) -> int:
    """How many processes a sweep of ``points`` runs still to do uses for ``jobs`` (0: one per core): never
    more than the points, at least 1."""
    cores = cores or available_cores()
    return max(1, min(jobs or cores, points))


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Each of ``jobs`` processes' share of the cores (at least one thread)."""
    return max(1, (cores or available_cores()) // max(1, jobs))
