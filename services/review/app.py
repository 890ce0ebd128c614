"""The review workspace: server-rendered pages and the JSON API under ``/api/v1``.

Every page and API route needs a signed-in user (``auth.principal``); only ``/login``,
``/static``, ``/healthz``, ``/readyz`` and ``/metrics`` answer anyone. What a user sees is
scoped to their regimes in the store, so a finding of another regime is a 404 here
exactly like a finding that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.review import FilterError, ReviewRefused
from services.metrics import ReviewMetrics
from services.review import actions, admin, api, pages, signin
from services.review.auth import CsrfRefused, NotSignedIn, secret_key
from services.review.errors import Conflict, Forbidden, NotFound
from services.review.overviews import Overviews
from services.review.views import error_page, login_url, template_globals
from services.settings import Settings
from services.store import db
from services.store import review as review_store

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


@dataclass
class Deps:
    settings: Settings
    database_url: str
    key: bytes
    metrics: ReviewMetrics
    templates: Jinja2Templates
    engine: AsyncEngine | None = None
    overviews: Overviews | None = None


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _route_name(request: Request) -> str:
    """The matched route's path template: a bounded label, unlike the path itself."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


#: How often the queue's counts are folded (services.store.review.compact_counts).
FOLD_EVERY_S = 60.0


async def fold_counts(engine: AsyncEngine) -> None:
    """Fold the counts the triggers appended, now and every :data:`FOLD_EVERY_S`: what the
    queue sums stays a row per key however many findings were written meanwhile."""
    while True:
        try:
            async with db.sessions(engine).begin() as session:
                await review_store.compact_counts(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not fold the queue's counts: %s", exc)
        await asyncio.sleep(FOLD_EVERY_S)


def create_app(settings: Settings, database_url: str) -> FastAPI:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(template_globals())
    deps = Deps(settings, database_url, secret_key(settings), ReviewMetrics(), templates)

    def engine() -> AsyncEngine:
        assert deps.engine is not None, "the app has not started"
        return deps.engine

    deps.overviews = Overviews(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        deps.engine = db.async_engine(database_url)
        folding = asyncio.create_task(fold_counts(deps.engine))
        try:
            yield
        finally:
            folding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await folding
            await deps.engine.dispose()

    app = FastAPI(
        title="Embargo Watch review workspace",
        version="1",
        summary="Findings to review, scoped to your regimes; decisions, comments, exports.",
        description=api.DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served behind sign-in by pages.api_docs
        redoc_url=None,
        openapi_url=None,
    )
    app.state.deps = deps
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(api.router)
    app.include_router(admin.pages)
    app.include_router(admin.api)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_name(request)
        deps.metrics.requests.labels(route, str(response.status_code)).inc()
        deps.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
        # Pages hold case material: no shared caches, not even the browser's back button
        # after sign-out.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        return response

    def _error(request: Request, status: int, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"error": message}, status_code=status)
        return error_page(request, status, message)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"error": "sign in, or send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(login_url(target), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return _error(
            request, 403, "the form's security token is missing or stale; reload the page"
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc) or "not found")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(FilterError)
    async def bad_filter(request: Request, exc: FilterError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(ReviewRefused)
    async def refused(request: Request, exc: ReviewRefused) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            assert deps.engine is not None
            await db.ping(deps.engine)
        except (SQLAlchemyError, OSError) as exc:
            return JSONResponse({"ready": False, "checks": {"database": str(exc)}}, 503)
        return JSONResponse({"ready": True, "checks": {"database": "ok"}})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(deps.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
