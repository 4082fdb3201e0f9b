"""Meta-tests for the package layers: imports point down, modules stay one job each."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

VOICE = Path(__file__).resolve().parents[1] / "voice"
MAX_LINES = 600

FORBIDDEN = {
    "voice.coach": (
        "voice.listen",
        "voice.speak",
        "voice.store",
        "voice.session",
        "voice.commands",
    ),
    "voice.store": ("voice.session", "voice.listen", "voice.speak", "voice.commands"),
    "voice.listen": ("voice.session", "voice.speak", "voice.store", "voice.commands"),
    "voice.speak": ("voice.session", "voice.listen", "voice.store", "voice.commands"),
    "voice.session": ("voice.commands",),
}
"""Package -> packages it must not import (lower layers never reach up)."""


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(VOICE.rglob("*.py")):
        parts = path.relative_to(VOICE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n == "voice" or n.startswith("voice.")}


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_imports_point_down(module: str, path: Path) -> None:
    imported = _imports(path)
    for package, forbidden in FORBIDDEN.items():
        if _inside(module, package):
            bad = sorted(n for n in imported for f in forbidden if _inside(n, f))
            assert not bad, f"{module} (in {package}) imports {bad}"
    upper = _inside(module, "voice.session") or _inside(module, "voice.commands")
    if not upper and module != "voice.cli":
        bad = sorted(n for n in imported if _inside(n, "voice.session"))
        assert not bad, f"only commands and cli may import the session: {module} -> {bad}"


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda v: str(v))
def test_no_module_is_over_600_lines_without_saying_why(module: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines > MAX_LINES:
        doc = (ast.get_docstring(ast.parse(text)) or "").lower()
        assert "over 600 lines" in doc, f"{module}: {lines} lines and no reason in its docstring"


def test_every_package_says_its_job_in_one_line() -> None:
    for init in sorted(VOICE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init} has no docstring"
        assert doc.splitlines()[0].strip(), f"{init}: the first line says the package's job"
