"""Screenshots of the documentation site in headless Chromium.

Builds the site with ``mkdocs build --strict`` (or takes an already built one with
``--site-dir``), serves it on a free localhost port and saves full-width screenshots of the
home page, the customer-lifetime-value guide and the plots gallery as PNG files. Used to
check by eye that the pictures of the site show up. See dev/README.md.

Usage::

    python dev/screenshots.py                      # build, then shoot into dev/screenshots/
    python dev/screenshots.py --site-dir site      # shoot an existing build
    python dev/screenshots.py --out /tmp/shots --chromium /usr/bin/chromium-browser
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (file name, page path under the site root) of the pages to shoot.
PAGES: tuple[tuple[str, str], ...] = (
    ("home.png", ""),
    ("clv.png", "clv/"),
    ("gallery.png", "gallery/"),
)

#: Flags for a quiet, offline, throw-away headless Chromium.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def build_site(site_dir: Path) -> None:
    """Run ``mkdocs build --strict`` from the repository root into `site_dir`."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Do not print one line per request."""


def serve(site_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `site_dir` on a free localhost port in a daemon thread; return server and URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}/"


def screenshot(
    chromium: str, url: str, out_file: Path, *, width: int, height: int, timeout: float
) -> None:
    """Save a screenshot of `url` with a fresh Chromium profile; fail if no PNG appears."""
    with tempfile.TemporaryDirectory(prefix="crmcore-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=5000",
            f"--screenshot={out_file}",
            url,
        ]
        out_file.unlink(missing_ok=True)
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if not out_file.is_file() or not out_file.read_bytes().startswith(PNG_SIGNATURE):
        raise RuntimeError(
            f"chromium wrote no screenshot of {url} (exit code {completed.returncode}):\n"
            f"{completed.stderr[-2000:]}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site-dir", type=Path, help="an already built site (default: build)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dev" / "screenshots", help="output folder"
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per page")
    args = parser.parse_args(argv)

    if not Path(args.chromium).is_file():
        parser.error(f"no Chromium at {args.chromium}; pass --chromium PATH")
    with tempfile.TemporaryDirectory(prefix="crmcore-site-") as tmp:
        site_dir = args.site_dir
        if site_dir is None:
            site_dir = Path(tmp) / "site"
            build_site(site_dir)
        if not (site_dir / "index.html").is_file():
            parser.error(f"{site_dir} holds no built site (no index.html)")
        args.out.mkdir(parents=True, exist_ok=True)
        server, base = serve(site_dir)
        try:
            for file_name, page in PAGES:
                out_file = (args.out / file_name).resolve()
                screenshot(
                    args.chromium,
                    base + page,
                    out_file,
                    width=args.width,
                    height=args.height,
                    timeout=args.timeout,
                )
                print(f"{base + page} -> {out_file}")
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
