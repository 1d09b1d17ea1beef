#!/usr/bin/env python3
"""Cluttered MNIST with All-CNN-96 (paper §8; figures 2 and 7).

    ./cluttered.py train with beta=0.5
    ./cluttered.py --help          # every command, with its description and sacred's options

The experiment (its config, rules and commands) is infodropout/paper/experiments/cluttered.py, which also runs as
``python -m infodropout.paper.experiments.cluttered``; this file only starts it, so that the commands of the docs
work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The module imports
    # infodropout.paper.cli.experiment first, which checks the packages and quiets TensorFlow.
    from infodropout.paper.experiments.cluttered import main

    main()
