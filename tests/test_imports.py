"""Import hygiene: the public API stays light, and every import points down the pipeline.

Layers, bottom to top. A module may import from its own layer or below, never above; and no two
top-level packages or modules may import each other, directly or round a longer loop. A new
top-level module or package must be placed here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import egvs

PACKAGE = Path(egvs.__file__).parent
LAYERS: list[set[str]] = [
    {"errors", "progress", "atomic", "cache", "model_files", "segments", "timeline", "fonts"},
    {"blas"},  # one BLAS thread for overlapping passes (the SER stage and the pipeline)
    {"media"},
    {"features"},
    {"ser"},  # the trained speech-emotion model behind features.emotion's interface
    {"pipeline"},  # one decode pass over every feature extractor
    {"shots"},
    {"scoring"},  # fusion, and the ONNX scorer of a trained model
    {"selection"},
    {"request"},
    {"analysis"},
    {"render", "captions", "reframe"},
    {"export"},
    {"example", "api"},
    {"datasets"},
    {"evaluation"},
    {"models", "ser_training"},  # training (torch): the fusion scorer's, the speech-emotion head's
    {"batching", "shortform"},
    {"__init__"},  # the façade (`egvs.analyze`, `egvs.batch`): for users, cli and app only
    {"app"},
    {"cli"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}
# Never imported by `import egvs.api`: training, the web app, research data, test tools.
HEAVY = ("torch", "gradio", "h5py", "yaml", "playwright", "transformers")


def _unit(path: Path) -> str:
    """The top-level package or module a file belongs to (``__init__`` for egvs/__init__.py)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_units(path: Path, source: str) -> Iterator[tuple[str, int]]:
    """(top-level unit, line) for every egvs import in ``source`` (the text of ``path``), in
    functions and ``TYPE_CHECKING`` blocks too."""
    package = ".".join(("egvs", *path.relative_to(PACKAGE).parent.parts))
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from egvs import api` names a submodule; `from egvs import analyze` the package.
            modules = [f"{base}.{a.name}" for a in node.names] if base == "egvs" else [base]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "egvs":
                continue
            name = parts[1] if len(parts) > 1 else "__init__"
            if not ((PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()):
                name = "__init__"
            yield name, node.lineno


def _graph() -> dict[str, dict[str, str]]:
    """unit -> {imported unit: "file:line" of one such import}."""
    graph: dict[str, dict[str, str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = _unit(path)
        for dst, line in _imported_units(path, path.read_text()):
            if dst != src:
                graph.setdefault(src, {}).setdefault(dst, f"{path.relative_to(PACKAGE)}:{line}")
    return graph


def test_import_egvs_api_stays_light() -> None:
    code = f"import sys, egvs.api\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [], f"import egvs.api imported {out.strip()}"


def test_the_speech_emotion_runtime_leaves_its_training_out() -> None:
    """A video run needs `egvs.ser` only; labels, augmentation and trainers stay unloaded."""
    runtime = [f"egvs.ser.{p.stem}" for p in (PACKAGE / "ser").glob("*.py") if p.stem != "__init__"]
    code = (
        f"import sys, egvs.api, egvs.ser, {', '.join(runtime)}\n"
        "print(' '.join(m for m in sys.modules if m.startswith('egvs.ser_training')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "egvs.ser.model" in runtime and out.split() == []
    assert "ser_training" not in _graph().get("ser", {})


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in PACKAGE.rglob("*.py")}
    assert units - LAYER.keys() == set(), "place the new module in LAYERS (tests/test_imports.py)"


def test_imports_point_down_the_pipeline() -> None:
    upward = [
        f"{where}: {src} imports {dst}"
        for src, targets in _graph().items()
        for dst, where in targets.items()
        if src in LAYER and dst in LAYER and LAYER[dst] > LAYER[src]
    ]
    assert upward == []


def test_no_import_cycles_between_top_level_units() -> None:
    graph = _graph()
    cycles = []
    for start in graph:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, {}):
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in path and nxt > start:  # each cycle once, from its smallest unit
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_the_checker_sees_relative_and_function_level_imports() -> None:
    """The checks above only mean something if the parser finds every kind of import."""
    source = (
        "from __future__ import annotations\n"
        "from ..api import analyze\n"
        "def f():\n"
        "    import egvs.cli.main\n"
        "    from egvs import summarize\n"
        "    from . import aggregate\n"
    )
    found = [name for name, _ in _imported_units(PACKAGE / "scoring" / "fusion.py", source)]
    assert found == ["api", "cli", "__init__", "scoring"]


def test_a_missing_optional_package_names_its_extra(monkeypatch) -> None:
    from egvs.errors import SetupError, require
    from egvs.evaluation.videos import from_h5

    monkeypatch.setitem(sys.modules, "h5py", None)  # as if not installed
    with pytest.raises(SetupError, match=r"pip install 'egvs\[research\]'") as info:
        from_h5(Path("any.h5"))
    assert info.value.exit_code == 4
    assert require("json", "research").dumps([]) == "[]"


def test_command_modules_share_options_not_each_others_helpers() -> None:
    """`egvs.cli.options` holds what several commands share; a command module imports no other
    command module (their helpers are private to them)."""
    shared = {"egvs.cli.options", "egvs.cli.main"}
    crossed = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            own = f"egvs.cli.{path.stem}"
            for name in names:
                is_command = name.startswith("egvs.cli.") and name.count(".") == 2
                if is_command and name not in shared and name != own:
                    crossed.append(f"{path.name}:{node.lineno} imports {name}")
    assert crossed == []
