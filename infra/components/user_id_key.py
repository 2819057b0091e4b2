"""The key of the end-user id HMAC (functions/interactions/pseudonyms.py): a Secrets Manager secret
whose value CloudFormation generates, encrypted with the stack's data key, read by the API alone."""
from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

# 64 letters and digits: ~380 bits, far past what HMAC-SHA256 keys need (its 256-bit output).
KEY_LENGTH = 64

NO_ROTATION = NagPackSuppression(
    id="AwsSolutions-SMG4",
    reason="This secret is an HMAC pepper, not a credential: stored user ids are its hashes, and erasure finds "
    "a user's records by hashing the given id with it. A rotated key would hash every id differently and "
    "leave all stored records unfindable for erasure, so it is never rotated (in any region or account); "
    "only the API function's role may read it.",
)


class UserIdKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self, "Secret",
            description="driftgate: HMAC-SHA256 key of stored end-user ids (never rotate: erasure hashes with it)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=KEY_LENGTH, exclude_punctuation=True, include_space=False),
            # Kept if the stack goes: the stored hashes are only findable with this exact key.
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(self.secret, [NO_ROTATION])
