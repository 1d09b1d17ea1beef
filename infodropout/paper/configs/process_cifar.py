"""The config of CIFAR-10's preprocessing (``./process_cifar.py``): where the official python version is read from
(or downloaded from) and where the preprocessed archives that ``cifar.py`` and ``occluded.py`` read are written."""

from __future__ import annotations

from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.rules import FOLDER, Rule

SETTINGS = [
    Setting("folder", "", "the extracted cifar-10-batches-py folder of the CIFAR-10 python version",
            Rule("a folder path, or '' for datasets_dir/cifar-10-batches-py (downloaded and extracted if missing)",
                 lambda v: isinstance(v, str))),
    # The same key as the experiments' own, so that a notebook hands them the folder this writes.
    Setting("datasets_dir", "datasets", "folder for cifar10-train.npz and cifar10-test.npz", FOLDER),
    Setting("base_url", "", "mirror of https://www.cs.toronto.edu/~kriz/ holding cifar-10-python.tar.gz",
            Rule("an address, or '' for $INFODROPOUT_CIFAR_URL, else the official one", lambda v: isinstance(v, str))),
]

Config = config_class("process_cifar", SETTINGS, module=__name__,
                      doc="CIFAR-10's python version turned into the authors' preprocessed archives.")
