"""Lambda asset hashes follow exactly what each asset ships (issue: a change to the dataset
builder, then in finetune/data.py, did not redeploy PrepareDataset, because the code asset was
hashed over functions/ alone). The code asset now ships functions/ only: finetune/ runs in
SageMaker, and a change there redeploys no function.

Each test builds the assets from a copy of the repository's packages and edits that copy."""
from __future__ import annotations

import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.components.handler_function import (
    CODE_PACKAGES,
    LAYER_REQUIREMENTS,
    RUNTIME,
    _CopyFiles,
    code_asset,
    code_files,
    layer_asset,
)
from tests.infra.conftest import REPO_ROOT


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for package in (*CODE_PACKAGES, "finetune"):
        shutil.copytree(REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "README.md").write_text("not shipped\n")
    return root


def _hashes(root: Path, outdir: Path) -> tuple[str, str]:
    """(code asset hash, layer asset hash) as they land in a template's S3 keys."""
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})  # hashes need no bundling
    stack = cdk.Stack(app, "Hashes")
    layer = lambda_.LayerVersion(stack, "Layer", code=layer_asset(root), compatible_runtimes=[RUNTIME])
    lambda_.Function(stack, "Function", runtime=RUNTIME, handler="functions.api.app.lambda_handler",
                     code=code_asset(root), layers=[layer])
    template = Template.from_stack(stack)
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    (layer_version,) = template.find_resources("AWS::Lambda::LayerVersion").values()
    return function["Properties"]["Code"]["S3Key"], layer_version["Properties"]["Content"]["S3Key"]


def _edit(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        file.write("\n# edited\n")


def test_hashes_are_stable_for_the_same_content(repo: Path, tmp_path: Path) -> None:
    assert _hashes(repo, tmp_path / "a") == _hashes(repo, tmp_path / "b")


@pytest.mark.parametrize("shipped", ["functions/dataset/build.py", "functions/scoring/pack.py",
                                     "functions/new_package/new_module.py"])
def test_a_shipped_file_changes_the_code_hash_only(repo: Path, tmp_path: Path, shipped: str) -> None:
    code, layer = _hashes(repo, tmp_path / "before")
    _edit(repo / shipped)
    code_after, layer_after = _hashes(repo, tmp_path / "after")
    assert code_after != code
    assert layer_after == layer


@pytest.mark.parametrize("unshipped", ["README.md", "functions/__pycache__/app.cpython-311.pyc",
                                       "functions/api/tests/test_app.py", "finetune/train.py",
                                       "finetune/new_module.py"])
def test_an_unshipped_file_keeps_both_hashes(repo: Path, tmp_path: Path, unshipped: str) -> None:
    before = _hashes(repo, tmp_path / "before")
    _edit(repo / unshipped)
    assert _hashes(repo, tmp_path / "after") == before


@pytest.mark.parametrize("requirements", LAYER_REQUIREMENTS)
def test_a_requirements_file_changes_the_layer_hash(repo: Path, tmp_path: Path, requirements: str) -> None:
    code, layer = _hashes(repo, tmp_path / "before")
    _edit(repo / requirements)
    code_after, layer_after = _hashes(repo, tmp_path / "after")
    assert layer_after != layer
    # requirements*.txt sit in functions/ and ship with the code (harmless text), so the code hash moves too.
    assert code_after != code


def test_the_code_bundle_holds_exactly_the_hashed_files(repo: Path, tmp_path: Path) -> None:
    (repo / "functions" / "__pycache__").mkdir(exist_ok=True)
    (repo / "functions" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    files = code_files(repo)
    out = tmp_path / "bundle"
    assert _CopyFiles(root=repo, files=files).try_bundle(str(out))
    bundled = sorted(path.relative_to(out) for path in out.rglob("*") if path.is_file())
    assert bundled == sorted(path.relative_to(repo) for path in files)
    assert Path("functions/dataset/build.py") in bundled and Path("functions/api/app.py") in bundled
    assert not [path for path in bundled if path.parts[0] != "functions"]
