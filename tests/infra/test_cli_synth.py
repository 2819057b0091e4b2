"""The app as `npx cdk synth` builds it for a user (``cli_assembly``: region set, no credentials, every
asset bundled for real): cdk-nag passes, the template names no region or account, cfn-lint finds
nothing, and the dependency layer keeps its margin below Lambda's limit.

The other template tests synthesize in-process without bundling, and without a region; these are
the ones that see what `cdk deploy` uploads. One module, so one worker synthesizes once.

The drift check is a zip function too: the dependency layer, the embedder's runtime layer (ONNX
Runtime, tokenizers) and its model layer; it stays well under Lambda's 250 MB unzipped and embeds
with nothing but those layers and the runtime.
"""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from functions.drift.onnx_embedder import DIMENSIONS
from infra.app import STACK_NAME, cdk_json_context
from infra.components.handler_function import CODE_PACKAGES, EMBEDDING_MODEL_FOLDER, RUNTIME_PROVIDED
from infra.stack import DriftgateStack
from tests.infra.conftest import CLI_REGION, REPO_ROOT, CliAssembly

# Every AWS region name (us-east-1, ap-southeast-4, us-gov-west-1, cn-northwest-1, eusc-de-east-1...).
REGION = re.compile(r"\b[a-z]{2,4}(?:-[a-z]{2,4})?-(?:north|south|east|west|central)(?:east|west)?-\d+\b")
# Twelve digits standing alone (ARNs delimit them with ":", "." or "-"), never inside a hex asset hash.
ACCOUNT = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
# The only places a region or account may be written out, each with its reason.
JUSTIFIED = {
    # A CfnMapping is a lookup table keyed by region (the Deep Learning Containers' publishing
    # account per region): the template selects from it with AWS::Region, it pins nothing.
    ("Mappings",): "per-region lookup tables",
    # CDK's own condition lists the regions that have the AWS::CDK::Metadata resource type, so that
    # the (version-reporting) resource is created only there; the stack deploys everywhere.
    ("Conditions", "CDKMetadataAvailable"): "regions where AWS::CDK::Metadata exists",
}
LAYER_LIMIT_BYTES = 200_000_000  # Lambda allows 250 MB unzipped (function + layers); keep 50 MB spare.
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # 250 MiB: a function's code and all its layers, unzipped
DRIFT_CHECK_KEPT_BYTES = 225_000_000  # the drift check (code + 3 layers) keeps 37 MB of that spare
DRIFT_CHECK = "functions.monitor.drift_check.lambda_handler"
# What the Lambda Python runtime provides besides the standard library: the SDK and what it imports.
RUNTIME_MODULES = frozenset({*RUNTIME_PROVIDED, "jmespath", "urllib3", "dateutil", "six"})


def _strings(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in a template (keys too), with the path of keys leading to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, path)
    elif isinstance(node, str):
        yield path, node


def _template(cli_assembly: CliAssembly) -> dict[str, Any]:
    return json.loads(cli_assembly.template_path.read_text())


def _asset_dir(cli_assembly: CliAssembly, code: dict[str, Any]) -> Path:
    return cli_assembly.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"


def _layer_dirs(cli_assembly: CliAssembly, props: dict[str, Any]) -> list[Path]:
    """The bundled folders of a function's layers, in its order."""
    resources = _template(cli_assembly)["Resources"]
    return [_asset_dir(cli_assembly, resources[layer["Ref"]]["Properties"]["Content"]) for layer in props["Layers"]]


def _layer_dir(cli_assembly: CliAssembly) -> Path:
    """The dependency layer: the one every function has."""
    (layer,) = set.intersection(*(set(_layer_dirs(cli_assembly, props)) for props in _zip_functions(cli_assembly)))
    return layer


def _zip_functions(cli_assembly: CliAssembly) -> list[dict[str, Any]]:
    """The properties of every zip function (all of them: each has the dependency layer)."""
    resources = _template(cli_assembly)["Resources"].values()
    return [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::Function" and "Layers" in r["Properties"]]


def _unzipped_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def _code_dir(cli_assembly: CliAssembly) -> Path:
    (code_dir,) = {_asset_dir(cli_assembly, props["Code"]) for props in _zip_functions(cli_assembly)}
    return code_dir


def test_cli_synth_passes_cdk_nag(cli_assembly: CliAssembly) -> None:
    # The fixture already required exit status 0, which cdk-nag's errors would have prevented.
    (report_path,) = cli_assembly.outdir.glob(f"AwsSolutions-*{STACK_NAME}-NagReport.csv")
    with report_path.open() as report:
        rows = list(csv.DictReader(report))
    assert rows, "cdk-nag wrote an empty report"
    assert [row for row in rows if row["Compliance"] == "Non-Compliant"] == []
    print(f"npx cdk synth (assets bundled): {cli_assembly.seconds:.1f} s")


def test_suppressions_hold_in_any_account_and_region() -> None:
    # A stack bound to an environment gets literal ARNs where the CLI's template has pseudo
    # parameters; every suppression has to match both.
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    stack = DriftgateStack(app, STACK_NAME, env=cdk.Environment(account="210987654321", region="ap-southeast-4"))
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    app.synth()
    findings = [*Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*")),
                *Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))]
    assert findings == [], "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


def test_template_names_no_region_or_account(cli_assembly: CliAssembly) -> None:
    template = _template(cli_assembly)
    assert template["Resources"], "empty template"
    pinned = [(path, text) for path, text in _strings(template)
              if (REGION.search(text) or ACCOUNT.search(text))
              and not any(path[:len(prefix)] == prefix for prefix in JUSTIFIED)]
    assert pinned == [], "\n".join(f"{'/'.join(path)}: {text[:200]}" for path, text in pinned)
    # The scan can see what it looks for: the CLI's region would have been caught.
    assert REGION.search(f"arn:aws:logs:{CLI_REGION}:") and ACCOUNT.search("arn:aws:iam::123456789012:root")


def test_cfn_lint_reports_nothing(cli_assembly: CliAssembly) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--config-file", str(REPO_ROOT / ".cfnlintrc"),
         "--format", "json", "--", str(cli_assembly.template_path)],
        capture_output=True, text=True, timeout=300,
    )
    findings = json.loads(done.stdout or "[]")
    assert findings == [], "\n".join(f"{f['Rule']['Id']} {f['Location']['Path']}: {f['Message']}" for f in findings)
    assert done.returncode == 0, done.stderr


def test_dependency_layer_stays_under_200_mb_unzipped(cli_assembly: CliAssembly) -> None:
    files = [path for path in _layer_dir(cli_assembly).rglob("*") if path.is_file() and not path.is_symlink()]
    size = sum(path.stat().st_size for path in files)
    print(f"dependency layer: {size / 1e6:.1f} MB unzipped in {len(files)} files")
    assert size < LAYER_LIMIT_BYTES, f"the layer is {size / 1e6:.1f} MB unzipped (limit kept: 200 MB)"


def test_dependency_layer_leaves_the_sdk_to_the_runtime(cli_assembly: CliAssembly) -> None:
    installed = {path.name.split("-")[0].lower().replace("_", "-")
                 for path in (_layer_dir(cli_assembly) / "python").glob("*.dist-info")}
    assert "aws-lambda-powertools" in installed and "pydantic" in installed
    assert installed.isdisjoint({*RUNTIME_PROVIDED, "urllib3", "python-dateutil"}), sorted(installed)
    assert "jmespath" in installed  # Powertools requires it directly, not only through botocore
    leftovers = [p for p in (_layer_dir(cli_assembly) / "python").rglob("*") if p.name == "tests" or p.suffix == ".pyi"]
    assert leftovers == []


def test_zip_handlers_import_with_only_their_layers_and_the_runtime(cli_assembly: CliAssembly) -> None:
    """Each zip function's handler module is imported from its code asset, with every other
    third-party module refused unless one of its layers or the runtime has it: an import a layer
    lacks fails here as it would in Lambda, and optional imports (try/except ImportError) fall back.
    The drift check then embeds with the model its layer ships (ONNX Runtime and tokenizers of the
    same pinned versions, from this venv: the layers' wheels are built for Lambda's Python)."""
    functions = _zip_functions(cli_assembly)
    assert len(functions) >= 7 and DRIFT_CHECK in {props["Handler"] for props in functions}
    code_dir = _code_dir(cli_assembly)
    embedded = 0
    by_layers: dict[tuple[Path, ...], set[str]] = {}
    for props in functions:
        by_layers.setdefault(tuple(_layer_dirs(cli_assembly, props)), set()).add(props["Handler"].rpartition(".")[0])
    for layers, modules in by_layers.items():
        provided = {path.name.split(".")[0] for layer in layers if (layer / "python").is_dir()
                    for path in (layer / "python").iterdir() if not path.name.endswith((".dist-info", ".libs"))}
        models = [layer / EMBEDDING_MODEL_FOLDER for layer in layers if (layer / EMBEDDING_MODEL_FOLDER).is_dir()]
        embedded += len(models)
        embed = "" if not models else f"""
from functions.drift import OnnxMiniLMEmbedder
vectors = OnnxMiniLMEmbedder({str(models[0])!r}).embed(["How do I bake bread?", "Yes."])
assert vectors.shape == (2, {DIMENSIONS}), vectors.shape
"""
        probe = f"""
import importlib, importlib.abc, importlib.machinery, sys, sysconfig
provided = {sorted(provided | RUNTIME_MODULES | set(CODE_PACKAGES))!r}
stdlib = tuple({{sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}})
class OnlyTheLambdaEnvironment(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if path is not None or name in provided or name in sys.builtin_module_names:
            return None  # submodules follow their package
        if importlib.machinery.FrozenImporter.find_spec(name) is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is not None and spec.origin and spec.origin.startswith(stdlib) and "site-packages" not in spec.origin:
            return None
        raise ModuleNotFoundError(f"No module named {{name!r}}: neither the layers nor the runtime have it", name=name)
sys.meta_path.insert(0, OnlyTheLambdaEnvironment())
sys.path.insert(0, {str(code_dir)!r})
for module in {sorted(modules)!r}:
    importlib.import_module(module)
    assert sys.modules[module].__file__.startswith({str(code_dir)!r}), sys.modules[module].__file__
{embed}"""
        # -B: the asset folder is what `cdk deploy` would upload; no bytecode is written into it.
        done = subprocess.run([sys.executable, "-I", "-B", "-c", probe], capture_output=True, text=True, timeout=300,
                              env={"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": CLI_REGION,
                                   "OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, f"{sorted(modules)}:\n{done.stderr[-4000:]}"
    assert embedded == 1  # the drift check's layers hold the one model


def test_the_drift_check_stays_well_under_lambdas_unzipped_limit(cli_assembly: CliAssembly) -> None:
    (props,) = [props for props in _zip_functions(cli_assembly) if props["Handler"] == DRIFT_CHECK]
    layers = zip((layer["Ref"] for layer in props["Layers"]), _layer_dirs(cli_assembly, props), strict=True)
    parts = {"code": _unzipped_bytes(_asset_dir(cli_assembly, props["Code"])),
             **{name: _unzipped_bytes(folder) for name, folder in layers}}
    total = sum(parts.values())
    print("drift check, unzipped: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in parts.items())
          + f"; total {total / 1e6:.1f} MB of {LAMBDA_UNZIPPED_LIMIT / 1e6:.1f} MB")
    assert total < DRIFT_CHECK_KEPT_BYTES, f"{total / 1e6:.1f} MB unzipped (kept: {DRIFT_CHECK_KEPT_BYTES / 1e6} MB)"


def test_code_asset_ships_the_packages_without_tests_or_caches(cli_assembly: CliAssembly) -> None:
    code_dir = _code_dir(cli_assembly)
    shipped = {path.relative_to(code_dir).as_posix() for path in code_dir.rglob("*") if path.is_file()}
    assert {"functions/api/app.py", "functions/pipeline/prepare_dataset.py", "functions/dataset/build.py"} <= shipped
    assert not [name for name in shipped if not name.startswith("functions/")]  # finetune/ runs in SageMaker only
    assert not [name for name in shipped if "__pycache__" in name or "/tests/" in name or name.endswith(".pyc")]
