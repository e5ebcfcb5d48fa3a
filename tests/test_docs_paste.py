"""The site's code blocks paste into Jupyter: doctest blocks rendered as plain Python.

The guide pages are doctests (```pycon blocks); ``docs/_hooks/pycon.py`` rewrites them at
build time as prompt-free ```python blocks, each followed by its expected output. These tests
check the conversion on hand-written snippets and run the converted pages the way a reader
would: every block, in page order, in one fresh IPython session, after IPython's own input
transformer (what a notebook cell or the IPython terminal applies to pasted text).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import matplotlib
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(path.name for path in DOCS.glob("*.md"))
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _load_hook() -> ModuleType:
    """Import docs/_hooks/pycon.py by path (the docs folder is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "crmcore_docs_pycon_hook", DOCS / "_hooks" / "pycon.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = _load_hook()
convert = hook.convert_pycon_blocks
OUTPUT = "```{ .text .crm-output }"


def _python_blocks(markdown: str) -> list[str]:
    return PYTHON_BLOCK.findall(markdown)


def _fresh_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    """A new IPython shell with no history file and its profile in a temporary folder."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell(config=config)


def _run_blocks(blocks: list[str], shell: InteractiveShell, page: str) -> None:
    """Paste each block through IPython's input transformer and run it; fail naming the block."""
    transformer = TransformerManager()
    for number, block in enumerate(blocks, start=1):
        cell = transformer.transform_cell(block)
        result = shell.run_cell(cell, store_history=False)
        first_line = block.strip().splitlines()[0]
        assert result.error_before_exec is None, (
            f"{page}, python block {number} ({first_line!r}) does not parse: "
            f"{result.error_before_exec!r}\n{block}"
        )
        assert result.error_in_exec is None, (
            f"{page}, python block {number} ({first_line!r}) raised "
            f"{result.error_in_exec!r}\n{block}"
        )
        assert result.success, f"{page}, python block {number} ({first_line!r}) failed\n{block}"


# --- the converter on hand-written snippets -------------------------------------------------


def test_statements_and_their_output_become_a_code_block_and_an_output_block() -> None:
    page = "Intro.\n\n```pycon\n>>> x = 1 + 1\n>>> x\n2\n>>> y = x * 3\n\n```\n\nAfter.\n"
    expected = (
        "Intro.\n\n"
        "```python\nx = 1 + 1\nx\n```\n\n"
        f"{OUTPUT}\n2\n```\n\n"
        "```python\ny = x * 3\n```\n\n"
        "After.\n"
    )
    assert convert(page) == expected


def test_a_block_with_only_setup_has_no_output_block() -> None:
    page = "```pycon\n>>> import math\n>>> r = 2.0\n```\n"
    assert convert(page) == "```python\nimport math\nr = 2.0\n```\n"


def test_continuation_lines_lose_their_prompts_and_keep_their_indentation() -> None:
    page = (
        "```pycon\n"
        ">>> for n in range(2):\n"
        "...     print(n)\n"
        "0\n"
        "1\n"
        ">>> total = sum(\n"
        "...     [1, 2]\n"
        "... )\n"
        "```\n"
    )
    expected = (
        "```python\nfor n in range(2):\n    print(n)\n```\n\n"
        f"{OUTPUT}\n0\n1\n```\n\n"
        "```python\ntotal = sum(\n    [1, 2]\n)\n```\n"
    )
    assert convert(page) == expected


def test_a_compound_statement_followed_by_code_ends_with_a_blank_line() -> None:
    page = "```pycon\n>>> if True:\n...     a = 1\n>>> b = 2\n```\n"
    assert convert(page) == "```python\nif True:\n    a = 1\n\nb = 2\n```\n"


def test_blank_line_separated_examples_keep_one_blank_line_between_them() -> None:
    page = "```pycon\n>>> a = 1\n\n>>> b = 2\n>>> a + b\n3\n\n>>> c = 4\n```\n"
    expected = (
        f"```python\na = 1\n\nb = 2\na + b\n```\n\n{OUTPUT}\n3\n```\n\n```python\nc = 4\n```\n"
    )
    assert convert(page) == expected


def test_a_traceback_becomes_a_try_except_that_prints_the_exception() -> None:
    page = (
        "```pycon\n"
        '>>> int("x")\n'
        "Traceback (most recent call last):\n"
        "...\n"
        "ValueError: invalid literal for int() with base 10: 'x'\n"
        "```\n"
    )
    expected = (
        "```python\n"
        "try:\n"
        '    int("x")\n'
        "except Exception as error:  # ValueError\n"
        '    print(f"{type(error).__name__}: {error}")\n'
        "```\n\n"
        f"{OUTPUT}\nValueError: invalid literal for int() with base 10: 'x'\n```\n"
    )
    assert convert(page) == expected


def test_a_dotted_exception_name_is_shown_as_type_name_prints_it() -> None:
    page = (
        "```pycon\n"
        ">>> f(1)\n"
        "Traceback (most recent call last):\n"
        "crmcore.exceptions.ValidationError: f: bad input\n"
        "```\n"
    )
    converted = convert(page)
    assert "except Exception as error:  # ValidationError\n" in converted
    assert f"{OUTPUT}\nValidationError: f: bad input\n```" in converted


def test_a_multi_line_statement_that_raises_is_indented_whole_inside_try() -> None:
    page = (
        "```pycon\n"
        ">>> int(\n"
        '...     "x"\n'
        "... )\n"
        "Traceback (most recent call last):\n"
        "ValueError: bad\n"
        "```\n"
    )
    block = _python_blocks(convert(page))[0]
    assert block.startswith('try:\n    int(\n        "x"\n    )\nexcept Exception as error:')
    compile(block, "snippet", "exec")


def test_doctest_directives_are_dropped_and_skipped_lines_still_shown() -> None:
    page = (
        "```pycon\n"
        ">>> slow_call()  # doctest: +SKIP\n"
        "42\n"
        ">>> 0.1 + 0.2  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE\n"
        "0.3...\n"
        "```\n"
    )
    expected = (
        f"```python\nslow_call()\n```\n\n{OUTPUT}\n42\n```\n\n"
        f"```python\n0.1 + 0.2\n```\n\n{OUTPUT}\n0.3...\n```\n"
    )
    assert convert(page) == expected


def test_blankline_markers_show_as_empty_lines() -> None:
    page = '```pycon\n>>> print("a\\n\\nb")\na\n<BLANKLINE>\nb\n```\n'
    assert f"{OUTPUT}\na\n\nb\n```" in convert(page)


def test_a_python_fence_with_prompts_is_converted_like_pycon() -> None:
    page = "```python\n>>> 2 * 21\n42\n```\n"
    assert convert(page) == f"```python\n2 * 21\n```\n\n{OUTPUT}\n42\n```\n"


def test_a_tilde_fenced_doctest_block_is_converted_too() -> None:
    assert (
        convert("~~~pycon\n>>> 6 * 7\n42\n~~~\n") == f"```python\n6 * 7\n```\n\n{OUTPUT}\n42\n```\n"
    )


def test_other_fences_are_left_alone() -> None:
    page = (
        "```python\nimport crmcore  # already plain Python\n```\n\n"
        "```text\n>>> not a doctest block\n```\n\n"
        "````markdown\n```pycon\n>>> 1\n1\n```\n````\n\n"
        "    >>> indented code, not a fence\n"
    )
    assert convert(page) == page


def test_an_indented_fence_keeps_its_indentation() -> None:
    page = "!!! note\n\n    ```pycon\n    >>> 1 + 1\n    2\n    ```\n"
    expected = f"!!! note\n\n    ```python\n    1 + 1\n    ```\n\n    {OUTPUT}\n    2\n    ```\n"
    assert convert(page) == expected


def test_text_outside_any_example_is_an_error_naming_the_page() -> None:
    page = "```pycon\n>>> 1\n1\n\nstray words\n```\n"
    with pytest.raises(ValueError, match=r"guide\.md, line 1: .*stray words"):
        convert(page, page="guide.md")


def test_the_hook_leaves_notebook_pages_alone() -> None:
    markdown = "```pycon\n>>> 1\n1\n```\n"
    notebook = SimpleNamespace(file=SimpleNamespace(src_uri="notebooks/cdnow.ipynb"))
    guide = SimpleNamespace(file=SimpleNamespace(src_uri="clv.md"))
    assert hook.on_page_markdown(markdown, page=notebook, config={}, files=[]) == markdown
    converted = hook.on_page_markdown(markdown, page=guide, config={}, files=[])
    assert converted == f"```python\n1\n```\n\n{OUTPUT}\n1\n```\n"


def test_rendered_doctest_blocks_get_prompt_free_copy_text() -> None:
    """The API reference's docstring examples: shown as doctests, copied as code."""
    highlighted = (
        '<div class="highlight"><pre><span></span><code>'
        '<span class="gp">&gt;&gt;&gt; </span><span class="n">x</span> '
        '<span class="o">=</span> <span class="s2">&quot;a&lt;b&quot;</span>\n'
        '<span class="gp">&gt;&gt;&gt; </span><span class="nb">int</span>'
        '<span class="p">(</span><span class="n">x</span><span class="p">)</span>\n'
        '<span class="gt">Traceback (most recent call last):</span>\n'
        '<span class="gr">ValueError</span>: bad\n'
        "</code></pre></div>"
    )
    plain = '<div class="highlight"><pre><span></span><code>import crmcore\n</code></pre></div>'
    result = hook.add_copy_text(f"<p>Examples</p>{highlighted}{plain}")
    copy_text = (
        "x = &quot;a&lt;b&quot;\n"
        "try:\n    int(x)\n"
        "except Exception as error:  # ValueError\n"
        "    print(f&quot;{type(error).__name__}: {error}&quot;)"
    )
    opening = '<div class="highlight">'
    rest = highlighted[len(opening) :]
    assert result == (
        f'<p>Examples</p><div class="highlight" data-copy="{copy_text}">{rest}{plain}'
    )


def test_copy_text_is_not_added_twice_nor_to_broken_doctests() -> None:
    done = '<div class="highlight" data-copy="x"><pre><code>&gt;&gt;&gt; 1\n</code></pre></div>'
    assert hook.add_copy_text(done) == done
    stray = '<div class="highlight"><pre><code>&gt;&gt;&gt; 1\n1\n\nwords\n</code></pre></div>'
    assert hook.add_copy_text(stray) == stray


# --- the real pages -------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_converted_block_compiles_and_has_no_prompt(page: str) -> None:
    converted = convert((DOCS / page).read_text(encoding="utf-8"), page=page)
    assert "```pycon" not in converted
    prompted = re.findall(r"^ *(?:```|~~~)[^\n]*\n *>>>.*$", converted, re.MULTILINE)
    assert prompted == [], f"{page}: code blocks still starting with a prompt: {prompted}"
    for number, block in enumerate(_python_blocks(converted), start=1):
        try:
            compile(block, f"{page} python block {number}", "exec")
        except SyntaxError as error:  # pragma: no cover - the message is the point
            pytest.fail(f"{page}, python block {number} does not compile: {error}\n{block}")


def test_getting_started_blocks_paste_into_one_fresh_ipython_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acceptance check: each block, copied as the site shows it, runs in IPython."""
    converted = convert((DOCS / "getting-started.md").read_text(encoding="utf-8"))
    blocks = _python_blocks(converted)
    assert len(blocks) >= 10  # every example of the page, split at its outputs
    _run_blocks(blocks, _fresh_shell(tmp_path, monkeypatch), "getting-started.md")


# bigger-data.md ends with hand-written (not doctest) end-to-end scripts for Spark and DuckDB
# that read an `orders.parquet` file of the reader's own: they run, on a file written for
# them, in tests/engines/test_engines_docs_scripts.py (with the engines they need).
_NOT_RUN = {"bigger-data.md": ("SparkSession", "duckdb.connect")}
# pipeline.md simulates 5,000 deals and fits the weekly chain (about 20 s); bigger-data.md
# fits BG/NBD on the full CDNOW summary
_SLOW_PAGES = {"pipeline.md", "bigger-data.md"}


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, marks=pytest.mark.slow) if page in _SLOW_PAGES else page
        for page in PAGES
        if page != "getting-started.md"
    ],
)
def test_every_page_pastes_into_a_fresh_ipython_session(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted = convert((DOCS / page).read_text(encoding="utf-8"), page=page)
    skipped = _NOT_RUN.get(page, ())
    blocks = [b for b in _python_blocks(converted) if not any(word in b for word in skipped)]
    if not blocks:
        return  # a page without code (index, architecture, api)
    try:
        _run_blocks(blocks, _fresh_shell(tmp_path, monkeypatch), page)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")


def test_the_python_blocks_left_out_above_are_still_there() -> None:
    """The skip list matches real blocks (a renamed block must not silently skip nothing)."""
    blocks = _python_blocks(convert((DOCS / "bigger-data.md").read_text(encoding="utf-8")))
    for word in _NOT_RUN["bigger-data.md"]:
        assert sum(word in block for block in blocks) == 1, word
