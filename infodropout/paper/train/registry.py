"""The run registry: the trained runs in a models folder, what each was trained with, how far it got and its
test result, and the choice of one run from the few keys a user remembers.

Each run keeps ``<name>.run.json`` beside its ``<name>.keras``: the values its name is made of (the keys that
differ from the defaults, which a long name hashed to ``.~<hex>`` no longer shows), every name-relevant value
of its config, how and where its numbers are computed (the keys left out of its name that change them, which a
resumed run is held to), the epoch its training ended at and its last test metrics. A run's values are read from its
record, never parsed back from its name: a name is computed from a config (``run_names.run_name``), which is how a
command finds the run its values name. How far a run got is read from its ``<name>.history.jsonl``.

Plain Python, neither sacred nor TensorFlow: the scripts resolve a run in their config hook, before anything
heavy is imported, so that a wrong guess is answered at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

from infodropout.paper.train.checkpoint import TrainingState
from infodropout.paper.errors import fail
from infodropout.paper.machine import threads_in_use
from infodropout.paper.train.run_names import NAME_EXCLUDED_KEYS, checkpoint_path, computation_values, differs, run_name

RECORD_SUFFIX = ".run.json"


def record_path(checkpoint: str | os.PathLike) -> Path:
    """Where the run whose network is ``checkpoint`` (``<name>.keras``) keeps its record."""
    return Path(checkpoint).with_suffix(RECORD_SUFFIX)


def name_values(config: Mapping, defaults: Mapping) -> dict:
    """The config's values that a run's name depends on (every key but :data:`NAME_EXCLUDED_KEYS`)."""
    return {key: config[key] for key in sorted(config) if key in defaults and key not in NAME_EXCLUDED_KEYS}


def differing(values: Mapping, defaults: Mapping) -> dict:
    """The entries of ``values`` that differ from their defaults: the parts of a run's name, by its rule, ``differs``."""
    return {key: value for key, value in values.items() if key not in defaults or differs(value, defaults[key])}


def record_training(checkpoint: str | os.PathLike, experiment: str, config: Mapping, defaults: Mapping,
                    restart: bool = False) -> None:
    """Write (or update) the run's record as its training starts: its name, its differing keys, its
    name-relevant config, and how and where its numbers are computed (:func:`check_resume` compares a resumed
    run with these). A test result of the same run is kept unless it ``restart``\\ s. A run resumed from epochs
    trained before records said how they were computed gets no such entry: it is not known."""
    record = read_record(checkpoint) or {}
    values = name_values(config, defaults)
    kept = {} if restart else {key: record[key] for key in ("test", "test_epoch", "trained_epochs") if key in record}
    if restart or not TrainingState(checkpoint).exists():
        kept.update(computation=computation_values(config), machine=machine_values(config))
    else:
        kept.update({key: record[key] for key in ("computation", "machine") if key in record})
    _write(record_path(checkpoint), {"experiment": experiment, "name": Path(checkpoint).stem,
                                     "keys": differing(values, defaults), "config": values, **kept})


def machine_values(config: Mapping) -> dict:
    """Where a run's numbers are computed: its strategy, the devices it reads (under a strategy other than the
    default) and the threads each op uses (``threads=0`` counted as the cores it stands for)."""
    values = {"strategy": config.get("strategy", "default"), "threads": threads_in_use(config.get("threads", 0))}
    if values["strategy"] != "default":
        values["devices"] = config.get("devices", 0)
    return values


def check_resume(checkpoint: str | os.PathLike, config: Mapping, restart: bool = False) -> None:
    """Before a run trains, where it has epochs to resume from: end the program in one line (status 1) if a
    key that chooses how its numbers are computed (:data:`~infodropout.paper.train.run_names.COMPUTATION_KEYS`)
    differs from what its record says it began with, since the resumed run would silently be neither; say in
    one line where only the machine's keys differ (strategy, devices, threads), which a run moved to another
    machine must be allowed."""
    if restart or not TrainingState(checkpoint).exists():
        return
    record = read_record(checkpoint) or {}
    name = Path(checkpoint).name
    for kind, now in (("computation", computation_values(config)), ("machine", machine_values(config))):
        before = record.get(kind)
        changed = [key for key in sorted(set(before or {}) | set(now))
                   if isinstance(before, dict) and not same_value(before.get(key), now.get(key))]
        if not changed:
            continue

        def shown(values: Mapping) -> str:
            return " ".join(f"{key}={format_value(values.get(key, '(unset)'))}" for key in changed)

        if kind == "computation":
            fail(f"{name} was trained with {shown(before)}; resuming it with {shown(now)} would go on with other "
                 f"numerics. Resume it with {shown(before)}, or start over with restart=True.", status=1)
        print(f"Resuming {name} with {shown(now)} where it began with {shown(before)}: its numbers will differ in "
              "their last bits from a run that kept them.", flush=True)


def record_trained(checkpoint: str | os.PathLike) -> None:
    """Note in the run's record that its training ended normally (its schedule done, or early-stopped) at
    the history's last epoch."""
    record = read_record(checkpoint)
    if record is not None:
        record["trained_epochs"] = history_epochs(checkpoint)
        _write(record_path(checkpoint), record)


def record_test(checkpoint: str | os.PathLike, metrics: Mapping[str, float], experiment: str | None = None,
                config: Mapping | None = None, defaults: Mapping | None = None) -> None:
    """Keep the run's last test metrics (and the epoch it was tested at) in its record; a run trained before
    records were kept gets one where ``experiment``, ``config`` and ``defaults`` are given."""
    record = read_record(checkpoint)
    if record is None and experiment and config is not None and defaults is not None:
        record_training(checkpoint, experiment, config, defaults)
        record = read_record(checkpoint)
    if record is not None:
        record["test"] = {key: float(value) for key, value in metrics.items() if isinstance(value, Real)}
        record["test_epoch"] = history_epochs(checkpoint)
        _write(record_path(checkpoint), record)


def read_record(checkpoint: str | os.PathLike) -> dict | None:
    """The run's record, or None where it has none (or an unreadable one: it is only a convenience)."""
    try:
        record = json.loads(record_path(checkpoint).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write(path: Path, record: Mapping) -> None:
    """Write atomically: a reader never sees half a record. A folder that cannot be written (read-only, full)
    is left to the training's own files to report: the record is a convenience, its absence only makes the
    listing read the run's name instead."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        os.replace(temporary, path)
    except OSError:
        pass
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


def history_epochs(checkpoint: str | os.PathLike) -> int:
    """The last epoch in the run's history file (0 if it has none)."""
    try:
        lines = Path(checkpoint).with_suffix(".history.jsonl").read_text().splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["epoch"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line: the one before it counts
    return 0


@dataclass
class TrainedRun:
    """A run found in a models folder."""

    name: str
    checkpoint: Path
    keys: dict  # the values that differ from the defaults (its name's key=value parts)
    config: dict  # every name-relevant value it was trained with
    epochs_done: int
    epochs: int
    trained_epochs: int | None = None  # where its training ended normally, if the record says so
    test: dict = field(default_factory=dict)
    test_epoch: int | None = None

    @property
    def complete(self) -> bool:
        return self.epochs_done >= self.epochs or (self.trained_epochs is not None
                                                     and self.trained_epochs == self.epochs_done > 0)

    def status(self) -> str:
        if self.complete:
            return f"complete, {self.epochs_done} epoch{'s' if self.epochs_done != 1 else ''}"
        if not self.epochs_done:
            return f"no epoch of {self.epochs} in its history"
        return f"stopped at epoch {self.epochs_done} of {self.epochs}"

    def keys_text(self) -> str:
        return " ".join(f"{key}={format_value(value)}" for key, value in self.keys.items()) or "(the defaults)"

    def test_text(self) -> str:
        if "error" in self.test:
            text = f"test error {self.test['error']:.2f} %"
        elif "elbo" in self.test:
            text = f"test bound {self.test['elbo']:.2f} nats"
        else:
            return "not tested"
        if self.test_epoch is not None and self.test_epoch != self.epochs_done:
            text += f" (at epoch {self.test_epoch})"
        return text

    def unfinished_note(self) -> str | None:
        """The first line a command on this run prints when the run is unfinished."""
        if self.complete:
            return None
        where = f"stopped at epoch {self.epochs_done} of {self.epochs}" if self.epochs_done else \
            f"has no completed epoch in its history (of {self.epochs})"
        return (f"run {self.name} {where}: results are of an unfinished run (`train with` the same values "
                "resumes it).")


def format_value(value) -> str:
    """A value as it is typed after `with` (lists without spaces)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(item) for item in value) + "]"
    return str(value)


def same_value(a, b) -> bool:
    """Whether a value a user typed is the one a run was trained with (which run a command reads, whether a resume
    keeps its numerics): 1 equals 1.0, a list equals the same tuple, but True is not 1, as `nesterov=1` and
    `nesterov=True` are runs of two names. Whether a value differs from its default is :func:`differs`."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def trained_runs(models_dir: str | os.PathLike, experiment: str, defaults: Mapping) -> list[TrainedRun]:
    """The runs of ``experiment`` in ``models_dir``: each ``<name>.keras`` whose record says it is a run of
    ``experiment`` by that name, sorted by name. A network without a record is not listed (a nuisance probe's own, or
    a run trained before records were kept, whose values only its name would tell): a command still finds such a run
    by the name its values compute, and testing it gives it a record (:func:`record_test`)."""
    folder = Path(models_dir)
    if not folder.is_dir():
        return []
    runs = []
    for checkpoint in sorted(folder.glob(f"{experiment}*.keras")):
        record = read_record(checkpoint)
        if record is None or record.get("experiment") != experiment or record.get("name") != checkpoint.stem \
                or not isinstance(record.get("config"), dict):
            continue
        config = {**name_values(defaults, defaults), **record["config"]}
        runs.append(TrainedRun(
            name=checkpoint.stem, checkpoint=checkpoint, keys=differing(name_values(config, defaults), defaults),
            config=config, epochs_done=history_epochs(checkpoint), epochs=int(config.get("epochs", 0) or 0),
            trained_epochs=record.get("trained_epochs"), test=record.get("test") or {},
            test_epoch=record.get("test_epoch")))
    return runs


def runs_table(runs: list[TrainedRun], models_dir: str, experiment: str, wanted: str = "") -> str:
    """The ``runs`` command's listing: one line per run, its differing keys, how far it got, its test;
    ``wanted`` says which values the runs were chosen by, if any."""
    having = f" with {wanted}" if wanted else ""
    if not runs:
        return f"No trained {experiment} run{having} in {models_dir}/ (`train with ...` makes one)."
    width = max(len(run.keys_text()) for run in runs)
    status = max(len(run.status()) for run in runs)
    lines = [f"{len(runs)} trained {experiment} run{'s' if len(runs) > 1 else ''}{having} in {models_dir}/ "
             "(the keys that differ from the defaults; `test with` any of them picks a run):"]
    lines += [f"  {run.keys_text():<{width}}  {run.status():<{status}}  {run.test_text()}" for run in runs]
    return "\n".join(lines)


@dataclass
class Resolution:
    """The run a checkpoint command is to read: its record, the config values to run with and the one line
    that says which run was picked (None where the user's values name it exactly)."""

    run: TrainedRun | None
    updates: dict
    note: str | None


# Where a script's data come without a download: the values that choose the embedded MNIST sample.
OFFLINE_VALUES = {"cifar": {"dataset": "sample"}, "cluttered": {"digits": "sample"},
                  "mnist_fc": {"dataset": "sample"}, "vae": {"dataset": "sample"}}


def resolve(experiment: str, config: Mapping, defaults: Mapping, typed: Iterable[str], script: str) -> Resolution:
    """The trained run that the user's values choose, for a command that reads one.

    The run named by the config exists: that one. Else the runs whose values equal every name-relevant key
    the user typed (``typed``; other keys free): one is used, and said so; several end the program listing
    them; none ends it naming the closest run (the fewest differing keys) and what differs, or, where there
    is no run at all, what training it costs. Both end with status 1.
    """
    models_dir = config["models_dir"]
    name = run_name(experiment, config, defaults)
    path = checkpoint_path(models_dir, name)
    runs = trained_runs(models_dir, experiment, defaults)
    exact = next((run for run in runs if run.name == name), None)
    if path.exists():
        if exact is None:  # a run without a record: the config its name is computed from is its own
            exact = TrainedRun(name, path, differing(name_values(config, defaults), defaults), dict(config),
                               history_epochs(path), int(config.get("epochs", 0)))
        return Resolution(exact, {}, None)
    wanted = {key: config[key] for key in sorted(set(typed)) if key in defaults and key not in NAME_EXCLUDED_KEYS}
    wanted_text = " ".join(f"{key}={format_value(value)}" for key, value in wanted.items())
    matches = [run for run in runs if all(same_value(run.config.get(k), v) for k, v in wanted.items())]
    if len(matches) == 1:
        run = matches[0]
        with_text = f"with {wanted_text}" if wanted else "in the folder"
        return Resolution(run, dict(run.config), f"Using run {run.name}: the one trained {experiment} run {with_text} "
                                                  f"({run.status()}; `runs` lists them all).")
    listing = "\n".join(f"  {run.keys_text()}  ({run.status()}, {run.test_text()})" for run in matches)
    if matches:
        fail(f"{len(matches)} trained runs have {wanted_text or 'the values given'}; add the keys that tell them "
             f"apart (`{script} runs` lists every run):\n{listing}", status=1)
    about = f"the run with {wanted_text}" if wanted else "the run of the defaults"
    if not runs:
        fail(f"no checkpoint at {path} ({about}), and no trained {experiment} run in {models_dir}/. "
             + train_advice(experiment, config, defaults, wanted, script), status=1)
    closest = min(runs, key=lambda run: (sum(not same_value(run.config.get(k), v) for k, v in wanted.items()),
                                         run.name))
    differ = ", ".join(f"{k}={format_value(closest.config.get(k))} (not {format_value(v)})"
                       for k, v in wanted.items() if not same_value(closest.config.get(k), v))
    fail(f"no trained {experiment} run has {wanted_text} (no checkpoint at {path}); the closest, "
         f"{closest.name} ({closest.status()}), has {differ}. `{script} runs` lists all {len(runs)}; "
         + train_advice(experiment, config, defaults, wanted, script), status=1)


def train_advice(experiment: str, config: Mapping, defaults: Mapping, wanted: Mapping, script: str) -> str:
    """How to train the run asked for, with what it costs: the full data set (a download on first use) and
    the full schedule, and the offline variant on the embedded sample where the script has one."""
    typed = " ".join(f"{key}={format_value(value)}" for key, value in wanted.items())
    command = f"`{script} train with {typed}`" if typed else f"`{script} train`"
    costs = []
    offline = OFFLINE_VALUES.get(experiment, {})
    data_key = next(iter(offline), None)
    if data_key and config.get(data_key) != "sample" or not offline:
        costs.append("needs the full data set (downloaded on first use)")
    costs.append(f"runs the full schedule of {config.get('epochs')} epochs")
    text = f"To train it: {command}, which {' and '.join(costs)}"
    if offline and config.get(data_key) != "sample":
        extra = " ".join(f"{key}={value}" for key, value in offline.items())
        text += (f"; offline, on the embedded MNIST sample (numbers not the full data set's): add {extra} "
                 f"(and epochs=N for a short run), then use the same values here")
    return text + "."
