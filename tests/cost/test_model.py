"""The cost model's arithmetic on the fixed input of conftest.py, against totals worked out by hand.

A month is AWS's 730 hours, 30.41666... days; 73 days of retention are exactly 2.4 months."""
from __future__ import annotations

import pytest

from driftgate.cost.measure import Measurements
from driftgate.cost.model import Traffic, cost_report
from driftgate.cost.prices import PriceTable

DAYS = 730 / 24

# Per interaction (ingest phase, 100 units):
#   Lambda Api 10 s x 1 GB / 100 = 0.1 GB-s x 2e-5      = 2.0e-6
#   Lambda requests 2 / 100 x 2e-7                      = 4.0e-9
#   API Gateway 0.02 x 3.5e-6                           = 7.0e-8
#   WAF requests 0.02 x 6e-7                            = 1.2e-8
#   DynamoDB 3 WRU x 1.25e-6                            = 3.75e-6
#   DynamoDB 1 RRU x 2.5e-7                             = 2.5e-7
#   S3 PUT 0.02 x 5e-6                                  = 1.0e-7
#   logs 0.1 GiB / 100 = 0.001 GB x 0.5                 = 5.0e-4
PER_INTERACTION = 5.06186e-4
# Storage of 1M interactions for 2.4 months: S3 1 GB x 2.4 x 0.023 = 0.0552; DynamoDB 2 GB x 2.4 x 0.25
# = 1.2; its backups 4.8 x 0.2 = 0.96.
STORAGE_PER_MILLION = 0.0552 + 1.2 + 0.96
# Per check: 5 s x 2 GB x 2e-5 = 2e-4; 1 request 2e-7; 40 RRU 1e-5; 10 GET 4e-6.
PER_CHECK = 2.142e-4
# Per retrain: Task 20 s x 0.5 GB x 1e-5 (arm64) = 1e-4; 8 requests 1.6e-6; 20 transitions x 2.5e-5 = 5e-4;
# 10 PUT 5e-5; two jobs of 0.5 h at 1.0/h less the 50% spot discount = 0.5; 1 GB of artifacts 0.023.
PER_RETRAIN = 1e-4 + 1.6e-6 + 5e-4 + 5e-5 + 0.5 + 0.023


@pytest.fixture
def report(fixed_prices, fixed_measurements):
    traffic = Traffic(interactions_per_day=1000, retrains_per_month=2, models=2)
    return cost_report(Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices),
                       traffic)


def test_per_unit_totals(report) -> None:
    assert report.per_interaction.total == pytest.approx(PER_INTERACTION, rel=1e-9)
    assert report.per_check.total == pytest.approx(PER_CHECK, rel=1e-9)
    assert report.per_retrain.total == pytest.approx(PER_RETRAIN, rel=1e-9)
    assert report.per_1m_interactions["compute"] == pytest.approx(506.186, rel=1e-9)
    assert report.per_1m_interactions["storage"] == pytest.approx(STORAGE_PER_MILLION, rel=1e-9)
    assert report.per_1m_interactions["total"] == pytest.approx(506.186 + STORAGE_PER_MILLION, rel=1e-9)


def test_monthly_totals(report) -> None:
    compute = PER_INTERACTION * 1000 * DAYS  # 15.3965
    # Steady state: 73,000 interactions held: S3 0.073 GB x 0.023, DynamoDB 0.146 GB x (0.25 + 0.2); logs: 1 GB
    # per 1,000 interactions, 30.42 GB a month held 2.4 months = 73 GB x 0.03.
    storage = 0.073 * 0.023 + 0.146 * 0.25 + 0.146 * 0.2 + 73 * 0.03
    # 24 checks a day for 2 models = 1,460 a month; 2 retrains; fixed: 1 key 1.0, 1 web ACL 5.0, 2 rules 2.0,
    # 10 custom metrics 3.0.
    maintenance = 1460 * PER_CHECK + 2 * PER_RETRAIN + 11.0
    assert report.per_month["compute"] == pytest.approx(compute, rel=1e-9)
    assert report.per_month["storage"] == pytest.approx(storage, rel=1e-9)
    assert report.per_month["maintenance"] == pytest.approx(maintenance, rel=1e-9)
    assert report.per_month["total"] == pytest.approx(30.013905, rel=1e-6)
    assert sum(line.cost for line in report.monthly_lines) == pytest.approx(report.per_month["total"], rel=1e-12)


def test_throughput_is_n_over_t(report) -> None:
    rates = {t.stage: t.per_second for t in report.throughput}
    assert rates["ingest"] == pytest.approx(100 / 10)
    assert rates["drift check"] == pytest.approx(1 / 5)
    assert rates["training (local CPU)"] == pytest.approx(100 * 3 / 1800)
    assert rates["retrain (state machine, end to end)"] == pytest.approx(1 / (20 + 3600))


def test_spot_and_given_job_seconds(fixed_prices, fixed_measurements) -> None:
    m, prices = Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices)
    on_demand = cost_report(m, prices, Traffic(1000, 2, spot=False)).per_retrain.total
    assert on_demand == pytest.approx(PER_RETRAIN + 0.5, rel=1e-9)  # the jobs' full 1.0
    # 7,200 s given instead of the measured 3,600: both jobs twice as long, at a 0.9 discount: 2 h x 0.1.
    given = cost_report(m, prices, Traffic(1000, 2, spot_discount=0.9, sagemaker_seconds=7200)).per_retrain.total
    assert given == pytest.approx(PER_RETRAIN - 0.5 + 0.2, rel=1e-9)


def test_raw_objects_move_to_infrequent_access(fixed_prices, fixed_measurements) -> None:
    fixed_measurements["storage"]["ia_after_days"] = 1
    report = cost_report(Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices),
                         Traffic(1000, 2))
    # 1M interactions' 1 GB of raw objects: 1 day in Standard, then 72 in Standard-IA.
    s3 = 1 * (1 * 0.023 + 72 * 0.0125) / DAYS
    assert report.per_1m_interactions["storage"] == pytest.approx(s3 + 1.2 + 0.96, rel=1e-9)


def test_items_that_never_expire_are_priced_over_the_horizon(fixed_prices, fixed_measurements) -> None:
    fixed_measurements["storage"]["dynamodb_retention_days"] = None
    fixed_measurements["fixed"]["secrets"] = 1
    m, prices = Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices)
    report = cost_report(m, prices, Traffic(1000, 2, models=2))
    # 1M interactions' 2 GB of items and their backups, 12 months: 2 x 12 x (0.25 + 0.2) = 10.8.
    assert report.per_1m_interactions["storage"] == pytest.approx(0.0552 + 10.8, rel=1e-9)
    # A month at 1,000 a day, in month 12: 30,417 x 2e-6 GB x 12 months x 0.45; the secret adds 0.4.
    storage = 0.073 * 0.023 + 1000 * DAYS * 2e-6 * 12 * 0.45 + 73 * 0.03
    assert report.per_month["storage"] == pytest.approx(storage, rel=1e-9)
    assert report.per_month["maintenance"] == pytest.approx(1460 * PER_CHECK + 2 * PER_RETRAIN + 11.4, rel=1e-9)
    assert cost_report(m, prices, Traffic(1000, 2, horizon_months=6)).per_1m_interactions["storage"] == \
        pytest.approx(0.0552 + 5.4, rel=1e-9)


def test_unverified_prices_are_counted_apart(fixed_prices, fixed_measurements) -> None:
    fixed_prices["prices"]["sagemaker_training_ml.g5.xlarge"]["verified"] = False
    report = cost_report(Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices),
                         Traffic(1000, 2, models=2))
    assert report.verified_share == pytest.approx(1 - 2 * 0.5 / report.per_month["total"], rel=1e-9)
