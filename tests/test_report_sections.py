"""Report sections read from hand-made results: figure 3a's dead-unit table and flags, figure 5's bias columns."""
import json

from infodropout.paper.report import Report, figure3a, figure5
from infodropout.paper.reproduce import make_plan


def report_with(tmp_path, step: str, results: list[dict]) -> Report:
    plan = make_plan("tiny", cifar10=False)
    folder = tmp_path / "work" / step / "sweep"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    (tmp_path / "work" / "steps.json").write_text(json.dumps({step: {"status": "done", "argv": ["x"], "seconds": 1, "finished": "now"}}))
    return Report(plan, tmp_path / "work", tmp_path / "out")


def test_figure3a_flags_a_comparison_where_a_method_has_dead_units(tmp_path):
    results = [{"dropout": m, "width": w, "seed": 0, "error": e, "dead_fraction_max": d}
               for m, w, e, d in [("information", 32, 10.0, 0.0), ("binary", 32, 25.9, 12 / 32),
                                  ("none", 32, 9.0, 0.0), ("information", 128, 5.0, 0.0),
                                  ("binary", 128, 6.0, 0.05), ("none", 128, 4.5, 0.0)]]
    report = report_with(tmp_path, "figure3a", results)
    tally = figure3a(report)
    text = "\n".join(report.lines)
    assert "| 32 | 0.0 | 37.5 | 0.0 |" in text  # the dead-unit table, worst layer, in %
    binary = next(line for line in text.splitlines() if line.startswith("| Information Dropout has a lower error than binary"))
    assert "at 32 units a method has more than 10% dead units" in binary and "128 units" not in binary
    none = next(line for line in text.splitlines() if line.startswith("| Information Dropout has a lower error than no"))
    assert "+1.00 (32), +0.50 (128)" in none and "dead units" not in none
    assert tally["claims"] == 3


def test_figure5_shows_the_corrected_total_correlation_with_its_bias(tmp_path):
    results = [{"beta": b, "error": 5.0 + b, "total_correlation": tc, "total_correlation_raw": tc + 0.28,
                "total_correlation_bias": 0.28} for b, tc in [(0.1, 0.3), (0.3, 0.2), (1.0, 0.1)]]
    report = report_with(tmp_path, "figure5", results)
    figure5(report)
    text = "\n".join(report.lines)
    assert "bias of the raw value" in text and "| 0.30 | 5.30 | 0.20 | 0.48 | 0.28 |" in text
