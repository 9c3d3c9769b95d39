"""Fitness checks that hold the shape of the house in place (issue 7).

- no import cycle among the modules of ``gwanje`` (function-local imports count);
- the import contracts in ``pyproject.toml`` are kept, and they name every capability;
- ``ruff check`` and ``ruff format --check`` pass;
- every JSON route under ``/api`` declares a response model;
- no organisation, role or department of the shipped policy is written into code outside ``policy/``;
- capabilities import no entry point (``click``, ``gwanje.cli``, ``gwanje.web``, ``gwanje.bootstrap``) and no
  private name of another capability;
- every capability folder has the six files.

A capability is a top-level package of ``gwanje`` that is not one of the shared parts in ``INFRASTRUCTURE``.
Each of its six files exists even when the capability has nothing to put there (no tables, no pages): the
file then says so in its docstring, and ``api.py`` / ``views.py`` still expose ``routers`` (an empty list), so
that every capability is registered, read and extended the same way. A sub-package (``access/provisions/``)
is a part of its capability and is not held to the six files here.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
import types
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Union, get_args, get_origin

import grimp
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "gwanje"
PYPROJECT = ROOT / "pyproject.toml"

# Top-level parts of gwanje that are not capabilities: entry points, the composition root, the migrations and
# their table list, shared HTTP and UI helpers, core, the policy and packaged data.
INFRASTRUCTURE = frozenset(
    {
        "__init__",
        "__main__",
        "cli",
        "web",
        "bootstrap",
        "migrations",
        "models",
        "ui",
        "http",
        "core",
        "policy",
        "data",
    }
)
SIX_FILES = ("models.py", "rules.py", "service.py", "api.py", "views.py", "schemas.py")
ENTRY_POINTS = ("click", "gwanje.cli", "gwanje.web", "gwanje.bootstrap")


# ---- helpers -------------------------------------------------------------------------------------------------


def capabilities_on_disk() -> list[str]:
    """Top-level packages of gwanje that are capabilities."""
    return sorted(
        p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file() and p.name not in INFRASTRUCTURE
    )


def contracts() -> dict[str, dict]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def capability_layer() -> list[str]:
    """The capabilities named in the layers contract (the line that holds ``registry``), optional ones too."""
    for layer in contracts()["layers"]["layers"]:
        names = [n.strip() for n in re.split(r"[|:]", layer)]
        if "registry" in names:
            return sorted(n.strip("()") for n in names)
    raise AssertionError("the layers contract has no line with the capabilities")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def package_of(path: Path) -> str:
    module = module_name(path)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def resolve_from(node: ast.ImportFrom, package: str) -> str:
    """The absolute module of ``from X import ...``, relative imports included."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(tree: ast.AST, package: str) -> Iterable[tuple[int, str, tuple[str, ...]]]:
    """(line, absolute module, names taken from it) for every import statement, however deep in the code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, resolve_from(node, package), tuple(alias.name for alias in node.names)


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion: the components of more than one node, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def shortest_cycle(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return component  # unreachable for a true component


def import_graph(graph: grimp.ImportGraph, root: str = "gwanje") -> dict[str, set[str]]:
    inside = {m for m in graph.modules if is_within(m, root)}
    return {m: {i for i in graph.find_modules_directly_imported_by(m) if i in inside} for m in inside}


def describe_cycle(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = []
    for importer, imported in zip(cycle, cycle[1:]):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"l.{d['line_number']}: {d['line_contents']}" for d in details[:2])
        lines.append(f"    {importer} -> {imported}  ({where})")
    return "\n".join(lines)


def tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    assert on_path, f"{name} is not installed: it is in the test extra (pip install -e '.[test]')"
    return on_path


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool(args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)


# ---- no import cycles ----------------------------------------------------------------------------------------


def test_no_import_cycle_among_the_modules_of_gwanje():
    # Imports under TYPE_CHECKING count too: a schema that names a service's type is an arrow pointing up.
    graph = grimp.build_graph(
        "gwanje", include_external_packages=True, exclude_type_checking_imports=False, cache_dir=None
    )
    edges = import_graph(graph)
    components = strongly_connected(edges)
    report = [
        f"  {len(c)} modules: {', '.join(c)}\n  for example:\n{describe_cycle(graph, shortest_cycle(edges, c))}"
        for c in components
    ]
    assert not components, "import cycles among the modules of gwanje:\n" + "\n".join(report)


def test_the_cycle_finder_finds_a_planted_cycle_and_only_that():
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),
        ("pkg.c", "pkg.d"),
        ("pkg.d", "pkg.e"),
        ("pkg.e", "pkg.d"),
        ("pkg.f", "pkg.a"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    edges = import_graph(graph, "pkg")
    assert sorted(strongly_connected(edges)) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.d", "pkg.e"]]
    assert shortest_cycle(edges, ["pkg.a", "pkg.b", "pkg.c"]) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    assert "pkg.c -> pkg.a  (l.1: import pkg.a)" in describe_cycle(graph, ["pkg.a", "pkg.b", "pkg.c", "pkg.a"])
    assert strongly_connected({"pkg.x": {"pkg.y"}, "pkg.y": set()}) == []


# ---- the tools: import-linter and ruff -----------------------------------------------------------------------


def test_the_import_contracts_in_pyproject_are_kept():
    result = run_tool("lint-imports", "--no-cache", "--no-logo")
    assert result.returncode == 0, f"lint-imports:\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing_to_lint():
    result = run_tool("ruff", "check", "--no-cache", "--output-format", "concise")
    assert result.returncode == 0, f"ruff check:\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing_to_reformat():
    result = run_tool("ruff", "format", "--check", "--no-cache", "--output-format", "concise")
    assert result.returncode == 0, f"ruff format --check:\n{result.stdout}\n{result.stderr}"


def test_the_contracts_name_every_capability():
    """A new capability folder is registered in the three capability contracts of pyproject.toml."""
    on_disk = set(capabilities_on_disk())
    found = contracts()
    listed = {
        "the layers contract (capabilities line)": set(capability_layer()),
        "capabilities-public-modules (modules)": {
            m.removeprefix("gwanje.") for m in found["capabilities-public-modules"]["modules"]
        },
        "capabilities-no-entry-points (source_modules)": {
            m.removeprefix("gwanje.") for m in found["capabilities-no-entry-points"]["source_modules"]
        },
    }
    problems = [f"{where}: add {sorted(on_disk - names)}" for where, names in listed.items() if on_disk - names]
    problems += [
        f"{where}: no such package {sorted(names - on_disk)}" for where, names in listed.items() if names - on_disk
    ]
    optional = [n.strip() for line in found["layers"]["layers"] for n in re.split(r"[|:]", line) if "(" in n]
    if optional:
        problems.append(f"the layers contract marks {optional} optional: every capability exists")
    assert not problems, (
        "pyproject.toml [tool.importlinter] does not name the capabilities in src/gwanje "
        "(a shared part belongs in INFRASTRUCTURE of this test instead):\n  " + "\n  ".join(problems)
    )


# ---- JSON routes have response models ------------------------------------------------------------------------


def _is_model(annotation: object) -> bool:
    """A pydantic model, or a list / tuple / union of them (``None`` aside)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset, Sequence, Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None) and a is not Ellipsis]
        return bool(args) and all(_is_model(a) for a in args)
    return False


def test_every_json_route_under_api_declares_a_response_model(tmp_path):
    from fastapi.datastructures import DefaultPlaceholder
    from fastapi.responses import JSONResponse

    from gwanje.core.db import Database
    from gwanje.core.settings import Settings
    from gwanje.policy import load_default
    from gwanje.web.app import create_app, iter_api_routes

    db = Database(f"sqlite:///{tmp_path / 'gwanje.db'}")
    try:
        app = create_app(
            Settings(database_url=db.url, var_dir=tmp_path / "var"), db=db, policy=load_default(), migrate=False
        )
        routes = [r for r in iter_api_routes(app.routes) if r.path.startswith("/api")]
    finally:
        db.dispose()
    assert len(routes) > 20
    bare = []
    for route in routes:
        response_class = route.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
        if not issubclass(response_class, JSONResponse) or route.status_code in (204, 205, 304):
            continue  # files, streams, pages and empty answers say so with response_class / status_code
        if not _is_model(route.response_model):
            bare.append(
                f"{','.join(sorted(route.methods))} {route.path} -> {route.response_model!r} "
                f"({route.endpoint.__module__}.{route.endpoint.__name__})"
            )
    assert not bare, f"{len(bare)} JSON routes without a response model:\n  " + "\n  ".join(bare)


def test_the_response_model_check_refuses_dicts_and_accepts_models():
    class CameraRead(BaseModel):
        id: int

    assert _is_model(CameraRead) and _is_model(list[CameraRead]) and _is_model(CameraRead | None)
    assert not _is_model(dict) and not _is_model(dict[str, object]) and not _is_model(None)
    assert not _is_model(list[dict]) and not _is_model(CameraRead | dict)


# ---- the policy decides who ----------------------------------------------------------------------------------


def policy_words() -> tuple[set[str], set[str]]:
    """Codes (found as quoted literals) and Korean names (found anywhere) of the shipped policy."""
    from gwanje.policy import load_default

    policy = load_default()
    codes = (
        {o.code for o in policy.organisations} | {r.code for r in policy.roles} | {d.code for d in policy.departments}
    )
    names = {d.ko for d in policy.departments} | {o.name_ko for o in policy.organisations}
    return codes, names


def scan_for_policy_words(text: str, codes: Iterable[str], names: Iterable[str]) -> list[tuple[int, str]]:
    literal = re.compile(r"""(["'])(%s)\1""" % "|".join(sorted(map(re.escape, codes), key=len, reverse=True)))
    name = re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        hits += [(number, m.group(0)) for m in literal.finditer(line)]
        hits += [(number, m.group(0)) for m in name.finditer(line)]
    return hits


def files_outside_the_policy() -> list[Path]:
    files = [
        *SRC.rglob("*.py"),
        *(p for p in (SRC / "templates").rglob("*") if p.is_file()),
        *(SRC / "static" / "js").glob("*.js"),
    ]
    return sorted(
        p for p in files if p.relative_to(SRC).parts[0] not in ("policy", "policies") and "__pycache__" not in p.parts
    )


def test_no_organisation_role_or_department_of_the_policy_is_written_outside_it():
    codes, names = policy_words()
    assert {"district", "police", "district_manager", "police_112"} <= codes and "자치행정과" in names
    hits = [
        f"{path.relative_to(ROOT)}:{line}: {word}"
        for path in files_outside_the_policy()
        for line, word in scan_for_policy_words(path.read_text(encoding="utf-8"), codes, names)
    ]
    assert not hits, (
        f"{len(hits)} organisation, role or department codes or names outside src/gwanje/policy/ "
        "(read them from the policy):\n  " + "\n  ".join(hits)
    )


def test_the_policy_word_scan_finds_literals_and_names_but_not_longer_words():
    text = (
        'if org == "police":\n'
        "    role = 'district_manager'  # police in a comment is fine\n"
        'label = "자치행정과 담당"\n'
        'other = "police_station_x" + "policeman"\n'
    )
    found = scan_for_policy_words(text, {"police", "district_manager", "police_station"}, {"자치행정과"})
    assert found == [(1, '"police"'), (2, "'district_manager'"), (3, "자치행정과")]


# ---- capabilities: no entry points, no private names of another, six files -----------------------------------


def test_no_capability_module_imports_click_the_cli_the_web_app_or_the_composition_root():
    offences = []
    for capability in capabilities_on_disk():
        for path in python_files(SRC / capability):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, target, names in imported_names(tree, package_of(path)):
                taken = [target] + [f"{target}.{n}" for n in names]
                for forbidden in ENTRY_POINTS:
                    if any(is_within(t, forbidden) for t in taken):
                        offences.append(f"{path.relative_to(ROOT)}:{line}: imports {forbidden}")
                        break
    assert not offences, "capabilities must not import entry points:\n  " + "\n  ".join(offences)


def test_no_capability_uses_a_private_name_of_another():
    caps = capabilities_on_disk()

    def owner(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == "gwanje" and parts[1] in caps else None

    offences = []
    for capability in caps:
        for path in python_files(SRC / capability):
            rel = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            aliases: dict[str, str] = {}  # local name -> module of another capability
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    target = resolve_from(node, package_of(path))
                    for alias in node.names:
                        full = f"{target}.{alias.name}"
                        theirs = owner(full)
                        if theirs in (None, capability):
                            continue
                        if any(part.startswith("_") for part in full.split(".")[2:]):
                            offences.append(f"{rel}:{node.lineno}: from {target} import {alias.name}")
                        aliases[alias.asname or alias.name] = full
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        theirs = owner(alias.name)
                        if theirs not in (None, capability):
                            if any(part.startswith("_") for part in alias.name.split(".")[2:]):
                                offences.append(f"{rel}:{node.lineno}: import {alias.name}")
                            if alias.asname:
                                aliases[alias.asname] = alias.name
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in aliases
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                ):
                    offences.append(f"{rel}:{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    assert not offences, "private names of another capability:\n  " + "\n  ".join(sorted(set(offences)))


def test_every_capability_has_the_six_files_each_saying_what_it_holds():
    problems = []
    for capability in capability_layer():
        folder = SRC / capability
        if not (folder / "__init__.py").is_file():
            problems.append(f"src/gwanje/{capability}/ is named in the contracts but is not a package")
            continue
        for name in SIX_FILES:
            path = folder / name
            if not path.is_file():
                problems.append(f"src/gwanje/{capability}/{name} is missing")
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            if not (ast.get_docstring(tree) or "").strip():
                problems.append(f"src/gwanje/{capability}/{name} has no docstring saying what it holds")
            if name in ("api.py", "views.py"):
                assigned = {
                    t.id
                    for node in tree.body
                    if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)
                }
                if "routers" not in assigned:
                    problems.append(f"src/gwanje/{capability}/{name} does not expose `routers = [...]`")
    assert not problems, "capabilities out of shape:\n  " + "\n  ".join(problems)
