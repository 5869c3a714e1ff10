"""The series the charts draw: timeframes and the equal-weight benchmark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from charts import Candle, equal_weight_index, rebased, resample
from charts.series import bucket_start

D = Decimal
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def minute(i: int, o: str, h: str, low: str, c: str, v: int) -> Candle:
    return Candle(T0 + timedelta(minutes=i), D(o), D(h), D(low), D(c), v)


def test_five_minute_candles_fold_open_high_low_close_and_volume():
    ones = [
        minute(0, "10", "11", "9", "10.5", 100),
        minute(1, "10.5", "12", "10", "11", 50),
        minute(4, "11", "11.5", "8", "9", 25),
        minute(5, "9", "9.5", "8.5", "9.2", 10),
    ]
    fives = resample(ones, 5)
    assert fives == [
        Candle(T0, D("10"), D("12"), D("8"), D("9"), 175),
        Candle(T0 + timedelta(minutes=5), D("9"), D("9.5"), D("8.5"), D("9.2"), 10),
    ]
    assert resample(ones, 1) == ones


def test_buckets_start_on_round_utc_times():
    moment = datetime(2026, 3, 2, 14, 37, 21, tzinfo=UTC)
    assert bucket_start(moment, 15) == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert bucket_start(moment, 60) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert bucket_start(moment, 1440) == datetime(2026, 3, 2, tzinfo=UTC)


def test_equal_weight_basket_averages_each_symbols_own_return():
    t = [T0 + timedelta(minutes=i) for i in range(3)]
    index = equal_weight_index(
        {
            "AAA": [(t[0], D("100")), (t[1], D("110")), (t[2], D("120"))],
            # Starts later and doubles: the basket starts when both have a price.
            "BBB": [(t[1], D("50")), (t[2], D("100"))],
        }
    )
    assert index == [(t[1], D("100.00")), (t[2], D("154.55"))]
    assert equal_weight_index({}) == []


def test_rebased_to_100():
    t = [T0 + timedelta(days=i) for i in range(4)]
    equity = [(t[0], D("1000")), (t[1], D("1200")), (t[2], D("900")), (t[3], D("1300"))]
    assert [v for _, v in rebased(equity)] == [D("100.00"), D("120.00"), D("90.00"), D("130.00")]
