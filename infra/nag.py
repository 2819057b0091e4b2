"""cdk-nag AwsSolutions suppressions. Each names exactly what it accepts and why.

Wildcard findings (IAM5) are accepted only for the shapes below; ``tests/infra`` asserts that
every ``Resource: "*"`` statement holds only actions that AWS offers no resource ARN for.
"""
from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

# ARN parts as cdk-nag renders them: the pseudo parameter of an environment-agnostic stack, or the
# literal that synthesis resolves when a stack is bound to an account and region. Suppressions
# built from these hold for any account, region and partition.
PARTITION = r"(<AWS::Partition>|aws(-[a-z]+)*)"
REGION = r"(<AWS::Region>|[a-z]{2,4}(-[a-z]+)+-[0-9]+)"
ACCOUNT = r"(<AWS::AccountId>|[0-9]{12})"


def _matching(pattern: str) -> RegexAppliesTo:
    """A finding of exactly ``pattern`` (a regex over cdk-nag's ``Resource::``/``Policy::`` text)."""
    return RegexAppliesTo(regex=f"/^{pattern}$/g")


STACK_WIDE: list[NagPackSuppression] = [
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Object-level grants on our own buckets need a key wildcard, scoped to a prefix where the "
        "consumer uses one (bucket/datasets/*, bucket/training/*, ...); the action families are the ones CDK's "
        "grantRead/grantPut emit (s3:GetObject*, s3:GetBucket*, s3:List*, s3:Abort*).",
        applies_to=[
            RegexAppliesTo(regex=r"/^Resource::<Storage(RawInteractions|Artifacts)[0-9A-F]+\.Arn>\/([a-z]+\/)?\*$/g"),
            "Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:Abort*",
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Using our customer-managed key for S3/DynamoDB/SNS needs the data-key action families "
        "(kms:GenerateDataKey*, kms:ReEncrypt*), scoped to that one key.",
        applies_to=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Queries on the interactions table's own global secondary index (table/index/*): the by-user "
        "index the right-to-erasure route reads; CDK's table grants add the index wildcard.",
        applies_to=[RegexAppliesTo(regex=r"/^Resource::<StorageInteractions[0-9A-F]+\.Arn>\/index\/\*$/g")],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Step Functions invokes our own functions by ARN and by version/alias qualifiers (function:*).",
        applies_to=[RegexAppliesTo(regex=r"/^Resource::<[A-Za-z]+Function[0-9A-F]+\.Arn>:\*$/g")],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="X-Ray (PutTraceSegments, PutTelemetryRecords), CloudWatch Logs delivery for Step Functions "
        "(CreateLogDelivery & co.), ecr:GetAuthorizationToken (training image pull) and cloudwatch:PutMetricData "
        "(conditioned to SageMaker's namespaces) accept no resource ARN; a template test keeps '*' to those actions.",
        applies_to=["Resource::*"],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="SageMaker jobs are named dg-<uuid> at run time, so Step Functions may create/describe/stop "
        "training-job/dg-*; the jobs write logs to their own log group's streams (/aws/sagemaker/TrainingJobs:*) "
        "and read the training source that CDK uploads to the bootstrap asset bucket (assets-bucket/*).",
        applies_to=[
            _matching(rf"Resource::arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:training-job\/dg-\*"),
            _matching(rf"Resource::arn:{PARTITION}:logs:{REGION}:{ACCOUNT}"
                      r":log-group:\/aws\/sagemaker\/TrainingJobs:\*"),
            _matching(rf"Resource::arn:{PARTITION}:s3:::cdk-[a-z0-9]+-assets-{ACCOUNT}-{REGION}\/\*"),
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM4",
        reason="Only API Gateway's account-level CloudWatch role uses a managed policy "
        "(AmazonAPIGatewayPushToCloudWatchLogs), the AWS-documented way to enable execution logging.",
        applies_to=[
            _matching(rf"Policy::arn:{PARTITION}:iam::aws:policy\/service-role\/AmazonAPIGatewayPushToCloudWatchLogs"),
        ],
    ),
    NagPackSuppression(
        id="AwsSolutions-COG4",
        reason="The API authorizes with IAM (SigV4) on every method, not Cognito: callers are services "
        "with AWS credentials, and IAM policies scope which routes each may call.",
    ),
]


def add_suppressions(stack: Stack) -> None:
    NagSuppressions.add_stack_suppressions(stack, STACK_WIDE, apply_to_nested_stacks=True)
