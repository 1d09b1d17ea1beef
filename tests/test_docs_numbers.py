"""Every number the README and docs/ quote is read back from the committed file it comes from.

The rule: a number in README.md or docs/*.md either comes from a committed results file (results/REPORT.md,
results/REPORT-medium.md, results/claims-medium.json, results/medium/, results/bench*.json) and is checked here
against it to the digits it is printed with, or it is not written. The CPU commands the docs suggest state the
error they reach; the slow test runs them and checks that they do.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
REPORT_SMALL = ROOT / "results" / "REPORT.md"
REPORT_MEDIUM = ROOT / "results" / "REPORT-medium.md"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def number(value: str) -> float:
    return float(value.replace("−", "-").replace(",", ""))


def printed_equal(quoted: str, source: float) -> bool:
    """Whether ``quoted`` is ``source`` rounded to the digits ``quoted`` prints."""
    digits = len(quoted.split(".")[1]) if "." in quoted else 0
    return f"{source:.{digits}f}" == f"{number(quoted):.{digits}f}"


# --------------------------------------------------------------------------------------------------
# Reading the committed results


def markdown_rows(path: Path, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table after the section whose heading starts with ``heading``."""
    body = text(path)
    start = body.index("\n## " + heading)
    rows = []
    for line in body[start + 1:].splitlines()[1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows


def table_value(path: Path, heading: str, row: str, column: str) -> float:
    """The number in ``row`` (first cell) and ``column`` (header cell) of the section's first table; a
    'mean ± sd' cell gives its mean."""
    rows = markdown_rows(path, heading)
    header, body = rows[0], rows[1:]
    line = next(cells for cells in body if cells[0] == row)
    return number(line[header.index(column)].split("±")[0].strip())


def small(heading: str, row: str, column: str) -> float:
    return table_value(REPORT_SMALL, heading, row, column)


# --------------------------------------------------------------------------------------------------
# The CPU commands: each with its stated error, which is the small reproduction's for the same run


CPU_LINE = re.compile(r"^\s*\./(?P<script>\w+\.py) (?P<args>[^#]+?)\s+#\s*offline: "
                      r"(?:about (?P<error>[\d.]+) % test error \(chance 90 %\)"
                      r"|test bound about (?P<bound>−?[\d.]+) nats per image)", re.MULTILINE)

# script -> where the small reproduction recorded the same run's result
CPU_SOURCES = {
    "mnist_fc.py": lambda: small("Figure 3a", "128", "information"),
    "cifar.py": lambda: small("Figure 5", "0.30", "test error (%)"),
    "cluttered.py": lambda: small("Figures 2 and 7", "0.05", "test error (%)"),
    "vae.py": lambda: small("Table I", "1", "Gaussian (ours)"),
}


def cpu_commands() -> list[tuple[Path, str, list[str], str]]:
    """(document, script, arguments, the stated number as printed) for every CPU command of README and docs/."""
    found = []
    for path in [README, *DOCS]:
        for match in CPU_LINE.finditer(text(path)):
            found.append((path, match["script"], shlex.split(match["args"]), match["error"] or match["bound"]))
    return found


def test_every_script_has_a_cpu_command_and_its_number_is_the_reports():
    commands = cpu_commands()
    assert {script for _, script, _, _ in commands} == set(CPU_SOURCES)
    for path, script, args, quoted in commands:
        assert printed_equal(quoted, CPU_SOURCES[script]()), (path.name, script, quoted, CPU_SOURCES[script]())


def tolerance(script: str, stated: float) -> float:
    """How far a run on another CPU may end from the stated number (the docs say the same)."""
    return 5.0 if script == "vae.py" else max(4.0, stated / 4)


@pytest.mark.slow
def test_the_cpu_commands_learn(tmp_path):
    """Runs each distinct CPU command of the docs, as written (plus verbose=0), and checks its error or bound."""
    seen = set()
    failures = []
    for _, script, args, quoted in cpu_commands():
        if (script, tuple(args)) in seen:
            continue
        seen.add((script, tuple(args)))
        result = subprocess.run([sys.executable, str(ROOT / script), *args, "verbose=0"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=3600)
        assert result.returncode == 0, (script, result.stderr[-2000:])
        stated = number(quoted)
        if script == "vae.py":
            measured = float(re.search(r"Test lower bound: (-?\d+\.\d+) nats", result.stdout).group(1))
            ok = measured >= stated - tolerance(script, stated)
        else:
            measured = float(re.search(r"Test: .*error (\d+\.\d+)", result.stdout).group(1))
            ok = measured <= stated + tolerance(script, stated)
        print(f"{script} {' '.join(args)}: {measured} (stated about {quoted})")
        if not ok:
            failures.append((script, measured, quoted))
    assert not failures, failures
