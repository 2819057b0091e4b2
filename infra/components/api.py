"""The public REST API: IAM (SigV4) auth on every method, validation, throttling, access logs."""
from __future__ import annotations

from typing import Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# AWSManagedRulesCommonRuleSet rules that inspect the request body and that ordinary LLM text trips:
# every route takes JSON whose strings are prompts and model outputs. They count (still measured and
# sampled, labels still set) instead of blocking. What they guard against is handled where the text
# is used: the API accepts only application/json and answers only JSON, the report escapes every
# value it renders, and no handler opens a path or URL taken from a request.
COUNTED_BODY_RULES: dict[str, str] = {
    "SizeRestrictions_BODY": "batches of LLM outputs are legitimately larger than the rule's 8 KB; "
    "the handler enforces its own 1 MB limit with a clear 413",
    "CrossSiteScripting_BODY": "answers about web code quote HTML: of the 805 real GPT-4-turbo answers in "
    "../shared/data/alpaca_eval/gpt4_1106_preview.jsonl, #410 holds a <script> block and #715 <img src=...> tags",
    # None of those 805 answers holds what the next three look for; answers about code and operations commonly do.
    "GenericLFI_BODY": "answers about shells and builds quote relative paths (../..) and system files "
    "(/etc/passwd), which is what this rule matches",
    "GenericRFI_BODY": "answers quote URLs (10 of the 805 GPT-4-turbo answers do), and one with an IPv4 host "
    "(a local server, an example address) is what this rule matches",
    "EC2MetaDataSSRF_BODY": "answers about AWS quote the instance metadata address (169.254.169.254) in prose and code",
}


class Api(Construct):
    """``/v1/{proxy+}`` goes to one Lambda whose Powertools resolver owns the routes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        rate_limit: int,
        burst_limit: int,
        enable_waf: bool,
        account_logging_role: Literal["create", "existing"],
    ) -> None:
        """``account_logging_role``: "create" makes this stack set the account's (per region)
        API Gateway CloudWatch role; "existing" relies on the one the account already has."""
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.DESTROY
        )
        create_logging_role = account_logging_role == "create"
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="driftgate: interactions, feedback, quality, drift and adapters",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=create_logging_role,
            # Kept when the stack is deleted: the account setting would still name the role, and
            # every other REST API in the region would lose its logs with it.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if create_logging_role else None,
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=True,
                ),
            ),
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            # The handler enforces the 1 MB body limit with a clear message; the gateway's own is 10 MB.
            min_compression_size=None,
        )
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(handler, proxy=True)
        v1 = self.rest_api.root.add_resource("v1")
        proxy = v1.add_proxy(any_method=False)
        proxy.add_method(
            "ANY", integration, authorization_type=apigw.AuthorizationType.IAM, request_validator=self.validator
        )
        self.web_acl: wafv2.CfnWebACL | None = self._web_acl() if enable_waf else None

    def _web_acl(self) -> wafv2.CfnWebACL:
        def managed(name: str, priority: int, count_only: list[str] | None = None) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in (count_only or [])
                        ] or None,
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("driftgate-api"),
            rules=[
                managed("AWSManagedRulesCommonRuleSet", 0, count_only=list(COUNTED_BODY_RULES)),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.rest_api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
        )
        return acl


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
