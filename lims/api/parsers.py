"""JSON input that cannot crash the API: JSON nested deeper than Python's decoder recurses is a 400, not a 500.

``json.loads`` raises RecursionError (not ValueError) on ``[[[[...]]]]`` a few thousand levels deep, and DRF only
turns ValueError into a 400. The parser (every JSON body) and the field (JSON inside a form, e.g. an upload's
column mapping) answer such input as malformed JSON.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - nested too deeply"


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None


class JSONField(serializers.JSONField):
    default_error_messages = {"invalid": "Value must be valid JSON (not nested too deeply)."}

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except RecursionError:
            self.fail("invalid")
