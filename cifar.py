#!/usr/bin/env python3
"""CIFAR-10 with All-CNN-32 (paper §8; figures 1, 3b, 5 and 6).

    ./cifar.py train with dropout=information beta=3.0 filter_percentage=0.25
    ./cifar.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/cifar.py (its config:
infodropout/paper/configs/cifar.py); this file starts it as ``python -m infodropout.paper cifar``
does, so that the commands of the docs work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("cifar")
