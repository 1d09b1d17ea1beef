#!/usr/bin/env python3
"""Occluded CIFAR with All-CNN-32 (paper §8, figure 4): the task is the CIFAR class, the occluding

    ./occluded.py train with beta=1.0
    ./occluded.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/occluded.py (its config:
infodropout/paper/configs/occluded.py), which also runs as
``python -m infodropout.paper.experiments.occluded``; this file only starts it, so that the commands of the docs
work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The packages are checked first, so that a
    # Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.cli.preflight import require_packages

    require_packages()
    from infodropout.paper.experiments.occluded import main

    main()
