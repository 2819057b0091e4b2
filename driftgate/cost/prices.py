"""The AWS price table the cost model reads: data (``prices/<region>.json``), never figures in code.
Every price carries its unit, region, date and source, and says whether it was verified."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftgate.cost.files import CostInputError, load_json

PRICES_DIR = Path(__file__).resolve().parent / "prices"
DEFAULT_REGION = "us-east-1"
# The meters the model prices; a table must have each (SageMaker instances are looked up by type).
REQUIRED = (
    "lambda_duration_x86_64", "lambda_duration_arm64", "lambda_requests", "apigateway_rest_requests",
    "waf_web_acl", "waf_rule", "waf_requests", "stepfunctions_standard_transitions", "dynamodb_ondemand_write",
    "dynamodb_ondemand_read", "dynamodb_storage", "dynamodb_pitr", "s3_standard_storage", "s3_standard_ia_storage",
    "s3_put_requests",
    "s3_get_requests", "kms_key", "kms_requests", "cloudwatch_logs_ingest", "cloudwatch_logs_storage",
    "cloudwatch_custom_metrics", "secretsmanager_secret",
)
SAGEMAKER_PREFIX = "sagemaker_training_"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Strict):
    price: float = Field(ge=0, description="USD per `per` units")
    per: float = Field(gt=0)
    unit: str = Field(min_length=1)
    region: str = Field(min_length=1)
    as_of: date
    source: str = Field(pattern=r"^https://")
    verified: bool
    note: str = Field(min_length=1)

    @property
    def unit_price(self) -> float:
        return self.price / self.per


class Assumption(_Strict):
    value: float = Field(ge=0, le=1)
    unit: str
    source: str = Field(pattern=r"^https://")
    note: str = Field(min_length=1)


class PriceTable(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    region: str
    as_of: date
    currency: Literal["USD"]
    note: str
    prices: dict[str, Price]
    assumptions: dict[Literal["sagemaker_spot_discount"], Assumption]

    @model_validator(mode="after")
    def _complete(self) -> PriceTable:
        if missing := [name for name in REQUIRED if name not in self.prices]:
            raise ValueError(f"prices.{missing[0]} is missing")
        if other := [name for name, p in self.prices.items() if p.region != self.region]:
            raise ValueError(f"prices.{other[0]}.region is {self.prices[other[0]].region}, "
                             f"the table's is {self.region}")
        if "sagemaker_spot_discount" not in self.assumptions:
            raise ValueError("assumptions.sagemaker_spot_discount is missing")
        return self

    def unit_price(self, name: str) -> float:
        return self.prices[name].unit_price

    def instance_hour(self, instance_type: str) -> float:
        key = SAGEMAKER_PREFIX + instance_type
        if key not in self.prices:
            known = sorted(k.removeprefix(SAGEMAKER_PREFIX) for k in self.prices if k.startswith(SAGEMAKER_PREFIX))
            raise CostInputError(f"--prices: no price prices.{key} for the configured training instance "
                                 f"{instance_type} (the table has {', '.join(known) or 'none'})")
        return self.prices[key].unit_price


def default_prices(region: str) -> Path:
    return PRICES_DIR / f"{region}.json"


def load_prices(path: Path) -> PriceTable:
    return load_json(path, PriceTable, "--prices")
