from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_base():
    from finetune.base_model import build_tiny_base

    return build_tiny_base()
