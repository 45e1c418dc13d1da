"""One error format for the whole API: {"error": {"status", "code", "message", "fields"}}.

Domain errors (lims.errors.DomainError and subclasses) raised by services become 400 or 409 with their message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lims.errors import ConflictError, DomainError


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            return msg if key in ("detail", "non_field_errors") else f"{key}: {msg}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ConflictError):
        exc = exceptions.APIException(detail=str(exc), code="conflict")
        exc.status_code = status.HTTP_409_CONFLICT
    elif isinstance(exc, DomainError):
        exc = exceptions.ValidationError({"detail": str(exc)})
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = {k: v for k, v in detail.items() if k not in ("detail",)} if isinstance(detail, dict) else {}
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
    response.data = {
        "error": {
            "status": response.status_code,
            "code": code,
            "message": _first_message(detail),
            "fields": fields,
        }
    }
    return response
