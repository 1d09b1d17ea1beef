"""A sweep's points as a command of their experiment: each experiment registers the function that trains and
measures one point, by its name, and ``sweep_point``, registered once per experiment here, runs that function in the
point's own process, as a sweep starts it (:class:`infodropout.paper.train.sweeps.PointCommand`):

    python -m infodropout.paper.experiments.cifar sweep_point with <sweep config>.json function=measured_run \\
        point=<the point's values>.json result=<file>

It is internal (a sweep's, not a user's), so ``--help`` leaves it out; ``help sweep_point`` still describes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from infodropout.paper.errors import fail
from infodropout.paper.train.sweeps import POINT_COMMAND, PointCommand, run_point


def add_point_function(experiment, function: Callable[[Mapping], dict]) -> PointCommand:
    """Register ``function`` (a point's whole config → its results) on ``experiment`` under its own name, and
    ``sweep_point`` with the first one; returns the command a sweep runs each point with (``run_sweep``'s last
    argument)."""
    functions = experiment.point_functions
    name = function.__name__
    if functions.get(name, function) is not function:
        raise ValueError(f"{experiment.path} has two point functions named {name}")
    if not functions:
        experiment.command(_point_command(experiment), unobserved=True)
        experiment.internal_commands = frozenset({POINT_COMMAND})
    functions[name] = function
    return PointCommand(experiment.module, name)


def _point_command(experiment) -> Callable:
    def sweep_point(_config, function, point, result):
        """Internal, run by a sweep in a process of its own for each point: the point's run trained (or reused)
        and measured by the experiment's function ``function`` on the sweep's config updated with the values in the
        file ``point``, its result written to the file ``result``."""
        if function not in experiment.point_functions:
            fail(f"{POINT_COMMAND}: no point function {function!r} (this experiment has "
                 f"{', '.join(sorted(experiment.point_functions))}).")
        run_point(experiment.point_functions[function], _config, point, result)

    # sacred names the command after the function and fills its arguments from the config entries of the same
    # names: the sweep's command line (PointCommand.argv) gives those, POINT_KEYS.
    return sweep_point
