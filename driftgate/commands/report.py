"""``driftgate report``: one self-contained HTML page of a model's history, from a deployed
stack's state table (boto3) or from a saved ``collect_report_data`` snapshot (``--data``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from driftgate.commands import USAGE_ERROR, fail


class UsageError(Exception):
    """Bad options or input: one line naming the option, exit code 2."""


def load_snapshot(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UsageError(f"--data: {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--data: {path}: not valid JSON ({getattr(error, 'msg', error)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        raise UsageError(f"--data: {path}: not a report snapshot (no 'model'; save one with collect_report_data)")
    return data


def read_table(model: str, table: str, region: str | None) -> dict[str, Any]:
    """Reads the model's items from the deployed state table; AWS errors become one line."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    from driftgate.report import collect_report_data
    from functions.common.repositories import StateRepository

    try:
        state = StateRepository(boto3.resource("dynamodb", region_name=region).Table(table))
        return collect_report_data(state, model)
    except NoRegionError:
        raise UsageError("--region: no AWS region configured; pass --region or set AWS_REGION") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            where = region or boto3.session.Session().region_name
            raise UsageError(f"--table: no DynamoDB table {table!r} in region {where}") from None
        raise RuntimeError(f"reading {table}: {code}: {error.response.get('Error', {}).get('Message')}") from None
    except BotoCoreError as error:
        raise RuntimeError(f"reading {table}: {error}") from None


def report(
    model: str | None = typer.Option(None, "--model", help="Model whose history to report (with --table)."),
    table: str | None = typer.Option(None, "--table", help="The deployed stack's state table (DynamoDB): the "
                                     "STATE_TABLE environment variable of its functions."),
    region: str | None = typer.Option(None, "--region", help="AWS region of the table (default: the AWS config)."),
    data: Path | None = typer.Option(None, "--data", help="Render a saved collect_report_data snapshot (JSON) "
                                     "instead of reading a table."),
    out: Path = typer.Option(Path("."), "--out", help="Folder to write driftgate-report-<model>.html into."),
    cost_per_day: float | None = typer.Option(None, "--cost-interactions-per-day", min=0,
                                              help="Add a cost section (driftgate cost) at this traffic."),
    cost_retrains: float = typer.Option(2, "--cost-retrains-per-month", min=0, help="Retrains a month, for it."),
) -> None:
    """Write one self-contained HTML report (inline SVG charts, no external assets, no JS): quality
    over time, drift p-values and moved topic clusters, every pipeline run, the gate's comparison,
    registry versions and the production alias history."""
    from driftgate.cost.estimate import estimate
    from driftgate.cost.files import CostInputError
    from driftgate.cost.model import Traffic
    from driftgate.report import write_report
    from driftgate.report.cost import attach_cost

    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out: {out} is a file, not a folder")
        if data is not None:
            if model or table or region:
                raise UsageError("--data renders a saved snapshot; leave out --model, --table and --region")
            snapshot = load_snapshot(data)
        else:
            if not model:
                raise UsageError("--model is required (or pass --data FILE.json)")
            if not table:
                raise UsageError("--table is required: the deployed stack's state table (or pass --data FILE.json)")
            snapshot = read_table(model, table, region)
        if cost_per_day is not None:
            snapshot = attach_cost(snapshot, estimate(Traffic(cost_per_day, cost_retrains)))
        path = write_report(snapshot, out)
    except (UsageError, CostInputError, RuntimeError, OSError) as error:
        raise fail(error, USAGE_ERROR if isinstance(error, UsageError | CostInputError) else 1) from None
    print(path)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
