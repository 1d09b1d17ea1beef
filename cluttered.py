#!/usr/bin/env python3
"""Cluttered MNIST with All-CNN-96 (paper §8; figures 2 and 7).

    ./cluttered.py train with beta=0.5
    ./cluttered.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/cluttered.py (its config:
infodropout/paper/configs/cluttered.py); this file starts it as ``python -m infodropout.paper cluttered``
does, so that the commands of the docs work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("cluttered")
