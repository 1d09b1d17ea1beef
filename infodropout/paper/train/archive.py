"""Trained runs kept where they are committed: a plan that runs for days, over sessions on machines that may be
replaced (losing the models folder), copies each run's files into a folder of the committed plan as the run goes,
and puts them back into the models folder before it trains again, so that no finished run is trained twice and
an unfinished one resumes after its last kept epoch.

A run is its network (``<name>.keras``), its training state (``<name>.state.npz``: weights, optimizer slots and
the epoch), its history (``<name>.history.jsonl``) and its record (``<name>.run.json``). Each file is replaced
whole while a run trains (``checkpoint.atomic_write``), but the four are written one after another: history, then
network, then state. Copying them in the opposite order (state first, history last) keeps a copy taken mid-save
resumable: its history may then be one epoch ahead of its state, which resuming trims, never behind it, which
resuming refuses.

Only small runs are kept (:data:`MAX_RUN_BYTES`): the medium plan's networks take well under a megabyte a run,
while a full-size network's state would bloat the repository with every epoch.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from infodropout.paper.train.checkpoint import TrainingState, atomic_write

# The files of a run, in the order they are copied (see the module's docstring).
RUN_SUFFIXES = (".state.npz", ".keras", ".history.jsonl", ".run.json")
# A run whose files take more is not kept (said, not silently).
MAX_RUN_BYTES = 4_000_000


@dataclass(frozen=True)
class Kept:
    """What one call did: the runs copied, those already up to date, and those too large to keep."""

    copied: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    too_large: tuple[str, ...] = ()

    def summary(self, verb: str) -> str:
        parts = [f"{verb} {len(self.copied)} run(s)", f"{len(self.unchanged)} already up to date"]
        if self.too_large:
            parts.append(f"{len(self.too_large)} not kept, over {MAX_RUN_BYTES / 1e6:.0f} MB: "
                         + ", ".join(self.too_large))
        return "; ".join(parts) + "."


def run_names(folder: str | os.PathLike) -> list[str]:
    """The runs with a training state in ``folder`` (a models folder or an archive), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(path.name.removesuffix(".state.npz") for path in folder.glob("*.state.npz"))


def keep_runs(models_dir: str | os.PathLike, archive: str | os.PathLike) -> Kept:
    """Copy every run of ``models_dir`` that has trained at least one epoch into ``archive``, where its files
    differ from those kept (a run in progress is kept at its last completed epoch)."""
    models_dir, archive = Path(models_dir), Path(archive)
    copied, unchanged, too_large = [], [], []
    for name in run_names(models_dir):
        files = _files(models_dir, name)
        if sum(path.stat().st_size for path in files) > MAX_RUN_BYTES:
            too_large.append(name)
            continue
        if all(_same(path, archive / path.name) for path in files):
            unchanged.append(name)
            continue
        archive.mkdir(parents=True, exist_ok=True)
        for path in files:
            _copy(path, archive / path.name)
        copied.append(name)
    return Kept(tuple(copied), tuple(unchanged), too_large=tuple(too_large))


def restore_runs(archive: str | os.PathLike, models_dir: str | os.PathLike) -> Kept:
    """Copy each run kept in ``archive`` into ``models_dir`` where the models folder lacks it or holds fewer of its
    epochs; a run that has gone further in ``models_dir`` is left as it is."""
    archive, models_dir = Path(archive), Path(models_dir)
    copied, unchanged = [], []
    for name in run_names(archive):
        kept = TrainingState(archive / f"{name}.keras").completed_epochs()
        here = TrainingState(models_dir / f"{name}.keras").completed_epochs()
        if here >= kept:
            unchanged.append(name)
            continue
        models_dir.mkdir(parents=True, exist_ok=True)
        for path in _files(archive, name):
            _copy(path, models_dir / path.name)
        copied.append(name)
    return Kept(tuple(copied), tuple(unchanged))


def _files(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}{suffix}" for suffix in RUN_SUFFIXES if (folder / f"{name}{suffix}").exists()]


def _same(source: Path, target: Path) -> bool:
    return target.exists() and source.stat().st_size == target.stat().st_size and \
        source.read_bytes() == target.read_bytes()


def _copy(source: Path, target: Path) -> None:
    """Copy whole or not at all, as the trainer writes: a reader (or a kill) never sees half a file, and a killed
    copy leaves a temporary that the next training run removes."""
    atomic_write(target, lambda temporary: shutil.copyfile(source, temporary))


def main(argv: list[str] | None = None) -> int:
    """``python -m infodropout.paper.train.archive keep|restore --models-dir D --archive A``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infodropout.paper.train.archive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("keep", "restore"),
                        help="keep: copy the models folder's runs into the archive; restore: the other way")
    parser.add_argument("--models-dir", default="models")
    parser.add_argument("--archive", required=True, help="the folder the runs are kept in (committed)")
    args = parser.parse_args(argv)
    if args.action == "keep":
        print(f"{args.archive}: " + keep_runs(args.models_dir, args.archive).summary("kept"))
    else:
        print(f"{args.models_dir}: " + restore_runs(args.archive, args.models_dir).summary("restored"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
