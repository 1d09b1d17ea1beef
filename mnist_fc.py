#!/usr/bin/env python3
"""MNIST with a fully connected network of 3 hidden ReLU layers (paper §8, figure 3a).

    ./mnist_fc.py train with dropout=information width=256
    ./mnist_fc.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/mnist_fc.py (its config:
infodropout/paper/configs/mnist_fc.py), which also runs as
``python -m infodropout.paper.experiments.mnist_fc``; this file only starts it, so that the commands of the docs
work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The packages are checked first, so that a
    # Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.cli.preflight import require_packages

    require_packages()
    from infodropout.paper.experiments.mnist_fc import main

    main()
