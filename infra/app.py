"""Builds the CDK app; shared by ``app.py``, the tests and the local mode."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stack import DriftgateStack

STACK_NAME = "Driftgate"
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context of ``cdk.json``: what ``npx cdk`` would pass, for in-process synthesis."""
    return json.loads(CDK_JSON.read_text())["context"]


def build_app(context: dict[str, Any] | None = None, *, outdir: str | None = None, nag: bool = True) -> cdk.App:
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    DriftgateStack(
        app,
        STACK_NAME,
        description="driftgate: serverless LLM quality, drift and LoRA retraining",
        # No env: the stack stays environment-agnostic (ARNs use AWS::Region / AWS::AccountId), so
        # one template deploys to any account and region, and synthesis needs no credentials.
    )
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app
