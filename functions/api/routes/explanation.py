"""The right to explanation: how one interaction was scored, sampled and trained on."""
# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.api.models import Explanation
from functions.api.params import RequestIdPath
from functions.interactions.explanation import explain_interaction

tracer = Tracer()
router = Router()


@router.get("/v1/interactions/<request_id>/explanation")
@tracer.capture_method(capture_response=False)  # the answer describes one person's interaction: kept out of traces
def get_explanation(request_id: RequestIdPath) -> Explanation:
    """How the interaction's quality was computed (each term, weight, flag and penalty, recomputed
    with the scorer pack), which drift window and samples it is in, and which training sets and
    adapter versions used it; in plain language (``summary``) and as data. 404 once erased."""
    return explain_interaction(request_id)
