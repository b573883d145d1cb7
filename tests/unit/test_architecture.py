"""The import direction of DESIGN.md section 2, enforced by walking every module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "ledgerdesk"

# What each part of the package may import from the package itself.
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "projections": {"domain", "projections"},
    "policies": {"domain", "policies"},
    "adapters": {"domain", "projections", "policies", "adapters", "settings", "utils"},
    "reports": {"domain", "projections", "policies", "reports", "settings", "utils"},
    # bootstrap registers projections and reactions from the manifest (DESIGN.md §3)
    "bootstrap": {
        "domain",
        "projections",
        "policies",
        "adapters",
        "reports",
        "settings",
        "utils",
        "manifest",
    },
    "jobs": {
        "domain",
        "projections",
        "policies",
        "adapters",
        "reports",
        "bootstrap",
        "settings",
        "utils",
        "manifest",
        "jobs",
    },
    "api": {
        "domain",
        "projections",
        "policies",
        "adapters",
        "reports",
        "bootstrap",
        "settings",
        "utils",
        "manifest",
        "jobs",
        "api",
        "__init__",
    },
    "cli": {
        "domain",
        "projections",
        "policies",
        "adapters",
        "reports",
        "bootstrap",
        "settings",
        "utils",
        "manifest",
        "jobs",
        "api",
        "cli",
        "__init__",
    },
    "settings": set(),
    "utils": set(),
    "manifest": set(),
    "__init__": set(),
}
NOT_CODE = {"tests", "bench", "docs", "templates", "static", "deploy", ".venv", "build", "var"}


def modules() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not (set(path.relative_to(ROOT).parts) & NOT_CODE)
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]


def part_of(path: Path) -> str:
    first = path.relative_to(ROOT).parts[0]
    return first.removesuffix(".py")


def imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_imports_only_from_the_layers_below_it(path):
    part = part_of(path)
    assert part in ALLOWED, f"{path}: new top-level part {part!r}; give it a place in ALLOWED"
    for name in imports(path):
        if name == PACKAGE:
            target = "__init__"
        elif name.startswith(PACKAGE + "."):
            target = name.split(".")[1]
        else:
            continue
        assert target == part or target in ALLOWED[part], f"{path.name} imports {name}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if part_of(p) == "domain"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_domain_uses_only_the_standard_library_and_eventsourcing(path):
    for name in imports(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in ("eventsourcing", PACKAGE, "__future__"), (
            f"{path.name} imports {name}"
        )


def test_only_settings_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for path in modules()
        if "os.environ" in path.read_text() or "getenv(" in path.read_text()
    ]
    assert readers == ["settings.py"]


def test_the_manifest_imports_nothing():
    tree = ast.parse((ROOT / "manifest.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
