#!/usr/bin/env python3
"""Turn the official CIFAR-10 python version into the authors' pre-processed archives.

Usage: ./process_cifar.py [PATH/cifar-10-batches-py] [--out datasets] [--base-url URL]

The code is infodropout/paper/experiments/process_cifar.py (its config: infodropout/paper/configs/process_cifar.py);
this file starts it as ``python -m infodropout.paper process_cifar`` does.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("process_cifar")
