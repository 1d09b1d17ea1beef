"""Sweeps: one run per point (and seed), with the results kept in one JSON file rewritten after every point,
so that an interrupted sweep loses nothing and a repeated one skips what is done."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from infodropout.paper.errors import fail
from infodropout.paper.run_names import run_name


def with_seeds(points: list[dict], seeds: Sequence[int]) -> list[dict]:
    """Each sweep point once per seed, seed by seed (every point of seed 0 first, so that an interrupted
    sweep already has one whole curve). Seed 0 is every script's default, so a point at seed 0 is the
    run a single-seed sweep trained: its name has no seed in it and it is reused."""
    return [{**point, "seed": seed} for seed in seeds for point in points]


def run_sweep(experiment: str, config: Mapping, defaults: Mapping, points: list[dict],
              run_one: Callable[[Mapping], dict]) -> tuple[list[dict], Path]:
    """Run ``run_one(config updated with point)`` for each point (e.g. ``{"beta": 0.1}``) and keep the
    results, one dict per point, in ``plots/<experiment>-sweep<values>/results.json``, rewritten after
    every point: an interrupted sweep loses nothing, and running it again skips the points already
    done (each run itself is also resumed or reused from models/). Returns the results and the folder."""
    import json

    from infodropout.paper.checkpoint import atomic_write

    swept = {key for point in points for key in point}
    name = run_name(f"{experiment}-sweep", {**config, **{key: defaults[key] for key in swept}}, defaults)
    folder = Path(config["plots_dir"]) / name
    path = folder / "results.json"
    results = read_sweep_results(path)
    for number, point in enumerate(points, 1):
        # A result that lacks a key (a sweep kept before the key was swept, e.g. "seed") had its default.
        if any(all(result.get(key, defaults.get(key)) == value for key, value in point.items())
               for result in results):
            continue
        values = " ".join(f"{key}={value}" for key, value in point.items())
        print(f"Sweep point {number}/{len(points)}: {values} ({len(results)} done).", flush=True)
        results.append({**point, **run_one({**config, **point})})
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    return results, folder


def read_sweep_results(path: Path) -> list[dict]:
    """The results a sweep kept in ``path`` (empty if there is none); a file that is not a JSON list of
    records (truncated, edited) ends the program with one line saying how to recover."""
    import json

    if not path.exists():
        return []
    try:
        results = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        results = error
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        detail = f" ({results})" if isinstance(results, Exception) else ""
        fail(f"{path} is not a sweep's list of results{detail}: delete it and run the same command again (its "
             "trained runs are reused from the models folder, so only their testing is repeated).", status=1)
    return results
