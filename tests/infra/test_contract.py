"""The stack sets every environment variable a handler reads (functions/common/contract.py).

Per Lambda function of the synthesized template: the handler's module, every ``functions`` module
it imports (statically, imports inside functions too), and each ``settings.<name>`` those modules
read; each must be in that function's ``Environment``. No other module reads the environment
for its own settings."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from driftgate.paths import REPO_ROOT
from functions.common.contract import Settings

FUNCTIONS = REPO_ROOT / "functions"
# Modules that may read os.environ directly, and why.
ENVIRON_READERS = {
    "functions/common/contract.py": "the contract itself",
    "functions/common/metrics.py": "Powertools' own POWERTOOLS_* variables, set by HandlerFunction",
    "functions/drift/embedder.py": "tells the Hugging Face libraries to stay offline (HF_HUB_OFFLINE)",
    "functions/drift/onnx_embedder.py": "ONNX Runtime's threads follow OMP_NUM_THREADS where a process pins it",
    "functions/common/clients.py": "the region the Lambda runtime sets (AWS_REGION)",
}


def module_path(name: str) -> Path | None:
    base = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "functions" and module_path(name)}


def closure(module: str) -> set[Path]:
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # a package's __init__ runs on import of its modules
            path = module_path(".".join(parts[:i]))
            if path and path not in seen:
                seen.add(path)
                todo += sorted(imported_modules(path))
    return seen


def settings_read(path: Path) -> set[str]:
    tree = parsed(path)
    imports_settings = any(isinstance(n, ast.ImportFrom) and n.module == "functions.common.contract"
                           and any(a.name == "settings" for a in n.names) for n in ast.walk(tree))
    if not imports_settings:
        return set()
    return {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "settings"}


def handlers(template: dict) -> dict[str, tuple[str, set[str]]]:
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        handler = props.get("Handler") or props["ImageConfig"]["Command"][0]
        found[logical_id] = (handler.rsplit(".", 1)[0], set(props["Environment"]["Variables"]))
    return found


def test_every_setting_a_handler_reads_is_set_by_the_stack(synthesized_template) -> None:
    variables = Settings.variables()
    functions = handlers(synthesized_template)
    assert len(functions) >= 8  # 9 with approval_mode=manual
    checked = 0
    for logical_id, (module, environment) in functions.items():
        for path in closure(module):
            for name in settings_read(path):
                assert name in variables, f"{path.relative_to(REPO_ROOT)} reads settings.{name}, not in the contract"
                checked += 1
                assert variables[name].name in environment, (
                    f"{logical_id} ({module}) reads {variables[name].name} through "
                    f"{path.relative_to(REPO_ROOT)}, but the stack does not set it")
    assert checked >= 20


def test_no_other_module_reads_the_environment_for_settings() -> None:
    readers = set()
    for path in FUNCTIONS.rglob("*.py"):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.add(str(path.relative_to(REPO_ROOT)))
    assert readers <= set(ENVIRON_READERS), sorted(readers - set(ENVIRON_READERS))


def test_a_misspelt_setting_fails_on_the_stack_side() -> None:
    with pytest.raises(TypeError, match="not handler settings: windw_hours"):
        Settings.environment(windw_hours=24)
    assert Settings.environment(window_hours=24, gate_config={"min_gain": 0.0}, monitored_models=("a", "b")) == {
        "WINDOW_HOURS": "24", "GATE_CONFIG": '{"min_gain": 0.0}', "MONITORED_MODELS": "a,b"}


def test_a_missing_required_setting_is_a_configuration_error(monkeypatch) -> None:
    from functions.common.contract import MissingSetting, settings
    from functions.common.exceptions import ConfigurationError

    monkeypatch.delenv("STATE_TABLE", raising=False)
    with pytest.raises(ConfigurationError, match="STATE_TABLE is not set") as raised:
        _ = settings.state_table
    assert isinstance(raised.value, MissingSetting)
    monkeypatch.setenv("WINDOW_HOURS", "6")
    assert settings.window_hours == 6
