"""The import rules of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

NETWORK_LIBS = {"telegram", "nio", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def test_core_never_imports_a_network_library() -> None:
    for path in _modules("bot"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & NETWORK_LIBS, path
        if not path.relative_to(REPO).as_posix().startswith("bot/schedule/"):
            assert "apscheduler" not in roots, path


def test_channels_never_import_the_core() -> None:
    for path in _modules("channels"):
        for name in _imports(path):
            if name.startswith("bot."):
                assert name == "bot.models", f"{path} imports {name}"


def test_every_module_starts_with_a_one_line_summary() -> None:
    for path in [*_modules("bot"), *_modules("channels")]:
        if path.name == "__init__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        lines = doc.splitlines()
        assert lines and lines[0].strip(), f"{path} has no docstring"
        assert len(lines) == 1 or not lines[1].strip(), f"{path}: summary is not one line"
