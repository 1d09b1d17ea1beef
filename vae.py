#!/usr/bin/env python3
"""The VAE of Table I on binarised MNIST: a Gaussian latent against an Information Dropout latent.

    ./vae.py train with latent=information k=1
    ./vae.py --help          # every command, with its description and sacred's options

The experiment's commands are infodropout/paper/experiments/vae.py (its config:
infodropout/paper/configs/vae.py); this file starts it as ``python -m infodropout.paper vae``
does, so that the commands of the docs work from the repository's top.
"""

if __name__ == "__main__":
    # Imported here, not at the top: importing this file runs nothing. The dispatcher checks the packages
    # first, so that a Python without them is told in one line what to run rather than shown a traceback.
    from infodropout.paper.__main__ import run

    run("vae")
