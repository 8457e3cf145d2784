"""The rules of the house (docs/architecture.md), read from the code's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MONITOR = Path(__file__).resolve().parents[1] / "monitor"

STAGE = {"errors", "text"}
# Which package may import which at run time. Imports under ``if TYPE_CHECKING:`` are
# annotations only (alerts and fetch name config's models in their from_config).
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "__main__": {"cli"},
    "errors": set(),
    "text": {"errors"},
    "rules": STAGE,
    "dedupe": STAGE,
    "feeds": STAGE,
    "extract": STAGE,
    "fetch": STAGE | {"observe"},
    "observe": STAGE,
    "render": STAGE | {"fetch", "observe"},
    "store": STAGE,
    "alerts": STAGE | {"observe", "store"},
    "config": STAGE | {"rules", "alerts"},
    "pages": STAGE | {"extract", "feeds", "dedupe", "rules", "observe"},
    "pipeline": STAGE
    | {"rules", "dedupe", "feeds", "extract", "fetch", "observe", "store", "alerts", "config"}
    | {"render", "pages"},
    "web": STAGE | {"rules", "observe", "store", "config", "pipeline"},
    "sources": STAGE | {"config", "dedupe", "extract", "feeds", "fetch", "observe"},
    "scheduler": STAGE | {"fetch", "observe", "store", "alerts", "config", "pipeline", "web"},
    "worker": STAGE | {"fetch", "observe", "store", "alerts", "config", "pipeline", "web"},
    "cli": {
        "__init__",
        "errors",
        "text",
        "config",
        "observe",
        "store",
        "pipeline",
        "scheduler",
        "sources",
        "web",
        "worker",
    },
}
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "errors.py"}


def _type_only(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids.update(id(n) for n in ast.walk(node))
    return ids


def imports_of(root: Path) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the files that import it (run-time imports only)."""
    found: dict[str, dict[str, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        package = rel.parts[0].removesuffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] != root.name:
                    continue
                target = parts[1] if len(parts) > 1 else "__init__"
                if target != package:
                    found.setdefault(package, {}).setdefault(target, []).append(str(rel))
    return found


def violations(root: Path) -> list[str]:
    out = []
    for package, targets in imports_of(root).items():
        allowed = ALLOWED.get(package)
        if allowed is None:
            out.append(f"{package}: a package the house rules do not know (add it to them)")
            continue
        for target, files in sorted(targets.items()):
            if target not in allowed:
                out.append(f"{package} imports {target} ({', '.join(sorted(set(files)))})")
    return out


def test_every_package_imports_only_what_the_house_rules_allow() -> None:
    assert violations(MONITOR) == []


def test_no_top_level_module_but_the_entry_points_and_errors() -> None:
    top = {p.name for p in MONITOR.iterdir() if p.suffix == ".py"}
    assert top == TOP_LEVEL_MODULES


def test_every_package_the_rules_name_exists_and_has_a_face() -> None:
    for name in ALLOWED:
        if name in {"__init__", "__main__", "errors"}:
            assert (MONITOR / f"{name}.py").is_file(), name
        else:
            assert (MONITOR / name / "__init__.py").is_file(), name


@pytest.mark.parametrize(
    ("package", "line", "expected"),
    [
        ("rules", "from monitor.store import Store\n", "rules imports store"),
        ("store", "import monitor.alerts._outbox\n", "store imports alerts"),
        ("cli", "from monitor.fetch import Fetcher\n", "cli imports fetch"),
        ("gadgets", "from monitor.errors import MonitorError\n", "gadgets: a package"),
    ],
)
def test_the_check_catches_a_forbidden_import(
    tmp_path: Path, package: str, line: str, expected: str
) -> None:
    root = tmp_path / "monitor"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text(line)
    # The same import behind TYPE_CHECKING is an annotation, not a dependency.
    (root / package / "_typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from monitor.pipeline import X\n"
    )
    [problem] = violations(root)
    assert problem.startswith(expected)
