"""The scripts' command line before sacred reads it: the help (the script's commands first, each with its
whole summary, then sacred's options), one line for a mistyped command or a missing ``with``, and
``print_config`` with a description of every key.

Part of the sacred glue (:mod:`infodropout.paper.cli.experiment`): it reads sacred's commands and options, given
what the glue knows of the experiment (its named configs) as an argument.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable

from infodropout.paper.errors import fail

# sacred's own commands, listed after the script's.
SACRED_COMMANDS = ("print_config", "print_named_configs", "save_config", "print_dependencies")


def summary(function: Callable) -> str:
    """The first sentence of a command's docstring, whole (sacred cuts it at the first line break)."""
    text = " ".join((function.__doc__ or "").split())
    match = re.match(r"(.+?[.!?])(\s+[A-Z`(]|$)", text)
    return match.group(1) if match else text


def commands_of(experiment) -> dict[str, Callable]:
    """The experiment's commands, the script's own first (in the order it defined them), then sacred's."""
    commands = dict(experiment.gather_commands())
    own = {name: command for name, command in commands.items() if name not in SACRED_COMMANDS + ("runs",)}
    shared = ("runs",) + SACRED_COMMANDS  # every script's: the registry's listing, then sacred's
    return {**own, **{name: commands[name] for name in shared if name in commands}}


def help_text(experiment, script: str) -> str:
    """``--help``: how to call the script, its docstring, its commands with their whole summaries, then sacred's
    options (observers, log level, ...)."""
    width = min(shutil.get_terminal_size((100, 24)).columns, 110)
    commands = commands_of(experiment)
    column = max(len(name) for name in commands) + 4
    lines = ["Usage:", f"  {script} COMMAND [with KEY=VALUE ...] [options]",
             f"  {script} help [COMMAND]      (a command's whole description)", f"  {script} (-h | --help)", ""]
    lines += [textwrap.dedent(experiment.doc or "").strip(), "", "Commands:"]
    for name, command in commands.items():
        if name == SACRED_COMMANDS[0]:
            lines.append("  sacred's:")
        lines.append(textwrap.fill(summary(command), width, initial_indent=f"  {name:<{column - 2}}",
                                   subsequent_indent=" " * column, break_on_hyphens=False, break_long_words=False))
    lines += ["", "KEY=VALUE sets a config entry (`print_config` lists every key with its description); a run is named",
              "by the entries that differ from their defaults, and `runs` lists the trained ones.", ""]
    usage = experiment.get_usage(script)[1]
    options = usage[usage.find("Options:"):usage.find("Arguments:")].rstrip()
    lines += [options.replace("Options:", "Options (sacred's):", 1)] if "Options:" in usage else []
    return "\n".join(lines)


def option_arguments(experiment) -> set[str]:
    """The sacred flags that take a value (``-F DIR``), whose value is not a command or an update."""
    flags = set()
    for option in experiment.all_cli_options:
        if getattr(option, "arg", None):
            flags.update(option.get_flags())
    return flags


def check_command_line(experiment, argv: list[str], script: str,
                       named_configs: frozenset[str] = frozenset()) -> str | None:
    """Refuse in one line, status 2, what sacred would answer with its usage block: an unknown command
    (with the closest one), updates without ``with``, or no command at all (which sacred would take for
    ``train``, the default command, and start training unasked). ``named_configs`` are the experiment's. Returns
    ``"help"`` where the script's help is asked for (``-h``, ``--help``, ``help``), else None."""
    commands = commands_of(experiment)
    takes_value = option_arguments(experiment)
    words, skip = [], False
    for token in argv[1:]:
        if skip:
            skip = False
            continue
        if token == "with":
            break
        if token in ("-h", "--help"):
            return "help"
        if token.startswith("-"):
            skip = token in takes_value
            continue
        words.append(token)
    after_with = argv[argv.index("with") + 1:] if "with" in argv else []
    if not words:  # sacred would run the default command, train: hours, unasked
        example = f"`{script} train with {' '.join(after_with)}`" if after_with else f"`{script} train`"
        fail(f"no command: name one{' before `with`' if 'with' in argv else ''}, e.g. {example} "
             f"(commands: {', '.join(commands)}; `{script} --help` says what each does).")
    first = words[0]
    if first == "help":
        if len(words) == 1:
            return "help"
        first, words = words[1], words[1:]
    if first not in commands:
        if "=" in first:
            fail(f"missing `with` before {first}: e.g. `{script} train with {' '.join(words)}` "
                 f"(commands: {', '.join(commands)}).")
        close = difflib.get_close_matches(first, list(commands), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}? " if close else ""
        fail(f"unknown command {first!r}: {hint}(commands: {', '.join(commands)}; `{script} --help` says what each does).")
    if len(words) > 1:
        extra = words[1]
        what = f"before {extra}" if "=" in extra or extra in named_configs \
            else f"before {extra!r}"
        fail(f"missing `with` {what}: `{script} {first} with {' '.join(words[1:])}`.")
    return None


def typed_keys(experiment, argv: list[str]) -> set[str]:
    """The config keys the command line sets, by an update after ``with`` or by a named config."""
    from sacred.arg_parser import get_config_updates

    if "with" not in argv:
        return set()
    updates = []
    for token in argv[argv.index("with") + 1:]:
        if token.startswith("-"):
            break
        updates.append(token)
    values, named = get_config_updates(updates)
    keys = set(values)
    for name in named:
        named_config = experiment.named_configs.get(name)
        if named_config is not None:
            keys.update(getattr(named_config, "_conf", {}) or {})
    return keys


# A terminal's colour and style codes (ESC [ ... m), as sacred writes them.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def add_described_print_config(experiment, descriptions: dict[str, str], rules: dict) -> None:
    """Replace sacred's ``print_config`` by one that prints, beside every key, what it means and (where a
    rule says) which values it takes."""
    from sacred.commands import print_config as sacred_print_config

    def print_config(_run):
        """Print the configuration, each key with its description and valid values, and exit. On a terminal,
        values set on the command line are highlighted (blue: changed, green: added, red: changed type)."""
        docs = _run.config_modifications.docs
        for key in _run.config:
            text = descriptions.get(key, "")
            if key in rules:
                text = f"{text}; {rules[key].description}" if text else rules[key].description
            if text:
                docs[key] = text
        if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
            sacred_print_config(_run)
            return
        # Sacred colours its lines whatever the output: a pipe or a file gets them without the escape codes.
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            sacred_print_config(_run)
        sys.stdout.write(ANSI_ESCAPE.sub("", printed.getvalue()))

    experiment.command(print_config, unobserved=True)
