"""The import rules of docs/architecture.md, checked on the source.

Every module of bot/ belongs to a layer; a layer may import only the layers listed for it.
The arrows run one way: cli → app → wiring → core → capabilities → store → foundation,
and channels/ sees nothing of bot/ but bot.models.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FOUNDATION = (
    "bot.models",
    "bot.errors",
    "bot.clock",
    "bot.i18n",
    "bot.locales",
    "bot.operator_files",
    "bot.config",
    "bot.roles",
    "bot.commands",
    "bot.turn",
    "bot.compounds",
    "bot.failpoints",
    "bot.pacing",
)
# A module's layer: the longest matching prefix (a package or a single module).
LAYERS = {
    **dict.fromkeys(FOUNDATION, "foundation"),
    "bot.store": "store",
    "bot.faq": "faq",
    "bot.schedule": "schedule",
    "bot.dialogue": "dialogue",
    "bot.desk": "desk",
    "bot.evening": "evening",
    "bot.broadcast": "broadcast",
    "bot.weblogin": "weblogin",
    "bot.charts": "charts",
    "bot.core": "core",
    "bot.chats": "core",
    "bot.scheduling": "wiring",
    "bot.wiring": "wiring",
    "bot.web": "web",
    "bot.app": "app",
    "bot.cli": "cli",
    "bot": "package",  # bot/__init__.py: a docstring only
    "channels": "channels",
}
CAPABILITIES = {"faq", "schedule", "dialogue", "desk", "evening", "broadcast", "weblogin", "charts"}
ALLOWED = {
    "foundation": {"foundation"},
    "store": {"foundation", "store"},
    "faq": {"foundation", "store", "faq"},
    "schedule": {"foundation", "store", "schedule"},
    "dialogue": {"foundation", "store", "dialogue"},
    "desk": {"foundation", "store", "faq", "schedule", "dialogue", "charts", "desk"},
    "evening": {"foundation", "store", "schedule", "dialogue", "evening"},
    "broadcast": {"foundation", "store", "schedule", "dialogue", "broadcast"},
    "weblogin": {"foundation", "store", "weblogin"},
    "charts": {"foundation", "charts"},
    "core": {"foundation", "store", *CAPABILITIES, "core"},
    "wiring": {"foundation", "store", *CAPABILITIES, "core", "wiring"},
    "web": {"foundation", "store", *CAPABILITIES, "core", "wiring", "web"},
    "app": {"foundation", "store", *CAPABILITIES, "core", "wiring", "web", "app", "channels"},
    "cli": {*LAYERS.values()},
    "channels": {"channels"},
    "package": set(),
}
# Modules a layer may import although their layer is not allowed (channels see the models).
EXCEPTIONS = {"channels": {"bot.models"}}
NETWORK_LIBS = {"telegram", "nio"}
# Third-party libraries that only one part of bot/ may import.
CONFINED = {
    "apscheduler": "bot.schedule",
    "aiohttp": "bot.web",
    "jinja2": "bot.web",
    "pygal": "bot.charts",
    "cairosvg": "bot.charts",
    "PIL": "bot.charts",
}


def imported_modules(root: Path, path: Path, module: str) -> set[str]:
    """Every module `path` imports, with `from bot import x` read as `bot.x` when x is a
    module or package under `root`, and relative imports resolved against `module`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            folder = root / base.replace(".", "/")
            for alias in node.names:
                target = folder / alias.name
                is_module = target.is_dir() or target.with_suffix(".py").is_file()
                names.add(f"{base}.{alias.name}" if is_module else base)
    return names


def layer_of(module: str) -> str | None:
    found = [
        prefix
        for prefix in LAYERS
        if module == prefix or (module.startswith(prefix + ".") and prefix != "bot")
    ]
    return LAYERS[max(found, key=len)] if found else None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def violations(root: Path) -> list[str]:
    """Every import under root/bot and root/channels that breaks the rules, as a sentence."""
    found: list[str] = []
    for path in sorted([*(root / "bot").rglob("*.py"), *(root / "channels").rglob("*.py")]):
        module = _module_name(root, path)
        layer = layer_of(module)
        if layer is None:
            found.append(f"{module}: belongs to no layer (add it to LAYERS)")
            continue
        for name in sorted(imported_modules(root, path, module)):
            target = layer_of(name)
            top = name.partition(".")[0]
            wrong = target is not None and target not in ALLOWED[layer]
            excepted = any(name == e or name.startswith(e + ".") for e in EXCEPTIONS.get(layer, ()))
            if wrong and not excepted:
                found.append(f"{module} ({layer}) imports {name} ({target})")
            if top in NETWORK_LIBS and layer != "channels":
                found.append(f"{module} imports the network library {top}")
            if top in CONFINED and layer != "channels" and not module.startswith(CONFINED[top]):
                found.append(f"{module} imports {top}, which only {CONFINED[top]} may")
    return found


def test_imports_follow_the_layers() -> None:
    assert violations(REPO) == []


def test_the_rules_catch_a_wrong_arrow(tmp_path: Path) -> None:
    """A deliberate bad import in a copy of the layout is reported, in every spelling."""
    files = {
        "bot/__init__.py": "",
        "bot/models.py": '"""Models."""\n',
        "bot/store/__init__.py": "",
        "bot/store/folder.py": '"""A store that reaches up."""\nfrom bot import desk\n',
        "bot/desk/__init__.py": "",
        "bot/desk/repo.py": '"""Fine."""\nfrom bot.store import folder\n',
        "bot/faq/__init__.py": "",
        "bot/faq/answers.py": '"""Reaches sideways."""\nfrom ..desk.repo import x\n',
        "bot/core.py": '"""Imports a network library."""\nimport telegram\n',
        "bot/stray.py": '"""In no layer."""\n',
        "channels/__init__.py": "",
        "channels/console.py": '"""Reaches into the core."""\nimport bot.core\nimport bot.models\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert violations(tmp_path) == [
        "bot.core imports the network library telegram",
        "bot.faq.answers (faq) imports bot.desk.repo (desk)",
        "bot.store.folder (store) imports bot.desk (desk)",
        "bot.stray: belongs to no layer (add it to LAYERS)",
        "channels.console (channels) imports bot.core (core)",
    ]


def test_every_module_starts_with_a_one_line_summary() -> None:
    for path in [*(REPO / "bot").rglob("*.py"), *(REPO / "channels").rglob("*.py")]:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        lines = doc.splitlines()
        if path.name == "__init__.py" and not lines:
            continue
        assert lines and lines[0].strip(), f"{path} has no docstring"
        assert len(lines) == 1 or not lines[1].strip(), f"{path}: summary is not one line"


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for init in (REPO / "bot").glob("*/__init__.py"):
        if init.parent.name in ("locales",) or init.parent.parent.name == "faq":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init} does not say what it may import"
