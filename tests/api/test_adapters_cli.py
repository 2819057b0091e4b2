"""``driftgate adapters`` against a served local stack (registry filled through the registry)."""
from __future__ import annotations

from typer.testing import CliRunner

from driftgate.cli import app


def test_list_promote_rollback(local, base_url) -> None:
    with local.environment("Register"):
        from functions.registry.store import registry

        for n in (1, 2):
            registry().register("m", {"s3_uri": f"s3://a/{n}/model.tar.gz", "sha256": f"{n:064x}",
                                      "gate": {"decision": "promote", "mean_improvement": 0.1 * n, "ci_low": 0.05,
                                               "ci_high": 0.2}, "approval": "approved"})
    runner = CliRunner()
    promoted = runner.invoke(app, ["adapters", "promote", "m", "1", "--url", base_url])
    assert promoted.exit_code == 0 and "production → version 1" in promoted.output
    assert runner.invoke(app, ["adapters", "promote", "m", "2", "--url", base_url]).exit_code == 0
    listed = runner.invoke(app, ["adapters", "list", "m", "--url", base_url])
    assert listed.exit_code == 0 and "production = 2" in listed.output and "1 → 2 (promote" in listed.output
    rolled = runner.invoke(app, ["adapters", "rollback", "m", "--url", base_url])
    assert rolled.exit_code == 0 and "production → version 1" in rolled.output
    missing = runner.invoke(app, ["adapters", "promote", "m", "7", "--url", base_url])
    assert missing.exit_code == 1 and "404" in missing.output
    down = runner.invoke(app, ["adapters", "list", "m", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 2 and "driftgate serve" in down.output
