"""The spec's paths as one werkzeug Map, built once; endpoint = operationId."""

from __future__ import annotations

import re

from werkzeug.routing import Map, Rule

from .spec import Spec

_PARAM = re.compile(r"\{([^}/]+)\}")


def build_map(spec: Spec) -> Map:
    rules = [
        Rule(
            _PARAM.sub(r"<\1>", op.path),
            endpoint=op.operation_id,
            methods=[op.method],
        )
        for op in spec.operations.values()
    ]
    # No slash merging: werkzeug would answer `/track//sale` with a redirect, which is no
    # answer of Dub's; an odd path is simply not a route (404).
    return Map(rules, strict_slashes=False, merge_slashes=False)
