"""User expressions ("band math"): new variables computed from a dataset's variables.

Syntax (one expression per text)::

    NAME = EXPRESSION               speed2 = sqrt(uo**2 + vo**2)
    NAME [UNITS] = EXPRESSION       warm [degC] = thetao - 20
    EXPRESSION                      thetao * 1.8 + 32   (named "expression")

``EXPRESSION`` is arithmetic (``+ - * / **``, unary ``-``), comparisons (``< <= > >= == !=``,
giving 1 where true and 0 where not), ``where(condition, a, b)`` and the functions ``sqrt
abs log log10 exp sin cos minimum maximum clip`` over the dataset's variable names and
numbers. Nothing else is accepted: no attribute access, no subscripts, no other calls or
names, no strings; an exponent is a number from -8 to 8; a text is at most 200 characters.

The text is parsed with :mod:`ast` and checked node by node against that whitelist; it is
never given to ``eval`` or ``compile``. Evaluation walks the checked tree with xarray and
numpy, lazily (dask): a map of an expression reads only the chunks it needs. Units are the
ones given, else found where the expression keeps them (sums of one unit, a variable times a
number, comparisons give ``1``), else ``unknown``.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from data_adapters.contract import CURVILINEAR_DIMS, REGULAR_DIMS
from data_adapters.errors import SourceError, did_you_mean

#: Longest expression text (characters) and most nodes in its tree.
MAX_CHARS = 200
MAX_NODES = 80
#: Largest magnitude of an exponent (``x**8``): bounds the cost and the overflow.
MAX_EXPONENT = 8
#: Longest name and units of an expression (characters).
MAX_NAME_CHARS = 40
DEFAULT_NAME = "expression"


def _where(condition, a, b):
    return np.where(condition, a, b)


#: Functions an expression may call: name -> (number of arguments, numpy function).
FUNCTIONS: dict[str, tuple[int, Callable]] = {
    "sqrt": (1, np.sqrt),
    "abs": (1, np.abs),
    "log": (1, np.log),
    "log10": (1, np.log10),
    "exp": (1, np.exp),
    "sin": (1, np.sin),
    "cos": (1, np.cos),
    "minimum": (2, np.minimum),
    "maximum": (2, np.maximum),
    "clip": (3, np.clip),
    "where": (3, _where),
}
_BINARY = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}

ALLOWED = (
    "numbers, the dataset's variable names, + - * / ** (exponent a number from "
    f"-{MAX_EXPONENT} to {MAX_EXPONENT}), unary -, comparisons, and the functions "
    + ", ".join(f"{n}()" for n in FUNCTIONS)
)
#: ``NAME [UNITS] =`` before the expression (``=`` not part of ``==``).
_HEAD = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\[([^\[\]]*)\])?\s*=(?!=)(.*)$", re.DOTALL)
_UNITS = re.compile(r"^[\w\s\-+*/^.°%()]*$")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its name, units (None: found from the expression) and tree."""

    name: str
    text: str
    units: str | None
    tree: ast.Expression

    @property
    def definition(self) -> str:
        """The text that defines it, as the URL and ``--expr`` take it back."""
        units = f" [{self.units}]" if self.units else ""
        return f"{self.name}{units} = {self.text}"


def _refuse(what: str) -> SourceError:
    return SourceError(f"expression: {what}; allowed: {ALLOWED}")


def _shown(text: str, node: ast.AST) -> str:
    part = ast.get_source_segment(text, node) or type(node).__name__
    return part if len(part) <= 40 else part[:37] + "..."


def split(text: str) -> tuple[str, str | None, str]:
    """``(name, units or None, expression)`` of ``NAME [UNITS] = EXPRESSION`` (or of an
    expression alone, named ``expression``)."""
    head = _HEAD.match(text)
    if head is None:
        return DEFAULT_NAME, None, text.strip()
    name, units, body = head.group(1), head.group(2), head.group(3).strip()
    if units is not None:
        units = units.strip()
        if not _UNITS.match(units) or len(units) > MAX_NAME_CHARS:
            raise SourceError(
                f"expression '{name}': units '{units[:40]}' are not plain units text "
                "(letters, digits, spaces, - + * / ^ . ° % and parentheses)"
            )
    return name, units or None, body


def parse(text: str, variables: Sequence[str]) -> Expression:
    """Check ``text`` against the whitelist, over the dataset's ``variables``.

    Raises
    ------
    SourceError
        One line naming the part that is refused and what is allowed.
    """
    if len(text) > MAX_CHARS:
        raise _refuse(f"longer than {MAX_CHARS} characters ({len(text)})")
    name, units, body = split(text)
    if not body:
        raise _refuse(f"'{name}' has no expression after '='")
    if len(name) > MAX_NAME_CHARS:
        raise SourceError(f"expression: the name is longer than {MAX_NAME_CHARS} characters")
    if name in variables or name in FUNCTIONS:
        raise SourceError(
            f"expression: the name '{name}' is taken (a variable or a function); "
            "choose another, e.g. 'my_" + name + " = ...'"
        )
    try:
        tree = ast.parse(body, mode="eval")  # parsing only: nothing is run
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        detail = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise _refuse(f"'{body[:40]}' is not an expression ({detail})") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise _refuse(f"too long ({nodes} parts, at most {MAX_NODES})")
    _check(tree.body, body, set(variables))
    if not variables_of(tree):
        raise _refuse(f"'{body[:40]}' uses no variable")
    return Expression(name, body, units, tree)


def variables_of(tree: ast.AST) -> list[str]:
    """The variable names a (checked) tree reads, in order of appearance (function names left
    out)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    return list(dict.fromkeys(names))


def _check(node: ast.AST, text: str, variables: set[str]) -> None:
    """Refuse any node outside the whitelist (a recursive walk of the checked kinds only)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _refuse(f"'{_shown(text, node)}' is not a number")
        if not math.isfinite(float(node.value)):
            raise _refuse(f"'{_shown(text, node)}' is not a finite number")
        return
    if isinstance(node, ast.Name):
        if node.id not in variables:
            known = sorted(variables)
            raise _refuse(
                f"unknown name '{node.id}'{did_you_mean(node.id, known)} (variables: "
                f"{', '.join(known[:12])}{'...' if len(known) > 12 else ''})"
            )
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        if isinstance(node.op, ast.Pow) and _exponent(node.right) is None:
            raise _refuse(
                f"exponent '{_shown(text, node.right)}' must be a number from "
                f"-{MAX_EXPONENT} to {MAX_EXPONENT}"
            )
        _check(node.left, text, variables)
        _check(node.right, text, variables)
        return
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, text, variables)
        return
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise _refuse(f"'{_shown(text, node)}' is not one comparison (<, <=, >, >=, ==, !=)")
        _check(node.left, text, variables)
        _check(node.comparators[0], text, variables)
        return
    if isinstance(node, ast.Call):
        func = node.func.id if isinstance(node.func, ast.Name) else None
        if func not in FUNCTIONS:
            raise _refuse(f"the call '{_shown(text, node)}' is not allowed")
        count = FUNCTIONS[func][0]
        if (
            node.keywords
            or len(node.args) != count
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            raise _refuse(f"{func}() takes {count} plain argument{'s' if count > 1 else ''}")
        for arg in node.args:
            _check(arg, text, variables)
        return
    raise _refuse(f"'{_shown(text, node)}' ({type(node).__name__}) is not allowed")


def _exponent(node: ast.AST) -> float | None:
    """The value of a number literal (or a negated one) within the exponent bound, else None."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return None
    if not isinstance(node.value, int | float):
        return None
    value = sign * float(node.value)
    return value if abs(value) <= MAX_EXPONENT else None


# -- evaluation -----------------------------------------------------------------------------
def _quiet(func: Callable) -> Callable:
    @functools.wraps(func)
    def run(*args):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(*args)

    return run


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _apply(func: Callable, *args: Any, dtype: Any = np.float64) -> Any:
    """``func`` of ``args`` (arrays lazily per chunk; numbers at once), silently NaN where
    invalid (a log of a negative, a division by zero)."""
    if not any(isinstance(a, xr.DataArray) for a in args):
        return _quiet(func)(*(np.float64(a) for a in args))
    return xr.apply_ufunc(_quiet(func), *args, dask="parallelized", output_dtypes=[dtype])


def _value(node: ast.AST, ds: xr.Dataset) -> Any:
    """The value of a checked node over ``ds`` (only the kinds :func:`_check` lets through)."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return ds[node.id].astype(np.float64, copy=False).reset_coords(drop=True)
    if isinstance(node, ast.BinOp):
        return _apply(_BINARY[type(node.op)], _value(node.left, ds), _value(node.right, ds))
    if isinstance(node, ast.UnaryOp):
        return _apply(_UNARY[type(node.op)], _value(node.operand, ds))
    if isinstance(node, ast.Compare):
        func = _COMPARE[type(node.ops[0])]
        left, right = _value(node.left, ds), _value(node.comparators[0], ds)
        return _apply(lambda a, b: func(a, b).astype(np.float64), left, right)
    if isinstance(node, ast.Call):
        func = FUNCTIONS[node.func.id][1]  # type: ignore[attr-defined]
        return _apply(func, *(_value(a, ds) for a in node.args))
    raise _refuse(f"{type(node).__name__} is not allowed")  # unreachable once checked


def _units(node: ast.AST, ds: xr.Dataset) -> str | None:
    """Units an expression keeps, or None; ``"*"`` for a bare number (any units)."""
    if isinstance(node, ast.Constant):
        return "*"
    if isinstance(node, ast.Name):
        return str(ds[node.id].attrs.get("units") or "") or None
    if isinstance(node, ast.Compare):
        return "1"
    if isinstance(node, ast.UnaryOp):
        return _units(node.operand, ds)
    parts: list[str | None] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        parts = [_units(node.left, ds), _units(node.right, ds)]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        left, right = _units(node.left, ds), _units(node.right, ds)
        if right == "*":  # scaled by a number
            return left
        if left == "*" and isinstance(node.op, ast.Mult):
            return right
        return None
    elif isinstance(node, ast.Call) and node.func.id in ("abs", "minimum", "maximum", "clip"):  # type: ignore[attr-defined]
        parts = [_units(a, ds) for a in node.args]
    elif isinstance(node, ast.Call) and node.func.id == "where":  # type: ignore[attr-defined]
        parts = [_units(a, ds) for a in node.args[1:]]
    known = {p for p in parts if p != "*"}
    if None in known or len(known) != 1:
        return None
    return known.pop()


def evaluate(expression: Expression, ds: xr.Dataset) -> xr.DataArray:
    """The expression's values over ``ds`` (lazy), named and with units and long_name."""
    out = _value(expression.tree.body, ds)
    if not isinstance(out, xr.DataArray):  # parse() refuses expressions without variables
        raise _refuse(f"'{expression.text}' uses no variable")
    out = _apply(_finite, out)  # a division by zero or an overflow is no data, not infinity
    # variables of different dims broadcast: the contract's order (depth before lat, lon)
    order = [*REGULAR_DIMS, *CURVILINEAR_DIMS]
    out = out.transpose(*sorted(out.dims, key=lambda d: order.index(d) if d in order else -1))
    out = out.assign_coords({k: v for k, v in ds.coords.items() if set(v.dims) <= set(out.dims)})
    units = expression.units or _units(expression.tree.body, ds)
    return out.rename(expression.name).assign_attrs(
        units=units if units not in (None, "*") else "unknown",
        long_name=f"{expression.name} = {expression.text}",
        expression=expression.definition,
    )
