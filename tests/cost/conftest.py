"""A fixed, small input for the cost model whose totals are computed by hand in test_model.py:
round prices (not AWS's) and round usage, so each line can be checked on paper."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GIB = 1024**3


def _price(price: float, per: float, unit: str) -> dict[str, Any]:
    return {"price": price, "per": per, "unit": unit, "region": "test-1", "as_of": "2026-12-01",
            "source": "https://example.invalid/prices", "verified": True, "note": "round test price"}


@pytest.fixture
def fixed_prices() -> dict[str, Any]:
    prices = {
        "lambda_duration_x86_64": _price(0.00002, 1, "GB-second"),
        "lambda_duration_arm64": _price(0.00001, 1, "GB-second"),
        "lambda_requests": _price(0.2, 1_000_000, "request"),
        "apigateway_rest_requests": _price(3.5, 1_000_000, "request"),
        "waf_web_acl": _price(5, 1, "web ACL-month"),
        "waf_rule": _price(1, 1, "rule-month"),
        "waf_requests": _price(0.6, 1_000_000, "request"),
        "stepfunctions_standard_transitions": _price(0.025, 1000, "state transition"),
        "dynamodb_ondemand_write": _price(1.25, 1_000_000, "write request unit"),
        "dynamodb_ondemand_read": _price(0.25, 1_000_000, "read request unit"),
        "dynamodb_storage": _price(0.25, 1, "GB-month"),
        "dynamodb_pitr": _price(0.2, 1, "GB-month"),
        "s3_standard_storage": _price(0.023, 1, "GB-month"),
        "s3_standard_ia_storage": _price(0.0125, 1, "GB-month"),
        "s3_put_requests": _price(0.005, 1000, "request"),
        "s3_get_requests": _price(0.0004, 1000, "request"),
        "kms_key": _price(1, 1, "key-month"),
        "kms_requests": _price(0.03, 10_000, "request"),
        "cloudwatch_logs_ingest": _price(0.5, 1, "GB"),
        "cloudwatch_logs_storage": _price(0.03, 1, "GB-month"),
        "cloudwatch_custom_metrics": _price(0.3, 1, "metric-month"),
        "secretsmanager_secret": _price(0.4, 1, "secret-month"),
        "sagemaker_training_ml.g5.xlarge": _price(1.0, 1, "instance-hour"),
    }
    return {"schema": 1, "region": "test-1", "as_of": "2026-12-01", "currency": "USD", "note": "test table",
            "prices": prices,
            "assumptions": {"sagemaker_spot_discount": {"value": 0.5, "unit": "fraction",
                                                        "source": "https://example.invalid/spot", "note": "test"}}}


@pytest.fixture
def fixed_measurements() -> dict[str, Any]:
    job = {"instance_type": "ml.g5.xlarge", "local_seconds": 1800.0}
    return {
        "schema": 1, "measured_on": "2026-12-01", "commit": "test", "workload": "fixed test input",
        "machine": "none",
        "functions": {"Api": {"memory_mb": 1024, "architecture": "x86_64"},
                      "Check": {"memory_mb": 2048, "architecture": "x86_64"},
                      "Task": {"memory_mb": 512, "architecture": "arm64"}},
        "phases": {
            "ingest": {"units": 100, "unit": "interaction", "invocations": {"Api": 2}, "lambda_seconds": {"Api": 10.0},
                       "usage": {"api_requests": 2, "dynamodb_wru": 300, "dynamodb_rru": 100, "s3_put_requests": 2,
                                 "log_bytes": 0.1 * GIB}},
            "drift_check": {"units": 1, "unit": "check", "invocations": {"Check": 1},
                            "lambda_seconds": {"Check": 5.0}, "usage": {"dynamodb_rru": 40, "s3_get_requests": 10}},
            "retrain": {"units": 1, "unit": "retrain", "invocations": {"Task": 8}, "lambda_seconds": {"Task": 20.0},
                        "usage": {"state_transitions": 20, "s3_put_requests": 10},
                        "sagemaker_jobs": [{"job": "t", "program": "finetune/train.py", **job},
                                           {"job": "c", "program": "finetune/compare.py", **job}],
                        "training_samples": 100, "epochs": 3},
        },
        "storage": {"interactions": 100, "s3_bytes_per_interaction": 1e-6 * GIB,
                    "dynamodb_bytes_per_interaction": 2e-6 * GIB, "artifact_bytes_per_retrain": GIB,
                    "retention_days": 73, "log_retention_days": 73, "dynamodb_retention_days": 73},
        "fixed": {"custom_metrics": 10, "kms_keys": 1, "waf_web_acls": 1, "waf_rules": 2, "secrets": 0,
                  "drift_schedule": "rate(1 hour)", "checks_per_day": 24},
        "assumptions": {"sagemaker_instance_seconds_per_local_second": 1.0,
                        "lambda_platform_log_bytes_per_invocation": 0, "note": "test"},
    }


@pytest.fixture
def write_json(tmp_path: Path):
    def write(name: str, data: Any) -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return write
