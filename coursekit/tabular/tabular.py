"""Structured data: processing fitted on the training set, date parts, checked joins, entity embeddings.

``TabularProcessor`` learns everything it needs (category codes, medians, means and standard deviations)
from the training rows only, then turns any table with the same columns, or one row, into tensors the
same way: categories never seen in training and missing categories map to index 0; missing continuous
values get the training median plus a 0/1 ``<name>_na`` column.

Bad continuous columns: a value that is not a number, or is infinite, is an error naming the column and row;
a column with no value in the training rows is an error naming it; one whose standard deviation is 0 or
undefined (a constant column, a one-row table) is divided by 1 instead, with a warning naming it.
"""

import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from coursekit import metrics
from coursekit.data import CategoryMap, TableDataset, check_columns, make_loaders, row_name
from coursekit.layers import sigmoid_range


def emb_size_rule(n_categories):
    """Embedding width for a categorical column with ``n_categories`` values (the unknown code included)."""
    return min(50, (n_categories + 1) // 2)


def numeric_column(df, name, source="the table"):
    """``df[name]`` as floats; a value that is not a number is an error naming the column and row."""
    values = pd.to_numeric(df[name], errors="coerce")
    bad = values.isna() & df[name].notna() & (df[name].astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{row_name(df, row, source)} has the non-numeric value {df[name].iloc[row]!r} in the "
            f"continuous column {name!r}; fix it, or make {name!r} categorical."
        )
    values = values.astype("float64")
    if np.isinf(values.to_numpy()).any():
        row = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
        value = df[name].iloc[row]
        value = value.item() if hasattr(value, "item") else value  # np.float64(inf) -> inf, for a plain message
        raise ValueError(
            f"{row_name(df, row, source)} has the infinite value {value!r} in the continuous "
            f"column {name!r}, which would make its mean and standard deviation inf or NaN; replace it "
            "with a finite number, or leave it empty to fill it with the training median."
        )
    return values


class TabularProcessor:
    """Categorify, fill missing (median + ``_na`` flag) and normalise: fitted on train, applied unchanged."""

    def __init__(self, cat_names, cont_names):
        self.cat_names, self.cont_names = list(cat_names), list(cont_names)

    def fit(self, df):
        check_columns(df, self.cat_names + self.cont_names, "the training table")
        # values as text, so 1 and "1" are one category; 0 is every value training did not see
        self.categories = {c: CategoryMap(df[c].dropna().astype(str).unique(), unknown=True) for c in self.cat_names}
        self.cat_dtypes = {c: df[c].dtype for c in self.cat_names}  # for one row, whose numbers may be floats
        cont = {c: numeric_column(df, c, "the training table") for c in self.cont_names}
        empty = [c for c, v in cont.items() if v.isna().all()]
        if empty:
            raise ValueError(
                f"The continuous column {empty[0]!r} has no value in any of the {len(df)} training "
                "rows: there is no median to fill it with and nothing to learn from. Fill it in, or "
                "leave it out of cont_names."
            )
        self.medians = {c: float(v.median()) for c, v in cont.items()}
        self.na_flags = [c for c, v in cont.items() if v.isna().any()]
        filled = self._filled(cont)  # the _na flags stay 0/1: only the original columns are normalised
        self.means = {c: float(filled[c].mean()) for c in self.cont_names}
        stds = {c: float(filled[c].std()) for c in self.cont_names}  # NaN with one row, 0 for a constant
        flat = [c for c, std in stds.items() if not std > 0]
        if flat:
            why = "the training table has one row" if len(df) == 1 else "the same value in every training row"
            warnings.warn(
                f"Continuous column(s) {flat}: no spread to normalise by ({why}), so they are divided "
                "by 1 instead of their standard deviation (only centred). Train on more rows, or leave "
                "a constant column out of cont_names."
            )
        self.stds = {c: std if std > 0 else 1.0 for c, std in stds.items()}
        return self

    def _filled(self, cont):
        out = {c: v.fillna(self.medians[c]) for c, v in cont.items()}
        out.update({f"{c}_na": cont[c].isna().astype("float64") for c in self.na_flags})
        return out

    @property
    def cont_out(self):
        """The continuous columns produced: the originals, then the ``_na`` flags."""
        return self.cont_names + [f"{c}_na" for c in self.na_flags]

    @property
    def cardinalities(self):
        """Codes per categorical column, the unknown code 0 included."""
        return [len(self.categories[c]) for c in self.cat_names]

    def emb_sizes(self):
        """(cardinality, width) per categorical column, by ``emb_size_rule``."""
        return [(n, emb_size_rule(n)) for n in self.cardinalities]

    def transform(self, df, source="the table"):
        """(x_cat LongTensor (n, n_cat), x_cont FloatTensor (n, n_cont_out)) for a table with the same columns."""
        check_columns(df, self.cat_names + self.cont_names, source)
        # Series.map with the value -> index dict: fast on a million rows, unlike encoding value by value
        cats = [
            df[c].astype(str).map(self.categories[c].index).fillna(0).where(df[c].notna(), 0).astype("int64")
            for c in self.cat_names
        ]
        filled = self._filled({c: numeric_column(df, c, source) for c in self.cont_names})
        conts = [(filled[c] - self.means[c]) / self.stds[c] if c in self.means else filled[c] for c in self.cont_out]
        x_cat = torch.tensor(np.stack(cats, 1) if cats else np.zeros((len(df), 0)), dtype=torch.long)
        x_cont = torch.tensor(np.stack(conts, 1) if conts else np.zeros((len(df), 0)), dtype=torch.float32)
        return x_cat, x_cont

    def encode(self, row):
        """One row (a pandas Series, or a dict of column -> value) as (x_cat (n_cat,), x_cont (n_cont_out,))."""
        one = pd.DataFrame([dict(row)])
        for c in self.cat_names:  # a row of a numeric table comes as floats: Store 1.0 must be the category "1"
            if c in one.columns:
                try:
                    one[c] = one[c].astype(self.cat_dtypes[c])
                except (TypeError, ValueError):  # a missing value in an integer column: left as it is
                    pass
        x_cat, x_cont = self.transform(one, "the one-row table to encode")
        return x_cat[0], x_cont[0]

    def __repr__(self):
        return (
            f"TabularProcessor({len(self.cat_names)} categorical {self.cardinalities}, "
            f"{len(self.cont_out)} continuous incl. {len(self.na_flags)} _na flags)"
        )


def add_datepart(df, col, drop=True):
    """Add Year, Month, Week, Day, Dayofweek, Dayofyear, month start/end flags and Elapsed (seconds) for ``col``.

    A missing date gives missing parts on its row (the processor fills them and flags them ``_na``); a value that is
    no date is an error naming the row."""
    try:
        dates = pd.to_datetime(df[col])
    except (ValueError, TypeError) as e:
        bad = next(i for i, v in df[col].items() if _not_a_date(v))
        raise ValueError(
            f"Column {col!r} row {bad!r} holds {df[col][bad]!r}, which is not a date ({e}). Fix or blank that value "
            "(a blank date gives missing date parts), or parse the column yourself with pd.to_datetime(format=...)."
        ) from None
    df = df.copy()
    parts = {
        "Year": dates.dt.year,
        "Month": dates.dt.month,
        "Week": dates.dt.isocalendar().week.astype("Int64"),  # nullable: a missing date has no week
        "Day": dates.dt.day,
        "Dayofweek": dates.dt.day_of_week,
        "Dayofyear": dates.dt.day_of_year,
        "Is_month_start": dates.dt.is_month_start,
        "Is_month_end": dates.dt.is_month_end,
        # whole seconds since 1970 whatever the unit: pandas 3 parses text to microseconds, not nanoseconds
        "Elapsed": (dates - pd.Timestamp(0, tz=dates.dt.tz)) // pd.Timedelta(seconds=1),
    }
    for name, values in parts.items():
        df[f"{col}_{name}"] = values
    return df.drop(columns=col) if drop else df


def _not_a_date(value):
    try:
        pd.to_datetime(value)
        return False
    except (ValueError, TypeError):
        return True


def join_checked(left, right, on, what="right table"):
    """Left join that fails loudly when rows of ``left`` find no match in ``right`` (a silent NaN otherwise)."""
    on = [on] if isinstance(on, str) else list(on)
    merged = left.merge(right, how="left", on=on, indicator=True)
    unmatched = merged["_merge"] == "left_only"
    if unmatched.any():
        keys = merged.loc[unmatched, on].drop_duplicates().head(5).to_dict("records")
        raise ValueError(f"{int(unmatched.sum())} rows found no match in the {what} on {on}; for example {keys}.")
    return merged.drop(columns="_merge")


class TabularModel(nn.Module):
    """Entity embeddings for the categories + the continuous columns -> (Linear, ReLU, BatchNorm, Dropout)
    layers -> outputs, squashed into ``y_range`` when given."""

    def __init__(self, emb_sizes, n_cont, n_out, layers=(200, 100), ps=(0.1, 0.1), emb_drop=0.05, y_range=None):
        super().__init__()
        if len(ps) != len(layers):
            raise ValueError(
                f"Got {len(ps)} dropout rates ps={tuple(ps)} for {len(layers)} hidden layers layers={tuple(layers)}: "
                "give one per hidden layer (0.0 for none), e.g. ps=(0.1,) * len(layers)."
            )
        self.embeds = nn.ModuleList([nn.Embedding(n, w) for n, w in emb_sizes])
        self.emb_drop, self.bn_cont = nn.Dropout(emb_drop), nn.BatchNorm1d(n_cont) if n_cont else None
        sizes = [sum(w for _, w in emb_sizes) + n_cont] + list(layers)
        blocks = []
        for n_in, n_hidden, p in zip(sizes, sizes[1:], ps):
            blocks += [nn.Linear(n_in, n_hidden), nn.ReLU(), nn.BatchNorm1d(n_hidden), nn.Dropout(p)]
        self.layers = nn.Sequential(*blocks, nn.Linear(sizes[-1], n_out))
        self.y_range = y_range

    def forward(self, x_cat, x_cont):
        parts = []
        if self.embeds:
            parts.append(self.emb_drop(torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)))
        if self.bn_cont is not None:
            parts.append(self.bn_cont(x_cont))
        out = self.layers(torch.cat(parts, 1))
        return sigmoid_range(out, *self.y_range) if self.y_range else out


def tabular_dls(proc, train_df, valid_df, y_train, y_valid, bs=128, seed=42):
    """``DataLoaders`` of (x_cat, x_cont, y) with ``proc`` fitted on ``train_df`` only; the datasets'
    ``encode(row)`` is ``proc.encode``, so ``learn.predict(row)`` takes a raw row."""
    for what, df, y in (("training", train_df, y_train), ("validation", valid_df, y_valid)):
        if len(y) != len(df):
            raise ValueError(
                f"The {what} targets have {len(y)} values but the {what} table has {len(df)} rows: give one "
                f"target per row (y_train for train_df, y_valid for valid_df, selected with the same rows)."
            )
    if len(train_df) < 2:
        raise ValueError(
            f"The training table has {len(train_df)} row(s): the model's BatchNorm layers need at least 2 rows "
            "per batch to train. Train on more rows (every row of the table, less a validation share)."
        )
    proc.fit(train_df)
    make = lambda df, y: TableDataset(*proc.transform(df), torch.tensor(np.asarray(y)), encode=proc.encode)
    return make_loaders(make(train_df, y_train), make(valid_df, y_valid), bs=bs, seed=seed)


@metrics.whole_pass  # a root of a mean over the whole pass: batch averages would be wrong
def exp_rmspe(preds, targets):
    """Root mean squared *percentage* error of ``exp`` of log-scale predictions and targets (Rossmann's metric)."""
    p, t = torch.exp(preds.float().flatten()), torch.exp(targets.float().flatten())
    return torch.sqrt((((t - p) / t) ** 2).mean())
