"""The sacred glue: an experiment's command line (``./cifar.py train with beta=1.0``, ``print_config``, named configs,
observers ``-F DIR``) turned into its typed config and a call of the command's plain function.

An experiment hands :func:`run_experiment` its config class and its commands (plain functions of a config) from its
``main``; the sacred Experiment is made there, when the script runs, never on import. Every sacred command is a thin
wrapper: sacred's config dict becomes the experiment's config (validated once, by the config itself), and the
command's function is called with it (and with sacred's ``log_scalar`` where it takes one). Besides
:mod:`infodropout.paper.cli.command_line` (the help and ``print_config``), this is the only module that imports
sacred, and only inside :func:`build_experiment`.
"""

from __future__ import annotations

import difflib
import inspect
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infodropout.paper.cli import preflight
from infodropout.paper.cli.command_line import (
    add_described_print_config, check_command_line, help_text, typed_keys,
)
from infodropout.paper.configs.base import ExperimentConfig
from infodropout.paper.errors import CommandFailed, fail
from infodropout.paper.paths import REPO_ROOT
from infodropout.paper.train import registry
from infodropout.paper.train.run_names import NAME_EXCLUDED_KEYS, checkpoint_path, differs, run_name


@dataclass(frozen=True)
class CommandLine:
    """What an experiment hands its command line: its name, its help text (the module's docstring), its source
    file (sacred records it under an observer), its config class and its commands in the order ``--help`` lists them
    (the first is the default, ``train``)."""

    name: str
    doc: str
    source: str
    config: type[ExperimentConfig]
    commands: Sequence[Callable]


@dataclass
class _Invocation:
    """What the command line says beyond sacred's config: the keys the user typed, and when the command started."""

    typed: set[str] = field(default_factory=set)
    started: float = 0.0

    def given(self, config: Mapping, defaults: Mapping) -> set[str]:
        """The keys the user gave: those typed on the command line and any that differ from their defaults."""
        return set(self.typed) | {key for key in defaults if key in config and differs(config[key], defaults[key])}


def sacred_command(function: Callable, config_class: type[ExperimentConfig]) -> Callable:
    """The sacred command that calls ``function`` (a plain function of the config, with a ``log_scalar`` keyword
    where it logs metrics) with the config sacred's dict makes. It keeps ``function``'s name and docstring, which
    sacred and ``--help`` show; its own signature, ``(_config, _run)``, is what sacred fills."""
    logs = "log_scalar" in inspect.signature(function).parameters

    def command(_config, _run):
        config = config_class.from_values(_config)
        return function(config, log_scalar=_run.log_scalar) if logs else function(config)

    command.__name__ = command.__qualname__ = function.__name__
    command.__doc__ = function.__doc__
    return command


def build_experiment(line: CommandLine, invocation: _Invocation | None = None):
    """The sacred Experiment of ``line``: its config's defaults and named configs, the check of every value before
    any command (an invalid one ends the program at once with one line and status 2, before TensorFlow is
    imported), the trained run a command of :data:`CHECKPOINT_COMMANDS` reads (:func:`registry.resolve`: none or
    several end it, as fast, with status 1), its commands, ``runs`` and a ``print_config`` that describes each key.
    With an observer (``-F DIR``), each run attaches the files it wrote into the models and plots folders (its
    ``.keras``, history and figures) as artifacts."""
    from sacred import Experiment
    from sacred.dependencies import Source
    from sacred.utils import apply_backspaces_and_linefeeds

    name, config_class = line.name, line.config
    invocation = invocation if invocation is not None else _Invocation()
    defaults = config_class.defaults()
    # The experiment's folder is the repository's top, where the scripts are, so that sacred names the sources
    # as the scripts; its docstring and main file are the experiment module's (help shows them).
    experiment = Experiment(name, save_git_info=False, base_dir=str(REPO_ROOT))
    experiment.doc = line.doc
    if Path(line.source).is_file():
        experiment.mainfile = Source.create(str(Path(line.source).resolve()), save_git_info=False)
        experiment.sources.add(experiment.mainfile)
    experiment.captured_out_filter = apply_backspaces_and_linefeeds
    experiment.logger = quiet_logger(name)
    experiment.add_config(defaults)
    for config_name, values in config_class.named_configs.items():
        experiment.add_named_config(config_name, dict(values))

    @experiment.config_hook
    def _validate(config, command_name, logger):
        try:
            warnings = config_class.from_values(config).warnings()
        except ValueError as error:
            fail(str(error))
        for warning in warnings:
            print(f"{Path(sys.argv[0]).name}: warning: {warning}", file=sys.stderr)
        if command_name in CHECKPOINT_COMMANDS and "models_dir" in config:
            return _resolved_run(name, config, defaults, invocation.given(config, defaults))
        return {}

    @experiment.pre_run_hook
    def _remember_start(_config):
        invocation.started = time.time()
        if _config.get("threads", 0) > 0:  # before the command's first TensorFlow op
            from infodropout.paper.machine import set_threads

            try:
                set_threads(_config["threads"])
            except RuntimeError as error:
                fail(str(error), status=1)

    @experiment.post_run_hook
    def _attach_outputs(_config, _run):
        if _run.observers:
            outputs = dict(written_since(invocation.started, [_config.get("models_dir"), _config.get("plots_dir")]))
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
        wanted = {key: _config[key] for key in sorted(invocation.given(_config, defaults))
                  if key in defaults and key not in NAME_EXCLUDED_KEYS}
        found = [run for run in registry.trained_runs(_config["models_dir"], name, defaults)
                 if all(registry.same_value(run.config.get(key), value) for key, value in wanted.items())]
        print(registry.runs_table(found, _config["models_dir"], name,
                                  " ".join(f"{key}={registry.format_value(value)}" for key, value in wanted.items())))

    default, *others = line.commands
    experiment.main(sacred_command(default, config_class))  # registers the command too
    for command in others:
        experiment.command(sacred_command(command, config_class))
    experiment.command(runs, unobserved=True)
    add_described_print_config(experiment, config_class.descriptions(), config_class.rules())
    return experiment


def _resolved_run(name: str, config: Mapping, defaults: Mapping, typed: set[str]) -> dict:
    """For a command that reads a trained run: the run the user's values choose (see
    :func:`infodropout.paper.train.registry.resolve`), flagged on the first line if unfinished and said in one line
    where it is not named exactly. Returns the config updates that make the command run with its values."""
    script = f"./{Path(sys.argv[0]).name}" if sys.argv and sys.argv[0] else f"./{name}.py"
    resolution = registry.resolve(name, config, defaults, typed, script)
    for line in (resolution.run and resolution.run.unfinished_note(), resolution.note):
        if line:
            print(line, flush=True)
    return resolution.updates


def check_config_keys(config_class: type[ExperimentConfig], argv: list[str]) -> None:
    """End with one line and status 2 if an entry after ``with`` names no config key (or a word names
    no named config), suggesting the closest valid one, instead of sacred's three-line
    ``ConfigAddedError`` and status 1."""
    if "with" not in argv:
        return
    keys = frozenset(config_class.field_names())
    named = frozenset(config_class.named_configs)
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


class RedundantWarnings:
    """Drops two of sacred's warnings: "No observers have been added to this run" (a run without observers
    is the normal case; docs/experiments.md says how to add one, ``-F DIR``) and "Changed type of config entry"
    (``verbose=2`` over the default ``'auto'``: every value is checked against its rule instead)."""

    @staticmethod
    def filter(record) -> bool:
        message = record.getMessage()
        return not ("No observers have been added" in message or message.startswith("Changed type of config entry"))


def quiet_logger(name: str):
    """sacred's console log (``INFO - message``) without its :class:`RedundantWarnings`."""
    import logging

    logger = logging.getLogger(f"infodropout.{name}")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
        handler.addFilter(RedundantWarnings())
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


def run_experiment(line: CommandLine) -> None:
    """The scripts' entry point (an experiment's ``main``): the checks before anything heavy is imported, then
    sacred's command line, with :func:`fail`'s message printed last, after sacred's own log lines, and no
    traceback."""
    import warnings

    preflight.prepare()
    script = Path(sys.argv[0]).name
    warnings.formatwarning = lambda message, category, *args, **kwargs: \
        f"{script}: {category.__name__}: {message}\n"
    argv = [sys.argv[0], *quote_word_lists(sys.argv[1:])]
    invocation = _Invocation()
    try:
        experiment = build_experiment(line, invocation)
        named = frozenset(line.config.named_configs)
        if check_command_line(experiment, argv, f"./{script}", named) == "help":
            try:
                print(help_text(experiment, script), flush=True)
            except BrokenPipeError:  # `--help | head`: the reader has seen enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        check_config_keys(line.config, argv)
        invocation.typed = typed_keys(experiment, argv)
        experiment.run_commandline(argv)
    except CommandFailed as failure:
        print(f"{script}: {failure.message}", file=sys.stderr)
        sys.exit(failure.code)
    except KeyboardInterrupt:
        # Ctrl-C outside training (start-up, test, a download, data generation): the temporary files
        # were removed by the finally clauses the interrupt unwound through.
        print(f"{script}: {preflight.INTERRUPTED}", file=sys.stderr)
        sys.exit(130)
