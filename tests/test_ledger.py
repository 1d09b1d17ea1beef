"""The plan's ledger holds what each step ran as data and compares it as data: a ledger of command lines, as written
before, is read so and counts each step done exactly where it did; a changed config is not done; ``jobs`` and the
figures' folder are never compared."""

import json

import pytest

from infodropout.paper.reproduction.ledger import (
    command_line, entry_of, planned, ran_as_planned, read_ledger, record, same_data, typed,
)
from infodropout.paper.paths import REPO_ROOT as ROOT
from infodropout.paper.reproduction.plans import SCALES, Step, command_value, make_plan
from infodropout.paper.train.run_names import MACHINE_KEYS

STEP = Step("figure5", "cifar", "sweep", ("softplus",),
            {"dataset": "fashion", "lr_drops": [3, 5, 6], "beta": 1.2, "betas": [0.1, 2.0], "methods": ["information"]})
# The step as the former runner wrote it: its command line, with the folders, jobs and plots_dir it was given.
OLD = {"argv": ["cifar.py", "sweep", "with", "softplus", "dataset=fashion", "lr_drops=[3,5,6]", "beta=1.2",
                "betas=[0.1,2.0]", "methods=[information]", "models_dir=/work/models-medium", "jobs=2", "verbose=2",
                "plots_dir=results/medium/figure5"],
       "status": "done", "seconds": 60.0, "finished": "2026-11-29 06:02:56"}


def test_an_entry_written_as_a_command_line_is_read_as_data_and_done():
    entry = entry_of(OLD)
    assert entry["config"] == {"dataset": "fashion", "lr_drops": [3, 5, 6], "beta": 1.2, "betas": [0.1, 2.0],
                               "methods": ["information"]}
    assert (entry["experiment"], entry["command"], entry["configs"]) == ("cifar", "sweep", ["softplus"])
    assert entry["folders"] == {"models_dir": "/work/models-medium"} and entry["jobs"] == 2
    assert "argv" not in entry and entry["seconds"] == 60.0
    assert ran_as_planned(entry, STEP)  # the report's question: in whatever folders
    assert ran_as_planned(entry, STEP, {"models_dir": "/work/models-medium"})  # the runner's: in these folders
    assert not ran_as_planned(entry, STEP, {})  # its runs are in another models folder: the runner runs it again
    # The command it ran, as the report shows it, is the one written then (without the figures' folder).
    assert command_line(entry) == " ".join(OLD["argv"][:-1])


@pytest.mark.parametrize("changed", [
    {"beta": 2.0},  # another value
    {"beta": 1},  # another type: sacred reads 1 and 1.0 apart, as the command line did
    {"lr_drops": [3, 5]},
    {"epochs": 8},  # a value the step did not set
])
def test_a_changed_config_is_not_done(changed):
    step = Step(STEP.name, STEP.experiment, STEP.command, STEP.configs, {**STEP.config, **changed})
    assert not ran_as_planned(entry_of(OLD), step)
    assert not ran_as_planned(planned(STEP), step)


def test_another_command_named_config_or_status_is_not_done():
    for step in (Step("figure5", "cifar", "train", ("softplus",), STEP.config),
                 Step("figure5", "cifar", "sweep", (), STEP.config),
                 Step("figure5", "occluded", "sweep", ("softplus",), STEP.config)):
        assert not ran_as_planned(entry_of(OLD), step)
    assert not ran_as_planned({**entry_of(OLD), "status": "failed (exit 1)"}, STEP)
    assert not ran_as_planned({}, STEP)


def test_jobs_and_the_order_of_values_change_nothing():
    done = {**planned(STEP, jobs=2), "status": "done"}
    assert ran_as_planned({**done, "jobs": 4}, STEP) and ran_as_planned({**done, "jobs": 1}, STEP, {})
    reordered = Step(STEP.name, STEP.experiment, STEP.command, STEP.configs, dict(reversed(STEP.config.items())))
    assert ran_as_planned(done, reordered)
    assert "jobs" not in planned(STEP)["config"] and not set(MACHINE_KEYS) & set(entry_of(OLD)["config"])


def test_values_the_plan_would_not_write_stay_text():
    assert typed("1.2") == 1.2 and typed("3") == 3 and typed("True") is True and typed("fashion") == "fashion"
    assert typed("[information,binary]") == ["information", "binary"] and typed("[]") == [] and typed("none") == "none"
    assert typed("[[1,2],[3]]") == [[1, 2], [3]]
    # Not the plan's rendering of any value: kept as text, so it equals no value the plan gives.
    assert typed("1e-3") == "1e-3" and typed("0.10") == "0.10" and typed("'a'") == "'a'"
    assert not same_data(1, 1.0) and not same_data(True, 1) and same_data({"a": [1, 2.0]}, {"a": [1, 2.0]})


def test_every_value_of_every_plan_reads_back_as_itself():
    # So a step the former runner wrote is done exactly where its command was the plan's.
    for scale in SCALES:
        for cifar10 in (False, True):
            for step in make_plan(scale, cifar10).steps:
                entry = entry_of({"argv": step.argv(ROOT / "w", ["models_dir=m", "jobs=2"]), "status": "done"})
                assert ran_as_planned(entry, step, {"models_dir": "m"}), (scale, step.name)
                for value in step.config.values():
                    assert same_data(typed(command_value(value)), json.loads(json.dumps(value)))


@pytest.mark.skipif(not (ROOT / "results" / "medium" / "steps.json").exists(), reason="no committed medium results")
def test_the_committed_ledger_shows_the_commands_it_ran():
    written = json.loads((ROOT / "results" / "medium" / "steps.json").read_text())
    ledger = read_ledger(ROOT / "results" / "medium" / "steps.json")
    for name, entry in written.items():
        if "argv" in entry:
            assert command_line(ledger[name]) == " ".join(a for a in entry["argv"] if not a.startswith("plots_dir="))


def test_recording_a_step_leaves_the_other_entries_as_written(tmp_path):
    path = tmp_path / "steps.json"
    path.write_text(json.dumps({"figure5": OLD}))
    ledger = record(path, "table1", {**planned(Step("table1", "vae", "table", config={"ks": [1]})), "status": "done"})
    assert json.loads(path.read_text())["figure5"] == OLD  # a former runner still writing beside this one reads it
    assert ledger["figure5"] == entry_of(OLD) and ledger["table1"]["config"] == {"ks": [1]}
    assert ran_as_planned(read_ledger(path)["table1"], Step("table1", "vae", "table", config={"ks": [1]}))
