#!/usr/bin/env python3
"""Occluded CIFAR with All-CNN-32 (paper §8, figure 4): the task is the CIFAR class, the occluding
MNIST digit is the nuisance.

    ./occluded.py train with beta=1.0
    ./occluded.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/occluded.py (its config:
infodropout/paper/configs/occluded.py); this file starts it as ``python -m infodropout.paper occluded``
does, so that the commands of the docs work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("occluded")
