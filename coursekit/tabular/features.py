"""Time features for a table of events per group and day: "durations" and rolling-window counts.

The 2018 Rossmann lesson added, for each store and day, how many days have passed since the last holiday or
promotion and how many remain until the next one ("durations"), and how many such days fall in the week
before and the week after (rolling windows). Both are computed here per group (a store) on the calendar:

- ``days_since(df, "Promo")``: days from the last day on or before this row's date with the event (0 on an
  event day); NaN when the group has no event on or before that date.
- ``days_until(df, "Promo")``: days to the next day on or after this row's date with the event; NaN when none.
- ``window_count(df, "Promo", 7, "past")``: days with the event among this date and the 6 days before it
  ("next": this date and the 6 days after it), counted by date, so a missing day is simply a day without
  the event (the 2018 code counted 7 *rows*, which differ from 7 days where a store has gaps).

Rows may come in any order and the results follow the input's index. An event value counts when it is truthy
(1, True, "a"); NaN, 0, False, "0" and "" do not. Several rows of one group and day (train and test rows
joined) count as one day, an event day when any of them has the event. A missing date or group is an error
naming the row. Compute these on the whole calendar (train and test joined, closed days included) before
dropping rows: the days around a holiday are what they describe.
"""

import numpy as np
import pandas as pd

from coursekit.data import check_columns, row_name

DAY = np.timedelta64(1, "D")


def event_flags(values):
    """Booleans for an event column: truthy values are events; NaN, 0, False, "0" and "" are not."""
    values = pd.Series(values)
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        # text or mixed, e.g. Rossmann's StateHoliday: "0", "a", "b", "c", and sometimes the int 0
        text = values.astype(str).str.strip()
        return (values.notna() & ~text.isin(["0", "", "False", "0.0", "nan", "None"])).to_numpy()
    return values.astype("float64").fillna(0).to_numpy() != 0  # nullable booleans and integers too


def _days(df, event, date, group, source):
    """(group codes (n,), day numbers (n,) int64, event flags (n,)) for the rows of ``df``, checked."""
    check_columns(df, [event, date, group], source)
    dates = pd.to_datetime(df[date])
    for name, missing in ((date, dates.isna()), (group, df[group].isna())):
        if missing.any():
            row = int(np.flatnonzero(missing.to_numpy())[0])
            raise ValueError(
                f"{row_name(df, row, source)} has no {name!r}: every row needs a date and a group to "
                "place it on the calendar; fill it in or drop the row."
            )
    codes = pd.factorize(df[group])[0].astype("int64")
    days = ((dates.to_numpy() - np.datetime64("1970-01-01")) // DAY).astype("int64")
    return codes, days, event_flags(df[event].to_numpy())


def _calendar(codes, days, flags, pad):
    """One key per distinct (group, day), sorted, with its event flag; groups are spread ``pad`` days apart
    so that no search or window crosses from one group into the next.

    Returns (keys (m,), event per key (m,) bool, position of each input row in ``keys`` (n,))."""
    span = int(days.max() - days.min()) + 2 * pad + 2
    key = codes * span + (days - days.min()) + pad
    keys, inverse = np.unique(key, return_inverse=True)  # sorted distinct (group, day)
    is_event = np.zeros(len(keys), dtype=bool)
    np.logical_or.at(is_event, inverse, flags)  # any row of that day with the event
    return keys, is_event, inverse, span


def _days_from_last_event(df, codes, days, flags, name):
    """Days from the last event day of the row's group on or before its day (NaN when none): a Series."""
    if not len(df):
        return pd.Series([], index=df.index, dtype="float64", name=name)
    keys, is_event, inverse, span = _calendar(codes, days, flags, pad=1)
    event_keys, row_keys = keys[is_event], keys[inverse]
    # the last event key <= each row's key; only valid when it lies in the same group's stretch of keys
    at = np.searchsorted(event_keys, row_keys, side="right") - 1
    out = np.full(len(df), np.nan)
    if len(event_keys):
        last = event_keys[np.clip(at, 0, None)]
        same = (at >= 0) & (last // span == row_keys // span)
        out = np.where(same, row_keys - last, np.nan)
    return pd.Series(out, index=df.index, dtype="float64", name=name)


def days_since(df, event, date="Date", group="Store", source="the table"):
    """Days since the last ``event`` day of the row's ``group`` on or before its ``date`` (NaN when none)."""
    codes, days, flags = _days(df, event, date, group, source)
    return _days_from_last_event(df, codes, days, flags, f"After{event}")


def days_until(df, event, date="Date", group="Store", source="the table"):
    """Days until the next ``event`` day of the row's ``group`` on or after its ``date`` (NaN when none)."""
    codes, days, flags = _days(df, event, date, group, source)
    # the next event ahead is the last one behind when time runs backwards
    return _days_from_last_event(df, codes, -days, flags, f"Before{event}")


def window_count(df, event, days=7, direction="past", date="Date", group="Store", source="the table"):
    """Event days of the row's ``group`` in the ``days``-day window ending ("past") or starting ("next")
    on its ``date``, the date itself included."""
    if direction not in ("past", "next"):
        raise ValueError(f"direction must be 'past' or 'next', not {direction!r}.")
    if days < 1:
        raise ValueError(f"days must be at least 1 (the row's own date), not {days}.")
    name = f"{event}_{'bw' if direction == 'past' else 'fw'}"  # the 2018 lesson's names: backward, forward
    codes, day_nums, flags = _days(df, event, date, group, source)
    if not len(df):
        return pd.Series([], index=df.index, dtype="float64", name=name)
    keys, is_event, inverse, _ = _calendar(codes, day_nums, flags, pad=days)
    count = np.concatenate([[0], np.cumsum(is_event)])  # count[i] = event days among keys[:i]
    row = keys[inverse]
    if direction == "past":
        lo, hi = np.searchsorted(keys, row - (days - 1), "left"), np.searchsorted(keys, row, "right")
    else:
        lo, hi = np.searchsorted(keys, row, "left"), np.searchsorted(keys, row + (days - 1), "right")
    return pd.Series((count[hi] - count[lo]).astype("float64"), index=df.index, name=name)


def add_time_features(df, events, days=7, date="Date", group="Store"):
    """A copy of ``df`` with, for each event column, ``After<e>``, ``Before<e>`` (days since / until) and
    ``<e>_bw``, ``<e>_fw`` (event days in the past / next ``days`` days)."""
    out = df.copy()
    for e in events:
        out[f"After{e}"] = days_since(df, e, date, group)
        out[f"Before{e}"] = days_until(df, e, date, group)
        out[f"{e}_bw"] = window_count(df, e, days, "past", date, group)
        out[f"{e}_fw"] = window_count(df, e, days, "next", date, group)
    return out
