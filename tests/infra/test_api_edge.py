"""The API's edge in the template: which WAF rules count instead of blocking (each with its reason),
and the account-wide API Gateway logging role as an explicit setting."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from driftgate.paths import data_dir
from infra.app import STACK_NAME, build_app
from infra.components.api import COUNTED_BODY_RULES
from infra.settings import Settings

PUSH_TO_CLOUDWATCH = "AmazonAPIGatewayPushToCloudWatchLogs"


def _template(context: dict[str, str], tmp_path) -> Template:
    app = build_app({"aws:cdk:bundling-stacks": [], **context}, outdir=str(tmp_path), nag=False)
    return Template.from_stack(app.node.find_child(STACK_NAME))


def test_common_rule_set_counts_exactly_the_body_rules_llm_text_trips(template: Template) -> None:
    assert set(COUNTED_BODY_RULES) == {"SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY",
                                       "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"}
    template.has_resource_properties("AWS::WAFv2::WebACL", {"Rules": Match.array_with([Match.object_like({
        "Name": "AWSManagedRulesCommonRuleSet",
        "OverrideAction": {"None": {}},  # every other rule of the group still blocks
        "Statement": {"ManagedRuleGroupStatement": {
            "VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet",
            "RuleActionOverrides": [{"Name": rule, "ActionToUse": {"Count": {}}} for rule in COUNTED_BODY_RULES],
        }},
    })])})


def test_known_bad_inputs_still_block_everything(template: Template) -> None:
    template.has_resource_properties("AWS::WAFv2::WebACL", {"Rules": Match.array_with([Match.object_like({
        "Name": "AWSManagedRulesKnownBadInputsRuleSet", "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesKnownBadInputsRuleSet",
                                                    "RuleActionOverrides": Match.absent()}},
    })])})


def test_every_counted_rule_has_a_reason() -> None:
    for rule, reason in COUNTED_BODY_RULES.items():
        assert rule.endswith("_BODY") and len(reason.split()) >= 10, rule


def test_the_cited_real_answers_hold_the_markup_the_reason_names() -> None:
    path = data_dir() / "alpaca_eval" / "gpt4_1106_preview.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not here")
    answers = {row["id"]: row["output"] for row in map(json.loads, path.read_text().splitlines())}
    assert len(answers) == 805
    assert "<script>" in answers["gpt4_1106_preview:410"]
    assert '<img src="' in answers["gpt4_1106_preview:715"]
    reason = COUNTED_BODY_RULES["CrossSiteScripting_BODY"]
    assert "#410" in reason and "#715" in reason


def test_account_logging_role_created_by_default_and_kept_on_delete(template: Template) -> None:
    assert Settings().api_gateway_account_logging_role == "create"
    (role_id,) = template.find_resources("AWS::IAM::Role", {"Properties": {"ManagedPolicyArns": Match.array_with([
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/service-role/{PUSH_TO_CLOUDWATCH}"]]}
    ])}})
    template.has_resource("AWS::ApiGateway::Account", {
        "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": [role_id, "Arn"]}},
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
    })
    template.has_resource("AWS::IAM::Role", {"Properties": Match.object_like({"ManagedPolicyArns": Match.any_value()}),
                                             "DeletionPolicy": "Retain"})


def test_existing_account_logging_role_is_left_alone(tmp_path) -> None:
    template = _template({"driftgate:api_gateway_account_logging_role": "existing"}, tmp_path)
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    roles = json.dumps(template.find_resources("AWS::IAM::Role"))
    assert PUSH_TO_CLOUDWATCH not in roles
    # The stage still logs, through the role the account already has.
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": Match.array_with([Match.object_like({"LoggingLevel": "ERROR"})]),
    })


def test_an_unknown_logging_role_setting_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="api_gateway_account_logging_role"):
        _template({"driftgate:api_gateway_account_logging_role": "adopt"}, tmp_path)
