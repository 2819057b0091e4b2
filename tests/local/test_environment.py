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


def test_listing_the_environment_while_a_function_environment_is_restored_never_fails() -> None:
    """botocore lists os.environ (urllib's proxy lookup) whenever it makes a client, in threads of
    its own (Step Functions' interpreter) while a handler's variables come and go in another: the
    stock items() view raised KeyError for a key popped half-way (38 in 20,000 lookups here)."""
    import urllib.request

    from driftgate.local.dispatch import patched_environ

    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            with patched_environ({"DRIFTGATE_TEST_CHURN": "1"}):
                pass

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        failures = 0
        for _ in range(20_000):
            try:
                urllib.request.getproxies_environment()
            except KeyError:
                failures += 1
    finally:
        stop.set()
        thread.join()
    assert failures == 0
