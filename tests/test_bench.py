"""The benchmark's and the step profile's arithmetic: FLOPs counted from the layers in closed form, the
convolutions-only network with the same multiply-adds, and a profile that writes every part it names."""

import json
import math

import keras
import pytest

from infodropout.models import all_cnn_32
from infodropout.paper.perf.bench import main as bench_main, measure_network, training_flops_per_image
from infodropout.paper.perf.profile_step import convolutions_only, main as profile_main


def test_training_flops_are_three_forward_passes_of_the_convolutions_and_dense_layers():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)(inputs)  # 4×4×4 outputs
    x = keras.layers.BatchNormalization()(x)  # element-wise: not counted
    x = keras.layers.GlobalAveragePooling2D()(x)
    network = keras.Model(inputs, keras.layers.Dense(5)(x))
    conv = 2 * 3 * 3 * 3 * 4 * 4 * 4  # 2 FLOPs a multiply-add, 3×3×3 inputs for each of 4×4×4 outputs
    dense = 2 * 4 * 5
    assert training_flops_per_image(network) == 3 * (conv + dense)


def test_the_convolutions_only_network_has_the_same_arithmetic_and_no_batch_norm():
    plain = all_cnn_32(0.1, dropout="none")
    convs = convolutions_only(plain)
    assert training_flops_per_image(convs) == training_flops_per_image(plain)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in convs.layers)
    assert convs.output_shape == plain.output_shape
    # The α branch is extra arithmetic: Information Dropout's network counts more.
    assert training_flops_per_image(all_cnn_32(0.1, dropout="information")) > training_flops_per_image(plain)


@pytest.mark.slow
def test_the_step_profile_times_every_part_and_writes_them(tmp_path):
    out = tmp_path / "profile.json"
    assert profile_main(["--networks", "All-CNN-32 @ 0.1", "--rounds", "1", "--steps", "1",
                         "--steps-per-execution", "2", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["part"] for r in rows] == ["convolutions", "+ batch norm", "+ information dropout",
                                         "+ information dropout, 2 steps a call", "forward only (information)",
                                         "forward + backward, no update (information)"]
    for row in rows:
        assert math.isfinite(row["step_s"]) and row["step_s"] > 0 and row["roofline_fraction"] > 0
    assert next(r for r in rows if r["part"] == "+ information dropout")["share_of_step"] == 1.0


def test_the_step_profile_refuses_nonsense_settings():
    with pytest.raises(SystemExit):
        profile_main(["--rounds", "0"])


def test_the_benchmark_times_a_step_as_fit_runs_it_several_a_call():
    row = measure_network("All-CNN-32 @ 0.1", "information", batch_size=8, jit_compile=False, fused=True, warmup=1,
                          windows=2, steps=1, steps_per_call=3)
    assert row["steps_per_call"] == 3 and len(row["step_s_windows"]) == 2
    assert row["step_s"] > 0 and row["images_per_s"] == pytest.approx(8 / row["step_s"])


def test_the_benchmark_refuses_nonsense_settings():
    for bad in (["--steps-per-call", "0"], ["--windows", "0"]):
        with pytest.raises(SystemExit):
            bench_main(bad)
