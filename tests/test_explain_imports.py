"""The layering of stridenet.explain: traces are plain data, renderers read them.

Trace modules (the dataclasses and the functions that compute traces) must not import a
renderer (text, HTML, figures, the explorer page) at module level, and the module-level
import graph of the package must have no cycle. Checked from the source (ast) and by
importing the trace modules in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import stridenet.explain

PKG = Path(stridenet.explain.__file__).parent
TRACE_MODULES = {"trace", "conv", "pool", "backward", "shapes", "sizes_nd", "transpose",
                 "conv3d_cell"}
# at least those above are trace modules; any module not named below is one too
RENDERER_PREFIXES = ("render_", "blocks", "figures", "explorer")  # text, HTML, figures, page
ENTRY_PREFIXES = ("cli", "edges")  # command lines and demos: they may use anything


def is_renderer(module: str) -> bool:
    return module.split(".")[0].startswith(RENDERER_PREFIXES)


def is_trace_module(module: str) -> bool:
    """Every module of the package that is neither a renderer nor an entry point."""
    return bool(module) and not is_renderer(module) and \
        not module.split(".")[0].startswith(ENTRY_PREFIXES)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def top_level_imports(path: Path, root: Path) -> set[str]:
    """Modules of the package (dotted, relative to it) imported outside any def/class body."""
    tree = ast.parse(path.read_text())
    me = module_name(path, root)
    pkg_parts = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
    pkg_parts = [p for p in pkg_parts if p]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue  # a lazy import inside a body runs only when called
            if isinstance(node, ast.ImportFrom) and node.level:
                base = pkg_parts[:len(pkg_parts) - node.level + 1]
                mod = [*base, *(node.module.split(".") if node.module else [])]
                if node.level > len(pkg_parts) + 1:
                    continue  # outside the explain package
                if node.module:
                    found.add(".".join(mod))
                for alias in node.names:  # `from . import edges` imports a submodule
                    cand = ".".join([*mod, alias.name])
                    if (root / Path(*cand.split("."))).with_suffix(".py").exists() or \
                            (root / Path(*cand.split("."))).is_dir():
                        found.add(cand)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("stridenet.explain."):
                        found.add(alias.name[len("stridenet.explain."):])
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []) or [])

    visit(tree.body)
    found.discard("")
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    return {module_name(p, root): top_level_imports(p, root) for p in root.rglob("*.py")}


def renderer_imports(graph) -> list[tuple[str, str]]:
    return [(m, dep) for m in sorted(graph) if is_trace_module(m) for dep in sorted(graph[m])
            if is_renderer(dep)]


def find_cycle(graph) -> list[str] | None:
    state, stack = {}, []

    def dfs(m):
        state[m] = 1
        stack.append(m)
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep in graph and not state.get(dep):
                cycle = dfs(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if not state.get(m):
            cycle = dfs(m)
            if cycle:
                return cycle
    return None


def test_trace_modules_import_no_renderer_at_module_level():
    graph = import_graph(PKG)
    assert TRACE_MODULES <= {m for m in graph if is_trace_module(m)}
    assert renderer_imports(graph) == []


def test_explain_module_level_imports_have_no_cycle():
    graph = import_graph(PKG)
    assert find_cycle(graph) is None, find_cycle(graph)


def test_checker_sees_the_old_circle():
    """The checker itself can fail: a trace module importing a renderer, and a cycle."""
    graph = {"trace": set(), "backward": {"render_text", "trace"},
             "render_text": {"trace", "backward"}}
    assert renderer_imports(graph) == [("backward", "render_text")]
    assert find_cycle(graph) == ["backward", "render_text", "backward"]


def test_checker_reads_relative_imports(tmp_path):
    (tmp_path / "trace.py").write_text("from .render_text import x\n"
                                       "def f():\n    from .figures import y\n")
    (tmp_path / "render_text.py").write_text("from . import trace\nfrom .trace import z\n")
    (tmp_path / "figures.py").write_text("import numpy\n")
    graph = import_graph(tmp_path)
    assert graph["trace"] == {"render_text"}  # the lazy import in f() is not module level
    assert graph["render_text"] == {"trace"}
    assert find_cycle(graph) == ["render_text", "trace", "render_text"]


def test_importing_traces_loads_no_renderer():
    code = ("import sys; import stridenet.explain as e; "
            "e.conv2d([[1, 2], [3, 4]], [[1]]); e.max_pool2d([[1, 2]], 1); "
            "e.conv2d_backward([[1, 2], [3, 4]], [[1]], [[1, 1], [1, 1]]); "
            "print(sorted(m for m in sys.modules if m.startswith('stridenet.explain.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = {m[len("stridenet.explain."):] for m in eval(out)}
    assert "conv" in loaded and "trace" in loaded
    assert not [m for m in loaded if is_renderer(m)]


def test_rendering_still_works_through_the_trace():
    t = stridenet.explain.conv2d([[1, 2, 3], [4, 5, 6]], [[1, -1]], bias=1)
    assert "out[0,0] = 1*1 + (-1)*2 + 1 (bias) = 0" in str(t)
    assert "<table>" in t.to_html() and t._repr_html_() == t.to_html()
    assert "| " in t.to_markdown()
    b = stridenet.explain.conv2d_backward([[1, 2], [3, 4]], [[1, 2]], [[1], [1]])
    assert "Input gradient" in str(b) and "<h3>" in b.to_html()
    assert "Model" in stridenet.explain.model_shapes(_tiny_model()).to_markdown()


def _tiny_model():
    import stridenet as sn

    return sn.models.Sequential([sn.layers.Input((6, 6, 1)), sn.layers.Conv2D(2, 3)])
