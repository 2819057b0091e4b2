"""Data minimisation in the template: the raw texts' own expiration (raw/ only, validated against
the windows that read them) and the end-user id's HMAC key (a generated, KMS-encrypted secret that
only the API function's role may read, unrotated for a written reason)."""
from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match

from infra.settings import Settings


def test_raw_texts_expire_on_their_own_rule_and_baselines_do_not(template) -> None:
    (bucket,) = [r for r in template.find_resources("AWS::S3::Bucket").values()
                 if r["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "rawinteractions/"]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if "ExpirationInDays" in r]
    # Only raw/ expires: the baselines/ copy of a frozen sample lives as long as that baseline.
    assert [(r["Prefix"], r["ExpirationInDays"], r["Status"]) for r in expiring] == [("raw/", 45, "Enabled")]
    assert any(r.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 7} for r in rules)


def test_the_user_id_key_is_a_generated_secret_under_the_stack_key(template) -> None:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource("AWS::SecretsManager::Secret", {
        "Properties": {"GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True,
                                                "IncludeSpace": False},
                       "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
        "DeletionPolicy": "Retain",
    })
    (secret_id,) = template.find_resources("AWS::SecretsManager::Secret")
    reads = Match.object_like({"Action": Match.array_with(["secretsmanager:GetSecretValue"]),
                               "Resource": {"Ref": secret_id}})
    readers = template.find_resources("AWS::IAM::Policy", {"Properties": {"PolicyDocument": {
        "Statement": Match.array_with([reads])}}})
    (policy,) = readers.values()
    (role,) = policy["Properties"]["Roles"]
    assert role["Ref"].startswith("ApiHandlerRole")
    granted = [p for p in template.find_resources("AWS::IAM::Policy").values()
               if "secretsmanager:" in str(p["Properties"]["PolicyDocument"])]
    assert len(granted) == 1  # no other role's policy names a Secrets Manager action at all
    functions = template.find_resources("AWS::Lambda::Function")
    assert [lid for lid, f in functions.items()
            if "USER_ID_KEY_SECRET" in f["Properties"].get("Environment", {}).get("Variables", {})] == [
        next(lid for lid in functions if lid.startswith("ApiHandler"))]


@pytest.mark.parametrize(("values", "message"), [
    ({"raw_text_retention_days": 29}, "at least dataset_window_days (30)"),
    ({"raw_text_retention_days": 7, "dataset_window_days": 7, "window_hours": 24 * 8}, "window_hours 192 → 8"),
])
def test_a_text_retention_shorter_than_its_readers_fails_the_synth(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings(**values)
    Settings(**{**values, "raw_text_retention_days": 30 if "window_hours" not in values else 8})


def test_the_retired_raw_retention_setting_fails_instead_of_being_ignored() -> None:
    app = cdk.App(context={"driftgate:raw_retention_days": 365})
    with pytest.raises(ValueError, match="raw_retention_days is retired: set driftgate:raw_text_retention_days"):
        Settings.from_node(app.node)
