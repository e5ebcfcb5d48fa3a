"""``score``: a fitted model's predictions mapped over the partitions of any engine's frame.

The per-row work is the model's own public prediction method (the same numpy kernels and
the same input validation as in memory), applied to one partition at a time by the engine's
own mapping primitive:

========================  ==============================================================
input                     mechanism
========================  ==============================================================
pandas, Polars, PyArrow   the prediction methods on the whole frame (eager in, eager out)
Polars LazyFrame          ``LazyFrame.map_batches`` with the output schema (stays lazy)
DuckDB relation           ``DuckDBPyRelation.map`` with the output schema: a relation of
                          the same connection, evaluated chunk by chunk when queried
PySpark DataFrame         ``mapInPandas`` with an explicit output schema
Dask DataFrame            ``map_partitions`` with ``meta``
========================  ==============================================================

Every prediction used here depends on one row only, so the partitioned result equals the
in-memory one value for value (the same numpy code on the same float64 inputs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import narwhals.stable.v2 as nw2
import numpy as np
import pandas as pd

from crmcore._lazy import as_lazy
from crmcore._validation import require_columns
from crmcore.exceptions import ValidationError
from crmcore.segmentation import RFMScorer, SegmentMap, assign_segments
from crmcore.value import GammaGammaModel, TransactionModel, customer_lifetime_value

__all__ = ["score"]

_WHO = "score"
_TRANSACTION_OUTPUTS = ("expected_purchases", "probability_alive", "clv")
_SPEND_OUTPUTS = ("conditional_expected_average_spend",)
_RFM_OUTPUTS = ("r_score", "f_score", "m_score", "rfm_code", "rfm_score", "fm_score", "segment")
# the kind of each output column: float64, int64 or text
_FLOAT, _INT, _TEXT = "float64", "int64", "text"


class _Scorer:
    """The per-partition work of :func:`score`: a picklable callable (Spark, Dask ship it).

    ``outputs(part)`` returns ``{name: ndarray}`` for a frame the model's methods accept
    (pandas, Polars); ``kinds`` maps each output to ``float64``, ``int64`` or ``text``.
    """

    def __init__(
        self,
        model: Any,
        outputs: tuple[str, ...],
        options: dict[str, Any],
        cols: dict[str, str],
        customer_col: str | None,
        kinds: dict[str, str],
    ) -> None:
        self.model = model
        self.names = outputs
        self.options = options
        self.cols = cols
        self.customer_col = customer_col
        self.kinds = kinds

    # -- the predictions --------------------------------------------------------------
    def outputs(self, part: Any) -> dict[str, Any]:
        """``{output: ndarray}`` of a partition (pandas or Polars)."""
        if len(part) == 0:
            return {name: self._empty(name) for name in self.names}
        if isinstance(self.model, RFMScorer):
            return self._rfm(part)
        arrays = tuple(_float_column(part, c) for c in self.cols.values())
        try:
            # the methods' array input: the same kernels and row rules on the same float64
            # values as for a frame, without the per-call frame handling (which costs
            # milliseconds per call, i.e. per partition, e.g. per DuckDB chunk of 2,048 rows)
            return self._predict(arrays, part)
        except ValidationError:
            # raise the in-memory message, naming the partition's offending ids
            labelled = part
            if isinstance(part, pd.DataFrame) and self.customer_col in part.columns:
                labelled = part.set_index(self.customer_col, drop=False)
            self._predict(labelled, part)
            raise

    def in_memory(self, frame: Any) -> dict[str, Any]:
        """The outputs of a whole eager frame: the prediction methods called on it."""
        if isinstance(self.model, RFMScorer):
            return self._rfm(frame, whole=True)
        return self._predict(frame, frame)

    def _predict(self, data: Any, part: Any) -> dict[str, Any]:
        model, cols = self.model, self.cols
        frame_cols = cols if not isinstance(data, tuple) else {}
        if isinstance(model, GammaGammaModel):
            spend = model.conditional_expected_average_spend(data, **frame_cols)
            return {"conditional_expected_average_spend": np.asarray(spend, dtype=np.float64)}
        label = {} if isinstance(data, tuple) else {"customer_col": self.customer_col}
        out: dict[str, Any] = {}
        for name in self.names:
            if name == "expected_purchases":
                t = self.options["t"]
                values = model.expected_purchases(data, t, **frame_cols, **label)
            elif name == "probability_alive":
                values = model.probability_alive(data, **frame_cols, **label)
            else:  # clv: customer_lifetime_value takes a frame
                clv_cols = dict(cols, monetary_value_col=self.options["monetary_value_col"])
                values = customer_lifetime_value(
                    model,
                    self.options["spend_model"],
                    _pandas(part),
                    **self.options["clv"],
                    **clv_cols,
                )
            out[name] = np.asarray(values, dtype=np.float64)
        return out

    def _rfm(self, part: Any, *, whole: bool = False) -> dict[str, Any]:
        frame = _pandas(part)
        if self.customer_col in frame.columns:
            frame = frame.set_index(self.customer_col, drop=False)  # ids in the messages
        rcol = self.cols["recency_col"]
        # "no customer has a purchase" is a rule of the whole table: a partition without
        # buyers is scored with one buyer row added (and dropped) so that it scores 1/1/1
        # as it would in the whole table
        extra = not whole and bool(frame[rcol].isna().all())
        if extra:
            filler = pd.DataFrame({c: [1.0] for c in self.cols.values()})
            frame = pd.concat([frame[list(self.cols.values())], filler], ignore_index=True)
        scores = self.model.transform(frame, **self.cols)
        if "segment" in self.names:
            segments = assign_segments(scores, self.options["segment_map"])
            scores["segment"] = segments.astype(object).to_numpy()
        if extra:
            scores = scores.iloc[:-1]
        out: dict[str, Any] = {}
        for name in self.names:
            values = scores[name].to_numpy()
            out[name] = values.astype(object) if self.kinds[name] == _TEXT else values
        return out

    def _empty(self, name: str) -> Any:
        kind = self.kinds[name]
        return np.empty(0, dtype=object if kind == _TEXT else kind)

    # -- engine glue ------------------------------------------------------------------
    def pandas_partition(self, part: pd.DataFrame) -> pd.DataFrame:
        """A pandas partition with the outputs appended (Spark, Dask, DuckDB)."""
        values = self.outputs(part)
        added = pd.DataFrame({name: values[name] for name in self.names}, index=part.index)
        out: pd.DataFrame = pd.concat([part, added], axis=1)
        return out

    def spark_batches(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """The ``mapInPandas`` function."""
        for part in batches:
            yield self.pandas_partition(part)

    def polars_batch(self, batch: Any) -> Any:
        """A Polars batch with the outputs appended (``LazyFrame.map_batches``)."""
        values = self.outputs(batch)
        frame = nw2.from_native(batch, eager_only=True)
        series = [
            nw2.new_series(name, values[name], _NW_DTYPES[self.kinds[name]], backend="polars")
            for name in self.names
        ]
        return frame.with_columns(*series).to_native()


_NW_DTYPES: dict[str, Any] = {_FLOAT: nw2.Float64, _INT: nw2.Int64, _TEXT: nw2.String}


def _float_column(part: Any, column: str) -> Any:
    """A partition's column as float64 (missing values as NaN), as the frame input reads it."""
    if isinstance(part, pd.DataFrame):
        return part[column].to_numpy(dtype=np.float64, na_value=np.nan)
    values = nw2.from_native(part, eager_only=True)[column].cast(nw2.Float64)
    if values.null_count():
        values = values.fill_null(float("nan"))
    return np.asarray(values.to_numpy(), dtype=np.float64)


def _pandas(part: Any) -> pd.DataFrame:
    if isinstance(part, pd.DataFrame):
        return part
    native: pd.DataFrame = nw2.from_native(part, eager_only=True).to_pandas()
    return native


def _resolve(
    model: Any,
    outputs: Sequence[str] | None,
    *,
    t: float | None,
    spend_model: Any,
    segment_map: Any,
    frequency_col: str,
    recency_col: str | None,
    T_col: str,
    monetary_value_col: str,
    monetary_col: str,
    clv: dict[str, Any],
) -> tuple[tuple[str, ...], dict[str, Any], dict[str, str], dict[str, str], list[str]]:
    """(outputs, options, column keywords, output kinds, input columns) for `model`."""
    options: dict[str, Any] = {}
    allowed: tuple[str, ...]
    default: tuple[str, ...]
    if isinstance(model, TransactionModel):
        allowed = _TRANSACTION_OUTPUTS
        default = (
            ("expected_purchases", "probability_alive") if t is not None else ("probability_alive",)
        )
        cols = {
            "frequency_col": frequency_col,
            "recency_col": recency_col or "recency",
            "T_col": T_col,
        }
    elif isinstance(model, GammaGammaModel):
        allowed = default = _SPEND_OUTPUTS
        cols = {"frequency_col": frequency_col, "monetary_value_col": monetary_value_col}
    elif isinstance(model, RFMScorer):
        allowed = _RFM_OUTPUTS
        default = _RFM_OUTPUTS if segment_map is not None else _RFM_OUTPUTS[:-1]
        cols = {
            "recency_col": recency_col or "recency_days",
            "frequency_col": frequency_col,
            "monetary_col": monetary_col,
        }
    else:
        raise ValidationError(
            f"{_WHO}: model must be a fitted crmcore transaction model (BetaGeoModel, "
            "ParetoNBDModel, ...), a GammaGammaModel or an RFMScorer; got "
            f"{type(model).__name__}.",
            rule="model must be a crmcore scoring model",
        )
    chosen = tuple(default if outputs is None else _output_names(outputs))
    unknown = [name for name in chosen if name not in allowed]
    if unknown or not chosen:
        raise ValidationError(
            f"{_WHO}: outputs of a {type(model).__name__} are {', '.join(map(repr, allowed))}; "
            f"got {list(chosen)!r}.",
            rule="outputs must be known",
        )
    if len(set(chosen)) != len(chosen):
        raise ValidationError(f"{_WHO}: outputs lists a name twice: {list(chosen)!r}.")
    inputs = list(cols.values())
    probe = pd.DataFrame({c: np.zeros(0) for c in inputs})
    if "expected_purchases" in chosen:
        if t is None:
            raise ValidationError(
                f"{_WHO}: output 'expected_purchases' needs t (the future window, in the "
                "model's time unit); pass t=...",
                rule="t must be given",
            )
        options["t"] = t
        # argument checks (t, fitted state) now, not when the engine runs the map
        model.expected_purchases(probe, t, **cols)
    if "probability_alive" in chosen:
        model.probability_alive(probe, **cols)
    if "clv" in chosen:
        if not isinstance(spend_model, GammaGammaModel):
            raise ValidationError(
                f"{_WHO}: output 'clv' needs spend_model=<a fitted GammaGammaModel>; got "
                f"{type(spend_model).__name__}.",
                rule="clv needs a spend model",
            )
        options.update(spend_model=spend_model, clv=clv, monetary_value_col=monetary_value_col)
        inputs.append(monetary_value_col)
        probe[monetary_value_col] = np.zeros(0)
        clv_cols: dict[str, Any] = dict(cols, monetary_value_col=monetary_value_col)
        customer_lifetime_value(model, spend_model, probe, **clv, **clv_cols)
    if isinstance(model, GammaGammaModel):
        model.conditional_expected_average_spend(probe, **cols)
    kinds = {name: _FLOAT for name in chosen}
    if isinstance(model, RFMScorer):
        one = pd.DataFrame({c: [1.0] for c in inputs})
        scores = model.transform(one, **cols)  # NotFittedError now
        if "segment" in chosen:
            if segment_map is None:
                raise ValidationError(
                    f"{_WHO}: output 'segment' needs segment_map= (a SegmentMap or the name "
                    "of a preset in crmcore.segmentation.SEGMENT_MAPS).",
                    rule="segment needs a segment map",
                )
            if not isinstance(segment_map, (SegmentMap, str)):
                assign_segments(scores, segment_map)  # raises the in-memory error
            options["segment_map"] = segment_map
        integer = pd.api.types.is_integer_dtype(scores["rfm_score"].dtype)
        kinds = {
            name: _TEXT
            if name in ("rfm_code", "segment")
            else (_FLOAT if name == "rfm_score" and not integer else _INT)
            for name in chosen
        }
    return chosen, options, cols, kinds, inputs


def _output_names(outputs: Any) -> list[str]:
    if isinstance(outputs, str):
        return [outputs]
    names = list(outputs) if isinstance(outputs, Iterable) else [outputs]
    if not all(isinstance(name, str) for name in names):
        raise ValidationError(
            f"{_WHO}: outputs must be a sequence of output names (str); got {outputs!r}."
        )
    return names


def _check_input_columns(
    lazy: nw2.LazyFrame[Any], inputs: list[str], customer_col: str | None, numeric: bool
) -> None:
    """The in-memory column checks, on the lazy frame's schema (nothing is computed)."""
    needed = list(inputs)
    if customer_col is not None and customer_col != "customer_id":
        needed.append(customer_col)
    require_columns(lazy, needed, who=_WHO)
    schema = lazy.collect_schema()
    if numeric:
        for c in inputs:
            if not schema[c].is_numeric():
                raise ValidationError(
                    f"{_WHO}: column {c!r} must be numeric; got dtype {schema[c]}."
                )
    clash = [name for name in schema if name in _ALL_OUTPUTS]
    if clash:
        _clash(clash)


_ALL_OUTPUTS = frozenset(_TRANSACTION_OUTPUTS + _SPEND_OUTPUTS + _RFM_OUTPUTS)


def _clash(names: Sequence[str]) -> None:
    raise ValidationError(
        f"{_WHO}: the frame already has column(s) {', '.join(map(repr, names))}, which the "
        "result would add. Hint: drop or rename them first.",
        rule="output columns must be new",
    )


def _eager(frame: Any, scorer: _Scorer) -> Any:
    """pandas / Polars / PyArrow: the prediction methods on the whole frame."""
    if isinstance(frame, pd.DataFrame):
        taken = [name for name in scorer.names if name in frame.columns]
        if taken:
            _clash(taken)
        values = scorer.in_memory(frame)
        return frame.assign(**{name: values[name] for name in scorer.names})
    try:
        wrapped = nw2.from_native(frame, eager_only=True)
    except TypeError:
        raise ValidationError(
            f"{_WHO}: expected a pandas, Polars or PyArrow DataFrame, a Polars LazyFrame, a "
            f"DuckDB relation, or a PySpark or Dask DataFrame; got {type(frame).__name__}.",
            rule="input must be a frame",
        ) from None
    taken = [name for name in scorer.names if name in wrapped.columns]
    if taken:
        _clash(taken)
    values = scorer.in_memory(frame)
    backend = wrapped.implementation
    series = [
        nw2.new_series(name, values[name], _NW_DTYPES[scorer.kinds[name]], backend=backend)
        for name in scorer.names
    ]
    return wrapped.with_columns(*series).to_native()


def _lazy(lazy: nw2.LazyFrame[Any], scorer: _Scorer) -> Any:
    native = lazy.to_native()
    impl = lazy.implementation
    names, kinds = scorer.names, scorer.kinds
    if impl is nw2.Implementation.POLARS:
        import polars as pl

        polars_types = {_FLOAT: pl.Float64, _INT: pl.Int64, _TEXT: pl.String}
        schema = dict(native.collect_schema())
        schema.update({name: polars_types[kinds[name]] for name in names})
        return native.map_batches(scorer.polars_batch, schema=schema)
    if impl is nw2.Implementation.DUCKDB:
        duck_types = {_FLOAT: "DOUBLE", _INT: "BIGINT", _TEXT: "VARCHAR"}
        duck_schema = {c: str(t) for c, t in zip(native.columns, native.types, strict=True)}
        duck_schema.update({name: duck_types[kinds[name]] for name in names})
        return native.map(scorer.pandas_partition, schema=duck_schema)
    if impl in (nw2.Implementation.PYSPARK, nw2.Implementation.PYSPARK_CONNECT):
        from pyspark.sql import types as st

        spark_types = {_FLOAT: st.DoubleType(), _INT: st.LongType(), _TEXT: st.StringType()}
        fields = list(native.schema.fields)
        fields += [st.StructField(name, spark_types[kinds[name]], True) for name in names]
        return native.mapInPandas(scorer.spark_batches, schema=st.StructType(fields))
    if impl is nw2.Implementation.DASK:
        meta = native._meta.copy()
        for name in names:
            meta[name] = pd.Series([], dtype=object if kinds[name] == _TEXT else kinds[name])
        return native.map_partitions(scorer.pandas_partition, meta=meta)
    raise ValidationError(
        f"{_WHO}: frames of {impl.name.lower()} cannot be scored on their engine (supported: "
        "Polars LazyFrame, DuckDB, PySpark, Dask). Hint: collect the frame first and score "
        "it in memory.",
        rule="option must be available on the input's engine",
    )


def score(
    model: Any,
    frame: Any,
    *,
    outputs: Sequence[str] | None = None,
    t: float | None = None,
    customer_col: str | None = "customer_id",
    frequency_col: str = "frequency",
    recency_col: str | None = None,
    T_col: str = "T",
    monetary_value_col: str = "monetary_value",
    monetary_col: str = "monetary",
    spend_model: GammaGammaModel | None = None,
    horizon: int | None = None,
    horizon_unit: str | None = None,
    discount_rate: float | None = None,
    margin: float = 1.0,
    time_unit: str | None = None,
    segment_map: SegmentMap | str | None = None,
) -> Any:
    """Append a fitted model's per-customer predictions to a frame, on the frame's engine.

    Parameters
    ----------
    model : TransactionModel, GammaGammaModel or RFMScorer
        A fitted model (or one built with ``from_params``): BG/NBD, MBG/NBD, Pareto/NBD,
        BG/BB, Gamma-Gamma, or a fitted :class:`~crmcore.segmentation.RFMScorer` (its
        thresholds are fixed once fitted, so scoring is a row-wise map).
    frame : DataFrame or lazy frame
        pandas, Polars or PyArrow (scored in memory), or a Polars LazyFrame, DuckDB
        relation, PySpark or Dask DataFrame (scored on its engine). One row per customer
        with the model's input columns (a BTYD summary, or an RFM table for an RFMScorer).
    outputs : sequence of str, optional
        Columns to add, named after the model's prediction methods:

        - transaction models: ``"expected_purchases"`` (``expected_purchases(frame, t)``:
          expected purchases in ``(T, T + t]``), ``"probability_alive"``
          (``probability_alive(frame)``: P(alive) at ``T``), ``"clv"``
          (:func:`~crmcore.value.customer_lifetime_value` with `spend_model`);
          default ``expected_purchases`` and ``probability_alive`` when `t` is given, else
          ``probability_alive``;
        - GammaGammaModel: ``"conditional_expected_average_spend"`` (the default);
        - RFMScorer: ``"r_score", "f_score", "m_score", "rfm_code", "rfm_score",
          "fm_score"`` (the columns of ``transform``; the default) and ``"segment"``
          (:func:`~crmcore.segmentation.assign_segments` with `segment_map`, as text).
    t : float, optional
        The future window of ``expected_purchases``, in the model's time unit.
    customer_col : str or None, default "customer_id"
        The customer id column: its values name the offending rows in a validation
        error (a pandas frame's index does in memory). None: row positions.
    frequency_col, recency_col, T_col, monetary_value_col, monetary_col : str
        Input columns. `recency_col` defaults to ``"recency"`` for the BTYD models and to
        ``"recency_days"`` for an RFMScorer.
    spend_model : GammaGammaModel, optional
        The spend model of ``"clv"``.
    horizon, horizon_unit, discount_rate, margin, time_unit
        The arguments of :func:`~crmcore.value.customer_lifetime_value` for ``"clv"``.
    segment_map : SegmentMap or str, optional
        The segment map of ``"segment"`` (a preset name of
        :data:`~crmcore.segmentation.SEGMENT_MAPS` or a SegmentMap).

    Returns
    -------
    frame of the input's engine
        The input's columns and rows (in the input's order for eager frames) with one
        column per output appended: float64 predictions, int64 scores, text codes and
        segments. Eager in, eager out (a pandas frame keeps its index); a lazy frame
        gives the engine's own lazy object (a Polars LazyFrame, a DuckDB relation of the
        same connection, a Spark or Dask DataFrame), computed when the caller collects it.

    Raises
    ------
    ValidationError
        On an unknown model or output, a missing argument (`t` for
        ``expected_purchases``, `spend_model` for ``clv``, `segment_map` for ``segment``),
        a bad argument (checked at once by the model's own method), a non-numeric input
        column, an output name the frame already has, or an engine that cannot map
        partitions. Row rules (negative frequency, ``recency > T``, ...) raise the
        in-memory ValidationError: at once for an eager frame, when the result is computed
        for a lazy one (Dask re-raises it as is; Spark, Polars and DuckDB wrap it in their
        own error, whose message contains crmcore's), naming offending ids of the
        partition.
    ColumnNotFoundError
        If an input column is missing (checked at once, also for a lazy frame).
    NotFittedError
        If the model is not fitted.

    Notes
    -----
    Each partition is scored by the model's public prediction methods (their array input:
    the same kernels and row rules on the same float64 values; on a broken row the frame
    input is called again to raise the in-memory message with the partition's ids), and
    every one of these predictions depends on its own row only, so the result equals
    in-memory scoring value for value (the engine-parity tests compare bit for bit). An
    eager frame is passed to the methods as it is. The map is the engine's own:
    ``mapInPandas`` on Spark (measured here about 1 microsecond per row for P(alive),
    about 20 times numpy in memory, mostly Arrow transfer), ``map_partitions`` on Dask,
    ``DuckDBPyRelation.map`` (pandas chunks of 2,048 rows; measured here 1.5M customers,
    two outputs: 7.5 s, against 1.4 s in memory and 1.8 s on a Polars LazyFrame, on a
    loaded machine), ``LazyFrame.map_batches`` on Polars. Scoring the distinct rows and
    joining back was measured slower on Spark, so every row is scored.

    A lazy input is not computed by ``score``: the columns are checked on its schema, and
    the row rules run inside the partitions. An RFMScorer's rule "at least one customer
    has a purchase" belongs to a whole table; a partition without buyers is scored as in
    the whole table (1 / 1 / 1).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.scale import score
    >>> from crmcore.value import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> customers = pd.DataFrame({"customer_id": ["c1", "c2"], "frequency": [2, 0],
    ...                           "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    >>> scored = score(model, customers, t=39)
    >>> scored.round(3)
      customer_id  frequency  recency      T  expected_purchases  probability_alive
    0          c1          2    30.43  38.86               1.226              0.727
    1          c2          0     0.00  38.86               0.195              1.000

    The same call on a Polars LazyFrame, a DuckDB relation or a Spark DataFrame returns a
    frame of that engine with the same two columns appended.
    """
    clv = {
        "horizon": horizon,
        "horizon_unit": horizon_unit,
        "discount_rate": discount_rate,
        "margin": margin,
        "time_unit": time_unit,
    }
    chosen, options, cols, kinds, inputs = _resolve(
        model,
        outputs,
        t=t,
        spend_model=spend_model,
        segment_map=segment_map,
        frequency_col=frequency_col,
        recency_col=recency_col,
        T_col=T_col,
        monetary_value_col=monetary_value_col,
        monetary_col=monetary_col,
        clv=clv,
    )
    scorer = _Scorer(model, chosen, options, cols, customer_col, kinds)
    lazy = as_lazy(frame)
    if lazy is None:
        return _eager(frame, scorer)
    _check_input_columns(lazy, inputs, customer_col, not isinstance(model, RFMScorer))
    return _lazy(lazy, scorer)
