"""Command line: ``python -m crmcore demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the crmcore command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m crmcore",
        description="crmcore: customers, orders and CRM analytics.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="analyse the embedded CDNOW data and print a report")
    sub.add_parser("version", help="print the crmcore version")
    args = parser.parse_args(argv)
    if args.command == "version":
        from crmcore import __version__

        sys.stdout.write(f"crmcore {__version__}\n")
        return 0
    from crmcore._demo import demo_report

    sys.stdout.write(demo_report() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
