"""PII planted in real interactions never reaches a training dataset.

The real path end to end: interactions go in through the API, feedback (with corrections) through
``POST /v1/feedback``, then the PrepareDataset function builds the dataset and writes train, eval
and golden JSON Lines to S3, which this test reads back. Each planted value must be gone (also in
digit-only / space-free form), replaced by one placeholder, with the real text around it intact.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.scoring import find_pii

MODEL = "pii-bot"
# Fictional or published test values, one real-world format each.
PLANTED: dict[str, tuple[str, ...]] = {
    "email": ("maria.gonzalez84@gmail.com", "Priya_Raman+billing@outlook.com", "tom.baker@mail.uni-hamburg.de",
              "Kenji.Sato@Proton.Me", "d.okafor@nhs.net"),
    "phone": ("+44 20 7946 0958", "+44 7700 900123", "+1 (415) 555-0132", "+1-212-555-0187", "(646) 555-0143",
              "415.555.0199", "312-555-0178", "+33 1 23 45 67 89", "+49 30 901820"),
    "card": ("4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011 0009 9013 9424",
             "4012888888881881", "3782 822463 10005"),
    "ssn": ("078-05-1120", "536-22-8471", "219 09 9999"),
    "iban": ("GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606",
             "NL91ABNA0417164300"),
}
PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|SSN|IBAN)\]")
MARK = "\x00"  # stands for "one placeholder" when comparing texts
# Each text field gets the secret in a sentence of its own, so the text around it is real.
SENTENCES = {
    "prompt": "You can reach me at {} if anything is unclear.",
    "output": "For follow-up, the customer's details are {}.",
    "correction": "(Verified with the account holder: {}.)",
    "reference": "Account on file: {}.",
}


@dataclass
class Plant:
    kind: str
    secret: str
    record: dict[str, Any] = field(repr=False)
    correction: str | None = field(default=None, repr=False)
    expected: dict[str, str] = field(default_factory=dict, repr=False)  # dataset field -> text with MARK for the secret


def plant(text: str, location: str, secret: str) -> str:
    """``text`` with the location's sentence (holding ``secret``) inserted at a mid-text sentence break."""
    cut = text.find(". ", len(text) // 2)
    cut = len(text) if cut < 0 else cut + 2
    return f"{text[:cut]} {SENTENCES[location].format(secret)} {text[cut:]}"


def clean(records: list[dict]) -> Iterator[dict]:
    """Real records that hold no PII of their own (the comparison below must see only our plants)."""
    return (r for r in records
            if not any(find_pii(r.get(key) or "") or PLACEHOLDER.search(r.get(key) or "")
                       for key in ("prompt", "output", "reference")))


def make_plants() -> list[Plant]:
    values = [(kind, secret) for kind, secrets in PLANTED.items() for secret in secrets]
    # GSM8K records carry a reference, so every third plant also lands in a reference.
    alpaca = clean(alpaca_records("gpt4_1106_preview", 120, start=300, model=MODEL))
    gsm8k = clean(gsm8k_records(60, start=500, model=MODEL))
    plants = []
    for i, (kind, secret) in enumerate(values):
        record = next(gsm8k) if i % 3 == 0 else next(alpaca)
        expected_secretless = {key: plant(record[key], key, MARK) for key in ("prompt", "output") if key in record}
        for key in ("prompt", "output"):
            record[key] = plant(record[key], key, secret)
        record["metadata"] = {**record.get("metadata", {}), "customer_contact": secret, "note": f"caller said {secret}"}
        item = Plant(kind, secret, record)
        item.expected["prompt"] = expected_secretless["prompt"]
        if i % 2 == 0:  # a correction replaces the output as the training target
            base = record["reference"] if "reference" in record else "Here is a shorter, better answer."
            item.correction = plant(base, "correction", secret)
            item.expected["response"] = plant(base, "correction", MARK)
        else:
            item.expected["response"] = expected_secretless["output"]
        if "reference" in record:
            item.expected["reference"] = plant(record["reference"], "reference", MARK)
            record["reference"] = plant(record["reference"], "reference", secret)
        plants.append(item)
    return plants


def read_s3_jsonl(uri: str) -> list[dict[str, Any]]:
    """Every JSON Lines row under an ``s3://bucket/prefix/`` URI."""
    parsed = urlparse(uri)
    s3 = boto3.client("s3")
    rows = []
    listing = s3.list_objects_v2(Bucket=parsed.netloc, Prefix=parsed.path.lstrip("/"))
    for obj in listing.get("Contents", []):
        if obj["Key"].endswith(".jsonl"):
            body = s3.get_object(Bucket=parsed.netloc, Key=obj["Key"])["Body"].read().decode()
            rows += [json.loads(line) for line in body.splitlines()]
    return rows


def variants(kind: str, secret: str) -> list[str]:
    """The secret as written and its normalised forms: digits only for numbers, no spaces for IBANs."""
    forms = [secret]
    if kind in ("phone", "card", "ssn"):
        forms.append(re.sub(r"\D", "", secret))
    if kind == "iban":
        forms.append(secret.replace(" ", ""))
    return forms


def normalised(text: str) -> str:
    """``text`` with the separators people put inside numbers removed, lower-cased."""
    return re.sub(r"[\s().+\-]", "", text).lower()


@dataclass
class Datasets:
    plants: list[Plant]
    result: dict[str, Any] = field(repr=False)
    splits: dict[str, list[dict[str, Any]]] = field(repr=False)


@pytest.fixture(scope="module")
def datasets() -> Iterator[Datasets]:
    from driftgate.local import local_stack

    plants = make_plants()
    with local_stack(context={"driftgate:min_training_records": 2}) as stack:
        assert ingest(stack, [p.record for p in plants]) == len(plants)
        for p in plants:
            body = {"request_id": p.record["request_id"], "rating": 1, "comment": f"please call me on {p.secret}"}
            if p.correction:
                body["correction"] = p.correction
            response = stack.api("POST", "/v1/feedback", body)
            assert response.status == 200, response.body
        result = stack.invoke("PrepareDataset", {"model": MODEL, "run_id": "pii-run"})
        assert result["enough"] is True, result
        splits = {name: read_s3_jsonl(result[f"{name}_uri"]) for name in ("train", "eval", "golden")}
    yield Datasets(plants, result, splits)


def test_every_planted_record_reaches_the_dataset(datasets: Datasets) -> None:
    """Otherwise the leak checks below would pass on records that were simply dropped."""
    rows = datasets.splits["train"] + datasets.splits["eval"]
    assert sorted(r["id"] for r in rows) == sorted(p.record["request_id"] for p in datasets.plants)
    assert {r["id"] for r in datasets.splits["golden"]} == {r["id"] for r in datasets.splits["eval"]}
    assert sum(r["origin"] == "correction" for r in rows) == sum(p.correction is not None for p in datasets.plants)
    assert datasets.result["manifest"]["counts"]["pii_scrubbed"] == len(datasets.plants)


def test_no_planted_value_appears_in_any_split_in_any_form(datasets: Datasets) -> None:
    leaks = []
    for name, rows in datasets.splits.items():
        text = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
        flat = normalised(text)
        for p in datasets.plants:
            for form in variants(p.kind, p.secret):
                if form in text or normalised(form) in flat:
                    leaks.append((name, p.kind, form))
    assert not leaks, sorted(set(leaks))
    assert sum(len(secrets) for secrets in PLANTED.values()) == len(datasets.plants) == 27


def test_only_the_secret_is_replaced_and_the_real_text_survives(datasets: Datasets) -> None:
    rows = {r["id"]: r for r in datasets.splits["train"] + datasets.splits["eval"]}
    for p in datasets.plants:
        row = rows[p.record["request_id"]]
        for key, expected in p.expected.items():
            assert PLACEHOLDER.sub(MARK, row[key]) == expected, (p.kind, p.secret, key)
        # Metadata and feedback comments are not training fields at all.
        assert set(row) <= {"id", "prompt", "response", "reference", "origin", "source", "quality"}
