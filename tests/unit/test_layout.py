"""The source tree follows the data flow: no import circles, no import back up the flow, short files.

Every ``import`` in ``src/wakeforge`` (also the ones inside functions) is read with :mod:`ast`.
The packages, from the bottom of the flow to the top::

    core, utils, audio          shared pieces (config, schema, errors, safety, metrics, I/O)
    generation                  stage 1: text, TTS engines, clips
    features                    openWakeWord's frozen feature models (stage 2 runs them)
    augment                     stage 2: augmented audio -> feature rows
    training                    stage 3: datamodule, heads, Lightning module
    export                      ONNX / TFLite, the model card
    evaluation                  streaming scorer, metrics reports, benchmark, detect
    personal                    fine-tuning a finished model on a user's voice
    pipeline                    the stage runner and the checks before it

A module may import from its own layer or below; entry points (top-level modules such as
``wakeforge.train`` and every ``__main__``) may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "wakeforge"
LAYERS = [("core", "utils", "audio"), ("generation",), ("features",), ("augment",), ("training",),
          ("export",), ("evaluation",), ("personal",), ("pipeline",)]
RANK = {pkg: i for i, pkgs in enumerate(LAYERS) for pkg in pkgs}
ENTRY = len(LAYERS)
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[tuple[str, int]]:
    """``(imported wakeforge module, line)`` for every import statement in module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t and t != name and t != "wakeforge":
                found.add((t, node.lineno))
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def layer(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:
        return 0  # wakeforge/__init__.py (the version)
    if parts[-1] == "__main__" or (len(parts) == 2 and parts[1] not in RANK):
        return ENTRY
    return RANK[parts[1]]


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(RANK), f"packages without a layer (add them to LAYERS): {packages ^ set(RANK)}"


def test_no_import_back_up_the_flow() -> None:
    back = sorted(f"{m} (line {line}) imports {t}" for m, edges in GRAPH.items() for t, line in edges
                  if layer(t) > layer(m))
    assert not back, "imports from a later stage into an earlier one:\n" + "\n".join(back)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (module -> imported modules), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_no_import_circles() -> None:
    cycle = find_cycle({m: {t for t, _ in edges} for m, edges in GRAPH.items()})
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_checks_can_fail() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer("wakeforge.generation.run") < layer("wakeforge.training.run") < layer("wakeforge.train")
    assert layer("wakeforge.augment.__main__") == ENTRY


def test_no_long_files() -> None:
    long = sorted(f"{p.relative_to(SRC.parent)}: {n} lines" for p in SRC.rglob("*.py")
                  if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES)
    assert not long, f"files over {MAX_LINES} lines (split them into a package):\n" + "\n".join(long)
