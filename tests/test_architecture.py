"""The layers, checked on the import graph of ``hls_server`` and ``transcode``, imports inside functions included.

- no cycle, however it is hidden (a function-level import is still an import);
- the core (``hls_server.core``) knows no HTTP: no ``aiohttp.web``, nothing of ``hls_server.web``, the CLI or demo;
- ``jwt`` is imported only by the token modules of ``hls_server.core.auth``;
- ``hls_server.core.names`` is a leaf; the transcoder takes nothing else from the origin;
- only the runner composes the application: nothing else imports ``hls_server.web.app``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("hls_server", "transcode")
JWT_IMPORTERS = frozenset({"hls_server.core.auth.keys", "hls_server.core.auth.verifier",
                           "hls_server.core.auth.minting"})
HTTP_MODULES = ("aiohttp.web", "aiohttp.web_")  # aiohttp's server side; the client (JWKS fetches) is allowed

Graph = Mapping[str, frozenset[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def imports_of(name: str, path: Path, known: Iterable[str]) -> frozenset[str]:
    """Every module ``name`` imports, anywhere in the file, resolved to full names (a ``from x import y`` that names
    a module ``x.y`` counts as importing ``x.y``)."""
    modules = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in modules or not base.startswith(PACKAGES):  # outside: ``from aiohttp import web``
                    found.add(candidate)
                if candidate not in modules:
                    found.add(base)
    return frozenset(found)


@pytest.fixture(scope="module")
def graph() -> dict[str, frozenset[str]]:
    found = sources()
    return {name: imports_of(name, path, found) for name, path in found.items()}


def project_graph(graph: Graph) -> dict[str, frozenset[str]]:
    return {name: frozenset(t for t in targets if t in graph) for name, targets in graph.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_whole(graph: Graph) -> None:
    assert len(graph) > 40
    assert "hls_server.core.gate" in graph["hls_server.web.routes.media"] | graph["hls_server.web.context"]
    assert "hls_server.web.serve" in graph["hls_server.cli"]  # a function-level import is seen


def test_no_import_cycle(graph: Graph) -> None:
    assert cycles(project_graph(graph)) == []


def test_the_cycle_check_has_teeth(tmp_path: Path) -> None:
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}) == [
        ["a", "b", "c"]]
    assert cycles({"a": frozenset({"a"})}) == [["a"]]
    late = tmp_path / "x.py"
    late.write_text("def late():\n    from .y import z\n    from . import w\n", encoding="utf-8")
    assert imports_of("hls_server.x", late, {"hls_server.w"}) == {"hls_server.y", "hls_server.w"}


def test_from_aiohttp_import_web_counts_as_the_web(tmp_path: Path) -> None:
    module = tmp_path / "x.py"
    module.write_text("from aiohttp import web\n", encoding="utf-8")
    assert "aiohttp.web" in imports_of("hls_server.core.x", module, sources())


def test_the_core_knows_no_http(graph: Graph) -> None:
    for name, targets in graph.items():
        if not name.startswith("hls_server.core"):
            continue
        http = sorted(t for t in targets if t.startswith(HTTP_MODULES) or t == "aiohttp.web")
        upward = sorted(t for t in targets if t.startswith(("hls_server.web", "hls_server.cli", "hls_server.demo")))
        assert http == [] and upward == [], (name, http, upward)


def test_only_the_token_modules_import_jwt(graph: Graph) -> None:
    importers = {name for name, targets in graph.items() if any(t == "jwt" or t.startswith("jwt.") for t in targets)}
    assert importers == JWT_IMPORTERS


def test_names_is_a_leaf_and_all_the_transcoder_takes_from_the_origin(graph: Graph) -> None:
    assert not any(t.startswith(PACKAGES) for t in graph["hls_server.core.names"])
    taken = {t for name, targets in graph.items() if name.startswith("transcode") for t in targets
             if t.startswith("hls_server")}
    assert taken == {"hls_server.core.names"}


def test_only_the_runner_composes_the_app(graph: Graph) -> None:
    assert {name for name, targets in graph.items() if "hls_server.web.app" in targets} == {"hls_server.web.serve"}


def test_routes_do_not_import_each_other(graph: Graph) -> None:
    routes = {name for name in graph if name.startswith("hls_server.web.routes.")}
    for name in routes:
        assert not (graph[name] & routes), name
