"""Bulk import through the ingestion and annotation APIs: idempotent, resumable, concurrent.

Every image is uploaded (ingestion answers ``duplicate`` for bytes it already has) and then
labelled under the importer's identity (annotation records nothing when the label is
unchanged), so re-running adds nothing. A journal of finished files lets a re-run skip them
without even uploading; an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tqdm import tqdm

from skinguard_datasets.layouts import Collection, ImportItem

RETRIABLE_STATUSES = {429, 502, 503, 504}
ATTEMPTS = 4


@dataclass
class Summary:
    imported: int = 0
    duplicates: int = 0
    labelled: int = 0
    skipped: int = 0  # finished in an earlier run (journal)
    rejected: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def reject(self, reason: str, key: str) -> None:
        self.rejected[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(key)

    def lines(self) -> list[str]:
        rate = (self.imported + self.duplicates) / self.seconds if self.seconds else 0.0
        lines = [
            f"imported:   {self.imported}",
            f"duplicates: {self.duplicates} (already stored: nothing written)",
            f"labelled:   {self.labelled} (new labels recorded)",
            f"skipped:    {self.skipped} (finished in an earlier run)",
            f"rejected:   {sum(self.rejected.values())}",
        ]
        for reason, count in self.rejected.most_common():
            lines.append(f"  {reason}: {count}  e.g. {', '.join(self.examples[reason])}")
        lines.append(f"time:       {self.seconds:.1f} s ({rate:.1f} images/s)")
        return lines


class Journal:
    """Append-only record of finished files: ``{"key", "status", "image_id"|"reason"}`` per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.done[entry["key"]] = entry
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "a")

    def record(self, entry: dict) -> None:
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _request(client: httpx.AsyncClient, method: str, url: str, **kwargs) -> httpx.Response:
    """Retries what a busy or restarting service answers; other errors are the caller's."""
    for attempt in range(ATTEMPTS):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == ATTEMPTS - 1:
                raise
        else:
            if response.status_code not in RETRIABLE_STATUSES or attempt == ATTEMPTS - 1:
                return response
        await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body['error']}: {body['detail']}" if response.status_code < 500 else body["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


@dataclass(frozen=True)
class Endpoints:
    ingestion: str
    annotation: str
    api_key: str


async def import_item(
    client: httpx.AsyncClient, endpoints: Endpoints, item: ImportItem, low_resolution: bool
) -> tuple[str, str, bool]:
    """Upload and label one image; returns (image id, "imported"|"duplicate", labelled now)."""
    data = {**item.upload_fields}
    if low_resolution:
        data["allow_low_resolution"] = "true"
    upload = await _request(
        client,
        "POST",
        f"{endpoints.ingestion}/api/images/upload",
        files={"image": (item.path.name, item.path.read_bytes())},
        data=data,
    )
    if upload.status_code not in (200, 201):
        raise Rejected(_error_code(upload))
    record = upload.json()
    annotate = await _request(
        client,
        "POST",
        f"{endpoints.annotation}/api/images/{record['id']}/annotate",
        json={"label": item.label, "metadata": item.label_metadata},
    )
    if annotate.status_code not in (200, 201):
        raise Rejected(f"labelling failed: {_error_code(annotate)}")
    return record["id"], "duplicate" if record["duplicate"] else "imported", annotate.status_code == 201


def merge_identical_files(items: list[ImportItem]) -> tuple[list[ImportItem], list[list[ImportItem]]]:
    """One item per distinct file content, so identical files cannot make labels flip-flop.

    Identical files with the same label become one item naming all of them; identical files
    with different labels are returned as conflicts, for a person to resolve.
    """
    by_content: dict[str, list[ImportItem]] = {}
    for item in items:
        by_content.setdefault(hashlib.sha256(item.path.read_bytes()).hexdigest(), []).append(item)
    merged, conflicts = [], []
    for same in by_content.values():
        same.sort(key=lambda item: item.key)
        first = same[0]
        if len({item.label for item in same}) > 1:
            conflicts.append(same)
        elif len(same) == 1:
            merged.append(first)
        else:
            metadata = {**first.label_metadata, "identical_files": [item.key for item in same]}
            merged.append(dataclasses.replace(first, label_metadata=metadata, also=tuple(i.key for i in same[1:])))
    return merged, conflicts


async def run_import(
    collection: Collection,
    endpoints: Endpoints,
    journal: Journal,
    *,
    concurrency: int,
    progress: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Summary:
    summary = Summary()
    unique, conflicts = await asyncio.to_thread(merge_identical_files, collection.items)
    for same in conflicts:
        described = ", ".join(f"{item.key} ({item.label})" for item in same)
        summary.reject("conflicting_labels: identical files labelled differently", described)
    pending = [item for item in unique if item.key not in journal.done]
    summary.skipped = sum(1 + len(item.also) for item in unique if item.key in journal.done)
    queue: asyncio.Queue[ImportItem] = asyncio.Queue()
    for item in pending:
        queue.put_nowait(item)
    bar = tqdm(total=len(pending), unit="img", disable=not progress, desc=f"import {collection.source}")
    headers = {"Authorization": f"Bearer {endpoints.api_key}"}
    started = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            item = queue.get_nowait()
            try:
                image_id, outcome, labelled = await import_item(client, endpoints, item, collection.low_resolution)
            except Rejected as rejection:
                summary.reject(rejection.reason, item.key)
                journal.record({"key": item.key, "status": "rejected", "reason": rejection.reason})
            else:
                summary.imported += outcome == "imported"
                summary.duplicates += (outcome == "duplicate") + len(item.also)
                summary.labelled += labelled
                journal.record({"key": item.key, "status": outcome, "image_id": image_id})
            bar.update()

    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits, transport=transport) as client:
        await _check_access(client, endpoints)
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


async def _check_access(client: httpx.AsyncClient, endpoints: Endpoints) -> None:
    """Fail fast with a clear message on a wrong URL or key, before touching any file."""
    for name, url in (("ingestion", endpoints.ingestion), ("annotation", endpoints.annotation)):
        try:
            response = await client.get(f"{url}/readyz")
        except httpx.TransportError as error:
            raise SystemExit(f"cannot reach the {name} service at {url}: {error}") from error
        if response.status_code != 200:
            raise SystemExit(f"the {name} service at {url} is not ready: {response.text}")
    probe = await client.get(f"{endpoints.annotation}/api/annotation-queue", params={"limit": 1})
    if probe.status_code in (401, 403):
        raise SystemExit(f"the API key was refused ({probe.status_code}): use an importer (or admin) key")
