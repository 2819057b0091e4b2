"""The Powertools resolver, with two things API Gateway's one ANY /v1/{proxy+} method leaves to it.

- Route parameters are percent-decoded. API Gateway (REST) gives the handler the path as the
  client sent it: a model named "org/model" can only be sent as org%2Fmodel, and ":" may come
  encoded too. Powertools matches the raw path and would hand the route "org%2Fmodel".
- Which methods a path has, so that a known resource asked with another method is a 405.
"""
from __future__ import annotations

from re import Match
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver


class DecodingRestResolver(APIGatewayRestResolver):
    def _convert_matches_into_route_keys(self, match: Match) -> dict[str, str]:
        return {name: unquote(value) for name, value in super()._convert_matches_into_route_keys(match).items()}

    def allowed_methods(self, path: str) -> list[str]:
        """The methods routed for ``path``; none when no resource lives there."""
        return sorted({route.method for route in self._static_routes + self._dynamic_routes if route.rule.match(path)})
