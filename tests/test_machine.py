"""The machine a measurement ran on is named with its vector unit, which sets the CPU's speed."""

from infodropout.paper.machine import cpu_description

CPUINFO = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx fma {}\n"


def test_names_the_widest_vector_unit():
    assert cpu_description(CPUINFO.format("avx2 avx512f avx512bw")) == "AMD EPYC, AVX-512"
    assert cpu_description(CPUINFO.format("avx2")) == "AMD EPYC, AVX2"
    assert cpu_description(CPUINFO.format("")) == "AMD EPYC"


def test_without_cpuinfo_it_still_answers():
    assert cpu_description("") != ""


def test_names_the_units_that_compute_in_bfloat16():
    from infodropout.paper.machine import bfloat16_units

    assert bfloat16_units(CPUINFO.format("avx2 avx512f amx_tile amx_bf16 avx512_bf16")) == ["AMX-BF16", "AVX512-BF16"]
    assert bfloat16_units(CPUINFO.format("avx2 avx512f")) == []
    assert bfloat16_units("") == []
