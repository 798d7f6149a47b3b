"""`rnncli serve`: one trained run answering HTTP requests.

The pieces, each in its own module: `schemas` (what a request and an answer may hold),
`body` (a request body read under its size limit and checked down to one-line reasons),
`batcher` (concurrent requests collected into one model call on one worker thread),
`answers` (predictions and explanations as the same records `rnncli predict --json` prints),
`accesslog` (one line per request), `page` (the self-contained HTML page at `/`), `app` (the
FastAPI application that wires them together) and `server` (uvicorn on a socket bound up front,
stopping gracefully on SIGTERM).

FastAPI, pydantic and uvicorn are an optional extra (`rnncli[serve]`): nothing here is imported
by the rest of rnncli, and `rnncli/cli/serve.py` imports it only when the command runs.
"""
