"""The public REST API: IAM (SigV4) auth on every method, validation, throttling, access logs."""
from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.DESTROY
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="driftgate: interactions, feedback, quality, drift and adapters",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
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
                # Batches of LLM outputs are legitimately larger than the common rule set's 8 KB
                # body limit; the handler enforces its own 1 MB limit instead.
                managed("AWSManagedRulesCommonRuleSet", 0, count_only=["SizeRestrictions_BODY"]),
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
