#!/usr/bin/env python3
"""Turn the official CIFAR-10 python version into the authors' pre-processed archives.

Usage: ./process_cifar.py [PATH/cifar-10-batches-py] [--out datasets] [--base-url URL]

The code is infodropout/paper/experiments/process_cifar.py, which also runs as
``python -m infodropout.paper.experiments.process_cifar``; this file only starts it.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    # The package sits next to this script; make it importable whatever the working directory.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from infodropout.paper.experiments.process_cifar import main

    sys.exit(main())
