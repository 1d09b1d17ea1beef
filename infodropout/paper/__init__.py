"""The harness of the paper's experiments: training protocol, data sets, sacred glue, figures, report.

It imports the library (:mod:`infodropout`), TensorFlow, sacred, SciPy and matplotlib; the library never
imports it. Install it with ``pip install .[paper]``.
"""
