"""The README's example for users' own models runs as written and trains, and every script command that the
README and docs/ show passes the script's own checks."""

import contextlib
import doctest
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"
DOCS = sorted((README.parent / "docs").glob("*.md"))


def test_readme_layer_example_runs_and_its_kl_reaches_the_loss():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    example = next(block for block in blocks if "InformationDropout(" in block)
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(README), "exec"), namespace)
    # What the example prints is what its comment says it prints ("..." stands for any digits, as in doctest).
    expected = re.findall(r"^print\(.*\)\s+# (.*)$", example, re.MULTILINE)
    assert expected, "the README's example no longer shows what it prints; update this test"
    got = printed.getvalue()
    assert doctest.OutputChecker().check_output("\n".join(expected) + "\n", got, doctest.ELLIPSIS), \
        f"the README's example prints {got!r}, its comment says {expected}"
    model = namespace["model"]
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 10
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0).history
    assert sorted(history) == ["Lx", "Lz", "loss"] and np.isfinite(history["loss"][0])
    # The KL reaches the loss: Lz > 0, and the loss is more than the cross-entropy by at least Lz.
    assert history["Lz"][0] > 0 and history["loss"][0] >= history["Lx"][0] + history["Lz"][0]
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0


# The scripts whose commands the README shows (sacred experiments), and each one's offline switch.
SACRED_SCRIPTS = {"cifar.py": "dataset=sample", "cluttered.py": "digits=sample", "occluded.py": None,
                  "mnist_fc.py": "dataset=sample", "vae.py": "dataset=sample"}


def readme_commands():
    """(block index, comment lines of the block, script, arguments, the line's comment) for every
    ``./script.py ...`` line of the sh blocks of the README and docs/."""
    import shlex

    found = []
    blocks = [block for page in (README, *DOCS) for block in re.findall(r"```sh\n(.*?)```", page.read_text(), re.DOTALL)]
    for index, block in enumerate(blocks):
        block = re.sub(r"\\\n\s*", " ", block)  # a command continued over lines with a backslash is one line
        comments = [line.strip() for line in block.splitlines() if line.strip().startswith("#")]
        for line in block.splitlines():
            match = re.match(r"\s*(?:\.venv/bin/python |\./)(\w+\.py)\s*(.*)", line)
            if match and match.group(1) in SACRED_SCRIPTS:
                command, _, comment = match.group(2).partition("#")
                found.append((index, comments, match.group(1), shlex.split(command), comment))
    return found


def test_the_readme_shows_every_sacred_script():
    assert {script for _, _, script, _, _ in readme_commands()} == set(SACRED_SCRIPTS)


def test_every_readme_command_has_valid_keys_and_says_whether_it_needs_a_download():
    """Each command's `with` values go through print_config (sacred's parser, the named configs and the
    scripts' rules), in this process: print_config imports no TensorFlow, so this is cheap."""
    import contextlib
    import importlib.util
    import io

    from infodropout.paper.cli.experiment import build_experiment, quote_word_lists

    experiments = {}
    for script in SACRED_SCRIPTS:
        # The experiment's module, which ./<script> starts.
        experiments[script] = build_experiment(
            importlib.import_module(f"infodropout.paper.experiments.{script[:-3]}").COMMAND_LINE)
    checked = 0
    for _, comments, script, args, comment in readme_commands():
        command = args[0] if args else ""
        assert command in experiments[script].commands or command in ("--help", "help"), (script, args)
        if command in ("--help", "help"):
            continue
        updates = args[2:] if len(args) > 1 and args[1] == "with" else []
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                experiments[script].run_commandline([script, "print_config"]
                                                    + (["with", *quote_word_lists(updates)] if updates else []))
        except SystemExit as error:
            raise AssertionError(f"{script} {' '.join(args)}: print_config exited with {error.code}") from None
        assert "Configuration" in output.getvalue()
        checked += 1
        offline = SACRED_SCRIPTS[script] is not None and SACRED_SCRIPTS[script] in updates
        if offline:
            assert "offline" in comment or any("offline" in c for c in comments), (script, args)
        else:
            assert any("download" in c for c in comments), f"{script} {' '.join(args)}: its block never says it downloads"
    assert checked >= 25
