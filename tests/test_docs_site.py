"""The documentation site: a plots gallery drawn at build time, guides that show the plots.

The slow test builds the site once with ``mkdocs build --strict`` (the command CI runs) and
checks the result: a valid picture ``gallery/<name>.png`` for every function of
``crmcore.plotting.__all__``, the gallery page showing each, and each guide showing at least
one picture that exists. Set ``CRMCORE_DOCS_SITE`` to an already built site to check it
instead of building again.

The quick tests check the gallery hook itself (docs/_hooks/gallery.py): every public plot
function has a recipe, a missing recipe fails the build, and the code shown for each
picture is public-API Python that compiles.
"""

from __future__ import annotations

import ast
import html as html_lib
import importlib.util
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import crmcore.plotting

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The guides that must show a picture of what they explain, and one picture each must show
#: (more are allowed).
GUIDE_PICTURES = {
    "segmentation": "plot_rfm_heatmap",
    "tiers": "plot_whale_curve",
    "clv": "plot_probability_alive_matrix",
    "clv-models": "plot_period_transactions",
    "retention": "plot_retention_survival",
    "retention-economics": "plot_cohort_heatmap",
    "pipeline": "plot_funnel",
    "service": "plot_sla_breaches",
}


def _load_gallery() -> ModuleType:
    """Import docs/_hooks/gallery.py by path (the docs folder is not a package)."""
    path = DOCS / "_hooks" / "gallery.py"
    spec = importlib.util.spec_from_file_location("crmcore_docs_gallery_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gallery = _load_gallery()


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG spec, section 11.2.2)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR", "PNG without IHDR first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --- the gallery hook -------------------------------------------------------------------------


def test_every_public_plot_function_has_a_recipe() -> None:
    assert gallery.missing_recipes() == []
    assert set(crmcore.plotting.__all__) <= set(gallery.RECIPES)


def test_a_public_plot_function_without_recipe_fails_the_gallery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [*crmcore.plotting.__all__, "plot_customer_galaxy"]
    monkeypatch.setattr(gallery, "public_plot_functions", lambda: names)
    with pytest.raises(RuntimeError, match=r"no recipe for .*plot_customer_galaxy"):
        gallery.render_gallery()


@pytest.mark.parametrize("name", sorted(gallery.RECIPES))
def test_the_code_shown_for_each_picture_is_public_python_that_compiles(name: str) -> None:
    code = gallery.recipe_code(name)
    compile(code, f"<recipe {name}>", "exec")  # a return outside a function would not
    tree = ast.parse(code)
    assert isinstance(tree.body[-1], ast.Expr), "the last line draws the picture"
    call = tree.body[-1].value
    assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == name
    assert f"from crmcore.plotting import {name}" in code
    assert "crmcore._" not in code, "recipes use the public API only"


@pytest.mark.parametrize("name", sorted(gallery.SETUPS))
def test_each_setup_is_public_python_that_compiles(name: str) -> None:
    code = gallery.setup_code(name)
    compile(code, f"<set-up {name}>", "exec")
    assert "crmcore._" not in code


def test_each_recipe_reads_only_names_its_setup_defines() -> None:
    """A reader who runs the set-up and then the picture's code has every name defined."""
    for name, recipe in gallery.RECIPES.items():
        defined: set[str] = set()
        if recipe.setup:
            for node in ast.walk(ast.parse(gallery.setup_code(recipe.setup))):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    defined.add(node.id)
                elif isinstance(node, ast.alias):
                    defined.add((node.asname or node.name).split(".")[0])
        tree = ast.parse(gallery.recipe_code(name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.alias):
                defined.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.FunctionDef):
                defined.add(node.name)
                defined.update(arg.arg for arg in node.args.args)
        loaded = {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        builtins = set(dir(__builtins__)) if isinstance(__builtins__, dict) else set()
        builtins |= set(dir(sys.modules["builtins"]))
        assert loaded - defined - builtins == set(), name


def test_the_gallery_page_holds_the_marker_the_hook_replaces() -> None:
    assert gallery.MARKER in (DOCS / "gallery.md").read_text(encoding="utf-8")


# --- the built site -----------------------------------------------------------------------------
# One test builds the site (about 20 s) and runs every check on it, so that pytest-xdist's
# workers do not build it once each; each check returns its problems, named.


def _build_site(site_dir: Path) -> Path:
    """The site built by ``mkdocs build --strict`` (or the one CRMCORE_DOCS_SITE names)."""
    given = os.environ.get("CRMCORE_DOCS_SITE")
    if given:
        return Path(given)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{completed.stderr[-4000:]}")
    return site_dir


def _image_sources(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", html)


def _check_pictures(site: Path) -> list[str]:
    """A valid, non-trivial gallery/<name>.png for every public plot function."""
    problems = []
    for name in crmcore.plotting.__all__:
        path = site / "gallery" / f"{name}.png"
        if not path.is_file():
            problems.append(f"{name}: no gallery/{name}.png in the built site")
            continue
        data = path.read_bytes()
        if data[:8] != PNG_SIGNATURE:
            problems.append(f"gallery/{name}.png is not a PNG file")
            continue
        width, height = _png_size(data)
        if width < 300 or height < 200 or len(data) < 10_000:
            problems.append(f"gallery/{name}.png: {width} x {height} px, {len(data)} bytes")
    return problems


def _check_gallery_page(site: Path) -> list[str]:
    """The gallery page shows every picture in a section of its own, with code, no prompts."""
    html = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    shown = {Path(src).name for src in _image_sources(html)}
    problems = [
        f"gallery page: no <img> of {name}.png"
        for name in crmcore.plotting.__all__
        if f"{name}.png" not in shown
    ]
    problems += [
        f"gallery page: no section for {name}"
        for name in crmcore.plotting.__all__
        if f'id="{name}"' not in html
    ]
    if "&gt;&gt;&gt;" in html:
        problems.append("gallery page: shows a >>> prompt")
    return problems


def _check_guides(site: Path) -> list[str]:
    """Each guide shows its picture, and every picture it shows exists."""
    problems = []
    for guide, picture in GUIDE_PICTURES.items():
        page = site / guide / "index.html"
        sources = _image_sources(page.read_text(encoding="utf-8"))
        resolved = [(page.parent / src).resolve() for src in sources if "://" not in src]
        problems += [
            f"{guide}: image {path} does not exist" for path in resolved if not path.is_file()
        ]
        if f"{picture}.png" not in {path.name for path in resolved}:
            problems.append(f"{guide}: does not show {picture}.png")
    return problems


def _check_code_without_prompts(site: Path) -> list[str]:
    """The guides' doctest blocks reach the site as plain Python plus output blocks."""
    problems = []
    for guide in ["getting-started", *GUIDE_PICTURES]:
        html = (site / guide / "index.html").read_text(encoding="utf-8")
        if "&gt;&gt;&gt;" in html:
            problems.append(f"{guide}: shows a >>> prompt")
        if 'class="crm-output' not in html:
            problems.append(f"{guide}: no output block")
    return problems


def _check_api_copy_text(site: Path) -> list[str]:
    """API reference examples stay doctests on the page; the copy button gets plain code."""
    page = (site / "api" / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<div class="[^"]*\bhighlight\b[^"]*"([^>]*)>(.*?)</div>', page, re.S)
    doctests = [
        (attrs, inner)
        for attrs, inner in blocks
        if html_lib.unescape(re.sub(r"<[^>]+>", "", inner)).lstrip().startswith(">>>")
    ]
    if len(doctests) < 50:  # the API reference shows many docstring examples
        return [f"api: only {len(doctests)} doctest examples found"]
    problems = []
    for number, (attrs, inner) in enumerate(doctests, start=1):
        found = re.search(r'data-copy="([^"]*)"', attrs)
        if found is None:
            problems.append(f"api example {number} copies with prompts: {inner[:120]}")
            continue
        copy = html_lib.unescape(found[1])
        if ">>>" in copy:
            problems.append(f"api example {number}: copy text holds a prompt")
        try:
            compile(copy, f"api example {number}", "exec")
        except SyntaxError as error:
            problems.append(f"api example {number}: copy text does not compile: {error}")
    return problems


@pytest.mark.slow
def test_the_built_site_shows_every_plot_and_code_that_pastes(tmp_path: Path) -> None:
    site = _build_site(tmp_path / "site")
    problems = (
        _check_pictures(site)
        + _check_gallery_page(site)
        + _check_guides(site)
        + _check_code_without_prompts(site)
        + _check_api_copy_text(site)
    )
    assert problems == [], "\n".join(problems)
