"""The layers of the `vlrec` namespace import only downward.

Each module belongs to the layer named by the longest matching prefix below; a module may
import from its own layer and the layers listed before it, never from one after it. Imports
under ``if TYPE_CHECKING:`` count too: a type that comes from above is a dependency that
points the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# bottom to top; a layer may use everything listed before it
LAYERS = [
    ("vlrec.core", "config schema, runtime, image loading, paths, metrics, readers"),
    ("vlrec.data", "catalogues, datasets, task prompts, lexicon"),
    ("vlrec.models", "frozen parts: vision, text, LM, colour, feature caches"),
    ("vlrec.adapters", "trainable parts: projector, LoRA, heads, alignment head, VLM, intent"),
    ("vlrec.adapters.train", "training recipes of the adapters"),
    ("vlrec.retrieval", "store, indexer, search, fusion, words"),
    ("vlrec.rec", "recommendations from history"),
    ("vlrec.agent", "the shopping agent's steps"),
    ("vlrec.eval", "evaluations beside their baselines"),
    ("vlrec.serve", "HTTP API and web chat"),
    ("vlrec.cli", "command line, demo, root config"),
]
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
TOP = len(LAYERS) - 1
ROOTS = {
    "vlrec": REPO / "vlrec",
    "vlrec.agent": REPO / "agent",
    "vlrec.adapters": REPO / "adapters",
    "vlrec.retrieval": REPO / "retrieval",
}


def layer_of(module: str) -> str | None:
    best = None
    for name in RANK:
        if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best)):
            best = name
    return best


def rank_of(module: str) -> int:
    """The root package and its top-level modules (``vlrec.config``, ``__main__``) sit with the CLI."""
    layer = layer_of(module)
    return RANK[layer] if layer else TOP


def modules() -> dict[str, Path]:
    out = {}
    for package, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "vlrec" and parts and parts[0] in ("agent", "adapters", "retrieval"):
                continue
            out[name] = path
    return out


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from vlrec.x import y` may name a submodule y
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names if f"{target}.{a.name}" in ALL]
    return found


ALL = modules()


def test_every_module_has_a_layer():
    assert ALL, "no modules found"
    assert "vlrec.agent.session" in ALL and "vlrec.adapters.vlm" in ALL and "vlrec.retrieval.store" in ALL


@pytest.mark.parametrize("module", sorted(ALL))
def test_imports_point_down(module):
    mine = rank_of(module)
    upward = [
        f"{ALL[module].relative_to(REPO)}:{line} imports {target} ({layer_of(target)}, above {layer_of(module)})"
        for line, target in imports(ALL[module], module)
        if target.split(".")[0] == "vlrec" and rank_of(target) > mine
    ]
    assert not upward, "\n".join(upward)


def test_old_top_level_names_are_gone():
    """Nothing imports the pre-namespace packages (`agent`, `adapters`, `retrieval`)."""
    bad = []
    for folder in ("vlrec", "agent", "adapters", "retrieval", "tests", "benchmarks"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                bad += [
                    f"{path.relative_to(REPO)}:{node.lineno} {n}"
                    for n in names
                    if n.split(".")[0] in ("agent", "adapters", "retrieval")
                ]
    assert not bad, "\n".join(bad)


def test_checker_sees_an_upward_import(tmp_path):
    """The rule itself: a data module importing the agent is caught."""
    fake = tmp_path / "bad.py"
    fake.write_text("from vlrec.agent.session import Agent\nimport vlrec.core.config\n")
    found = imports(fake, "vlrec.data.bad")
    assert [t for _, t in found if rank_of(t) > rank_of("vlrec.data.bad")] == ["vlrec.agent.session"]
