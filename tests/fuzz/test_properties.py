"""Property-based fuzzing (Hypothesis) of the three public services: whatever arrives — text of
any kind, JSON of any shape, damaged or mutated photos — the answer is a 2xx or a 4xx in the
error contract, and afterwards every image row's object exists and every object has its row.

``make test`` runs a few dozen cases per property; ``make fuzz`` runs thousands, bounded in
time, and prints the answers by status with the slowest answer and the peak memory.
"""

from __future__ import annotations

import json
import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import hostile, images

from .conftest import assert_objects_match_rows, assert_refused_cleanly
from .recorder import RECORDER

FIXTURES_SHARED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
# Text a multipart form can carry (UTF-8: no unpaired surrogates), NUL and controls included.
form_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
any_text = st.text(max_size=100)  # JSON escapes carry unpaired surrogates too
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
SEEDS = [images.jpeg(300, 300, seed=31), images.png(300, 300, seed=32), hostile.png_trns_longer_than_palette()]


async def _timed(call):
    started = time.perf_counter()
    response = await call
    RECORDER.record(response.status_code, time.perf_counter() - started)
    assert_refused_cleanly(response)
    return response


@FIXTURES_SHARED
@given(
    fields=st.dictionaries(
        st.sampled_from(["location", "size", "color", "notes", "lesion_id", "patient_id", "source"]), form_text
    )
)
async def test_any_upload_fields_get_a_clean_answer(services, callers, fields) -> None:
    if RECORDER.out_of_time("upload fields"):
        return
    await _timed(
        services["ingestion"].post(
            "/api/images/upload",
            headers=callers["uploader"].headers,
            files={"image": ("x.jpg", SEEDS[0], "image/jpeg")},
            data=fields,
        )
    )


@FIXTURES_SHARED
@given(metadata=json_values, confidence=json_values, label=st.sampled_from(["benign", "malignant", "other", 1]))
async def test_any_annotation_body_gets_a_clean_answer(services, callers, metadata, confidence, label) -> None:
    if RECORDER.out_of_time("annotation body"):
        return
    image = (
        await services["ingestion"].post(
            "/api/images/upload", headers=callers["uploader"].headers, files={"image": ("x.png", SEEDS[1], "image/png")}
        )
    ).json()
    raw = json.dumps({"label": label, "confidence": confidence, "metadata": metadata}, allow_nan=True)
    headers = {**callers["annotator"].headers, "Content-Type": "application/json"}
    await _timed(services["annotation"].post(f"/api/images/{image['id']}/annotate", content=raw, headers=headers))


@FIXTURES_SHARED
@given(
    params=st.dictionaries(
        st.sampled_from(["source", "lesion_id", "patient_id", "created_after", "created_before", "offset", "limit"]),
        form_text | st.integers(min_value=-(10**25), max_value=10**25).map(str),
        max_size=4,
    )
)
async def test_any_query_gets_a_clean_answer(services, callers, params) -> None:
    if RECORDER.out_of_time("query"):
        return
    await _timed(services["ingestion"].get("/api/images", params=params, headers=callers["admin"].headers))
    await _timed(services["annotation"].get("/api/consensus", params=params, headers=callers["admin"].headers))


@FIXTURES_SHARED
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.floats(0, 1),
    insert=st.binary(max_size=16),
)
async def test_any_mutated_photo_is_stored_whole_or_refused(
    services, callers, ingestion_service, s3, settings, seed, edits, cut, insert
) -> None:
    if RECORDER.out_of_time("mutated photo"):
        return
    data = bytearray(SEEDS[seed])
    for where, value in edits:
        data[int(where * (len(data) - 1))] = value
    if insert:
        at = random.Random(len(insert)).randrange(len(data))
        data[at:at] = insert
    if cut is not None:
        data = data[: max(1, int(cut * len(data)))]
    files = {"image": ("x.bin", bytes(data), "application/octet-stream")}
    await _timed(services["ingestion"].post("/api/images/upload", headers=callers["uploader"].headers, files=files))
    await _timed(services["gateway"].post("/predict", files={"file": ("x.bin", bytes(data), "image/jpeg")}))
    await assert_objects_match_rows(ingestion_service[0], s3, settings.s3_bucket)
