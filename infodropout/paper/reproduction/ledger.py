"""The ledger of a plan (``steps.json``): for each step done, what it ran as data (its experiment, command, named
configs and config, the folders it was given, its ``jobs``), its status, time and machine.

A step counts as done when its ledger entry holds the plan's experiment, command, named configs and config, compared
as data: where its figures went and how many runs it trained at once (``jobs``, one of
:data:`~infodropout.paper.train.run_names.MACHINE_KEYS`) change no number, so they are kept beside the config and
never compared. Ledgers written before held each step's command line (``argv``); they are read as data here, so that
a committed ledger keeps every step it records done where it was done before.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from infodropout.paper.reproduction.plans import VERBOSE, Step, command_value
from infodropout.paper.train.checkpoint import atomic_write
from infodropout.paper.train.run_names import MACHINE_KEYS

# The folders reproduce.py passes on to every step: where the runs and data sets are. A step done with others is run
# again by the runner (its runs are not in this folder), but read by the report as done.
FOLDER_KEYS = ("datasets_dir", "models_dir")


class LedgerError(ValueError):
    """The ledger (steps.json) cannot be read; the message names it and how to recover."""


def _load(path: Path) -> dict:
    """The ledger's entries as written (empty if there is none); :class:`LedgerError` where it is not a JSON object of
    steps (cut short by a full disk, edited by hand)."""
    if not path.exists():
        return {}
    try:
        ledger = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        ledger = error
    if not isinstance(ledger, dict) or not all(isinstance(entry, dict) for entry in ledger.values()):
        detail = f" ({ledger})" if isinstance(ledger, Exception) else ""
        raise LedgerError(
            f"{path} is not a ledger of steps{detail}. Restore it (`git checkout -- {path}` if it is committed) or "
            "delete it, then run the same command again: without it every step runs again, but each reuses the "
            "runs it trained (models/), so only their testing and figures are redone.")
    return ledger


def read_ledger(path: str | os.PathLike) -> dict[str, dict]:
    """The ledger at ``path`` (empty if there is none), each entry as data (:func:`entry_of`). A damaged file raises
    :class:`LedgerError` saying how to recover: the ledger only saves time, since every trained run is reused from
    the models folder."""
    return {name: entry_of(entry) for name, entry in _load(Path(path)).items()}


def record(path: str | os.PathLike, name: str, entry: dict) -> dict[str, dict]:
    """Add one step's entry to the ledger at ``path`` and return the ledger, read as data. Several steps may finish
    at once (``--step`` run by a scheduler, on a shared file system): the file is re-read and rewritten under an
    exclusive lock, so that no step's entry overwrites another's; the other entries are written back as they were."""
    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ledger = _load(path)
            ledger[name] = entry
            atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(ledger, indent=1) + "\n"))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {key: entry_of(value) for key, value in ledger.items()}


def planned(step: Step, folders: Mapping[str, str] | None = None, jobs: int | None = None) -> dict:
    """What ``step`` runs, as a ledger entry holds it: its config as JSON gives it back, the ``folders`` and ``jobs``
    it is given beside it."""
    entry = {"experiment": step.experiment, "command": step.command, "configs": list(step.configs),
             "config": json.loads(json.dumps(dict(step.config)))}
    if folders:
        entry["folders"] = dict(folders)
    if jobs is not None:
        entry["jobs"] = jobs
    return entry


def ran_as_planned(entry: Mapping, step: Step, folders: Mapping[str, str] | None = None) -> bool:
    """Whether ledger ``entry`` is ``step`` done with the experiment, command and config the plan gives it now,
    compared as data, whatever ``jobs`` it ran with; with ``folders``, also in those folders (the runner's question:
    a step done with runs in another models folder runs again), else in whichever (the report's)."""
    if entry.get("status") != "done":
        return False
    now = planned(step)
    if any(not same_data(entry.get(key), now[key]) for key in ("experiment", "command", "configs", "config")):
        return False
    return folders is None or same_data(entry.get("folders", {}), dict(folders))


def same_data(a, b) -> bool:
    """Whether two JSON values are equal, types included: 3 is not 3.0 nor True (sacred reads them apart)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_data(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def cifar10_in_ledger(ledger: Mapping[str, Mapping], default: bool) -> bool:
    """Whether the steps a ledger (read as data) records ran on CIFAR-10 itself: not where a ``cifar`` step's config
    names a stand-in (``dataset=fashion``, ``dataset=sample``); ``default`` where it records no such step. A report
    rebuilt from a ledger then judges the plan its steps ran, whatever data the rebuilding host holds."""
    configs = [entry.get("config", {}) for entry in ledger.values() if entry.get("experiment") == "cifar"]
    if not configs:
        return default
    return all(config.get("dataset", "cifar10") == "cifar10" for config in configs)


def command_line(entry: Mapping) -> str:
    """The command a ledger entry ran, as a user types it: ``cifar.py sweep with softplus beta=1.2 ... verbose=2``."""
    values = {**entry.get("config", {}), **entry.get("folders", {}),
              **{key: value for key, value in entry.items() if key in MACHINE_KEYS}}
    values.setdefault("verbose", VERBOSE)
    return " ".join([f"{entry.get('experiment', '')}.py", entry.get("command", ""), "with", *entry.get("configs", []),
                     *(f"{key}={command_value(value)}" for key, value in values.items())])


# ------------------------------------------------------------------------------------ ledgers of command lines

def entry_of(entry: Mapping) -> dict:
    """A ledger entry as data: as it is where it was written so; where it holds a command line (``argv``, written
    before), that command read into the entry's fields. The ``plots_dir`` is dropped (the step's folder under the
    work folder); ``verbose=2``, which every step was given, too."""
    if "argv" not in entry:
        return dict(entry)
    argv = list(entry["argv"])
    words = argv[1:]
    command = words.pop(0) if words and "=" not in words[0] and words[0] != "with" else ""
    if words[:1] == ["with"]:
        words.pop(0)
    data = {key: value for key, value in entry.items() if key != "argv"}
    data.update(experiment=Path(argv[0]).stem if argv else "", command=command, configs=[], config={})
    for word in words:
        if "=" not in word:
            data["configs"].append(word)
            continue
        key, text = word.split("=", 1)
        value = typed(text)
        if key == "plots_dir" or (key == "verbose" and value == VERBOSE):
            continue
        if key in FOLDER_KEYS:
            data.setdefault("folders", {})[key] = text
        elif key in MACHINE_KEYS:
            data[key] = value
        else:
            data["config"][key] = value
    return data


def typed(text: str):
    """A value of a command line as the plan wrote it (:func:`~infodropout.paper.reproduction.plans.command_value`): a
    number, True/False/None, a list ``[a,b]`` of them or of words, else the word itself. Text the plan would not have
    written so (``1e-3`` for 0.001) stays text, so that it never equals a value the plan gives now."""
    if text.startswith("[") and text.endswith("]"):
        value = [typed(item) for item in _items(text[1:-1])]
    else:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        if not (value is None or isinstance(value, (bool, int, float))):
            return text
    return value if command_value(value) == text else text


def _items(inner: str) -> Sequence[str]:
    """The items of a list's text between its brackets, split at the commas outside inner brackets."""
    if not inner:
        return []
    items, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        depth += 1 if char == "[" else -1 if char == "]" else 0
        if char == "," and depth == 0:
            items.append(inner[start:index])
            start = index + 1
    return [*items, inner[start:]]
