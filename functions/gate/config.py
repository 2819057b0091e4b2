"""The gate's settings as the stack sets them (``driftgate:gate`` → ``GATE_CONFIG``)."""
from __future__ import annotations

from functions.common.contract import settings
from functions.gate.decision import GateConfig


def gate_config() -> GateConfig:
    """The Gate task decides with it; PrepareDataset reads its ``protected_attribute`` too, to keep
    that attribute on the eval and golden rows."""
    return GateConfig.from_dict(settings.gate_config)
