"""The one way in to the paper's experiments: ``python -m infodropout.paper EXPERIMENT COMMAND ...``.

    python -m infodropout.paper cifar train with beta=3.0     # what ./cifar.py train with beta=3.0 does
    python -m infodropout.paper process_cifar --out datasets  # what ./process_cifar.py --out datasets does
    python -m infodropout.paper                                # the experiments, one line each

An experiment is a module of :mod:`infodropout.paper.experiments` with a ``main`` that reads the command line; the
scripts at the repository's top (``./cifar.py`` ...) are :func:`run` of their own name. Standard library only, until
an experiment is started: the packages are checked first (:func:`~infodropout.paper.cli.preflight.require_packages`),
so that a Python without them is told in one line what to run, and listing the experiments needs none of them.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from infodropout.paper.paths import REPO_ROOT

PROGRAM = "python -m infodropout.paper"
EXPERIMENTS_PACKAGE = "infodropout.paper.experiments"


def experiments() -> list[str]:
    """The experiments' names, those of the modules of :mod:`infodropout.paper.experiments` (none is imported)."""
    package = importlib.util.find_spec(EXPERIMENTS_PACKAGE)
    return sorted(module.name for module in pkgutil.iter_modules(package.submodule_search_locations)
                  if not module.name.startswith("_"))


def summary(name: str) -> str:
    """The first paragraph of experiment ``name``'s docstring, on one line, read from its source without importing
    it."""
    source = Path(importlib.util.find_spec(f"{EXPERIMENTS_PACKAGE}.{name}").origin).read_text(encoding="utf-8")
    return " ".join((ast.get_docstring(ast.parse(source)) or "").split("\n\n")[0].split())


def listing() -> str:
    """What ``python -m infodropout.paper`` and its ``--help`` print: how to call it, then every experiment."""
    names = experiments()
    width = max(map(len, names))
    rows = "\n".join(f"  {name:<{width}}  {summary(name)}" for name in names)
    return (f"usage: {PROGRAM} EXPERIMENT COMMAND [with KEY=VALUE ...]\n"
            f"       {PROGRAM} EXPERIMENT --help      # the experiment's commands and options\n\n"
            f"Each experiment answers as its script at the repository's top does ({PROGRAM} cifar ... as "
            f"./cifar.py ...).\n\nExperiments:\n{rows}")


def script_path(name: str) -> str:
    """The script a run of ``name`` speaks as (its help's and messages' program): ``./<name>.py`` at the
    repository's top, or, in an installed package without the scripts, the experiment's module."""
    script = REPO_ROOT / f"{name}.py"
    if script.is_file():
        return str(script)
    return importlib.util.find_spec(f"{EXPERIMENTS_PACKAGE}.{name}").origin


def run(name: str, args: Sequence[str] | None = None) -> None:
    """Run experiment ``name``'s command line as its script does: with ``args`` (what follows the experiment's name),
    or, where None, this process's own command line (the script's). Ends the process with the experiment's status
    where it gives one."""
    from infodropout.paper.cli.preflight import require_packages

    saved = sys.argv
    if args is not None:
        sys.argv = [script_path(name), *args]
    try:
        # Before the experiment's module is imported: a Python without the packages is told in one line what to run.
        require_packages()
        status = importlib.import_module(f"{EXPERIMENTS_PACKAGE}.{name}").main()
    finally:
        sys.argv = saved
    if status:  # process_cifar's main returns its status; the sacred experiments end the process themselves
        sys.exit(status)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m infodropout.paper [EXPERIMENT [ARGS ...]]``: the listing, one line (status 2) for an unknown
    experiment, or the experiment's command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(listing())
        return
    name, *args = argv
    known = experiments()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        print(f"{PROGRAM}: unknown experiment {name!r}: {hint}(the experiments: {', '.join(known)}; "
              f"`{PROGRAM} --help` describes each)", file=sys.stderr)
        sys.exit(2)
    run(name, args)


if __name__ == "__main__":
    main()
