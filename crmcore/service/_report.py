"""SLA report: how many targets were met, breached, still running or not set, per group.

:func:`sla_report` summarises the per-ticket result of :func:`~crmcore.service.sla_status`
into an :class:`SlaReport`: counts of ``met`` / ``breached`` / ``ongoing`` / ``missing`` per
group (priority by default) and target, the breach rates of :func:`~crmcore.service.breach_rate`
(breached / (met + breached), as Zendesk's "% achieved" SLA report and Salesforce's
entitlement milestone reports count them), a table for export and a Jupyter display.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore import _display
from crmcore.exceptions import ValidationError
from crmcore.service._metrics import (
    SLA_STATUS_VALUES,
    _check_by,
    _ratio,
    sla_status_kinds,
)

__all__ = ["SlaReport", "sla_report"]


@attrs.frozen(eq=False, repr=False)
class SlaReport:
    """SLA outcomes per group and target (the result of :func:`sla_report`).

    Parameters
    ----------
    counts : pandas.DataFrame
        Indexed by the groups; columns a (target, status) MultiIndex with the statuses
        ``met``, ``breached``, ``ongoing``, ``missing`` of each target; int64 counts of tickets.
    by : str or None
        The column grouped by (None: one group ``"all"``).

    Attributes
    ----------
    targets : tuple of str
        The SLA targets, in order.
    n_tickets : int
        Number of tickets (rows of the sla frame).

    Examples
    --------
    >>> import pandas as pd
    >>> sla = pd.DataFrame({
    ...     "priority": ["high", "high", "high", "low"],
    ...     "first_response_status": ["met", "breached", "ongoing", "met"],
    ...     "resolution_status": ["breached", "breached", "missing", "ongoing"]})
    >>> report = sla_report(sla)
    >>> report
    SlaReport(by='priority', tickets=4, targets=first_response, resolution)
    >>> report.counts.loc["high", "first_response"].tolist()
    [1, 1, 1, 0]
    >>> report.breach_rates.loc["high"].tolist()
    [0.5, 1.0]
    """

    counts: pd.DataFrame = attrs.field(validator=lambda _, __, value: _check_counts(value))
    by: str | None = attrs.field(validator=lambda _, __, value: _check_by(value, "SlaReport"))

    @property
    def targets(self) -> tuple[str, ...]:
        """The SLA targets, in the order of the columns."""
        return tuple(dict.fromkeys(str(t) for t in self.counts.columns.get_level_values(0)))

    @property
    def n_tickets(self) -> int:
        """Number of tickets: every ticket has exactly one status per target."""
        if not self.targets:
            return 0
        return int(self.counts[self.targets[0]].to_numpy().sum())

    @property
    def breach_rates(self) -> pd.DataFrame:
        """breached / (met + breached) per group (rows) and target (columns); NaN if none decided.

        Equal to :func:`~crmcore.service.breach_rate` of the same frame.
        """
        rates = {
            target: _ratio(
                self.counts[(target, "breached")].to_numpy(dtype=float),
                (self.counts[(target, "met")] + self.counts[(target, "breached")]).to_numpy(
                    dtype=float
                ),
            )
            for target in self.targets
        }
        out: pd.DataFrame = pd.DataFrame(rates, index=self.counts.index)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per (group, target): the four counts, the decided count and the breach rate.

        Returns
        -------
        pandas.DataFrame
            Columns: the group column (`by`, or ``"group"``), ``target``, ``met``, ``breached``,
            ``ongoing``, ``missing``, ``breach_rate``.
        """
        name = self.by if self.by is not None else "group"
        rates = self.breach_rates
        parts = []
        for target in self.targets:
            part = self.counts[target].copy()
            part.columns = list(SLA_STATUS_VALUES)
            part.insert(0, "target", target)
            part["breach_rate"] = rates[target].to_numpy()
            parts.append(part.rename_axis(name).reset_index())
        table: pd.DataFrame = pd.concat(parts, ignore_index=True)
        return table

    def plot(self, *, ax: Any = None, title: str | None = None) -> Any:
        """Draw the breach rates with :func:`crmcore.plotting.plot_sla_breaches`."""
        from crmcore.plotting import plot_sla_breaches

        return plot_sla_breaches(self.breach_rates, ax=ax, title=title)

    def __repr__(self) -> str:
        return (
            f"SlaReport(by={self.by!r}, tickets={self.n_tickets:,}, "
            f"targets={', '.join(self.targets)})"
        )

    def _repr_html_(self) -> str:
        rates = self.breach_rates
        label = self.by if self.by is not None else ""
        header = [*SLA_STATUS_VALUES, "breach rate"]
        tables = []
        for target in self.targets:
            block = self.counts[target]
            rows: list[list[str | _display.Cell]] = []
            for group, values, rate in zip(
                block.index, block.to_numpy(), rates[target].to_numpy(), strict=True
            ):
                rows.append(
                    [str(group), *(_display.count(v) for v in values), _display.percent(rate)]
                )
            total = block.to_numpy().sum(axis=0)
            decided = total[0] + total[1]
            overall = total[1] / decided if decided else float("nan")
            rows.append(["all", *(_display.count(v) for v in total), _display.percent(overall)])
            tables.append(
                _display.table(header, rows, index_header=label, caption=target.replace("_", " "))
            )
        by_text = f" by {self.by}" if self.by is not None else ""
        return _display.block(
            f"SLA report{by_text}: {self.n_tickets:,} tickets",
            *tables,
            notes=[
                "breach rate = breached / (met + breached): targets still running (ongoing) "
                "or not set for a ticket (missing) are left out; NaN where none is decided."
            ],
        )


def _check_counts(counts: Any) -> None:
    """`counts` must be sla_report's table: (target, status) columns, non-negative integers."""
    who = "SlaReport"
    if not isinstance(counts, pd.DataFrame):
        raise ValidationError(
            f"{who}: counts must be a pandas DataFrame (from sla_report); got "
            f"{type(counts).__name__}."
        )
    columns = counts.columns
    if (
        not isinstance(columns, pd.MultiIndex)
        or columns.nlevels != 2
        or any(str(s) not in SLA_STATUS_VALUES for s in columns.get_level_values(1))
    ):
        raise ValidationError(
            f"{who}: counts must have (target, status) columns with the statuses "
            f"{', '.join(SLA_STATUS_VALUES)} (build it with sla_report)."
        )
    values = counts.to_numpy()
    if not np.issubdtype(values.dtype, np.integer) or (values < 0).any():
        raise ValidationError(f"{who}: counts must be non-negative integers.")


def sla_report(sla: Any, *, by: str | None = "priority") -> SlaReport:
    """Count SLA outcomes per group and target: met, breached, ongoing, missing.

    Parameters
    ----------
    sla : DataFrame
        The output of :func:`~crmcore.service.sla_status` (or any frame like it:
        ``<target>_status`` columns holding ``met``, ``breached``, ``ongoing`` or ``missing``,
        and the `by` column); pandas, Polars or PyArrow. Not mutated.
    by : str or None, default "priority"
        Column to group by (``"priority"`` always lists low, normal, high, urgent); None gives
        one group ``"all"``.

    Returns
    -------
    SlaReport
        Counts, breach rates (:attr:`SlaReport.breach_rates`), a long table
        (:meth:`SlaReport.to_frame`), a plot and a Jupyter display.

    Raises
    ------
    ValidationError
        No ``*_status`` column, a status outside the four values, or a missing `by` value.
    ColumnNotFoundError
        If the `by` column is absent.

    Examples
    --------
    >>> import pandas as pd
    >>> sla = pd.DataFrame({"team": ["a", "a", "b"],
    ...                     "resolution_status": ["met", "breached", None]})
    >>> sla_report(sla, by="team").to_frame()
      team      target  met  breached  ongoing  missing  breach_rate
    0    a  resolution    1         1        0        0          0.5
    1    b  resolution    0         0        0        1          NaN
    """
    who = "sla_report"
    by = _check_by(by, who)
    kinds, codes, labels = sla_status_kinds(sla, by, who)
    k, n_values = len(labels), len(SLA_STATUS_VALUES)
    blocks = {}
    for target, kind in kinds.items():
        flat = np.bincount(codes * n_values + kind, minlength=k * n_values)
        blocks[target] = pd.DataFrame(
            flat.reshape(k, n_values).astype(np.int64),
            index=labels,
            columns=list(SLA_STATUS_VALUES),
        )
    counts = pd.concat(blocks, axis=1, names=["target", "status"])
    return SlaReport(counts=counts, by=by)
