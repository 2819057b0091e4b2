"""Synthesizes the CDK app in-process and returns the stack's CloudFormation template."""
from __future__ import annotations

import os
import tempfile
from typing import Any

# jsii (aws-cdk-lib's runtime) warns at start on Node.js versions it no longer lists; the
# synthesized template does not depend on it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from infra.app import STACK_NAME, build_app


def synthesize(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template ``cdk deploy`` would ship, with asset bundling skipped (no pip, no Docker):
    the local mode runs the handlers from this checkout instead of from the bundle."""
    with tempfile.TemporaryDirectory(prefix="driftgate-synth-") as outdir:
        app = build_app({"aws:cdk:bundling-stacks": [], **(context or {})}, outdir=outdir, nag=False)
        return app.synth().get_stack_by_name(STACK_NAME).template
