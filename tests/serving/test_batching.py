"""The batch scheduler and the batching parameters file, with a plain function as the model."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from skinguard_serving.batching import BatchingParameters, BatchScheduler, parse_batching_parameters
from skinguard_serving.errors import InvalidArgument, Unavailable


class RecordingModel:
    """Doubles its input; remembers the batch sizes it was called with."""

    def __init__(self, release: threading.Event | None = None) -> None:
        self.batch_sizes: list[int] = []
        self._release = release

    def __call__(self, inputs):
        if self._release is not None:
            self._release.wait(5)
        self.batch_sizes.append(len(inputs["x"]))
        return {"y": inputs["x"] * 2}


@pytest.fixture
def scheduler_for():
    schedulers = []

    def make(model, **parameters) -> BatchScheduler:
        scheduler = BatchScheduler(model, BatchingParameters(**parameters), name="test")
        schedulers.append(scheduler)
        return scheduler

    yield make
    for scheduler in schedulers:
        scheduler.close()


def rows(start: int, count: int) -> dict[str, np.ndarray]:
    return {"x": np.arange(start, start + count, dtype=np.float32).reshape(count, 1)}


def test_concurrent_requests_are_combined_and_each_gets_its_own_rows(scheduler_for):
    model = RecordingModel()
    scheduler = scheduler_for(model, max_batch_size=64, batch_timeout_micros=200_000, num_batch_threads=1)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda index: scheduler.submit(rows(index * 10, 3), timeout=5), range(8)))

    assert sum(model.batch_sizes) == 24
    assert len(model.batch_sizes) < 8
    for index, result in enumerate(results):
        np.testing.assert_array_equal(result["y"], rows(index * 10, 3)["x"] * 2)


def test_a_request_larger_than_max_batch_size_is_split(scheduler_for):
    model = RecordingModel()
    scheduler = scheduler_for(model, max_batch_size=4, batch_timeout_micros=0)

    result = scheduler.submit(rows(0, 10), timeout=5)

    assert sorted(model.batch_sizes) == [2, 4, 4]
    np.testing.assert_array_equal(result["y"], rows(0, 10)["x"] * 2)


def test_batches_are_padded_to_an_allowed_size(scheduler_for):
    model = RecordingModel()
    scheduler = scheduler_for(model, max_batch_size=8, batch_timeout_micros=0, allowed_batch_sizes=(4, 8))

    result = scheduler.submit(rows(0, 3), timeout=5)

    assert model.batch_sizes == [4]
    assert result["y"].shape == (3, 1)


def test_inputs_with_different_inner_shapes_run_in_separate_batches(scheduler_for):
    release = threading.Event()
    model = RecordingModel(release)
    scheduler = scheduler_for(model, max_batch_size=64, batch_timeout_micros=100_000, num_batch_threads=1)

    with ThreadPoolExecutor(2) as pool:
        narrow = pool.submit(scheduler.submit, {"x": np.zeros((2, 1), np.float32)}, 5)
        wide = pool.submit(scheduler.submit, {"x": np.zeros((2, 3), np.float32)}, 5)
        release.set()
        assert (narrow.result()["y"].shape, wide.result()["y"].shape) == ((2, 1), (2, 3))
    assert model.batch_sizes == [2, 2]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"x": np.float32(1)}, "must have at least one dimension"),
        ({"x": np.zeros((2, 1)), "z": np.zeros((3, 1))}, "must have equal 0th-dimension size"),
    ],
)
def test_inputs_that_cannot_be_batched_are_refused(scheduler_for, inputs, message):
    scheduler = scheduler_for(RecordingModel())

    with pytest.raises(InvalidArgument, match=message):
        scheduler.submit(inputs, timeout=5)


def test_a_full_queue_refuses_more_work(scheduler_for):
    release = threading.Event()
    scheduler = scheduler_for(
        RecordingModel(release), max_batch_size=2, max_enqueued_batches=1, num_batch_threads=1, batch_timeout_micros=0
    )
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(scheduler.submit, rows(0, 2), 5)  # taken by the only batch thread
        time.sleep(0.1)
        queued = pool.submit(scheduler.submit, rows(0, 2), 5)  # fills the queue
        time.sleep(0.1)

        with pytest.raises(Unavailable, match=r"queue .* is full"):
            scheduler.submit(rows(0, 1), timeout=5)

        release.set()
        assert running.result()["y"].shape == queued.result()["y"].shape == (2, 1)


def test_model_errors_reach_every_request_of_the_batch(scheduler_for):
    def broken(inputs):
        raise InvalidArgument("bad pixels")

    scheduler = scheduler_for(broken, batch_timeout_micros=0)

    with pytest.raises(InvalidArgument, match="bad pixels"):
        scheduler.submit(rows(0, 2), timeout=5)


def test_parameters_file_reads_wrappers_lists_and_ignores_unimplemented_fields(caplog):
    parameters = parse_batching_parameters(
        """
        # TensorFlow Serving batching parameters
        max_batch_size { value: 16 }
        batch_timeout_micros { value: 2000 }
        max_enqueued_batches { value: 10 }
        num_batch_threads { value: 2 }
        thread_pool_name { value: "batch_threads" }
        allowed_batch_sizes: 8
        allowed_batch_sizes: 16
        """
    )

    assert parameters == BatchingParameters(16, 2000, 10, 2, (8, 16))
    assert "thread_pool_name" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "max_batch_size: { value 16 }",
        "max_batch_size { value: 16 }\nallowed_batch_sizes: 8",  # the last allowed size must be the maximum
        "num_batch_threads { value: 0 }",
    ],
)
def test_invalid_parameters_are_rejected(text):
    with pytest.raises(ValueError):
        parse_batching_parameters(text)


def test_the_production_batching_parameters_parse():
    path = Path(__file__).parents[2] / "deploy" / "serving" / "batching_parameters.txt"

    assert parse_batching_parameters(path.read_text()).allowed_batch_sizes == (8, 16, 32)
