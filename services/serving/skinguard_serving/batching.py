"""Server-side batching: concurrent requests run as one model call, as TensorFlow Serving does.

Requests queue per servable signature; a batch thread takes the oldest request, adds the requests
queued behind it while the batch stays within ``max_batch_size`` rows and ``batch_timeout_micros``
has not passed since the oldest arrived, runs the concatenated inputs once (padded up to an
``allowed_batch_sizes`` entry) and hands each request its rows of the outputs.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from .errors import DeadlineExceeded, FailedPrecondition, InvalidArgument, Unavailable

log = logging.getLogger(__name__)

Tensors = Mapping[str, np.ndarray]
RunBatch = Callable[[Tensors], dict[str, np.ndarray]]


@dataclass(frozen=True)
class BatchingParameters:
    """The subset of TensorFlow Serving's ``BatchingParameters`` this server implements."""

    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 4
    allowed_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if min(self.max_batch_size, self.max_enqueued_batches, self.num_batch_threads) < 1:
            raise ValueError("max_batch_size, max_enqueued_batches and num_batch_threads must be positive")
        if self.batch_timeout_micros < 0:
            raise ValueError("batch_timeout_micros must not be negative")
        sizes = self.allowed_batch_sizes
        if sizes and (list(sizes) != sorted(set(sizes)) or sizes[0] < 1 or sizes[-1] != self.max_batch_size):
            raise ValueError("allowed_batch_sizes must increase and end with max_batch_size")


_SUPPORTED = {"max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"}
# `name { value: X }` (a wrapper field) or `name: X`; X never contains spaces or braces.
_ENTRY = re.compile(r"(\w+)\s*(?:\{\s*value\s*:\s*([^\s{}]+)\s*\}|:\s*([^\s{}]+))")


def parse_batching_parameters(text: str) -> BatchingParameters:
    """Read a ``--batching_parameters_file`` (text-format ``BatchingParameters``).

    Fields this server does not implement (``thread_pool_name``, ``pad_variable_length_inputs``,
    ...) are logged and ignored, so the production file works unchanged.
    """
    text = re.sub(r"#[^\n]*", "", text)
    if _ENTRY.sub("", text).strip():
        raise ValueError(f"not a text-format BatchingParameters: {text.strip()[:200]!r}")
    values: dict[str, int] = {}
    allowed: list[int] = []
    for match in _ENTRY.finditer(text):
        name, value = match.group(1), match.group(2) or match.group(3)
        if name == "allowed_batch_sizes":
            allowed.append(int(value))
        elif name in _SUPPORTED:
            values[name] = int(value)
        else:
            log.warning("batching parameter %s is not implemented by this server; ignored", name)
    return BatchingParameters(**values, allowed_batch_sizes=tuple(allowed))


@dataclass
class _Task:
    inputs: Tensors
    rows: int
    enqueued_at: float = field(default_factory=time.monotonic)
    result: Future = field(default_factory=Future)

    def fits_with(self, other: _Task) -> bool:
        """Both can be concatenated: same input names, dtypes and non-batch dimensions."""
        return _layout(self.inputs) == _layout(other.inputs)


def _layout(inputs: Tensors) -> list[tuple[str, np.dtype, tuple[int, ...]]]:
    return sorted((name, array.dtype, array.shape[1:]) for name, array in inputs.items())


class BatchScheduler:
    """Batches the requests of one servable signature on ``num_batch_threads`` threads."""

    def __init__(
        self,
        run: RunBatch,
        parameters: BatchingParameters,
        *,
        name: str,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._run = run
        self._parameters = parameters
        self._on_batch = on_batch
        self._queue: deque[_Task] = deque()
        self._queued_rows = 0
        self._closed = False
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._work, name=f"batch-{name}-{index}", daemon=True)
            for index in range(parameters.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, inputs: Tensors, timeout: float | None) -> dict[str, np.ndarray]:
        """Run ``inputs`` as part of a batch; blocks until its outputs are ready."""
        rows = _batch_rows(inputs)
        limit = self._parameters.max_batch_size
        tasks = [
            _Task({name: array[start : start + limit] for name, array in inputs.items()}, min(limit, rows - start))
            for start in range(0, rows, limit)
        ] or [_Task(inputs, 0)]  # zero rows still run, as one empty task
        self._enqueue(tasks)
        try:
            outputs = [task.result.result(timeout) for task in tasks]
        except FutureTimeout as error:
            raise DeadlineExceeded("deadline exceeded while waiting for a batch") from error
        return {name: np.concatenate([output[name] for output in outputs]) for name in outputs[0]}

    def close(self) -> None:
        """Stop taking requests, finish the queued ones, and end the threads."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()

    def _enqueue(self, tasks: list[_Task]) -> None:
        capacity = self._parameters.max_enqueued_batches * self._parameters.max_batch_size
        with self._changed:
            if self._closed:
                raise Unavailable("the model version is unloading")
            if self._queued_rows + sum(task.rows for task in tasks) > capacity:
                raise Unavailable("The batch scheduling queue to which this task was submitted is full")
            self._queue.extend(tasks)
            self._queued_rows += sum(task.rows for task in tasks)
            self._changed.notify_all()

    def _work(self) -> None:
        while batch := self._next_batch():
            self._execute(batch)

    def _next_batch(self) -> list[_Task]:
        """The next batch to run; empty once closed and drained."""
        parameters = self._parameters
        with self._changed:
            while not self._queue and not self._closed:
                self._changed.wait()
            if not self._queue:
                return []
            batch = [self._queue.popleft()]
            rows = batch[0].rows
            closes_at = batch[0].enqueued_at + parameters.batch_timeout_micros / 1e6
            while rows < parameters.max_batch_size:
                if not self._queue:
                    remaining = closes_at - time.monotonic()
                    if remaining <= 0 or self._closed:
                        break
                    self._changed.wait(remaining)
                    continue
                candidate = self._queue[0]
                if rows + candidate.rows > parameters.max_batch_size or not candidate.fits_with(batch[0]):
                    break
                batch.append(self._queue.popleft())
                rows += candidate.rows
            self._queued_rows -= rows
            return batch

    def _execute(self, batch: list[_Task]) -> None:
        rows = sum(task.rows for task in batch)
        padded = next((size for size in self._parameters.allowed_batch_sizes if size >= rows), rows) if rows else 0
        inputs = {name: np.concatenate([task.inputs[name] for task in batch]) for name in batch[0].inputs}
        if padded > rows:  # TensorFlow Serving pads with copies of the first row
            inputs = {name: _pad(array, padded - rows) for name, array in inputs.items()}
        self._on_batch(rows)
        try:
            outputs = self._run(inputs)
            for name, array in outputs.items():
                if array.ndim == 0 or array.shape[0] != padded:
                    raise FailedPrecondition(
                        f"Batched output tensor {name} has shape {list(array.shape)}; its 0th dimension must "
                        f"equal the batch size {padded} to be split between requests"
                    )
        except Exception as error:  # every request of the batch fails the same way
            for task in batch:
                task.result.set_exception(error)
            return
        start = 0
        for task in batch:
            task.result.set_result({name: array[start : start + task.rows] for name, array in outputs.items()})
            start += task.rows


def _pad(array: np.ndarray, rows: int) -> np.ndarray:
    return np.concatenate([array, np.repeat(array[:1], rows, axis=0)])


def _batch_rows(inputs: Tensors) -> int:
    if not inputs:
        raise InvalidArgument("Batching Run() needs at least one input tensor")
    if any(array.ndim == 0 for array in inputs.values()):
        raise InvalidArgument("Batching Run() input tensors must have at least one dimension")
    sizes = {array.shape[0] for array in inputs.values()}
    if len(sizes) > 1:
        raise InvalidArgument("Batching Run() input tensors must have equal 0th-dimension size")
    return sizes.pop()
