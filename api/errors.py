"""Every error the API returns is application/problem+json (RFC 9457) with a human message.

Domain errors map to HTTP here, in one place; nothing else in the API picks status codes for
them. A request that fails validation gets 422 with each offending field named.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ledgerdesk.domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    StoreUnavailableError,
    ValidationError,
)

log = logging.getLogger("ledgerdesk.api")
PROBLEM = "application/problem+json"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
STATUS_FOR: list[tuple[type[DomainError], int]] = [
    (AuthenticationError, 401),
    (NotFoundError, 404),
    (ValidationError, 422),
    (IllegalTransitionError, 409),
    (ConflictError, 409),
]
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An HTTP error raised by a route or dependency, rendered as problem+json."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra


def problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_for(error: DomainError) -> int:
    for cls, status in STATUS_FOR:
        if isinstance(error, cls):
            return status
    return getattr(error, "http_status", 400)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, error: Problem) -> JSONResponse:
        return problem(error.status, error.detail, headers=error.headers, **error.extra)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, error: DomainError) -> JSONResponse:
        extra: dict[str, Any] = {"code": error.code}
        if isinstance(error, ValidationError):
            extra["errors"] = [{"field": error.field, "message": error.reason}]
        return problem(status_for(error), error.message, **extra)

    @app.exception_handler(StoreUnavailableError)
    async def _store(_: Request, error: StoreUnavailableError) -> JSONResponse:
        return problem(503, str(error), headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, detail or "the request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers) if error.headers else None
        if error.status_code == 405 and (methods := allowed(request)):
            headers = {**(headers or {}), "Allow": ", ".join(methods)}
        return problem(error.status_code, str(error.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "something went wrong on our side; it has been logged")


def allowed(request: Request) -> list[str]:
    """Every method some route answers on the request's path. Starlette's 405 names only the
    methods of the first route whose path matches, which depends on the order the routes
    were added in (GET /tickets searches, POST /tickets opens, in two routers)."""
    methods = []
    for method in METHODS:
        # A copy of the scope for each try: matching writes into it (FastAPI's own key too).
        scope = {**request.scope, "method": method}
        if "fastapi" in scope:
            scope["fastapi"] = dict(scope["fastapi"])
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.append(method)
    return methods


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    field = ".".join(location) or "body"
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        message = "is not a known field"
    elif kind == "missing":
        message = "is required"
    elif kind == "json_invalid":
        message = "is not valid JSON"
    else:
        message = str(error.get("msg", "is not valid"))
    return {"field": field, "message": message}
