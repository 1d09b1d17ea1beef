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
   or: python -m infodropout.paper.experiments.process_cifar [the same arguments]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infodropout.paper.cli.preflight import require_packages


def main(argv: list[str] | None = None) -> int:
    """The command line (``./process_cifar.py [folder] [--out OUT] [--base-url URL]``); returns the exit status."""
    require_packages()  # one line on what to run, before a package is missing mid-import
    from infodropout.paper.data.loaders import build_cifar10
    from infodropout.paper.errors import DataError

    parser = argparse.ArgumentParser(description="Preprocess CIFAR-10 (per-image standardisation + ZCA) "
                                                 "into OUT/cifar10-{train,test}.npz.")
    parser.add_argument("folder", nargs="?", type=Path,
                        help="the extracted cifar-10-batches-py folder of the CIFAR-10 python version "
                             "(default: OUT/cifar-10-batches-py, downloaded and extracted if missing)")
    parser.add_argument("--out", type=Path, default=Path("datasets"),
                        help="folder for cifar10-train.npz and cifar10-test.npz (default: datasets)")
    parser.add_argument("--base-url", default=None,
                        help="mirror of https://www.cs.toronto.edu/~kriz/ holding cifar-10-python.tar.gz "
                             "(default: $INFODROPOUT_CIFAR_URL, else that address)")
    args = parser.parse_args(argv)

    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {line}", flush=True)

    try:
        # The download's own progress goes to stderr; these step lines stay on stdout.
        build_cifar10(args.out, args.folder, args.base_url, progress=progress)
    except DataError as error:
        print(f"process_cifar.py: {error}", file=sys.stderr)
        return 1
    progress("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
