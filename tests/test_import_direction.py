"""Imports run one way: ``driftgate/`` (CLI, local mode, report, test harness) → ``functions/`` and
``finetune/`` → nothing of ours above them.

Every module's imports are read with ``ast``, those inside functions included, plus
``importlib.import_module("literal")`` calls. A failure lists every offending import with its
file and line. The rules:

- ``functions/`` (the Lambda code asset) imports none of ``driftgate``, ``finetune``, ``infra``,
  ``benchmarks``, ``tests``;
- ``finetune/`` (the SageMaker source asset) imports none of ``driftgate``, ``infra``,
  ``benchmarks``, ``tests``, and of ``functions`` only the scorer (``functions.scoring``, shipped
  beside it with ``functions/__init__.py``);
- ``infra/`` imports none of ``driftgate``, ``benchmarks``, ``tests`` (the handlers' shared
  constants in ``functions`` it may);
- ``driftgate/`` and ``benchmarks/`` import nothing from ``tests``, and ``driftgate/`` nothing from
  ``benchmarks`` (both import the shared harness, ``driftgate.testing``);
- inside ``functions/``, only ``functions/api/`` imports ``functions.api``;
- no module imports a handler module (one defining ``lambda_handler``): a handler is an entry point,
  and what two handlers share lives in a domain module. The local mode's dispatcher loads handlers
  by the name the template gives (``importlib.import_module(name)``), which is not an import of a
  module named here. Tests may import what they test.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from driftgate.paths import REPO_ROOT

PACKAGES = ("functions", "finetune", "infra", "driftgate", "benchmarks", "tests")
TOP_LEVEL = {"app.py": "infra"}  # modules beside the packages, and the package whose rules they follow
FORBIDDEN = {
    "functions": ("driftgate", "finetune", "infra", "benchmarks", "tests"),
    "finetune": ("driftgate", "infra", "benchmarks", "tests"),
    "infra": ("driftgate", "benchmarks", "tests"),
    "driftgate": ("benchmarks", "tests"),
    "benchmarks": ("tests",),
    "tests": (),
}
FINETUNE_MAY_USE = ("functions", "functions.scoring")  # functions/__init__.py and the scorer


@dataclass(frozen=True)
class Module:
    name: str  # dotted
    path: Path  # relative to the root
    tree: ast.Module

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    @property
    def top(self) -> str:
        return TOP_LEVEL.get(str(self.path), self.name.split(".")[0])


def modules(root: Path) -> dict[str, Module]:
    found: dict[str, Module] = {}
    paths = [p for package in PACKAGES if (root / package).is_dir() for p in (root / package).rglob("*.py")]
    paths += [root / name for name in TOP_LEVEL if (root / name).is_file()]
    for path in sorted(paths):
        relative = path.relative_to(root)
        if "__pycache__" in relative.parts:
            continue
        parts = relative.with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = Module(name, relative, ast.parse(path.read_bytes(), filename=str(relative)))
    return found


def is_handler(module: Module) -> bool:
    for node in module.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "lambda_handler":
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "lambda_handler" for t in targets):
                return True
    return False


def imports(module: Module, known: dict[str, Module]) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``module``; ``from a import b`` names ``a.b``
    when that is a module of ours, else ``a``."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield node.lineno, submodule if submodule in known else source
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"):
            yield node.lineno, node.args[0].value


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def offence(module: Module, target: str, handlers: set[str]) -> str | None:
    """Why importing ``target`` from ``module`` runs the wrong way, or None."""
    top, ours = module.top, target.split(".")[0]
    if ours in FORBIDDEN.get(top, ()):
        return f"{top}/ must not import {ours}"
    if top == "finetune" and ours == "functions" and not (
            target == "functions" or _within(target, "functions.scoring")):
        return "finetune/ may import only functions.scoring of functions/"
    if (top == "functions" and _within(target, "functions.api") and not _within(module.name, "functions.api")):
        return "only functions/api/ imports functions.api"
    if target in handlers and target != module.name and top != "tests":
        return f"{target} is a handler module (it defines lambda_handler)"
    return None


def wrong_way_imports(root: Path) -> list[str]:
    known = modules(root)
    handlers = {name for name, module in known.items() if is_handler(module)}
    found = set()
    for module in known.values():
        for line, target in imports(module, known):
            if (reason := offence(module, target, handlers)) is not None:
                found.add((str(module.path), line, f"imports {target}: {reason}"))
    return [f"{path}:{line}: {what}" for path, line, what in sorted(found)]


def test_imports_run_one_way() -> None:
    found = wrong_way_imports(REPO_ROOT)
    assert not found, f"{len(found)} imports run the wrong way:\n" + "\n".join(found)


def test_the_packages_are_all_read() -> None:
    known = modules(REPO_ROOT)
    handlers = {name for name, module in known.items() if is_handler(module)}
    assert {"functions.api.app", "functions.pipeline.prepare_dataset", "functions.monitor.drift_check"} <= handlers
    assert {"finetune.train", "driftgate.cli", "infra.stack", "benchmarks.bench_load", "app"} <= set(known)


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_every_kind_of_wrong_way_import_is_reported_with_its_place(tmp_path: Path) -> None:
    _write(tmp_path, {
        "functions/__init__.py": "",
        "functions/api/__init__.py": "",
        "functions/api/models.py": "",
        "functions/api/app.py": "from functions.api import models\ndef lambda_handler(event, context): ...\n",
        "functions/pipeline/__init__.py": "",
        "functions/pipeline/promote.py": "def lambda_handler(event, context): ...\n",
        "functions/pipeline/task.py": "import functions.pipeline.promote\n",
        "functions/registry/__init__.py": "",
        "functions/registry/service.py": "def promote():\n    from ..pipeline import promote\n",
        "functions/interactions/__init__.py": "",
        "functions/interactions/models.py": "from functions.api.models import X\n",
        "functions/scoring/__init__.py": "",
        "functions/scoring/agreement.py": "import json\n\nfrom driftgate.paths import data_dir\n",
        "functions/drift/__init__.py": "",
        "functions/drift/embedder.py": ("def f():\n    import importlib\n"
                                        "    importlib.import_module('driftgate.paths')\n"),
        "functions/dataset.py": "from finetune.data import build\n",
        "finetune/__init__.py": "",
        "finetune/base_model.py": "def f():\n    from driftgate.paths import state_dir\n",
        "finetune/evaluate.py": ("import functions\nfrom functions import scoring\n"
                                 "from functions.scoring.pack import score\n"),
        "finetune/data.py": "from functions.drift import embedder\n",
        "infra/__init__.py": "",
        "infra/stack.py": "from functions.common import contract\nimport benchmarks.bench_load\n",
        "driftgate/__init__.py": "",
        "driftgate/local.py": "import importlib\n\ndef call(name):\n    return importlib.import_module(name)\n",
        "driftgate/testing.py": "from tests.pipeline import realdata\n",
        "benchmarks/__init__.py": "",
        "benchmarks/bench_load.py": "from tests.reliability.test_load import plan\n",
        "tests/__init__.py": "",
        "tests/test_promote.py": ("from functions.pipeline.promote import lambda_handler\n"
                                  "import benchmarks.bench_load\n"),
        "app.py": "import driftgate.cli\n",
    })
    assert wrong_way_imports(tmp_path) == sorted([
        "app.py:1: imports driftgate.cli: infra/ must not import driftgate",
        "benchmarks/bench_load.py:1: imports tests.reliability.test_load: benchmarks/ must not import tests",
        "driftgate/testing.py:1: imports tests.pipeline: driftgate/ must not import tests",
        "finetune/base_model.py:2: imports driftgate.paths: finetune/ must not import driftgate",
        "finetune/data.py:1: imports functions.drift.embedder: "
        "finetune/ may import only functions.scoring of functions/",
        "functions/dataset.py:1: imports finetune.data: functions/ must not import finetune",
        "functions/drift/embedder.py:3: imports driftgate.paths: functions/ must not import driftgate",
        "functions/interactions/models.py:1: imports functions.api.models: only functions/api/ imports functions.api",
        "functions/pipeline/task.py:1: imports functions.pipeline.promote: functions.pipeline.promote is a handler"
        " module (it defines lambda_handler)",
        "functions/registry/service.py:2: imports functions.pipeline.promote: functions.pipeline.promote is a"
        " handler module (it defines lambda_handler)",
        "functions/scoring/agreement.py:3: imports driftgate.paths: functions/ must not import driftgate",
        "infra/stack.py:2: imports benchmarks.bench_load: infra/ must not import benchmarks",
    ])


@pytest.mark.parametrize("source", ["from functions.scoring import score", "import functions.scoring.pii",
                                    "from functions import scoring", "import functions"])
def test_finetune_may_import_the_scorer(tmp_path: Path, source: str) -> None:
    _write(tmp_path, {"functions/__init__.py": "", "functions/scoring/__init__.py": "",
                      "functions/scoring/pii.py": "", "finetune/__init__.py": "", "finetune/evaluate.py": source})
    assert wrong_way_imports(tmp_path) == []
