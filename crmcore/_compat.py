"""Deprecated spellings of public parameters, kept for one release.

crmcore gives every role one parameter name across the package (listed in
``docs/architecture.md``, section *Names*, and checked by ``tests/test_names.py``). When a
name changes, the old spelling keeps working for one release through
:func:`renamed_parameters`: the call goes through unchanged with the new keyword, and a
:class:`DeprecationWarning` names the new spelling and points at the caller's line.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from crmcore.exceptions import ValidationError

__all__ = ["RENAMED_ATTR", "move_renamed_keywords", "renamed_parameters"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Attribute holding ``{old: new}`` on a decorated function (read by ``tests/test_names.py``).
RENAMED_ATTR = "__crmcore_renamed__"


def renamed_parameters(
    **renames: str,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Accept old keyword spellings of renamed parameters for one release.

    Parameters
    ----------
    **renames : str
        ``old_name="new_name"`` pairs. Each new name must be a parameter of the decorated
        function; the old names must not be.

    Returns
    -------
    callable
        A decorator. The decorated function has the same signature, docstring and type
        (``functools.wraps``; :func:`inspect.signature` shows only the new names) and also
        accepts each old name as a keyword.

    Raises
    ------
    TypeError
        At decoration time, when a new name is not a parameter of the function or an old
        name still is (a programming error in crmcore, not a caller error).
    ValidationError
        At call time, when a caller passes an old name and its new name together
        (``ValidationError`` subclasses ``ValueError``; it carries ``rule="renamed"`` and
        ``column`` set to the new name).

    Warns
    -----
    DeprecationWarning
        At call time, for each old name used: "``<function>``: the ``old`` parameter is
        deprecated; use ``new`` (same meaning). ``old`` will be removed in the next
        release." The warning's ``stacklevel`` points at the caller's line.

    Notes
    -----
    Positional calls are unaffected: renamed parameters are keyword-only in crmcore, or
    positional under their new name.

    Examples
    --------
    >>> import warnings
    >>> @renamed_parameters(observation_end="as_of")
    ... def cut(*, as_of: str) -> str:
    ...     return as_of
    >>> cut(as_of="2024-01-31")
    '2024-01-31'
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     cut(observation_end="2024-01-31")
    '2024-01-31'
    >>> print(caught[0].category.__name__, caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    DeprecationWarning cut: the 'observation_end' parameter is deprecated; use 'as_of'
    (same meaning). 'observation_end' will be removed in the next release.
    >>> import inspect
    >>> list(inspect.signature(cut).parameters)
    ['as_of']
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        import inspect

        params = inspect.signature(func).parameters
        for old, new in renames.items():
            if new not in params:
                raise TypeError(
                    f"renamed_parameters on {func.__qualname__}: the new name {new!r} is not "
                    f"a parameter (parameters: {', '.join(params)})."
                )
            if old in params:
                raise TypeError(
                    f"renamed_parameters on {func.__qualname__}: the old name {old!r} is "
                    "still a parameter."
                )
        who = func.__qualname__.replace(".<locals>", "")

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if renames.keys() & kwargs.keys():
                move_renamed_keywords(kwargs, renames, who)
            return func(*args, **kwargs)

        previous: dict[str, str] = dict(getattr(func, RENAMED_ATTR, {}))
        previous.update(renames)
        setattr(wrapper, RENAMED_ATTR, previous)
        return wrapper

    return decorate


def move_renamed_keywords(kwargs: dict[str, Any], renames: dict[str, str], who: str) -> None:
    """Move old keywords of `kwargs` to their new names in place, warning for each."""
    for old, new in renames.items():
        if old not in kwargs:
            continue
        if new in kwargs:
            raise ValidationError(
                f"{who}: got both {old!r} and its new name {new!r}; pass {new!r} only "
                f"({old!r} is its deprecated spelling).",
                rule="renamed",
                column=new,
            )
        kwargs[new] = kwargs.pop(old)
        warnings.warn(
            f"{who}: the {old!r} parameter is deprecated; use {new!r} (same meaning). "
            f"{old!r} will be removed in the next release.",
            DeprecationWarning,
            # 1 = this function, 2 = wrapper, 3 = the caller of the public function
            stacklevel=3,
        )
