"""PII detection and scrubbing, planted inside real model outputs."""
from __future__ import annotations

import pytest

from functions.scoring import PII_KINDS, find_pii, score, scrub_pii
from tests.scoring.realdata import GPT4, alpaca

VALID_CARD = "4111 1111 1111 1111"  # the classic Visa test number: passes Luhn
INVALID_CARD = "4111 1111 1111 1112"  # one digit off: fails Luhn


def plant(text: str, secret: str) -> str:
    """Insert ``secret`` as a sentence in the middle of a real output, at a sentence break."""
    cut = text.find(". ", len(text) // 2)
    cut = len(text) if cut < 0 else cut + 2
    return f"{text[:cut]}Contact me at {secret} for details. {text[cut:]}"


@pytest.fixture(scope="module")
def clean_outputs() -> list[str]:
    """Real outputs with no PII of their own (every 10th answer)."""
    outputs = [r["output"] for r in alpaca(GPT4)[::10]]
    return [o for o in outputs if not find_pii(o)]


def test_kinds() -> None:
    assert PII_KINDS == ("email", "phone", "card", "ssn", "iban")


def test_valid_luhn_card_planted_in_real_outputs_is_flagged(clean_outputs: list[str]) -> None:
    assert len(clean_outputs) > 70
    for output in clean_outputs:
        text = plant(output, VALID_CARD)
        assert find_pii(text) == [("card", VALID_CARD)]
        assert "pii" in score("q", text).flags
    dashed = "4111-1111-1111-1111"
    assert find_pii(f"card: {dashed}.") == [("card", dashed)]
    assert find_pii("card 4111111111111111 on file") == [("card", "4111111111111111")]


def test_invalid_luhn_card_is_not_flagged(clean_outputs: list[str]) -> None:
    for output in clean_outputs:
        text = plant(output, INVALID_CARD)
        assert find_pii(text) == []  # neither a card nor (its digit groups) a phone
        assert "pii" not in score("q", text).flags


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("jane.roe@gmail.com", "email"),
        ("j_roe+news@mail.university.edu", "email"),
        ("(415) 555-0132", "phone"),
        ("415-555-0132", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("+1 415 555 0132", "phone"),
    ],
)
def test_email_and_phone_planted_in_a_real_output(clean_outputs: list[str], secret: str, kind: str) -> None:
    text = plant(clean_outputs[0], secret)
    assert find_pii(text) == [(kind, secret)]
    scrubbed = scrub_pii(text)
    assert secret not in scrubbed and f"[{kind.upper()}]" in scrubbed
    assert find_pii(scrubbed) == []
    # Only the secret changed: the rest of the real text is intact.
    assert scrubbed == text.replace(secret, f"[{kind.upper()}]")


def test_scrub_keeps_order_and_every_kind() -> None:
    text = f"Mail a.b@corp.io, call 212-555-0101, pay with {VALID_CARD}."
    assert [k for k, _ in find_pii(text)] == ["email", "phone", "card"]
    assert scrub_pii(text) == "Mail [EMAIL], call [PHONE], pay with [CARD]."


@pytest.mark.parametrize(
    "text",
    [
        "Released 2023-10-15, version 1.2.3, build 1234567890.",  # dates, versions, bare digit runs
        "The server at 192.168.1.1 answered in 0.25 s.",
        "ISBN 978-3-16-148410-0",
        "Write to name@example.com or admin@site.test",  # documentation-reserved domains
        "Population: 8,045,311,447 people.",
    ],
)
def test_not_pii(text: str) -> None:
    assert find_pii(text) == []
    assert scrub_pii(text) == text


def test_pii_flag_rate_on_strong_model_outputs_is_low() -> None:
    # Measured: 3 of 805 gpt4_1106_preview outputs (0.37%), all real matches: a poison-control
    # hotline, conference e-mails copied from the prompt, sample addresses in an e-mail regex demo.
    flagged = [r["id"] for r in alpaca(GPT4) if find_pii(r["output"])]
    assert len(flagged) / 805 <= 0.01, flagged
