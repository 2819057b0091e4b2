"""The image SageMaker runs ``finetune/`` in, and the versions ``finetune/requirements.txt`` is pinned
to: one place for both, read by the stack and by the tests that check the pins against the image.

The image is AWS's PyTorch 2.13 training Deep Learning Container for SageMaker (Amazon Linux 2023,
CUDA 13.3): torch 2.13.0 on Python 3.12, the torch the project's tests run on. Sources, in
github.com/aws/deep-learning-containers: ``docs/src/data/pytorch/2.13-cuda-sagemaker.yml`` (tags,
GA 2026-07-20, patched until 2027-07-20), ``.github/config/image/pytorch/2.13-sagemaker-cuda.yml``
(torch 2.13.0, Python 3.12) and ``docker/pytorch/2.13/cuda/pyproject.toml`` (``torch==2.13.0``,
``requires-python >=3.12,<3.13``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws, CfnMapping
from constructs import Construct

REPOSITORY = "pytorch"
TAG = "2.13.0-cu133-amzn2023-sagemaker"  # the full-version tag; "2.13-…" moves to later patches
TORCH_VERSION = "2.13.0"
PYTHON_VERSION = "3.12"
GLIBC_VERSION = (2, 34)  # Amazon Linux 2023's: the newest manylinux wheels the image can install

# The account that publishes the DLCs in each region (docs/reference/region_availability.md in the
# same repository). A region missing here fails the deploy at Fn::FindInMap, naming the region;
# driftgate:training_image_uri then names an image for it.
REGISTRY_ACCOUNTS: dict[str, str] = {
    "us-east-1": "763104351884", "us-east-2": "763104351884", "us-west-1": "763104351884",
    "us-west-2": "763104351884", "af-south-1": "626614931356", "ap-east-1": "871362719292",
    "ap-east-2": "975050140332", "ap-south-1": "763104351884", "ap-south-2": "772153158452",
    "ap-northeast-1": "763104351884", "ap-northeast-2": "763104351884", "ap-northeast-3": "364406365360",
    "ap-southeast-1": "763104351884", "ap-southeast-2": "763104351884", "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322", "ap-southeast-5": "550225433462", "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437", "ca-central-1": "763104351884", "ca-west-1": "204538143572",
    "eu-central-1": "763104351884", "eu-central-2": "380420809688", "eu-north-1": "763104351884",
    "eu-south-1": "692866216735", "eu-south-2": "503227376785", "eu-west-1": "763104351884",
    "eu-west-2": "763104351884", "eu-west-3": "763104351884", "il-central-1": "780543022126",
    "me-central-1": "914824155844", "me-south-1": "217643126080", "me-west-1": "124382933778",
    "mx-central-1": "637423239942", "sa-east-1": "763104351884",
    "cn-north-1": "727897471807", "cn-northwest-1": "727897471807",
}

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag> | @<digest>]
ECR_IMAGE_URI = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                           r"(?P<repository>[a-z0-9._/-]+)(?::[\w.-]+|@sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class TrainingImage:
    uri: str
    repository_arn: str  # what the job role may pull from


def dlc_image(scope: Construct) -> TrainingImage:
    """The DLC for the region the stack is deployed to: a mapping keyed by ``AWS::Region``, so the
    template names no region and deploys unchanged to any of them (China's ECR: amazonaws.com.cn)."""
    mapping = CfnMapping(scope, "DlcRegistry", mapping={region: {"account": account}
                                                        for region, account in REGISTRY_ACCOUNTS.items()})
    account = mapping.find_in_map(Aws.REGION, "account")
    return TrainingImage(
        uri=f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{REPOSITORY}:{TAG}",
        repository_arn=f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{REPOSITORY}",
    )


def custom_image(uri: str) -> TrainingImage:
    """A user's own ECR image (``driftgate:training_image_uri``), pulled from the account and region it names."""
    match = ECR_IMAGE_URI.fullmatch(uri)
    if not match:
        raise ValueError(f"driftgate:training_image_uri must be an ECR image URI "
                         f"(<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), got {uri!r}")
    return TrainingImage(uri=uri, repository_arn=f"arn:{Aws.PARTITION}:ecr:{match['region']}:{match['account']}:"
                                                 f"repository/{match['repository']}")
