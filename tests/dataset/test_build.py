"""Building a training set from real interaction records (../shared/data)."""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from functions.dataset import DataConfig, DataError, build_training_set
from functions.dataset.build import feedback_polarity, split_fraction
from tests.conftest import ALPACA, GSM8K, read_records, write_jsonl

PLANTED = {
    "email": ["maria.gonzalez@gmail.com", "j.smith+billing@corp-mail.co.uk"],
    "phone": ["+1 415-555-0132", "(212) 555-0187", "+44 20 7946 0958"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881"],
}


def read_rows(directory: Path) -> list[dict]:
    rows = []
    for name in ("train.jsonl", "eval.jsonl"):
        rows += [json.loads(line) for line in (directory / name).read_text().splitlines()]
    return rows


def long_records(limit: int) -> list[dict]:
    """Real records with long outputs, so one changed word leaves a near (not exact) duplicate."""
    return [r for r in read_records(*ALPACA) if len(r["output"].split()) > 120][:limit]


def test_exact_and_near_duplicates_are_dropped(tmp_path: Path) -> None:
    records = long_records(30)
    exact = copy.deepcopy(records[3])
    exact["id"] = "copy-of-3"
    exact["output"] = "  " + exact["output"].upper().replace(" ", "   ") + " "  # same text, other case/spacing
    near = copy.deepcopy(records[7])
    near["id"] = "edit-of-7"
    words = near["output"].split(" ")
    words[len(words) // 2] = "definitely"
    near["output"] = " ".join(words)
    same_id = copy.deepcopy(records[9])
    same_id["output"] = "a different answer under a reused id"
    unrelated = read_records(*GSM8K, limit=1)[0]

    source = write_jsonl(tmp_path / "in.jsonl", [*records, exact, near, same_id, unrelated])
    manifest = build_training_set([source], tmp_path / "out", DataConfig(min_records=10))

    kept = {row["id"] for row in read_rows(tmp_path / "out")}
    assert manifest["counts"]["exact_duplicates"] == 2  # the recased copy and the reused id
    assert manifest["counts"]["near_duplicates"] == 1
    assert "copy-of-3" not in kept and "edit-of-7" not in kept
    assert {records[3]["id"], records[7]["id"], records[9]["id"], unrelated["id"]} <= kept  # first one wins
    assert len(kept) == 31


def test_pii_is_scrubbed_from_prompts_and_responses(tmp_path: Path) -> None:
    from functions.scoring import find_pii

    records = read_records(*ALPACA, limit=40)
    planted = [value for values in PLANTED.values() for value in values]
    for i, value in enumerate(planted):
        records[i]["prompt"] += f" You can reach me at {value}."
        records[i + 10]["output"] = f"Sure, contact {value} for details. " + records[i + 10]["output"]
        records[i + 20]["reference"] = f"Write to {value}. " + records[i + 20]["reference"]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    manifest = build_training_set([source], tmp_path / "out", DataConfig(min_records=10))

    text = (tmp_path / "out" / "train.jsonl").read_text() + (tmp_path / "out" / "eval.jsonl").read_text()
    for value in planted:
        assert value not in text
    for row in read_rows(tmp_path / "out"):
        for key in ("prompt", "response", "reference"):
            assert find_pii(row.get(key) or "") == [], (row["id"], key)
    assert manifest["counts"]["pii_scrubbed"] >= 3 * len(planted) - 1  # rows can share a plant
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text


def test_request_ids_holding_pii_become_digests(tmp_path: Path) -> None:
    records = read_records(*ALPACA, limit=20)
    planted = {f"user{i}@gmail.com#chat": records[i]["id"] for i in range(10)}
    for pii_id, original in planted.items():
        next(r for r in records if r["id"] == original)["id"] = pii_id
    source = write_jsonl(tmp_path / "in.jsonl", records)
    build_training_set([source], tmp_path / "out", DataConfig(min_records=5))

    ids = {row["id"] for row in read_rows(tmp_path / "out")}
    digests = {"sha256:" + hashlib.sha256(pii_id.encode()).hexdigest()[:24] for pii_id in planted}
    assert ids & digests and not any("@gmail.com" in i for i in ids)
    assert ids - digests <= {r["id"] for r in records[10:]}  # ids without PII stay as they are


def test_ssn_iban_and_single_digit_group_phones_are_scrubbed_from_corrections(tmp_path: Path) -> None:
    """These leaked into training sets before the scrubber knew them (tests/reliability/test_pii.py);
    look-alikes that fail the SSA ranges or the IBAN checksum stay, so real text is not eaten."""
    planted = {"078-05-1120": "[SSN]", "219 09 9999": "[SSN]", "GB82 WEST 1234 5698 7654 32": "[IBAN]",
               "FR1420041010050500013M02606": "[IBAN]", "+33 1 23 45 67 89": "[PHONE]"}
    look_alikes = ["000-12-3456", "666-12-3456", "GB83 WEST 1234 5698 7654 32"]
    records = read_records(*GSM8K, limit=12)
    for i, (value, _) in enumerate(planted.items()):
        records[i]["feedback"] = {"rating": 1, "correction": f"{records[i]['reference']} Refund to {value} today."}
    for i, value in enumerate(look_alikes, start=len(planted)):
        records[i]["reference"] += f" Form field example: {value}."
    source = write_jsonl(tmp_path / "in.jsonl", records)
    build_training_set([source], tmp_path / "out", DataConfig(min_records=10))

    rows = {row["id"]: row for row in read_rows(tmp_path / "out")}
    for i, placeholder in enumerate(planted.values()):
        assert rows[records[i]["id"]]["response"] == f"{records[i]['reference']} Refund to {placeholder} today."
    for i, value in enumerate(look_alikes, start=len(planted)):
        assert rows[records[i]["id"]]["reference"].endswith(f" Form field example: {value}.")


def test_rows_keep_only_the_declared_protected_attribute(tmp_path: Path) -> None:
    records = read_records(*ALPACA, limit=40)
    for i, record in enumerate(records):
        record["metadata"] = {"prompt_set": record.pop("prompt_set"), "user_id": f"user-{i}",
                              "contact": "maria.gonzalez@gmail.com"}
    records[0]["metadata"]["prompt_set"] = "reach me at maria.gonzalez@gmail.com"  # scrubbed like the text
    del records[1]["metadata"]["prompt_set"]
    source = write_jsonl(tmp_path / "in.jsonl", records)

    build_training_set([source], tmp_path / "kept", DataConfig(min_records=10, protected_attributes=("prompt_set",)))
    rows = {row["id"]: row for row in read_rows(tmp_path / "kept")}
    assert len(rows) == 40
    expected = {r["id"]: r["metadata"].get("prompt_set") for r in records[2:]}
    assert {i: rows[i]["metadata"]["prompt_set"] for i in expected} == expected
    assert rows[records[0]["id"]]["metadata"] == {"prompt_set": "reach me at [EMAIL]"}
    assert "metadata" not in rows[records[1]["id"]]  # nothing declared to keep
    assert all(set(row.get("metadata", {})) <= {"prompt_set"} for row in rows.values())

    build_training_set([source], tmp_path / "none", DataConfig(min_records=10))
    assert not any("metadata" in row for row in read_rows(tmp_path / "none"))


def test_split_is_deterministic_and_stable_as_data_grows(tmp_path: Path) -> None:
    records = read_records(*GSM8K, limit=300)
    small = write_jsonl(tmp_path / "small.jsonl", records[:200])
    grown = write_jsonl(tmp_path / "grown.jsonl", list(reversed(records)))
    first = build_training_set([small], tmp_path / "a")
    again = build_training_set([small], tmp_path / "b")
    bigger = build_training_set([grown], tmp_path / "c")

    def ids(directory: Path, split: str) -> set[str]:
        return {json.loads(line)["id"] for line in (directory / f"{split}.jsonl").read_text().splitlines()}

    assert ids(tmp_path / "a", "eval") == ids(tmp_path / "b", "eval")
    assert first["sha256"] == again["sha256"]
    # Records keep their side when more data arrives (and regardless of order).
    assert ids(tmp_path / "a", "eval") <= ids(tmp_path / "c", "eval")
    assert ids(tmp_path / "a", "train") <= ids(tmp_path / "c", "train")
    assert 0.04 < bigger["counts"]["eval"] / bigger["counts"]["after_dedupe"] < 0.2
    assert split_fraction("gsm8k-test:0001", "s") == split_fraction("gsm8k-test:0001", "s")


def test_manifest_is_stable_and_tracks_content(tmp_path: Path) -> None:
    records = read_records(*GSM8K, limit=60)
    source = write_jsonl(tmp_path / "in.jsonl", records)
    first = build_training_set([source], tmp_path / "a")
    second = build_training_set([source], tmp_path / "b")
    assert first == second
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    assert first["counts"]["input"] == 60 and first["counts"]["reference_as_target"] == 60
    assert first["counts"]["train"] + first["counts"]["eval"] == first["counts"]["after_dedupe"]
    assert first["filters"]["min_quality"] == 0.5 and first["filters"]["near_duplicate_threshold"] == 0.8

    records[5]["reference"] += " (checked)"
    changed = build_training_set([write_jsonl(tmp_path / "in2.jsonl", records)], tmp_path / "c")
    assert changed["sha256"] != first["sha256"]


def test_selection_by_score_feedback_and_correction(tmp_path: Path) -> None:
    """Raw API interactions: corrections replace outputs, negative feedback drops, quality gates."""
    real = read_records(*ALPACA, limit=40)

    def api(i: int, **extra) -> dict:
        return {"request_id": f"req-{i}", "model": "prod", "prompt": real[i]["prompt"], "output": real[i]["output"],
                **extra}

    records = [api(i, scores={"quality": 0.9, "flags": []}) for i in range(20)]
    records += [
        api(20, scores={"quality": 0.2}, feedback={"rating": -1, "correction": real[20]["reference"]}),
        api(21, scores={"quality": 0.9}, feedback={"rating": "down"}),
        api(22, scores={"quality": 0.3}),
        api(23, scores={"quality": 0.3}, feedback={"rating": 1}),
        api(24, scores={"quality": 0.8, "flags": ["refusal"]}),
        api(25, feedback={"rating": False}),
        {"request_id": "req-26", "prompt": real[26]["prompt"], "output": None},
    ]
    source = write_jsonl(tmp_path / "api.jsonl", records)
    manifest = build_training_set([source], tmp_path / "out", DataConfig(min_records=10, drop_flags=("refusal",)))
    rows = {row["id"]: row for row in read_rows(tmp_path / "out")}
    counts = manifest["counts"]

    assert rows["req-20"]["response"] == real[20]["reference"] and rows["req-20"]["origin"] == "correction"
    assert "req-21" not in rows and "req-25" not in rows and counts["negative_feedback"] == 2
    assert "req-22" not in rows and counts["low_quality"] == 1
    assert "req-23" in rows and counts["kept_by_feedback"] == 1
    assert "req-24" not in rows and counts["flagged"] == 1
    assert "req-26" not in rows and counts["no_response"] == 1
    assert counts["kept"] == 20 and counts["after_selection"] == 22

    lenient = build_training_set([source], tmp_path / "lenient", DataConfig(min_records=10, min_quality=None))
    assert lenient["counts"]["after_selection"] == 24  # low quality and flagged records kept


@pytest.mark.parametrize(("rating", "polarity"), [(-1, -1), (0, -1), (1, 1), (True, 1), (False, -1), ("down", -1),
                                                  ("thumbs_up", 1), ("4", 1), (None, 0), ("meh", 0)])
def test_feedback_polarity(rating, polarity) -> None:
    assert feedback_polarity(rating) == polarity


def test_too_few_records_is_a_clear_error(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "few.jsonl", read_records(*GSM8K, limit=5))
    with pytest.raises(DataError, match=r"too few records to fine-tune: 5 left after filtering, need at least 16"):
        build_training_set([source], tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bad_records_name_the_problem(tmp_path: Path) -> None:
    good = read_records(*GSM8K, limit=3)
    no_prompt = copy.deepcopy(good)
    del no_prompt[1]["prompt"]
    no_id = copy.deepcopy(good)
    del no_id[2]["id"]
    no_output = [{k: v for k, v in r.items() if k not in ("output", "reference")} for r in good]
    (tmp_path / "bad.jsonl").write_text(json.dumps(good[0]) + "\n{not json\n")
    cases = {
        "empty": (write_jsonl(tmp_path / "empty.jsonl", []), r"empty\.jsonl: no records \(empty file\)"),
        "prompt": (write_jsonl(tmp_path / "p.jsonl", no_prompt), r"p\.jsonl:2: missing field 'prompt'"),
        "id": (write_jsonl(tmp_path / "i.jsonl", no_id), r"i\.jsonl:3: missing field 'id'"),
        "output": (write_jsonl(tmp_path / "o.jsonl", no_output), r"o\.jsonl:1: missing field 'output'"),
        "json": (tmp_path / "bad.jsonl", r"bad\.jsonl:2: not valid JSON"),
        "missing": (tmp_path / "nope.jsonl", r"nope\.jsonl: file not found"),
    }
    for name, (path, message) in cases.items():
        with pytest.raises(DataError, match=message):
            build_training_set([path], tmp_path / name)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(DataError, match="eval_fraction"):
        DataConfig(eval_fraction=0.0)
    with pytest.raises(DataError, match="min_records"):
        DataConfig(min_records=1)
