"""The README's example for users' own models runs as written and trains."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_layer_example_runs_and_its_kl_reaches_the_loss():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    example = next(block for block in blocks if "InformationDropout(" in block)
    namespace: dict = {}
    exec(compile(example, str(README), "exec"), namespace)
    model = namespace["model"]
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 10
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0
