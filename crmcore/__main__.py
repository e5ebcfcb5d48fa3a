"""Command line: ``python -m crmcore demo`` and ``python -m crmcore report ORDERS.csv ...``."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crmcore",
        description="crmcore: customers, orders and CRM analytics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="analyse the embedded CDNOW data and print a report")
    sub.add_parser("version", help="print the crmcore version")
    report = sub.add_parser(
        "report",
        help="analyse your own order file and write an HTML report",
        description="RFM segments, ABC tiers, BG/NBD + Gamma-Gamma CLV and monthly cohorts "
        "of an order file (.csv, .csv.gz or .parquet): one row per order, or one row per "
        "order line with --order-col.",
    )
    report.add_argument("orders", type=Path, help="the order file")
    report.add_argument("--customer-col", required=True, help="customer id column")
    report.add_argument("--date-col", required=True, help="order date column")
    report.add_argument(
        "--amount-col", default=None, help="order amount column (or --quantity-col + --price-col)"
    )
    report.add_argument(
        "--quantity-col", default=None, help="line quantity column (amount = quantity x price)"
    )
    report.add_argument("--price-col", default=None, help="line unit price column")
    report.add_argument(
        "--order-col", default=None, help="order/invoice id column: its lines become one order"
    )
    report.add_argument(
        "--drop-unknown-customers",
        action="store_true",
        help="drop rows with a missing or placeholder customer id (counted in a warning)",
    )
    report.add_argument(
        "--date-format", default=None, help="strftime format of the dates, e.g. %%d/%%m/%%Y"
    )
    report.add_argument(
        "--as-of", default=None, help="observation end date (default: the last order date)"
    )
    report.add_argument(
        "--out", type=Path, default=Path("report.html"), help="HTML file (default report.html)"
    )
    report.add_argument(
        "--sep", default=",", help=r"CSV separator (default ','; '\s+' for whitespace)"
    )
    return parser


def _report(args: argparse.Namespace) -> int:
    from crmcore._report import ReportOptions, run_report
    from crmcore.exceptions import CRMError

    options = ReportOptions(
        path=args.orders,
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        quantity_col=args.quantity_col,
        price_col=args.price_col,
        order_col=args.order_col,
        drop_unknown_customers=args.drop_unknown_customers,
        date_format=args.date_format,
        as_of=args.as_of,
        out=args.out,
        sep=args.sep,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = run_report(options)
        except CRMError as err:
            # KeyError subclasses (ColumnNotFoundError) repr their message in str(); use args[0].
            message = err.args[0] if err.args else str(err)
            _print_warnings(caught)
            sys.stderr.write(f"error: {message}\n")
            return 2
        except FileNotFoundError as err:
            sys.stderr.write(f"error: {err}\n")
            return 2
    _print_warnings(caught)
    sys.stdout.write(text + "\n")
    return 0


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print each distinct warning once as ``warning: ...`` on stderr.

    The same cut-off warning of several library functions differs only in the function
    name before the first colon, so it is printed once. Deprecation and future warnings
    of third-party internals are not the user's concern and are left out.
    """
    seen: set[str] = set()
    skipped = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    for item in caught:
        if issubclass(item.category, skipped):
            continue
        text = str(item.message)
        key = text.split(": ", 1)[-1]
        if key not in seen:
            seen.add(key)
            sys.stderr.write(f"warning: {text}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the crmcore command line; return the exit status."""
    args = _build_parser().parse_args(argv)
    if args.command == "version":
        from crmcore import __version__

        sys.stdout.write(f"crmcore {__version__}\n")
        return 0
    if args.command == "report":
        return _report(args)
    from crmcore._demo import demo_report

    sys.stdout.write(demo_report() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
