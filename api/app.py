"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ledgerdesk import __version__
from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.errors import StoreUnavailableError


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="ledgerdesk",
        version=__version__,
        description="An email-first help desk whose every change is a verifiable event.",
        lifespan=lifespan,
    )
    app.state.services = services

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Whether the service and its event store answer."""
        try:
            position = services.app.read(services.app.recorder.max_notification_id) or 0
        except StoreUnavailableError as error:
            return JSONResponse({"status": "unavailable", "detail": str(error)}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "log_position": position})

    return app
