"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerdesk import __version__
from ledgerdesk.api import errors
from ledgerdesk.api.committer import GroupCommitter
from ledgerdesk.api.deps import CallerCache
from ledgerdesk.api.routers import (
    auth,
    departments,
    inbound,
    notifications,
    policies,
    search,
    tickets,
    users,
)
from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.domain.errors import StoreUnavailableError
from ledgerdesk.settings import Settings

MAX_BODY = 2 * 1024 * 1024  # JSON bodies; attachments come through mail or uploads
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


TAGS = [
    ("auth", "Sign in, refresh and revoke tokens, and who you are."),
    ("tickets", "Open, read, change and answer tickets; their history and past states."),
    ("search", "Find tickets by number, person, words, fields and dates; the counters."),
    ("users", "People: customers, agents and admins."),
    ("departments", "Departments and who works in them."),
    ("policies", "The access rules each role works under (admins)."),
    ("inbound mail", "Mail handed over by a provider's webhook."),
    ("notifications", "In-app notifications (read, or as a live stream), preferences, outbox."),
    ("health", "Whether the service and its event store answer."),
]


def create_app(services: Services, *, projects: bool = True, server: bool = False) -> FastAPI:
    """The API over `services`. It keeps the read models current itself unless `projects` is
    false (`serve --workers N`: another process projects, this one follows its progress).
    `server`: this process serves until it exits (`ledgerdesk serve`), so what it made while
    starting can be frozen out of the garbage collector's way (see `settle_memory`)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Read models follow the log while the API serves; the outbox too on the embedded
        # default, and in `ledgerdesk worker` when there is a queue.
        if projects:
            services.projections.start(background=not services.settings.queue_url)
        else:
            services.projections.watch()
        if server:
            settle_memory()
        yield
        committer.stop()
        services.close()

    app = FastAPI(
        title="ledgerdesk",
        version=__version__,
        description="An email-first help desk whose every change is a verifiable event.",
        lifespan=lifespan,
        # Off unless asked for: FastAPI otherwise asks OpenTelemetry on every request whether
        # a provider was configured, reading the environment each time (about 3 % of an API
        # process's main thread, profiled under `make bench`).
        telemetry=None if services.settings.telemetry else NO_TELEMETRY,
        # The order /docs shows them in (else the order the routes are matched in, below).
        openapi_tags=[{"name": name, "description": text} for name, text in TAGS],
    )
    app.state.services = services
    app.state.callers = CallerCache()
    app.state.committer = committer = GroupCommitter(services.app)
    errors.install(app)
    # Routes are matched in this order, one by one: the busiest first.
    for router in (
        tickets.router,
        search.router,
        auth.router,
        users.router,
        departments.router,
        policies.router,
        inbound.router,
        notifications.router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Whether the service and its event store answer."""
        try:
            position = services.app.read(services.app.recorder.max_notification_id) or 0
        except StoreUnavailableError as error:
            return errors.problem(503, str(error))
        return JSONResponse({"status": "ok", "version": __version__, "log_position": position})

    app.add_middleware(RequestLimits, limit=MAX_BODY, larger={"/inbound/": inbound.MAX_MAIL})
    return app


def settle_memory() -> None:
    """Move everything made while starting (modules, routes, models, the policy: most of the
    process's objects) out of the cyclic collector's reach. Its full collections otherwise
    rescan them every few seconds under load, finding nothing, for 40-70 ms each, while the
    requests in flight in this process wait: the slowest percent of answers."""
    gc.collect()
    gc.freeze()  # for the process's life: frozen objects are never collected (`serve` only)


def worker_app() -> FastAPI:
    """One of `serve --workers N`'s API processes (uvicorn calls this in each): settings from
    the environment, read models projected by the `serve` process."""
    return create_app(bootstrap(Settings.from_env()), projects=False, server=True)


class RequestLimits:
    """What any request may carry. A body over the limit is refused with 413, by
    Content-Length or by reading the body first (bodies are small JSON; reading them whole
    before the app keeps the refusal clean). A NUL character in the path or query string is
    refused with 422: no value of this API holds one, and PostgreSQL refuses them in text
    (a 500 deep inside a query otherwise)."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.default, self.larger = app, limit, larger or {}

    def limit_for(self, path: str) -> int:
        """Mail comes whole through the inbound webhook; everything else is small JSON."""
        return next(
            (n for prefix, n in self.larger.items() if path.startswith(prefix)), self.default
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            where = "path" if "\x00" in path else "query string"
            response = errors.problem(
                422,
                f"the {where} holds a NUL character (%00), which no value may contain",
                errors=[{"field": where, "message": "holds a NUL character"}],
            )
            await response(scope, receive, send)
            return
        limit = self.limit_for(path)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = errors.problem(413, f"the request body is over {limit // 1024} KiB")
        await response(scope, receive, send)
