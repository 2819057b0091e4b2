"""A handler's environment holds still while it runs, whatever other threads do.

The local mode runs every function in one process, whose environment is shared. A caller's
``LocalDeployment.environment()`` block that ended while a handler ran in another thread used to
restore (pop) the keys the handler relied on: the fuzz run's ``KeyError: 'POWERTOOLS_SERVICE_NAME'``
of about one run in ten. This reproduces that interleaving deterministically."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

from tests.local import probe_handler


def test_a_caller_block_ending_mid_handler_does_not_change_its_environment(local) -> None:
    probe = replace(local.function("FinishRun"), logical_id="Probe", name="probe",
                    handler="tests.local.probe_handler.lambda_handler")
    results: list[dict] = []
    runner = threading.Thread(target=lambda: results.append(local.dispatcher.call(probe, {})))

    with local.environment("Register"):
        runner.start()
        # Before the fix the probe was running by now, inside this block's environment; the
        # block then ended mid-handler and popped the keys it had set.
        time.sleep(probe_handler.PAUSE_S / 2)
    runner.join(timeout=30)

    assert results == [{"first": "driftgate", "second": "driftgate"}]
