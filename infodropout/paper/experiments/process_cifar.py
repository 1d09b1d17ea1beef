"""Turn the official CIFAR-10 python version into the authors' pre-processed archives.

Reads ``cifar-10-batches-py`` (data_batch_1..5 and test_batch), applies per-image standardisation
and ZCA whitening fitted on the training set, and writes ``OUT/cifar10-train.npz`` and
``OUT/cifar10-test.npz`` with arrays ``data`` (float32 NHWC (N, 32, 32, 3)) and ``labels`` (int64),
the files ``infodropout.paper.data.loaders.load_cifar10`` reads. Takes about 20 s on 2 CPU cores, with a peak of
about 2 GB of memory.

Without a folder, CIFAR-10 is taken from OUT: ``OUT/cifar-10-batches-py`` if it is there, else the
tarball ``cifar-10-python.tar.gz`` is downloaded into OUT (163 MB, checked against its published
MD5; ``--base-url`` or ``$INFODROPOUT_CIFAR_URL`` name a mirror) and extracted safely.

Usage: ./process_cifar.py [PATH/cifar-10-batches-py] [--out datasets] [--base-url URL]
   or: python -m infodropout.paper process_cifar [the same arguments]
   or, from Python: ``process(Config(folder=..., datasets_dir=...))``, OUT being the config's ``datasets_dir``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infodropout.paper.cli.preflight import require_packages
from infodropout.paper.configs.process_cifar import Config

DESCRIPTIONS = Config.descriptions()


def process(config: Config) -> list[Path]:
    """Write ``cifar10-train.npz`` and ``cifar10-test.npz`` into the config's ``datasets_dir`` from the official
    batches in its ``folder`` (downloaded first where it is ''), each step said on stdout with the seconds since the
    start; returns the two files. A folder or download that fails raises
    :class:`~infodropout.paper.errors.DataError`."""
    from infodropout.paper.data.loaders import build_cifar10

    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {line}", flush=True)

    # The download's own progress goes to stderr; these step lines stay on stdout.
    build_cifar10(config.datasets_dir, config.folder or None, config.base_url or None, progress=progress)
    progress("done")
    return [Path(config.datasets_dir) / f"cifar10-{split}.npz" for split in ("train", "test")]


def main(argv: list[str] | None = None) -> int:
    """The command line (``./process_cifar.py [folder] [--out OUT] [--base-url URL]``) made into the config;
    returns the exit status."""
    require_packages()  # one line on what to run, before a package is missing mid-import
    from infodropout.paper.errors import DataError

    parser = argparse.ArgumentParser(description="Preprocess CIFAR-10 (per-image standardisation + ZCA) "
                                                 "into OUT/cifar10-{train,test}.npz.")
    parser.add_argument("folder", nargs="?", type=Path,
                        help=f"{DESCRIPTIONS['folder']} (default: OUT/cifar-10-batches-py, downloaded and extracted "
                             "if missing)")
    parser.add_argument("--out", type=Path, default=Path(Config.defaults()["datasets_dir"]),
                        help=f"{DESCRIPTIONS['datasets_dir']} (default: {Config.defaults()['datasets_dir']})")
    parser.add_argument("--base-url", default=None,
                        help=f"{DESCRIPTIONS['base_url']} (default: $INFODROPOUT_CIFAR_URL, else that address)")
    args = parser.parse_args(argv)
    try:
        config = Config(folder=str(args.folder or ""), datasets_dir=str(args.out), base_url=args.base_url or "")
    except ValueError as error:
        parser.error(str(error))
    try:
        process(config)
    except DataError as error:
        print(f"process_cifar.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
