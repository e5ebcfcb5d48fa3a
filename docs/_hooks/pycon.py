"""Render the doctest blocks of the guides as code that pastes into Jupyter.

The guide pages are written as doctests (```pycon blocks with ``>>>`` prompts and the expected
output) so that CI runs every example (``pytest --doctest-glob='*.md' docs``). A reader who
copies such a block gets the prompts and the outputs too, which Python and Jupyter reject.
At build time this hook rewrites each doctest block as plain Python (prompts stripped, outputs
dropped) followed by the expected output in a block of its own, so the copy button copies
code that runs. The Markdown sources stay doctests.

A block is split after every statement that has an expected output: each Python block ends
with the statement whose output follows, so pasted into a notebook cell it displays that
output. A statement whose expected output is a traceback becomes a ``try``/``except`` that
prints the exception, so the pasted block runs to the end.

Examples
--------
>>> page = '''Text.
...
... ```pycon
... >>> x = 1 + 1
... >>> x
... 2
...
... ```
... '''
>>> print(convert_pycon_blocks(page))
Text.
<BLANKLINE>
```python
x = 1 + 1
x
```
<BLANKLINE>
```{ .text .crm-output }
2
```
<BLANKLINE>
"""

from __future__ import annotations

import doctest
import html
import re
import textwrap
from typing import Any

__all__ = [
    "OUTPUT_FENCE_INFO",
    "add_copy_text",
    "convert_pycon_blocks",
    "convert_pycon_source",
    "doctest_code",
    "on_page_content",
    "on_page_markdown",
]

#: Info string of the fence that holds an expected output (a class for the stylesheet).
OUTPUT_FENCE_INFO = "{ .text .crm-output }"

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_DIRECTIVE_RE = re.compile(r"[ \t]*#\s*doctest:\s*[^\n'\"]*$", re.MULTILINE)
_PARSER = doctest.DocTestParser()
# a highlighted code block as pymdownx.highlight writes it (mkdocstrings' examples included)
_HIGHLIGHT_RE = re.compile(
    r'<div class="(?P<classes>[^"]*\bhighlight\b[^"]*)"(?P<attrs>[^>]*)>(?P<inner>.*?)</div>',
    re.DOTALL,
)
_CODE_RE = re.compile(r"<code[^>]*>(?P<code>.*?)</code>", re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")


def _is_doctest_block(info: str, body: list[str]) -> bool:
    """True for a ```pycon block, or a ```python block whose first line has a ``>>>`` prompt."""
    words = info.strip().lstrip("{").split()
    language = words[0].lstrip(".").lower() if words else ""
    if language == "pycon":
        return True
    if language in {"python", "py", "python3"}:
        first = next((line for line in body if line.strip()), "")
        return first.lstrip().startswith(">>>")
    return False


def _exception_name(exc_msg: str) -> str:
    """``'crmcore.exceptions.X: text'`` -> ``'X'`` (the name ``type(error).__name__`` gives)."""
    head = exc_msg.split(":", 1)[0].strip()
    return head.rsplit(".", 1)[-1]


def _exception_output(exc_msg: str) -> str:
    """What the ``except`` branch prints: the exception line with the module path dropped."""
    head, _, rest = exc_msg.partition(":")
    return f"{head.strip().rsplit('.', 1)[-1]}:{rest}".rstrip("\n")


def _statement(example: doctest.Example) -> str:
    """The example's source without doctest directives, wrapped when it raises."""
    source = _DIRECTIVE_RE.sub("", example.source).rstrip("\n")
    if example.exc_msg is None:
        return source
    name = _exception_name(example.exc_msg)
    body = textwrap.indent(source, "    ")
    return (
        f"try:\n{body}\nexcept Exception as error:  # {name}\n"
        '    print(f"{type(error).__name__}: {error}")'
    )


def _output(example: doctest.Example) -> str:
    """The expected output shown under the code (``<BLANKLINE>`` shown as an empty line)."""
    if example.exc_msg is not None:
        return _exception_output(example.exc_msg)
    return example.want.replace("<BLANKLINE>", "").rstrip("\n")


def _fence(info: str, text: str) -> str:
    return f"```{info}\n{text}\n```"


def _chunks(source: str, where: str) -> list[tuple[str, str | None]]:
    """Split a doctest block into (code, expected output or None) pairs, prompts stripped.

    A pair ends at each statement that has an expected output; the code of a trailing pair
    without output has None.
    """
    pieces = _PARSER.parse(source, where)
    chunks: list[tuple[str, str | None]] = []
    code: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            if piece.strip():
                raise ValueError(
                    f"{where}: text outside any example in a doctest block: {piece.strip()!r}"
                )
            if code and "\n" in piece:
                code.append("")  # a blank line between examples stays in the code
            continue
        if code and code[-1] and code[-1].splitlines()[-1][:1].isspace():
            code.append("")  # a compound statement ends with a blank line, as in a REPL
        code.append(_statement(piece))
        if piece.want or piece.exc_msg is not None:
            chunks.append(("\n".join(code).strip("\n"), _output(piece)))
            code = []
    if any(line.strip() for line in code):
        chunks.append(("\n".join(code).strip("\n"), None))
    return chunks


def doctest_code(source: str, *, where: str = "doctest block") -> str:
    """All the code of a doctest block as one pasteable script (outputs dropped).

    Examples
    --------
    >>> print(doctest_code(">>> x = 2\\n>>> x * 21\\n42\\n>>> print('done')\\ndone\\n"))
    x = 2
    x * 21
    <BLANKLINE>
    print('done')
    """
    return "\n\n".join(code for code, _ in _chunks(source, where))


def convert_pycon_source(source: str, *, where: str = "doctest block") -> str:
    """Convert the text of one doctest block into Python blocks and output blocks.

    Parameters
    ----------
    source : str
        The lines between the fences, prompts included, already dedented.
    where : str
        Named in the error message (page and line).

    Returns
    -------
    str
        Markdown: ```python blocks of prompt-free code, each followed by a block holding the
        expected output of its last statement, when it has one.

    Raises
    ------
    ValueError
        When the block holds text that is neither code nor the output of a statement (it
        would be lost).

    Examples
    --------
    >>> print(convert_pycon_source('>>> 1 / 0\\nTraceback (most recent call last):\\n'
    ...                            '...\\nZeroDivisionError: division by zero\\n'))
    ```python
    try:
        1 / 0
    except Exception as error:  # ZeroDivisionError
        print(f"{type(error).__name__}: {error}")
    ```
    <BLANKLINE>
    ```{ .text .crm-output }
    ZeroDivisionError: division by zero
    ```
    """
    blocks: list[str] = []
    for code, output in _chunks(source, where):
        blocks.append(_fence("python", code))
        if output is not None:
            blocks.append(_fence(OUTPUT_FENCE_INFO, output))
    return "\n\n".join(blocks)


def convert_pycon_blocks(markdown: str, *, page: str = "page") -> str:
    """Rewrite every doctest block of a Markdown page as pasteable Python plus its output.

    A doctest block is a ```pycon fence, or a ```python fence whose first line starts with
    ``>>>``. Other fences (and fences inside them) are left as they are. Indented fences (in
    lists or admonitions) keep their indentation.

    Parameters
    ----------
    markdown : str
        The page source.
    page : str
        The page name for error messages.

    Returns
    -------
    str
        The page with its doctest blocks converted; unchanged when it has none.

    Examples
    --------
    >>> convert_pycon_blocks("```text\\n>>> 1\\n```\\n")
    '```text\\n>>> 1\\n```\\n'
    """
    lines = markdown.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_RE.match(lines[index].rstrip("\r\n"))
        if opening is None:
            out.append(lines[index])
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"]
        closing_index = None
        for candidate in range(index + 1, len(lines)):
            stripped = lines[candidate].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                closing_index = candidate
                break
        if closing_index is None:  # an unclosed fence runs to the end of the page
            out.extend(lines[index:])
            break
        body = lines[index + 1 : closing_index]
        if _is_doctest_block(info, body):
            source = textwrap.dedent("".join(body))
            converted = convert_pycon_source(source, where=f"{page}, line {index + 1}")
            newline = "\n" if lines[closing_index].endswith("\n") else ""
            out.append(
                textwrap.indent(converted, indent, lambda line: bool(line.strip())) + newline
            )
        else:
            out.extend(lines[index : closing_index + 1])
        index = closing_index + 1
    return "".join(out)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: convert the page's doctest blocks (notebook pages are left alone)."""
    source = str(page.file.src_uri)
    if source.endswith(".ipynb"):
        return markdown
    return convert_pycon_blocks(markdown, page=source)


def add_copy_text(page_html: str, *, page: str = "page") -> str:
    """Give every doctest code block of rendered HTML a prompt-free text for the copy button.

    The API reference shows the docstrings' examples as doctests (mkdocstrings renders them,
    not Markdown of ours). The Material theme's copy button copies the ``data-copy``
    attribute of the nearest element that has one instead of the shown text, so each such
    block gets the code of :func:`doctest_code` there: the reader sees the doctest and copies
    code that runs.

    Examples
    --------
    >>> block = (
    ...     '<div class="highlight"><pre><span></span><code><span class="gp">&gt;&gt;&gt; </span>'
    ...     '<span class="mi">1</span> <span class="o">+</span> <span class="mi">1</span>\\n'
    ...     '<span class="go">2</span>\\n</code></pre></div>'
    ... )
    >>> add_copy_text(block)[:50]
    '<div class="highlight" data-copy="1 + 1"><pre><spa'
    """

    def replace(match: re.Match[str]) -> str:
        if "data-copy=" in match["attrs"]:
            return match[0]
        code = _CODE_RE.search(match["inner"])
        if code is None:
            return match[0]
        text = html.unescape(_TAG_RE.sub("", code["code"]))
        if not text.lstrip().startswith(">>>"):
            return match[0]
        try:
            plain = doctest_code(textwrap.dedent(text), where=page)
        except ValueError:
            return match[0]  # not a clean doctest: leave the copy button as it is
        copy = html.escape(plain, quote=True)
        return (
            f'<div class="{match["classes"]}"{match["attrs"]} data-copy="{copy}">'
            f"{match['inner']}</div>"
        )

    return _HIGHLIGHT_RE.sub(replace, page_html)


def on_page_content(html_text: str, *, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: prompt-free copy text for doctest blocks left in the HTML (API page)."""
    source = str(page.file.src_uri)
    if source.endswith(".ipynb"):
        return html_text
    return add_copy_text(html_text, page=source)
