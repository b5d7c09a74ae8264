from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..feedback.tables import PredictionFeedback
from ..predictions.tables import PredictionLog
from .maths import CONFIDENCE_BINS, BinCounts, performance, tally_by_version
from .schemas import DayCount, PerformanceOut, StatsOut, VersionPerformance, VersionStats


async def prediction_stats(session: AsyncSession, window_hours: int) -> StatsOut:
    since = datetime.now(UTC) - timedelta(hours=window_hours)
    # Bins of width 1/CONFIDENCE_BINS; a confidence of exactly 1 belongs to the last one.
    confidence_bin = func.least(func.width_bucket(PredictionLog.confidence, 0.0, 1.0, CONFIDENCE_BINS), CONFIDENCE_BINS)
    query = (
        select(
            PredictionLog.model_name,
            PredictionLog.model_version,
            confidence_bin,
            func.count(),
            func.sum(PredictionLog.confidence),
            func.count().filter(PredictionLog.predicted_class == "malignant"),
        )
        .where(PredictionLog.created_at >= since)
        .group_by(PredictionLog.model_name, PredictionLog.model_version, confidence_bin)
    )
    overall, by_version = tally_by_version(BinCounts(*row) for row in await session.execute(query))
    day = func.date(func.timezone("UTC", PredictionLog.created_at))
    daily = (
        select(
            day,
            PredictionLog.model_name,
            PredictionLog.model_version,
            func.count(),
            func.count().filter(PredictionLog.predicted_class == "malignant"),
        )
        .where(PredictionLog.created_at >= since)
        .group_by(day, PredictionLog.model_name, PredictionLog.model_version)
        .order_by(day, PredictionLog.model_name, PredictionLog.model_version)
    )
    per_day = [
        DayCount(day=when, model_name=name, model_version=version, count=count, malignant_rate=malignant / count)
        for when, name, version, count, malignant in await session.execute(daily)
    ]
    return StatsOut(
        per_day=per_day,
        window_hours=window_hours,
        since=since,
        overall=overall.stats(),
        by_model_version=[
            VersionStats(model_name=name, model_version=version, **tally.stats().model_dump())
            for (name, version), tally in by_version.items()
        ],
    )


async def prediction_performance(session: AsyncSession) -> PerformanceOut:
    query = (
        select(
            PredictionLog.model_name,
            PredictionLog.model_version,
            PredictionFeedback.actual_label,
            PredictionLog.predicted_class,
            func.count(),
        )
        .join(PredictionFeedback, PredictionFeedback.prediction_id == PredictionLog.prediction_id)
        .group_by(
            PredictionLog.model_name,
            PredictionLog.model_version,
            PredictionFeedback.actual_label,
            PredictionLog.predicted_class,
        )
    )
    overall: Counter = Counter()
    by_version: defaultdict[tuple[str, int], Counter] = defaultdict(Counter)
    for name, version, actual, predicted, count in await session.execute(query):
        overall[actual, predicted] += count
        by_version[name, version][actual, predicted] += count
    return PerformanceOut(
        overall=performance(overall),
        by_model_version=[
            VersionPerformance(model_name=name, model_version=version, **performance(counts).model_dump())
            for (name, version), counts in sorted(by_version.items())
        ],
    )
