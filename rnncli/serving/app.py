"""The FastAPI application: one loaded run behind `/predict`, `/health`, `/ready`, `/metadata`, `/`.

`create_app` takes a `Predictor` that is already loaded (and so already checked): the server
never loads a run itself, so it keeps answering with the run it was started on however the
runs on disk change, and a bad run is refused by the CLI before anything listens.

Every refusal is a JSON body `{"error": "one line"}` with a 4xx status: FastAPI's own answers
(404, 405, validation) are rewritten to that shape too, so a client handles one kind of error.
A 5xx means the server or the model failed, never that the request was wrong.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from rnncli import __version__
from rnncli.errors import InputError, RnncliError
from rnncli.serving.accesslog import AccessLog, wire_path
from rnncli.serving.answers import explanation_record, metadata, prediction_record
from rnncli.serving.batcher import Batcher, ShuttingDown
from rnncli.serving.body import ApiError, location, parse_predict, read_body
from rnncli.serving.page import PAGE
from rnncli.serving.schemas import ErrorResponse, PredictRequest, PredictResponse


@dataclass(frozen=True)
class Limits:
    """What one request may ask for, and how requests are batched (the CLI's options)."""

    max_body: int = 1_000_000  # bytes
    max_texts: int = 1000  # per request
    batch_size: int = 256  # texts per model call, at most (a larger request runs alone)
    batch_wait_ms: float = 5.0  # how long the first request of a batch waits for company


DESCRIPTION = """Labels texts with one trained rnncli run, the one the server was started on.

Every refused request is answered with a 4xx status and `{"error": "..."}`, one line saying why.
"""
_ERRORS = {code: {"model": ErrorResponse} for code in (400, 413, 422, 503)}
#: The body is read and checked by `body.py`, not by FastAPI; the schema is declared for /docs.
_PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
    }
}


def create_app(predictor, limits: Limits | None = None) -> FastAPI:
    """The application serving `predictor`, with its batcher started and stopped by the lifespan."""
    limits = limits or Limits()
    batcher = Batcher(predictor.predict, limits.batch_size, limits.batch_wait_ms / 1000)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        try:
            yield
        finally:
            # After uvicorn has let the requests in flight finish: nothing is left half-answered.
            await batcher.close()

    app = FastAPI(title="rnncli", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.batcher = batcher
    _add_error_handlers(app)
    _add_info_routes(app, batcher, metadata(predictor, asdict(limits)))
    _add_predict_route(app, predictor, batcher, limits)
    app.add_middleware(AccessLog)
    return app


def _add_info_routes(app: FastAPI, batcher: Batcher, about: dict) -> None:
    started = time.monotonic()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/health", summary="The process is up")
    async def health() -> dict:
        counters = batcher.counters
        return {
            "status": "ok",
            "uptime_s": round(time.monotonic() - started, 3),
            "requests": counters.requests,
            "texts": counters.texts,
            "batches": counters.batches,
        }

    @app.get("/ready", summary="The model is loaded and answering", responses={503: {"model": ErrorResponse}})
    async def ready() -> JSONResponse:
        if not batcher.running:
            return JSONResponse(
                {"ready": False, "error": "not answering: the server is stopping"}, status_code=503
            )
        return JSONResponse({"ready": True, "run": about["run_name"]})

    @app.get("/metadata", summary="The run being served: dataset, architecture, labels, test metrics")
    async def describe() -> dict:
        return about


def _add_predict_route(app: FastAPI, predictor, batcher: Batcher, limits: Limits) -> None:
    from rnncli.explain import explain

    labels = len(predictor.label_names)

    @app.post(
        "/predict",
        summary="Label texts (and weigh their words)",
        response_model=None,
        responses={200: {"model": PredictResponse}, **_ERRORS},
        openapi_extra=_PREDICT_BODY,
    )
    async def predict(request: Request) -> JSONResponse:
        body = parse_predict(await read_body(request, limits.max_body), limits.max_texts)
        k = min(body.top_k, labels)
        if body.explain:
            # One text per call on the model thread, so batches of other requests go in between.
            records = [explanation_record(await batcher.run(explain, predictor, t), k) for t in body.texts]
        else:
            records = [prediction_record(p, k) for p in await batcher.submit(body.texts)]
        return JSONResponse({"predictions": records})


def _add_error_handlers(app: FastAPI) -> None:
    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.message)

    @app.exception_handler(ShuttingDown)
    async def stopping(request: Request, exc: ShuttingDown) -> JSONResponse:
        return error(503, "the server is stopping: retry on another instance or after the restart")

    @app.exception_handler(RnncliError)
    async def failed(request: Request, exc: RnncliError) -> JSONResponse:
        # A text the run cannot take is the request's fault; anything else (a model that fails
        # to run) is the server's.
        return error(422 if isinstance(exc, InputError) else 500, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, _http_reason(request, exc), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        return error(422, f"{location(tuple(first['loc']))}: {first['msg']}")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # The last resort: still one line for the client; uvicorn logs the traceback.
        return error(500, f"internal error ({type(exc).__name__}): {exc}")


def _http_reason(request: Request, exc: HTTPException) -> str:
    method, path = request.method, wire_path(request.scope)
    if exc.status_code == 404:
        return f"no such endpoint: {method} {path} (see /docs for the API)"
    if exc.status_code == 405:
        allowed = (getattr(exc, "headers", None) or {}).get("Allow", "")
        return f"{method} is not allowed on {path}" + (f"; use {allowed}" if allowed else "")
    return str(exc.detail)
