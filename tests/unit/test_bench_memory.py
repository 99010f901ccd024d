"""The bench's memory figures: a steady leak shows as growth, a warm-up does not."""

from __future__ import annotations

from harness.bench.memory import MemorySampler, slope


def _sampler(series: list[tuple[float, float]]) -> MemorySampler:
    sampler = MemorySampler({})
    sampler.samples["p"] = series
    return sampler


def test_slope_of_a_line_and_of_too_few_points() -> None:
    assert slope([(0, 10), (10, 30), (20, 50)]) == 2.0
    assert slope([(0, 10)]) == 0.0
    assert slope([(5, 10), (5, 12)]) == 0.0


def test_a_steady_leak_is_growth_per_submission() -> None:
    # 1 MiB per 10 s for 600 s while 30,000 submissions were offered
    report = _sampler([(t, 100 + t / 10) for t in range(0, 601, 5)]).report(30_000)["p"]
    assert report["secondHalfMiBPerMinute"] == 6.0
    assert report["secondHalfKiBPer1000Submissions"] == 2048.0  # 60 MiB over 30,000
    assert (report["firstMiB"], report["lastMiB"], report["peakMiB"]) == (100.0, 160.0, 160.0)


def test_a_warm_up_that_flattens_out_is_not_growth() -> None:
    series = [(float(t), 100 + min(t, 200) / 4) for t in range(0, 601, 5)]  # grows, then flat
    report = _sampler(series).report(30_000)["p"]
    assert report["secondHalfMiBPerMinute"] == 0.0
    assert report["lastMiB"] == 150.0


def test_a_step_too_short_reports_no_trend() -> None:
    report = _sampler([(0, 100), (5, 140), (10, 150)]).report(500)["p"]
    assert report["secondHalfMiBPerMinute"] is None
    assert report["peakMiB"] == 150.0
