"""The prediction log is written in batches off the request path: bounded, retried, flushed at
shutdown, and feedback finds a row that is still queued."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

from skinguard_contracts.errors import NotFound, ServiceUnavailable
from skinguard_gateway.feedback.schemas import FeedbackIn
from skinguard_gateway.feedback.service import record_feedback
from skinguard_gateway.feedback.tokens import feedback_token
from skinguard_gateway.metrics import GatewayMetrics
from skinguard_gateway.predictions.log_writer import PredictionLogWriter
from skinguard_gateway.predictions.tables import PredictionLog
from support import images

from .conftest import serving_gateway
from .test_predict_api import predict


class FakeDatabase:
    """A sessionmaker whose sessions record each insert's rows; failures and stalls on demand."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        self.failures: list[Exception] = []  # raised by the next writes, in order
        self.open = asyncio.Event()  # writes wait until it is set
        self.open.set()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[FakeDatabase]:
        yield self

    async def execute(self, statement, rows: list[dict]) -> None:
        await self.open.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.batches.append(list(rows))

    @property
    def ids(self) -> list[str]:
        return [row["prediction_id"] for batch in self.batches for row in batch]


def row(prediction_id: str) -> dict:
    return {"prediction_id": prediction_id}


def sample(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value(f"skinguard_gateway_{name}") or 0.0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def writer_of(database, registry):
    made: list[PredictionLogWriter] = []

    def make(**options) -> PredictionLogWriter:
        options = {"first_retry_seconds": 0.01, "max_retry_seconds": 0.02, **options}
        writer = PredictionLogWriter(database, GatewayMetrics(registry), **options)  # type: ignore[arg-type]
        writer.start()
        made.append(writer)
        return writer

    yield make


def unavailable() -> OperationalError:
    return OperationalError("INSERT INTO prediction_log", {}, ConnectionRefusedError("connection refused"))


async def test_rows_queued_together_are_written_in_one_insert(writer_of, database, registry) -> None:
    writer = writer_of(linger_seconds=0.05)
    for index in range(20):
        writer.submit(row(f"p{index}"))
    assert database.batches == [] and writer.unwritten == 20  # submitting never waits on the database
    assert await writer.flush(5)
    assert [len(batch) for batch in database.batches] == [20]
    assert writer.unwritten == 0 and sample(registry, "prediction_log_queued") == 0
    assert sample(registry, "prediction_log_batch_rows_count") == 1


async def test_a_row_waits_at_most_the_linger(writer_of, database) -> None:
    writer = writer_of(linger_seconds=0.05)
    writer.submit(row("p"))
    for _ in range(100):
        if database.ids:
            break
        await asyncio.sleep(0.01)
    assert database.ids == ["p"]


async def test_batches_are_at_most_max_batch_rows(writer_of, database) -> None:
    writer = writer_of(max_batch=5, linger_seconds=60)
    for index in range(12):
        writer.submit(row(f"p{index}"))
    assert await writer.flush(5)
    assert [len(batch) for batch in database.batches] == [5, 5, 2]
    assert database.ids == [f"p{index}" for index in range(12)]  # in order


async def test_a_full_queue_drops_new_rows_with_a_metric_and_a_log_line(writer_of, database, registry, caplog) -> None:
    """Back-pressure would make every answer wait on the database; the log is for monitoring."""
    database.open.clear()  # the database stalls
    writer = writer_of(max_queued=3, max_batch=2, linger_seconds=0)
    with caplog.at_level(logging.ERROR, logger="skinguard_gateway.predictions.log_writer"):
        for index in range(6):
            writer.submit(row(f"p{index}"))
            await asyncio.sleep(0)  # the writer takes its first batch and waits on the database
    assert sample(registry, "prediction_log_dropped_total") == 3
    assert sample(registry, "prediction_log_queued") == 3
    full = [record for record in caplog.records if "queue is full" in record.getMessage()]
    assert len(full) == 1  # one line per burst, not one per row
    database.open.set()
    assert await writer.flush(5)
    assert database.ids == ["p0", "p1", "p2"]
    writer.submit(row("after"))  # room again
    assert await writer.flush(5) and database.ids[-1] == "after"


async def test_a_write_that_cannot_reach_the_database_is_retried(writer_of, database, registry) -> None:
    database.failures = [OSError("connection refused"), unavailable(), TimeoutError()]
    writer = writer_of(linger_seconds=0)
    for index in range(3):
        writer.submit(row(f"p{index}"))
    assert await writer.flush(5)
    assert database.ids == ["p0", "p1", "p2"]
    assert sample(registry, "prediction_log_write_errors_total") == 3
    assert sample(registry, "prediction_log_failures_total") == 0


async def test_a_write_refused_for_another_reason_is_given_up_and_the_next_rows_written(
    writer_of, database, registry, caplog
) -> None:
    database.failures = [ProgrammingError("INSERT", {}, Exception("permission denied for table prediction_log"))]
    writer = writer_of(linger_seconds=0)
    writer.submit(row("lost-1"))
    writer.submit(row("lost-2"))
    assert await writer.flush(5)
    assert sample(registry, "prediction_log_failures_total") == 2
    assert any("answered but not logged" in record.getMessage() for record in caplog.records)
    writer.submit(row("kept"))
    assert await writer.flush(5) and database.ids == ["kept"]


async def test_close_writes_every_queued_row(writer_of, database, registry) -> None:
    writer = writer_of(linger_seconds=60)
    for index in range(4):
        writer.submit(row(f"p{index}"))
    await writer.close()
    assert database.ids == ["p0", "p1", "p2", "p3"]
    writer.submit(row("late"))  # after shutdown: counted, not lost silently
    assert sample(registry, "prediction_log_dropped_total") == 1


async def test_close_with_the_database_away_gives_up_promptly_and_counts(writer_of, database, registry) -> None:
    database.failures = [OSError("connection refused")] * 1000
    writer = writer_of(linger_seconds=0, max_batch=1, first_retry_seconds=5, max_retry_seconds=5)
    for index in range(5):
        writer.submit(row(f"p{index}"))
    await asyncio.sleep(0.05)  # the first write failed; the writer waits before retrying
    started = time.monotonic()
    await writer.close()
    assert time.monotonic() - started < 1
    assert sample(registry, "prediction_log_failures_total") == 5 and writer.unwritten == 0


async def test_close_is_bounded_when_the_database_hangs(writer_of, database, registry) -> None:
    database.open.clear()  # never answers
    writer = writer_of(linger_seconds=0, max_batch=2, close_timeout_seconds=0.2)
    for index in range(5):
        writer.submit(row(f"p{index}"))
    await asyncio.sleep(0)
    started = time.monotonic()
    await writer.close()
    assert time.monotonic() - started < 2
    assert sample(registry, "prediction_log_failures_total") == 5 and writer.unwritten == 0


async def test_written_hurries_a_queued_row(writer_of, database) -> None:
    writer = writer_of(linger_seconds=60)
    writer.submit(row("queued"))
    started = time.monotonic()
    assert await writer.written("queued", 5)
    assert time.monotonic() - started < 1 and database.ids == ["queued"]
    assert await writer.written("never-queued-here", 5)  # nothing to wait for


async def test_written_does_not_wait_while_writes_fail(writer_of, database) -> None:
    database.failures = [OSError("connection refused")] * 1000
    writer = writer_of(linger_seconds=0, first_retry_seconds=5, max_retry_seconds=5)
    writer.submit(row("stuck"))
    started = time.monotonic()
    assert not await writer.written("stuck", 5)
    assert time.monotonic() - started < 1


# Through the gateway, on the real database.


async def test_feedback_right_after_a_prediction_finds_its_queued_row(app, client) -> None:
    app.state.prediction_log.linger_seconds = 60  # the row surely still queued when feedback comes
    answers = [(await predict(client)).json() for _ in range(2)]
    assert [answer["cached"] for answer in answers] == [False, True]
    assert app.state.prediction_log.unwritten == 2
    for answer in answers:  # the cached answer too: its own prediction id, logged
        proof = {key: answer[key] for key in ("prediction_id", "feedback_token")}
        feedback = await client.post("/feedback", json={**proof, "actual_label": "benign"})
        assert feedback.status_code == 201, feedback.text
    assert app.state.prediction_log.unwritten == 0


async def test_rows_queued_at_shutdown_are_written(gateway_settings, model_server, clean_gateway) -> None:
    async with serving_gateway(gateway_settings, model_server) as (app, client):
        app.state.prediction_log.linger_seconds = 60
        answers = [(await predict(client, images.jpeg(320, 240, seed=seed))).json() for seed in (1, 2, 1)]
        assert app.state.prediction_log.unwritten == 3
    engine = create_async_engine(gateway_settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(PredictionLog.prediction_id, PredictionLog.cached))).all()
    finally:
        await engine.dispose()
    assert sorted(rows) == sorted((answer["prediction_id"], answer["cached"]) for answer in answers)


class FakeSession:
    """The feedback's unit of work: ``get`` answers from ``found`` (one answer per call)."""

    def __init__(self, *found: object) -> None:
        self.found = list(found)

    async def get(self, table, key):
        return self.found.pop(0)

    async def scalar(self, statement):
        return datetime.now(UTC)


def feedback_for(prediction_id: str, key: str = "k") -> FeedbackIn:
    return FeedbackIn(
        prediction_id=prediction_id, feedback_token=feedback_token(key, prediction_id), actual_label="benign"
    )


async def test_feedback_for_a_row_whose_write_is_being_retried_is_503_not_404(writer_of, database) -> None:
    database.failures = [OSError("connection refused")] * 1000
    writer = writer_of(linger_seconds=0, first_retry_seconds=5, max_retry_seconds=5)
    writer.submit(row("retried"))
    with pytest.raises(ServiceUnavailable) as refused:
        await record_feedback(FakeSession(None), feedback_for("retried"), feedback_key="k", log=writer)  # type: ignore[arg-type]
    assert refused.value.code == "prediction_not_recorded_yet"


async def test_feedback_for_a_row_another_gateway_process_is_writing_gets_a_second_look() -> None:
    session = FakeSession(None, object())  # not there yet, then written by the other process
    recorded = await record_feedback(session, feedback_for("elsewhere"), feedback_key="k")  # type: ignore[arg-type]
    assert recorded.prediction_id == "elsewhere" and session.found == []
    with pytest.raises(NotFound):
        await record_feedback(FakeSession(None, None), feedback_for("nowhere"), feedback_key="k")  # type: ignore[arg-type]
