"""The local mode: the synthesized CDK stack, deployed into moto, with every Lambda invocation
dispatched in-process to the project's real handler."""
from driftgate.local.deployment import LocalDeployment, local_stack

__all__ = ["LocalDeployment", "local_stack"]
