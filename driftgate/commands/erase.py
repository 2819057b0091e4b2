"""``driftgate erase --user-id X``: the right to erasure of one end user, through the API of a
running stack (``driftgate serve``), as an operator answering the user's request would call it."""
from __future__ import annotations

import typer

from driftgate.api_client import URL, call, console


def erase(user_id: str = typer.Option(..., "--user-id", help="The end user's id, as sent in metadata.user_id."),
          url: str = URL) -> None:
    """Erase one end user's interactions from raw storage, samples and future training sets."""
    r = call(url, "POST", "/v1/erasures", {"user_id": user_id})
    console.print(f"erased user {r['user_id']!r} at {r['erased_at']}: "
                  f"{r['interactions_erased']} interactions ({r['feedback_erased']} with feedback), "
                  f"{r['raw_lines_removed']} raw lines ({r['raw_objects_rewritten']} objects rewritten, "
                  f"{r['raw_objects_deleted']} deleted), {r['reservoir_samples_removed']} reservoir samples, "
                  f"{r['drift_examples_removed']} drift-report examples, {r['golden_rows_removed']} golden-set rows "
                  f"({r['old_versions_deleted']} old versions deleted)")


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)
