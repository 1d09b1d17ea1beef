"""Where things are: the repository's top (the scripts, ``models/``, ``plots/``, ``datasets/``, ``results/``),
computed here once.

In a checkout the package sits at the top of the repository, beside the scripts; an installed package
(``pip install .``) has no scripts beside it, and a command that needs them says so.
"""

from __future__ import annotations

from pathlib import Path

# infodropout/paper/paths.py → the folder that holds infodropout/.
REPO_ROOT = Path(__file__).resolve().parents[2]
