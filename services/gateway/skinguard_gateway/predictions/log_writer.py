"""The prediction log, written in batches off the request path.

A request hands its row to ``PredictionLogWriter.submit`` and answers at once. A background
task inserts what has queued, up to ``max_batch`` rows in one ``INSERT ... ON CONFLICT DO
NOTHING``, at most ``linger_seconds`` after the first of them arrived.

The queue is bounded, and a full queue drops new rows (counted in
``skinguard_gateway_prediction_log_dropped_total``, logged) rather than holding up answers:
the log serves monitoring and feedback, and back-pressure would make every prediction wait on
the database, turning a slow or absent database into a prediction outage (the gateway already
answers predictions with the database down). The queue fills only when the database has been
slower than the predictions, or away, for ``max_queued`` rows.

A write that fails because the database cannot be reached (or too slow) is retried with
backoff, keeping its rows; one that fails for another reason would fail again, so its rows are
given up (``..._prediction_log_failures_total``, logged). ``close`` (the lifespan's exit,
after the last request) writes every queued row before the database goes; with the database
away then, they are given up and counted.

Feedback for a prediction whose row is still queued asks ``written`` first: that hurries the
write and waits for it (see ``feedback.service``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skinguard_database import connection_lost

from ..metrics import GatewayMetrics
from .tables import PredictionLog

logger = logging.getLogger(__name__)

Row = dict[str, Any]
DROP_LOG_INTERVAL_SECONDS = 10.0


class PredictionLogWriter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: GatewayMetrics,
        *,
        max_queued: int = 10_000,
        max_batch: int = 500,
        linger_seconds: float = 0.05,
        write_timeout_seconds: float = 5.0,
        first_retry_seconds: float = 0.5,
        max_retry_seconds: float = 5.0,
        close_timeout_seconds: float = 15.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._metrics = metrics
        self._max_queued = max_queued  # rows held at most: queued and being written
        self._max_batch = max_batch
        self.linger_seconds = linger_seconds  # how long a row may wait for others to share its insert
        self._write_timeout = write_timeout_seconds
        self._first_retry = first_retry_seconds
        self._max_retry = max_retry_seconds
        self._close_timeout = close_timeout_seconds
        self._statement = insert(cast(Table, PredictionLog.__table__)).on_conflict_do_nothing()
        self._rows: deque[Row] = deque()
        self._pending: set[str] = set()  # prediction ids queued or being written
        self._accepted = 0  # rows accepted since the start, in order
        self._finished = 0  # of those, rows written or given up (always a prefix)
        self._wanted = 0  # a flush waits for the first ``_wanted`` rows: no lingering until then
        self._arrived = asyncio.Event()
        self._hurry = asyncio.Event()
        self._progress = asyncio.Event()  # set (and replaced) whenever rows are finished
        self._failing = False  # the last write failed and is being retried
        self._closing = False
        self._stopping = asyncio.Event()  # set by close: no more waiting between retries
        self._task: asyncio.Task[None] | None = None
        self._dropped_unlogged = 0
        self._drop_logged_at = float("-inf")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="prediction-log-writer")

    @property
    def unwritten(self) -> int:
        """Rows accepted and not yet written (queued, or in a write being made or retried)."""
        return self._accepted - self._finished

    def submit(self, row: Row) -> None:
        """Queue one ``prediction_log`` row (a dict of its columns); never waits."""
        if self.unwritten >= self._max_queued or self._task is None or self._task.done():
            self._drop(row)
            return
        self._rows.append(row)
        self._pending.add(row["prediction_id"])
        self._accepted += 1
        self._metrics.prediction_log_queued.set(self.unwritten)
        self._arrived.set()
        if len(self._rows) >= self._max_batch:
            self._hurry.set()

    async def flush(self, within_seconds: float | None = None) -> bool:
        """Write every row accepted so far; False when they are not all written (or given up) in time."""
        target = self._accepted
        if self._finished >= target:
            return True
        self._wanted = max(self._wanted, target)
        self._hurry.set()
        try:
            async with asyncio.timeout(within_seconds):
                while self._finished < target:
                    await self._progress.wait()
        except TimeoutError:
            return False
        return True

    def holds(self, prediction_id: str) -> bool:
        """This prediction's row is queued here, or in a write being made or retried."""
        return prediction_id in self._pending

    async def written(self, prediction_id: str, within_seconds: float) -> bool:
        """Hurry this prediction's row and wait for it; False when it is still not written after
        ``within_seconds``, or as soon as writes fail (the caller's own query then finds out)."""
        if prediction_id in self._pending:
            self._wanted = max(self._wanted, self._accepted)
            self._hurry.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_seconds):
                    while prediction_id in self._pending and not self._failing:
                        await self._progress.wait()
        return prediction_id not in self._pending

    async def close(self) -> None:
        """Write what is queued, then stop (the lifespan's exit, before the database is disposed)."""
        self._closing = True
        self._stopping.set()
        self._hurry.set()
        self._arrived.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(self._close_timeout):
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._abandon_queue(f"the writer stopped after {self._close_timeout:g} s")

    async def _run(self) -> None:
        batch: list[Row] = []
        try:
            while True:
                if not self._rows:
                    if self._closing:
                        return
                    self._arrived.clear()
                    await self._arrived.wait()
                    continue
                await self._linger_a_little()
                batch = [self._rows.popleft() for _ in range(min(len(self._rows), self._max_batch))]
                await self._write(batch)
                self._finish(batch)
                batch = []
                if self._closing and self._failing:
                    self._abandon_queue("the database is unavailable at shutdown")
        except asyncio.CancelledError:
            self._abandon(batch, "the writer was stopped")
            raise
        except Exception:  # a bug: the rows are answered, never written; the next submit sees the task done
            logger.exception("the prediction log writer stopped")
            self._abandon(batch, "the writer failed")
            self._abandon_queue("the writer failed")

    async def _linger_a_little(self) -> None:
        """Let more rows arrive, unless a flush or shutdown waits or a full batch is there."""
        if self._closing or self._finished < self._wanted or len(self._rows) >= self._max_batch:
            return
        self._hurry.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.linger_seconds):
                await self._hurry.wait()

    async def _write(self, batch: list[Row]) -> None:
        """Insert the batch: retried while the database is away, given up on any other error."""
        delay = self._first_retry
        while True:
            try:
                async with asyncio.timeout(self._write_timeout), self._sessionmaker.begin() as session:
                    await session.execute(self._statement, batch)
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                self._metrics.prediction_log_write_errors.inc()
                if not _transient(error):
                    self._count_lost(batch, f"{type(error).__name__}: {error}")
                    return
                if self._closing:
                    self._failing = True
                    self._count_lost(batch, f"the database is unavailable at shutdown: {error}")
                    return
                if not self._failing:
                    logger.error("the prediction log cannot be written; retrying (rows stay queued): %s", error)
                    self._failing = True
                    self._notify()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()  # close: one last try, then give up
                delay = min(delay * 2, self._max_retry)
                continue
            if self._failing:
                logger.info("the prediction log is written again")
                self._failing = False
            self._metrics.prediction_log_batch.observe(len(batch))
            return

    def _finish(self, rows: list[Row]) -> None:
        """These rows, the oldest not finished, are written or given up: wake whoever waits for them."""
        for row in rows:
            self._pending.discard(row["prediction_id"])
        self._finished += len(rows)
        self._metrics.prediction_log_queued.set(self.unwritten)
        self._notify()

    def _notify(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    def _abandon(self, rows: list[Row], reason: str) -> None:
        self._count_lost(rows, reason)
        self._finish(rows)

    def _abandon_queue(self, reason: str) -> None:
        rows = list(self._rows)
        self._rows.clear()
        self._abandon(rows, reason)

    def _count_lost(self, rows: list[Row], reason: str) -> None:
        if not rows:
            return
        self._metrics.prediction_log_failures.inc(len(rows))
        first = rows[0]["prediction_id"]
        logger.error("%d predictions (the first %s) were answered but not logged: %s", len(rows), first, reason)

    def _drop(self, row: Row) -> None:
        self._metrics.prediction_log_dropped.inc()
        self._dropped_unlogged += 1
        now = time.monotonic()
        if now - self._drop_logged_at >= DROP_LOG_INTERVAL_SECONDS:
            logger.error(
                "the prediction log queue is full (%d rows) or stopped: %d predictions answered but not logged, "
                "the latest %s",
                self._max_queued,
                self._dropped_unlogged,
                row["prediction_id"],
            )
            self._drop_logged_at, self._dropped_unlogged = now, 0


def _transient(error: Exception) -> bool:
    """The database could not be reached or answered too slowly: the same write may succeed later."""
    if isinstance(error, OSError | TimeoutError | PoolTimeout | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and connection_lost(error)
