"""C_total = C_compute + C_storage + C_maintenance (guide eq. 7) and T = N/t per stage (eq. 5).

- C_compute: serving the interactions (the ingest phase: API Gateway, WAF, the API Lambda,
  DynamoDB and S3 requests, KMS, CloudWatch Logs);
- C_storage: what they leave behind for their retention (raw objects in S3, DynamoDB items and
  their continuous backups, adapters and datasets, logs);
- C_maintenance: keeping the model healthy (the scheduled drift checks, the retrains with their
  SageMaker jobs, and what is billed monthly whatever the traffic: keys, WAF, custom metrics).

Each phase's measured usage, divided by its units (interactions, checks, retrains), is priced
meter by meter; the totals are sums of those lines, so every figure can be traced to one.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from driftgate.cost.measure import Measurements, Phase, UsageKey
from driftgate.cost.prices import SAGEMAKER_PREFIX, PriceTable

HOURS_PER_MONTH = 730.0  # AWS's month for monthly prices
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GIB = 1024**3  # AWS bills storage and log "GB" as 2^30 bytes
# Measured usage key -> (service, price of the meter). API requests also pass the WAF when it exists.
USAGE_PRICES: dict[UsageKey, tuple[str, str]] = {
    "api_requests": ("API Gateway", "apigateway_rest_requests"),
    "dynamodb_wru": ("DynamoDB", "dynamodb_ondemand_write"),
    "dynamodb_rru": ("DynamoDB", "dynamodb_ondemand_read"),
    "s3_put_requests": ("S3", "s3_put_requests"),
    "s3_get_requests": ("S3", "s3_get_requests"),
    "kms_requests": ("KMS", "kms_requests"),
    "state_transitions": ("Step Functions", "stepfunctions_standard_transitions"),
}


@dataclass(frozen=True)
class Traffic:
    interactions_per_day: float
    retrains_per_month: float
    models: int = 1
    checks_per_day: float | None = None  # per model; None: the deployed schedule's
    spot: bool = True  # the stack's default (driftgate:use_spot_training)
    spot_discount: float | None = None  # None: the price table's assumption
    sagemaker_seconds: float | None = None  # per retrain, on the configured instance; None: measured
    horizon_months: float = 12  # how long DynamoDB items that never expire are priced as kept


class Line(BaseModel):
    service: str
    meter: str
    quantity: float
    unit: str
    price: str  # the price table's key
    unit_price: float
    cost: float


class Breakdown(BaseModel):
    per: str
    lines: list[Line]
    total: float


class Throughput(BaseModel):
    stage: str
    n: float
    unit: str
    seconds: float
    per_second: float


class CostReport(BaseModel):
    prices: dict[str, str]
    measurements: dict[str, str]
    traffic: dict[str, float | int | bool | None]
    per_interaction: Breakdown
    per_check: Breakdown
    per_retrain: Breakdown
    per_1m_interactions: dict[str, float]
    per_month: dict[str, float]
    monthly_lines: list[Line]
    throughput: list[Throughput]
    verified_share: float  # of the monthly total, the share priced with verified prices


def _line(service: str, meter: str, quantity: float, price: str, prices: PriceTable, *,
          discount: float = 0.0) -> Line:
    unit_price = prices.unit_price(price) * (1 - discount)
    return Line(service=service, meter=meter, quantity=quantity, unit=prices.prices[price].unit, price=price,
                unit_price=unit_price, cost=quantity * unit_price)


def _breakdown(per: str, lines: list[Line]) -> Breakdown:
    kept = [line for line in lines if line.quantity]
    return Breakdown(per=per, lines=kept, total=sum(line.cost for line in kept))


def phase_lines(phase: Phase, m: Measurements, prices: PriceTable) -> list[Line]:
    """One unit of a phase, priced: Lambda GB-seconds and requests, then each measured meter."""
    n = phase.units
    lines = []
    for name, seconds in sorted(phase.lambda_seconds.items()):
        function = m.functions[name]
        lines.append(_line("Lambda", f"{name} ({function.memory_mb} MB, {function.architecture})",
                           seconds * function.memory_mb / 1024 / n, f"lambda_duration_{function.architecture}",
                           prices))
    invocations = sum(phase.invocations.values())
    lines.append(_line("Lambda", "requests", invocations / n, "lambda_requests", prices))
    for key, (service, price) in USAGE_PRICES.items():
        quantity = phase.usage.get(key, 0.0) / n
        lines.append(_line(service, price, quantity, price, prices))
        if key == "api_requests" and m.fixed.waf_web_acls:
            lines.append(_line("WAF", "waf_requests", quantity, "waf_requests", prices))
    log_bytes = phase.usage.get("log_bytes", 0.0) + invocations * m.assumptions.lambda_platform_log_bytes_per_invocation
    lines.append(_line("CloudWatch", "cloudwatch_logs_ingest", log_bytes / n / GIB, "cloudwatch_logs_ingest", prices))
    return lines


def sagemaker_lines(phase: Phase, m: Measurements, prices: PriceTable, traffic: Traffic) -> list[Line]:
    """The retrain's SageMaker jobs: measured seconds (or the given total, shared as the measured
    jobs share it) on the configured instance, at the spot discount when spot is on."""
    discount = 0.0
    if traffic.spot:
        assumed = prices.assumptions["sagemaker_spot_discount"].value
        discount = assumed if traffic.spot_discount is None else traffic.spot_discount
    factor = m.assumptions.sagemaker_instance_seconds_per_local_second
    measured = sum(job.local_seconds for job in phase.sagemaker_jobs) * factor
    scale = factor
    if traffic.sagemaker_seconds is not None:
        scale *= traffic.sagemaker_seconds / measured if measured else 0.0
    pricing = "spot" if traffic.spot else "on-demand"
    lines = []
    for job in phase.sagemaker_jobs:
        prices.instance_hour(job.instance_type)  # a clear error if the table lacks the instance
        lines.append(_line("SageMaker", f"{job.program} on {job.instance_type} ({pricing})",
                           job.local_seconds * scale / 3600 / phase.units, SAGEMAKER_PREFIX + job.instance_type,
                           prices, discount=discount))
    return lines


def storage_lines(m: Measurements, prices: PriceTable, interactions: float, horizon_months: float) -> list[Line]:
    """GB-months that ``interactions`` use over their retention: raw objects in S3 (Standard, then
    Standard-IA after the lifecycle rule's days), DynamoDB items and their continuous backups (for
    ``horizon_months`` when they never expire). Per month at a steady traffic (a retention's
    worth stored), it is a month's interactions'."""
    retention = m.storage.retention_days
    kept_days = m.storage.dynamodb_retention_days or horizon_months * DAYS_PER_MONTH
    standard = min(retention, m.storage.ia_after_days if m.storage.ia_after_days is not None else retention)
    s3_gb = m.storage.s3_bytes_per_interaction * interactions / GIB
    dynamodb_gb = m.storage.dynamodb_bytes_per_interaction * interactions / GIB
    return [_line("S3", "s3_standard_storage (raw interactions)", s3_gb * standard / DAYS_PER_MONTH,
                  "s3_standard_storage", prices),
            _line("S3", "s3_standard_ia_storage (raw interactions)", s3_gb * (retention - standard) / DAYS_PER_MONTH,
                  "s3_standard_ia_storage", prices),
            _line("DynamoDB", "dynamodb_storage", dynamodb_gb * kept_days / DAYS_PER_MONTH, "dynamodb_storage", prices),
            _line("DynamoDB", "dynamodb_pitr", dynamodb_gb * kept_days / DAYS_PER_MONTH, "dynamodb_pitr", prices)]


def throughput(m: Measurements) -> list[Throughput]:
    """T = N/t of each stage, t the handler (or job) seconds of one function instance."""
    ingest, check, retrain = (m.phases[p] for p in ("ingest", "drift_check", "retrain"))
    stages: list[tuple[str, float, str, float]] = [
        ("ingest", ingest.units, "records", sum(ingest.lambda_seconds.values())),
        ("drift check", check.units, "checks of one model", sum(check.lambda_seconds.values())),
    ]
    train_jobs = [job for job in retrain.sagemaker_jobs if "train" in job.program]
    if retrain.training_samples and train_jobs:
        samples = retrain.training_samples * (retrain.epochs or 1)
        stages.append(("training (local CPU)", samples, "samples", sum(j.local_seconds for j in train_jobs)))
    stages.append(("retrain (state machine, end to end)", retrain.units, "retrains",
                   sum(retrain.lambda_seconds.values()) + sum(j.local_seconds for j in retrain.sagemaker_jobs)))
    return [Throughput(stage=stage, n=n, unit=unit, seconds=seconds, per_second=n / seconds if seconds else 0.0)
            for stage, n, unit, seconds in stages]


def _fixed_lines(m: Measurements, prices: PriceTable) -> list[Line]:
    """One month of what is billed whatever the traffic."""
    return [_line("KMS", "kms_key", m.fixed.kms_keys, "kms_key", prices),
            _line("WAF", "waf_web_acl", m.fixed.waf_web_acls, "waf_web_acl", prices),
            _line("WAF", "waf_rule", m.fixed.waf_rules, "waf_rule", prices),
            _line("CloudWatch", "cloudwatch_custom_metrics", m.fixed.custom_metrics, "cloudwatch_custom_metrics",
                  prices),
            _line("Secrets Manager", "secretsmanager_secret", m.fixed.secrets, "secretsmanager_secret", prices)]


def _scaled(lines: list[Line], factor: float, prefix: str) -> list[Line]:
    return [line.model_copy(update={"meter": f"{prefix}: {line.meter}", "quantity": line.quantity * factor,
                                    "cost": line.cost * factor}) for line in lines]


def cost_report(m: Measurements, prices: PriceTable, traffic: Traffic, *, prices_file: str = "",
                measurements_file: str = "") -> CostReport:
    per_interaction = _breakdown("interaction", phase_lines(m.phases["ingest"], m, prices))
    per_check = _breakdown("drift check of one model", phase_lines(m.phases["drift_check"], m, prices))
    retrain = m.phases["retrain"]
    artifacts = _line("S3", "s3_standard_storage (artifacts, one month)",
                      m.storage.artifact_bytes_per_retrain / GIB, "s3_standard_storage", prices)
    per_retrain = _breakdown("retrain", phase_lines(retrain, m, prices) + sagemaker_lines(retrain, m, prices, traffic)
                             + [artifacts])

    checks_per_day = traffic.checks_per_day if traffic.checks_per_day is not None else m.fixed.checks_per_day
    interactions = traffic.interactions_per_day * DAYS_PER_MONTH
    checks = checks_per_day * DAYS_PER_MONTH * traffic.models
    # Steady state: a retention's worth of traffic is stored (the first months hold less).
    logs_per_month = _logs_gb(per_interaction) * interactions + _logs_gb(per_check) * checks
    compute = _scaled(per_interaction.lines, interactions, "ingest")
    storage = [*_scaled(storage_lines(m, prices, interactions, traffic.horizon_months), 1, "stored"),
               _line("CloudWatch", "stored: cloudwatch_logs_storage (logs held their retention)",
                     logs_per_month * m.storage.log_retention_days / DAYS_PER_MONTH, "cloudwatch_logs_storage", prices)]
    maintenance = [*_scaled(per_check.lines, checks, "drift checks"),
                   *_scaled(per_retrain.lines, traffic.retrains_per_month, "retrains"),
                   *_scaled(_fixed_lines(m, prices), 1, "fixed")]
    per_month = {"compute": sum(x.cost for x in compute), "storage": sum(x.cost for x in storage),
                 "maintenance": sum(x.cost for x in maintenance)}
    per_month["total"] = sum(per_month.values())
    per_million_storage = sum(x.cost for x in storage_lines(m, prices, 1e6, traffic.horizon_months))
    monthly = [line for line in compute + storage + maintenance if line.quantity]
    return CostReport(
        prices={"file": prices_file, "region": prices.region, "as_of": prices.as_of.isoformat()},
        measurements={"file": measurements_file, "measured_on": m.measured_on, "commit": m.commit,
                      "workload": m.workload},
        traffic={"interactions_per_day": traffic.interactions_per_day, "retrains_per_month": traffic.retrains_per_month,
                 "models": traffic.models, "checks_per_day_per_model": checks_per_day, "spot": traffic.spot,
                 "sagemaker_seconds_per_retrain": traffic.sagemaker_seconds, "days_per_month": DAYS_PER_MONTH,
                 "dynamodb_kept_months": (m.storage.dynamodb_retention_days / DAYS_PER_MONTH
                                          if m.storage.dynamodb_retention_days else traffic.horizon_months)},
        per_interaction=per_interaction,
        per_check=per_check,
        per_retrain=per_retrain,
        per_1m_interactions={"compute": per_interaction.total * 1e6, "storage": per_million_storage,
                             "total": per_interaction.total * 1e6 + per_million_storage},
        per_month=per_month,
        monthly_lines=monthly,
        throughput=throughput(m),
        verified_share=_verified_share(monthly, prices, per_month["total"]),
    )


def _logs_gb(breakdown: Breakdown) -> float:
    return sum(line.quantity for line in breakdown.lines if line.price == "cloudwatch_logs_ingest")


def _verified_share(lines: list[Line], prices: PriceTable, total: float) -> float:
    verified = sum(line.cost for line in lines if prices.prices[line.price].verified)
    return verified / total if total else 1.0
