"""The library and the paper's harness: imports flow one way (harness → library), with no cycles, and the
library needs nothing beyond Keras and NumPy."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "infodropout"
HARNESS_ONLY = {"tensorflow", "sacred", "matplotlib", "scipy", "infodropout.paper"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _top_level_imports(path: Path) -> set[str]:
    """The modules ``path`` imports when it is itself imported (its body, not its functions)."""
    module = ast.parse(path.read_text())
    return _imports_of([node for node in module.body if isinstance(node, (ast.Import, ast.ImportFrom))])


def _imports_of(nodes) -> set[str]:
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif node.module:
            found.add(node.module)
    return found


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
# A library module may import a backend inside the code that runs only on that backend (a fast path of its own,
# with Keras's portable code everywhere else; or that backend's own API, as tf.distribute's replica count for the
# objective), never when it is itself imported.
BACKEND_FAST_PATHS = {"infodropout.normalization": {"tensorflow"}, "infodropout.objective": {"tensorflow"}}


def test_library_modules_import_neither_the_harness_nor_its_packages():
    library = {name: path for name, path in MODULES.items() if not name.startswith("infodropout.paper")}
    assert {"infodropout.layers", "infodropout.kl", "infodropout.prediction"} <= set(library)
    for name, path in library.items():
        leaks = {m for m in _imports(path) if any(m == h or m.startswith(h + ".") for h in HARNESS_ONLY)}
        assert not leaks - BACKEND_FAST_PATHS.get(name, set()), f"{name} imports {sorted(leaks)}"
        assert not leaks & _top_level_imports(path), f"{name} imports {sorted(leaks)} when it is imported"


def test_no_import_cycles_between_the_package_modules():
    graph = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}
    # A package's __init__ is imported with any of its submodules; it must not import them back.
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " → ".join(trail[trail.index(target):] + [name, target]))
            if target not in state:
                visit(target, trail + [name])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def _private_imports(path: Path, package: str = "infodropout") -> list[str]:
    """The underscore names ``path`` takes from a module of ``package`` (``from package.x import _y``, or a
    relative import), at any depth of the file; dunder names such as ``__version__`` are public."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0 and (node.module or "").split(".")[0] != package:
            continue
        source = "." * node.level + (node.module or "")
        found += [f"{source}.{alias.name}" for alias in node.names
                  if alias.name.startswith("_") and not (alias.name.startswith("__") and alias.name.endswith("__"))]
    return sorted(found)


def test_no_module_imports_a_private_name_of_another():
    # A leading underscore says that only its module relies on the name; a helper that another module needs is
    # public in the module that owns it, so that a change to a private name cannot break another module. The
    # library and the harness alike.
    offenders = {name: found for name, path in MODULES.items() if (found := _private_imports(path))}
    assert not offenders, f"modules import private names of other modules: {offenders}"


def test_the_private_import_check_finds_absolute_relative_and_nested_imports(tmp_path):
    source = tmp_path / "example.py"
    source.write_text("from infodropout.estimators import Estimate, _private_helper\n"
                      "def f():\n    from .layers import _helper\n"
                      "from infodropout import __version__\nfrom numpy import _core\n")
    assert _private_imports(source) == [".layers._helper", "infodropout.estimators._private_helper"]


def test_every_module_opens_with_a_docstring():
    for name, path in MODULES.items():
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no module docstring"


def test_the_library_imports_without_the_harness_packages():
    # On JAX (when installed) nothing of the harness's packages may be imported; on TensorFlow, which itself
    # imports SciPy and matplotlib where they are installed, sacred and the harness may not.
    code = ("import os, sys\n"
            "try:\n    import jax\n    os.environ['KERAS_BACKEND'] = 'jax'\n"
            "except ImportError:\n    os.environ['KERAS_BACKEND'] = 'tensorflow'\n"
            "import keras\n"
            # Keras itself imports SciPy and matplotlib where they are installed (on JAX, through jax.scipy and its
            # utilities): what counts is what the library adds to what `import keras` brought.
            "before = set(sys.modules)\n"
            "import infodropout.layers, infodropout.kl, infodropout.prediction, infodropout.callbacks, "
            "infodropout.models, infodropout.vae, infodropout.readouts, infodropout.log_activations, "
            "infodropout.total_correlation, infodropout.localisation, infodropout.estimators\n"
            "forbidden = ['sacred', 'infodropout.paper']\n"
            "forbidden += ['tensorflow', 'matplotlib', 'scipy'] if keras.backend.backend() != 'tensorflow' else []\n"
            "print(sorted(m for m in forbidden if m in sys.modules and m not in before))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


# The harness's wings and what each may import of the harness: a wing reads only the wings listed for it (and the
# modules at the harness's root, shared by all), so that dependencies run one way. `report` runs the experiments as
# processes by module name and reads their files; it imports none of them.
HARNESS = "infodropout.paper"
# `python -m infodropout.paper EXPERIMENT ...`, which every script at the repository's top calls.
DISPATCHER = HARNESS + ".__main__"
WING_READS = {
    "data": set(),
    "train": {"data"},
    "figures": set(),
    "configs": {"data"},
    "cli": {"data", "train", "figures", "configs"},
    "experiments": {"data", "train", "figures", "cli", "configs"},
    "reproduction": {"train", "configs"},
    "report": {"train", "figures", "reproduction"},
    "perf": {"train"},
}


def _wing(module: str) -> str | None:
    """The wing of a harness module (None for the modules at the harness's root and for the library)."""
    parts = module.split(".")
    if not module.startswith(HARNESS + ".") or len(parts) < 3:
        return None
    return parts[2] if parts[2] in WING_READS or (PACKAGE / "paper" / parts[2]).is_dir() else None


def test_the_harness_is_in_wings_and_each_wing_imports_only_those_below_it():
    harness = {name: path for name, path in MODULES.items() if name.startswith(HARNESS + ".")}
    wings = {path.parent.name for path in harness.values() if path.parent != PACKAGE / "paper"}
    assert wings == set(WING_READS), f"wings on disk {sorted(wings)}, declared {sorted(WING_READS)}"
    roots = {name for name, path in harness.items() if path.parent == PACKAGE / "paper"} - {DISPATCHER}
    for name in roots:  # the shared modules at the root read no wing
        leaks = {m for m in _imports(harness[name]) if _wing(m)}
        assert not leaks, f"{name}, at the harness's root, imports the wings' {sorted(leaks)}"
    # The dispatcher is the scripts' entry, above every wing: it reads the preflight and starts an experiment by name.
    assert {_wing(m) for m in _imports(harness[DISPATCHER])} - {None} == {"cli"}
    for name, path in harness.items():
        wing = _wing(name)
        if wing is None:
            continue
        wrong = {m for m in _imports(path) if _wing(m) not in (None, wing, *WING_READS[wing])}
        assert not wrong, f"{name} (wing {wing}) imports {sorted(wrong)}; {wing} may read {sorted(WING_READS[wing])}"


def test_the_wing_rule_catches_an_import_against_the_direction(tmp_path):
    # The rule above, on a module that a data loader would be if it drew a figure: it must be caught.
    module = tmp_path / "loader.py"
    module.write_text('"""A loader."""\nfrom infodropout.paper.figures.plots import plot_series\n')
    wrong = {m for m in _imports(module) if _wing(m) not in (None, "data", *WING_READS["data"])}
    assert wrong == {"infodropout.paper.figures.plots", "infodropout.paper.figures.plots.plot_series"}


def test_every_wing_says_what_it_holds():
    for wing in WING_READS:
        init = PACKAGE / "paper" / wing / "__init__.py"
        assert len(ast.get_docstring(ast.parse(init.read_text())) or "") > 80, f"{wing}/__init__.py says too little"
