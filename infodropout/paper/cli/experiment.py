"""The sacred glue the experiments share (infodropout.paper.experiments, started by ./cifar.py ... or ``python -m``):
the Experiment with its validated config, its command line and its one-line failures.

This is the only module of the package that imports sacred; everything it hands on is plain values. The config
rules live in :mod:`infodropout.paper.cli.config_rules`, run names in :mod:`infodropout.paper.train.run_names`, sweeps in
:mod:`infodropout.paper.train.sweeps` and what the commands do in :mod:`infodropout.paper.train.runs`.
"""

from __future__ import annotations

import difflib
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from infodropout.paper.cli import preflight  # noqa: E402

# Before sacred is imported: a Python without the packages says in one line what to run instead.
preflight.require_packages()
# Quiet TensorFlow's C++ start-up lines before anything imports it.
preflight.quiet_tensorflow_environment()


def _interrupted_quietly(kind, value, traceback) -> None:
    """Ctrl-C that escapes every handler (during the imports of sacred and TensorFlow, before
    :func:`run_experiment` can catch it) ends the script as one caught inside does: one line and
    status 130. The ``finally`` clauses that remove temporary files have already run by then."""
    if not issubclass(kind, KeyboardInterrupt):
        _previous_excepthook(kind, value, traceback)
        return
    print(f"{Path(sys.argv[0]).name}: {INTERRUPTED}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(130)  # Python would otherwise re-raise SIGINT on itself (status -2), not exit with 130


INTERRUPTED = ("interrupted (Ctrl-C); nothing half-written was kept. Run the same command again to go on "
               "(a training run resumes after its last completed epoch).")
_previous_excepthook = sys.excepthook
sys.excepthook = _interrupted_quietly

from sacred import Experiment  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from infodropout.paper.train import registry  # noqa: E402
from infodropout.paper.cli.config_rules import ALL_CNN_SMALLEST_WIDTH, DESCRIPTIONS, Rule, validate  # noqa: E402
from infodropout.paper.errors import CommandFailed, fail  # noqa: E402
from infodropout.paper.paths import REPO_ROOT  # noqa: E402
from infodropout.paper.cli.command_line import (  # noqa: E402
    add_described_print_config, check_command_line, help_text, typed_keys,
)
from infodropout.paper.train.run_names import NAME_EXCLUDED_KEYS, checkpoint_path, run_name  # noqa: E402
from infodropout.paper.train.sweeps import POINT_COMMAND, POINT_KEYS  # noqa: E402

# The folder that holds the package: the repository's top in a checkout, where the scripts are.
PACKAGE_ROOT = REPO_ROOT


def make_experiment(name: str, defaults: Mapping, rules: Mapping[str, Rule],
                    named_configs: Mapping[str, Mapping] | None = None) -> Experiment:
    """A sacred Experiment with ``defaults`` as its config, ``named_configs`` (e.g. ``softplus``) and
    ``rules`` checked before any command.

    An invalid value ends the program at once with one line on stderr and exit status 2, before TensorFlow
    is imported. A command of :data:`CHECKPOINT_COMMANDS` runs on the trained run that the user's keys
    choose, with that run's values (:func:`infodropout.paper.train.registry.resolve`); where none or several
    match it ends, as fast, with status 1. Every script gets ``runs`` (the registry's listing) and a
    ``print_config`` that describes each key. ``--help`` shows the calling script's docstring under its
    own name. With an observer
    (``-F DIR``), each run attaches the files it wrote into the models and plots folders (its
    ``.keras``, history and figures) as artifacts.
    """
    import inspect

    from sacred.dependencies import Source

    # sacred takes the docstring, file and folder of the module that creates the Experiment (this one):
    # give it the experiment module's, so that --help shows its docstring under the script's name (the module
    # infodropout/paper/experiments/cifar.py is started as ./cifar.py). Its folder stays the repository's top, where
    # the scripts are, so that sacred names the sources as before.
    script_globals = inspect.stack()[1][0].f_globals
    script_file = Path(script_globals.get("__file__", f"{name}.py")).resolve()
    experiment = Experiment(name, save_git_info=False, base_dir=str(PACKAGE_ROOT))
    experiment.doc = script_globals.get("__doc__") or ""
    if script_file.is_file():
        experiment.mainfile = Source.create(str(script_file), save_git_info=False)
        experiment.sources.add(experiment.mainfile)
    # The module a sweep's point process runs with `python -m` (run with -m itself, the module is __main__).
    spec = script_globals.get("__spec__")
    experiment.module = spec.name if spec is not None else script_globals.get("__name__", name)
    experiment.point_functions = {}  # filled by infodropout.paper.cli.points.add_point_function
    script = script_file.name
    experiment.get_usage = lambda program_name=None: Experiment.get_usage(
        experiment, program_name or os.path.join(experiment.base_dir, script))
    experiment.captured_out_filter = apply_backspaces_and_linefeeds
    experiment.logger = _quiet_logger(name)
    experiment.add_config(dict(defaults))
    for config_name, values in (named_configs or {}).items():
        experiment.add_named_config(config_name, dict(values))

    smallest_width = ALL_CNN_SMALLEST_WIDTH.get(name) if "filter_percentage" in rules else None

    @experiment.config_hook
    def _validate(config, command_name, logger):
        try:
            warnings = validate(config, rules, defaults, smallest_width)
        except ValueError as error:
            fail(str(error))
        for warning in warnings if command_name != POINT_COMMAND else ():  # the sweep itself warned once
            print(f"{Path(sys.argv[0]).name}: warning: {warning}", file=sys.stderr)
        if command_name in CHECKPOINT_COMMANDS and "models_dir" in config:
            return _resolved_run(experiment, name, config, defaults)
        return {}

    started = {}

    @experiment.pre_run_hook
    def _remember_start(_config):
        started["time"] = time.time()
        if _config.get("threads", 0) > 0:  # before the command's first TensorFlow op
            from infodropout.paper.machine import set_threads

            try:
                set_threads(_config["threads"])
            except RuntimeError as error:
                fail(str(error), status=1)

    @experiment.post_run_hook
    def _attach_outputs(_config, _run):
        if _run.observers:
            outputs = dict(written_since(started.get("time", 0.0), [_config.get("models_dir"), _config.get("plots_dir")]))
            if "models_dir" in _config:  # the run's own network and history, also when reused rather than trained
                own = checkpoint_path(_config["models_dir"], run_name(name, _config, defaults))
                for path in (own, own.with_suffix(".history.jsonl"), registry.record_path(own)):
                    if path.is_file():
                        outputs.setdefault(path, path.name)
            for path, artifact in sorted(outputs.items()):
                _run.add_artifact(str(path), name=artifact)

    def runs(_config):
        """List the trained runs in models_dir, one line each: the keys that differ from the defaults, complete
        or at which epoch, and the test result; `runs with KEY=VALUE ...` lists only those with these values."""
        wanted = {key: _config[key] for key in sorted(_typed(experiment, _config, defaults))
                  if key in defaults and key not in NAME_EXCLUDED_KEYS}
        found = [run for run in registry.trained_runs(_config["models_dir"], name, defaults)
                 if all(registry.same_value(run.config.get(key), value) for key, value in wanted.items())]
        print(registry.runs_table(found, _config["models_dir"], name,
                                  " ".join(f"{key}={registry.format_value(value)}" for key, value in wanted.items())))

    experiment.command(runs, unobserved=True)
    add_described_print_config(experiment, {key: DESCRIPTIONS.get((name, key)) or DESCRIPTIONS.get(key, "")
                                            for key in defaults}, dict(rules))
    # What check_config_keys compares the command line with.
    experiment.valid_keys = frozenset(defaults)
    experiment.valid_named_configs = frozenset(named_configs or {})
    experiment.typed_keys = set()
    return experiment


def _typed(experiment: Experiment, config: Mapping, defaults: Mapping) -> set[str]:
    """The keys the user gave: those typed on the command line (set by :func:`run_experiment`) and any that
    differ from their defaults (a run started from Python rather than the command line)."""
    return set(experiment.typed_keys) | {key for key in defaults if key in config and config[key] != defaults[key]}


def _resolved_run(experiment: Experiment, name: str, config: Mapping, defaults: Mapping) -> dict:
    """For a command that reads a trained run: the run the user's values choose (see
    :func:`infodropout.paper.train.registry.resolve`), flagged on the first line if unfinished and said in one line
    where it is not named exactly. Returns the config updates that make the command run with its values."""
    script = f"./{Path(sys.argv[0]).name}" if sys.argv and sys.argv[0] else f"./{name}.py"
    resolution = registry.resolve(name, config, defaults, _typed(experiment, config, defaults), script)
    for line in (resolution.run and resolution.run.unfinished_note(), resolution.note):
        if line:
            print(line, flush=True)
    return resolution.updates


def check_config_keys(experiment: Experiment, argv: list[str]) -> None:
    """End with one line and status 2 if an entry after ``with`` names no config key (or a word names
    no named config), suggesting the closest valid one, instead of sacred's three-line
    ``ConfigAddedError`` and status 1."""
    keys = getattr(experiment, "valid_keys", None)
    if keys is None or "with" not in argv:
        return
    if POINT_COMMAND in argv[1:argv.index("with")]:  # a sweep's point: its function, values and result file too
        keys = keys | frozenset(POINT_KEYS)
    named = getattr(experiment, "valid_named_configs", frozenset())
    for update in argv[argv.index("with") + 1:]:
        if update.startswith("-"):  # sacred's options follow the updates
            break
        if "=" in update:
            key, known, kind = update.split("=", 1)[0].split(".", 1)[0].strip(), keys, "config key"
        elif update.endswith((".json", ".yaml", ".yml", ".pickle")):  # a config file, sacred reads it
            continue
        else:
            key, known, kind = update.strip(), named, "named config"
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known | named if kind == "named config" else known), n=1)
        hint = f"did you mean {close[0]}?" if close else f"valid keys: {', '.join(sorted(known))}."
        fail(f"unknown {kind} {key!r} in `{update}`: {hint} (`print_config` lists every key.)")


# The commands that read a trained network: a missing one stops them before any work.
CHECKPOINT_COMMANDS = frozenset({"test", "correlation", "histograms", "plot", "nuisance", "samples", "probe"})


def written_since(start: float, folders) -> list[tuple[Path, str]]:
    """The files under ``folders`` (None entries skipped) modified since ``start``, hidden (temporary)
    files and TensorBoard logs left out, each with a flat artifact name (observers store artifacts in
    one folder): the file's name, after its subfolder's (``<sweep folder>__figure5.png``) if it has one."""
    found = {}
    for folder in folders:
        if not folder or not Path(folder).is_dir():
            continue
        for path in Path(folder).rglob("*"):
            relative = path.relative_to(folder).parts
            if (path.is_file() and path.stat().st_mtime >= start - 1 and not any(p.startswith(".") for p in relative)
                    and not any(p.endswith(".tensorboard") for p in relative)):
                found[path] = "__".join(relative)
    return sorted(found.items())


class _RedundantWarnings:
    """Drops three of sacred's warnings: "No observers have been added to this run" (a run without observers
    is the normal case; docs/experiments.md says how to add one, ``-F DIR``), "Changed type of config entry"
    (``verbose=2`` over the default ``'auto'``: every value is checked against its rule instead) and "Added new
    config entry" for the entries a sweep gives its point's process (``point=...``, the command's own arguments)."""

    POINT_ENTRIES = tuple(f'Added new config entry: "{key}"' for key in POINT_KEYS)

    @staticmethod
    def filter(record) -> bool:
        message = record.getMessage()
        return not ("No observers have been added" in message or message.startswith("Changed type of config entry")
                    or message.startswith(_RedundantWarnings.POINT_ENTRIES))


def _quiet_logger(name: str):
    """sacred's console log (``INFO - message``) without its :class:`_RedundantWarnings`."""
    import logging

    logger = logging.getLogger(f"infodropout.{name}")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
        handler.addFilter(_RedundantWarnings())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def quote_word_lists(argv: list[str]) -> list[str]:
    """The command line with the bare words of list values quoted, ``methods=[information,binary]`` →
    ``methods=["information","binary"]``, so that sacred reads a list (not a string, with a warning that
    its type changed); numbers, booleans and quoted items are left as typed."""
    import ast
    import re

    def quoted(item: str) -> str:
        item = item.strip()
        try:
            ast.literal_eval(item)
            return item
        except (ValueError, SyntaxError):
            return '"' + item + '"' if re.fullmatch(r"[\w.+-]+", item) else item

    rewritten = []
    for arg in argv:
        match = re.fullmatch(r"([\w.]+)=\[(.*)\]", arg)
        if match and match.group(2).strip():
            arg = f"{match.group(1)}=[{','.join(quoted(item) for item in match.group(2).split(','))}]"
        rewritten.append(arg)
    return rewritten


def run_experiment(experiment: Experiment) -> None:
    """The scripts' entry point: sacred's command line, with :func:`fail`'s message printed last, after
    sacred's own log lines, and no traceback."""
    import warnings

    script = Path(sys.argv[0]).name
    warnings.formatwarning = lambda message, category, *args, **kwargs: \
        f"{script}: {category.__name__}: {message}\n"
    sys.argv[1:] = quote_word_lists(sys.argv[1:])
    preflight.install_quiet_tensorflow_import()
    try:
        if isinstance(experiment, Experiment):
            if check_command_line(experiment, sys.argv, f"./{script}") == "help":
                try:
                    print(help_text(experiment, script), flush=True)
                except BrokenPipeError:  # `--help | head`: the reader has seen enough
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
            check_config_keys(experiment, sys.argv)
            experiment.typed_keys = typed_keys(experiment, sys.argv)
        experiment.run_commandline()
    except CommandFailed as failure:
        print(f"{Path(sys.argv[0]).name}: {failure.message}", file=sys.stderr)
        sys.exit(failure.code)
    except KeyboardInterrupt:
        # Ctrl-C outside training (start-up, test, a download, data generation): the temporary files
        # were removed by the finally clauses the interrupt unwound through.
        print(f"{Path(sys.argv[0]).name}: {INTERRUPTED}", file=sys.stderr)
        sys.exit(130)