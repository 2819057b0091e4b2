from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build_app

REPO_ROOT = Path(__file__).resolve().parents[2]
# The region `npx cdk synth` sees, as a user's shell or CI would set it; the template must not name it.
CLI_REGION = "eu-west-1"


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


@dataclass(frozen=True)
class CliAssembly:
    """What ``npx cdk synth`` wrote: the cloud assembly folder, and how long synthesis took."""

    outdir: Path
    seconds: float

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK_NAME}.template.json"


@pytest.fixture(scope="session")
def cli_assembly(tmp_path_factory: pytest.TempPathFactory) -> CliAssembly:
    """``npx cdk synth`` as a user runs it: the pinned CLI, cdk.json's app, a region set, no AWS
    credentials or config, every asset bundled for real (the layer pip-installs from PyPI) and
    cdk-nag enforced (it fails synthesis on any unsuppressed finding)."""
    home = tmp_path_factory.mktemp("cli-home")
    outdir = home / "cdk.out"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
    env.update({
        "AWS_REGION": CLI_REGION,
        "AWS_CONFIG_FILE": str(home / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata credential lookups
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20,22",
    })
    # Nothing but PyPI is reached: no notices, telemetry or version check (the template is unchanged by these).
    env.update({"CDK_DISABLE_CLI_TELEMETRY": "true", "CDK_DISABLE_VERSION_CHECK": "true"})
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", str(outdir)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    log = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode} (`make install` first?):\n{log}"
    return CliAssembly(outdir=outdir, seconds=seconds)
