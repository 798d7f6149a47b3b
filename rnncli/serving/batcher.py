"""Concurrent requests answered together: one model call for many requests' texts.

A model call costs nearly as much for one text as for dozens (LiteRT runs rows in chunks, and
each call pays its own overhead), so requests that arrive within a few milliseconds of each
other are worth answering in one call. The batcher collects requests until it holds
`max_texts` texts or the first of them has waited `max_wait` seconds, runs the model once on
all of them, and hands each request its own slice, in its own order.

The model runs on one worker thread, never on the event loop (which goes on accepting and
answering requests meanwhile), and only ever one call at a time: a LiteRT interpreter must not
be called from two threads at once. Anything else that touches the model (`run`, used for
explanations) goes through the same thread.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class ShuttingDown(Exception):
    """The batcher is closed: the server is stopping and takes no new work."""


@dataclass
class _Job:
    texts: Sequence[str]
    future: asyncio.Future
    arrived: float = field(default=0.0)


@dataclass
class Counters:
    """What the batcher has done, for `/health`: how well batching works under real load."""

    texts: int = 0
    batches: int = 0
    requests: int = 0


class Batcher:
    """Micro-batches `predict(texts) -> answers` (one answer per text) on one worker thread."""

    def __init__(self, predict: Callable[[list[str]], list], max_texts: int = 256, max_wait: float = 0.005):
        self.predict = predict
        self.max_texts = max_texts
        self.max_wait = max_wait
        self.counters = Counters()
        self._pending: collections.deque[_Job] = collections.deque()
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnncli-model")
        self._task: asyncio.Task | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        """Started, not closing, and its collector alive (what `/ready` reports)."""
        return self._task is not None and not self._task.done() and not self._closing

    def start(self) -> None:
        """Start collecting; called from the event loop the requests arrive on."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._collect(), name="rnncli-batcher")

    async def submit(self, texts: Sequence[str]) -> list:
        """The answers to `texts`, in order, from a model call that may hold other requests' too."""
        if not self.running:
            raise ShuttingDown("the server is stopping")
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), loop.create_future(), loop.time())
        self._pending.append(job)
        self._arrived.set()
        return await job.future

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the model's thread, in turn with the batches."""
        if not self.running:
            raise ShuttingDown("the server is stopping")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def close(self) -> None:
        """Answer what is already queued, then stop the worker thread."""
        self._closing = True
        self._arrived.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def _collect(self) -> None:
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            await self._answer(batch)

    async def _next_batch(self) -> list[_Job] | None:
        """Requests up to `max_texts` texts, or what came within `max_wait` of the first one.

        None once closing with nothing left. A request is never split; one larger than
        `max_texts` is a batch of its own. The deadline counts from the first request's arrival,
        so requests that queued while the model was busy go at once.
        """
        loop = asyncio.get_running_loop()
        batch: list[_Job] = []
        count = 0
        while True:
            self._drop_cancelled()
            if self._pending:
                job = self._pending[0]
                if batch and count + len(job.texts) > self.max_texts:
                    return batch
                batch.append(self._pending.popleft())
                count += len(job.texts)
                if count >= self.max_texts:
                    return batch
                continue
            if self._closing:
                return batch or None
            remaining = batch[0].arrived + self.max_wait - loop.time() if batch else None
            if remaining is not None and remaining <= 0:
                return batch
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return batch

    def _drop_cancelled(self) -> None:
        # A request whose client went away is not worth a model call.
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()

    async def _answer(self, batch: list[_Job]) -> None:
        """One model call for the batch; when it fails, each request alone, so one bad request
        fails only itself."""
        texts = [text for job in batch for text in job.texts]
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.run_in_executor(self._executor, self._predict_counted, texts, len(batch))
        except Exception as exc:  # noqa: BLE001 - handed to the requests, which turn it into a 4xx/5xx
            if len(batch) == 1:
                _settle(batch[0].future, error=exc)
                return
            for job in batch:
                await self._answer([job])
            return
        start = 0
        for job in batch:
            _settle(job.future, answers[start : start + len(job.texts)])
            start += len(job.texts)

    def _predict_counted(self, texts: list[str], requests: int) -> list:
        answers = self.predict(texts)
        if len(answers) != len(texts):
            raise RuntimeError(f"the model gave {len(answers)} answers for {len(texts)} texts")
        # Only this thread writes the counters; readers may see them a call behind.
        self.counters.texts += len(texts)
        self.counters.batches += 1
        self.counters.requests += requests
        return answers


def _settle(future: asyncio.Future, result: object = None, error: BaseException | None = None) -> None:
    if future.done():  # cancelled meanwhile: its client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
