"""What machine a measurement was taken on, in words, for the report and the benchmark."""

from __future__ import annotations

import platform


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
