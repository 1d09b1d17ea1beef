#!/usr/bin/env python3
"""MNIST with a fully connected network of 3 hidden ReLU layers (paper §8, figure 3a).

    ./mnist_fc.py train with dropout=information width=256
    ./mnist_fc.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/mnist_fc.py (its config:
infodropout/paper/configs/mnist_fc.py); this file starts it as ``python -m infodropout.paper mnist_fc``
does, so that the commands of the docs work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("mnist_fc")
