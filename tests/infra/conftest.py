from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build_app


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    # Bundling is skipped here (no pip download); `make synth` bundles for real.
    app = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = app.node.find_child(STACK_NAME)
    app.synth()
    return stack


@pytest.fixture(scope="session")
def template(stack) -> Template:
    return Template.from_stack(stack)
