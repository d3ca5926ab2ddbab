"""Business-rule conditions (``score.predict_proba[1] > 0.5``), parsed safely and vectorised.

The text is parsed with :mod:`ast` and only a small grammar is accepted: comparisons
(``< <= > >= == != in``, ``not in``), ``and``/``or``/``not``, arithmetic (``+ - * / // %``),
constant subscripts, numbers, strings, lists of constants, pipeline inputs by bare name and
step outputs as ``step.output``. Anything else (calls, attributes of attributes, lambdas,
comprehensions, names nobody produces) is rejected at registration with the offending text.
The tree is compiled into closures over numpy arrays, never handed to ``eval``: one call
evaluates a rule for every row of a batch at once.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.protocol.signature import TensorSpec
from modelport.runtimes.base import Array

__all__ = ["Condition", "compile_condition"]

Env = Mapping[str, Array]
_Fn = Callable[[Env], Any]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_NUMERIC = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
            "FP16", "FP32", "FP64"}


@dataclass(frozen=True, slots=True)
class _Node:
    fn: _Fn
    kind: str
    """bool, number, text or list: checked so that a rule is a per-row true/false."""
    rank: int = 0
    """Dimensions per row beyond the first (0: one value per row)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled ``when``: call it on the batch's tensors for one boolean per row."""

    text: str
    refs: frozenset[str]
    """The tensors it reads (``amount``, ``score.predict_proba``)."""
    _fn: _Fn

    def __call__(self, env: Env, rows: int) -> Array:
        value = np.asarray(self._fn(env), dtype=bool)
        if value.ndim == 0:
            return np.full(rows, bool(value))
        return value


def compile_condition(text: str, known: Mapping[str, TensorSpec], *, where: str,
                      not_before: frozenset[str] = frozenset()) -> Condition:
    """Check ``text`` against the tensors in ``known`` and compile it.

    ``where`` names the rule in errors (``step 'decide' rule 1 'when'``); ``not_before`` are
    the names of steps that do not run before it (itself and later ones: reading them would
    be a cycle).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{where}: must be a non-empty condition such as 'amount > 1000'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidInput(f"{where}: {text!r} is not a valid condition: {exc.msg}") from None
    compiler = _Compiler(known, where, text, not_before)
    node = compiler.visit(tree.body)
    if node.kind != "bool":
        raise InvalidInput(
            f"{where}: {text!r} must be true or false per row (a comparison such as "
            f"'{text} > 0.5'), not a {node.kind}"
        )
    if node.rank != 0:
        raise InvalidInput(f"{where}: {text!r} gives several values per row; index one, e.g. [1]")
    return Condition(text, frozenset(compiler.refs), node.fn)


class _Compiler:
    def __init__(self, known: Mapping[str, TensorSpec], where: str, text: str,
                 not_before: frozenset[str]) -> None:
        self.not_before = not_before
        self.known = known
        self.where = where
        self.text = text
        self.refs: set[str] = set()

    def fail(self, node: ast.AST, why: str) -> InvalidInput:
        piece = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
        return InvalidInput(f"{self.where}: {why} ({piece!r} in {self.text!r})")

    def visit(self, node: ast.AST) -> _Node:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed in a rule; use "
                                  "comparisons, and/or/not, arithmetic, [index], inputs and "
                                  "step.output names")
        result: _Node = method(node)
        return result

    # -- leaves --------------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return _Node(lambda env: value, "bool")
        if isinstance(value, int | float):
            return _Node(lambda env: value, "number")
        if isinstance(value, str):
            return _Node(lambda env: value, "text")  # BYTES tensors are read as str
        raise self.fail(node, f"constant {value!r} is not a number, string or boolean")

    def visit_List(self, node: ast.List | ast.Tuple) -> _Node:
        items = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bytes | type(None)):
                raise self.fail(elt, "lists may hold only numbers and strings")
            value = elt.value
            items.append(value)
        frozen = np.array(items, dtype=object if any(isinstance(i, str) for i in items) else None)
        return _Node(lambda env: frozen, "list")

    visit_Tuple = visit_List

    def visit_Name(self, node: ast.Name) -> _Node:
        return self._ref(node, node.id)

    def visit_Attribute(self, node: ast.Attribute) -> _Node:
        if not isinstance(node.value, ast.Name):
            raise self.fail(node, "refer to a step output as step.output")
        return self._ref(node, f"{node.value.id}.{node.attr}")

    def _ref(self, node: ast.AST, name: str) -> _Node:
        spec = self.known.get(name)
        if spec is None:
            owner = name.partition(".")[0]
            if "." in name and owner in self.not_before:
                raise self.fail(node, f"{name!r} refers to step {owner!r}, which does not run "
                                      "before this one (steps read only earlier steps: no cycles)")
            steps = sorted({k.split(".")[0] for k in self.known if "." in k})
            if name in steps:
                outs = sorted(k for k in self.known if k.startswith(f"{name}."))
                raise self.fail(node, f"{name!r} is a step; name one of its outputs: "
                                      f"{', '.join(outs)}")
            raise self.fail(node, f"{name!r} is not a pipeline input or an output of an earlier "
                                  f"step; known: {', '.join(sorted(self.known)) or 'none'}")
        self.refs.add(name)
        kind = "text" if spec.datatype == "BYTES" else (
            "bool" if spec.datatype == "BOOL" else "number")
        if spec.datatype not in _NUMERIC and spec.datatype != "BYTES":
            raise self.fail(node, f"{name!r} has datatype {spec.datatype}, which rules cannot read")
        return _Node(lambda env: env[name], kind, max(len(spec.shape) - 1, 0))

    # -- composites ----------------------------------------------------------------------------

    def visit_Subscript(self, node: ast.Subscript) -> _Node:
        base = self.visit(node.value)
        index = node.slice
        if (isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub)
                and isinstance(index.operand, ast.Constant)):
            raw: object = index.operand.value
            position = -raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        else:
            raw = index.value if isinstance(index, ast.Constant) else None
            position = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if position is None:
            raise self.fail(node, "an index must be a whole number such as [1]")
        if base.rank == 0:
            raise self.fail(node, "this is one value per row; drop the index")
        width = self._width(node.value)
        if width is not None and not -width <= position < width:
            raise self.fail(node, f"index {position} is out of range for {width} values per row")
        inner = base.fn
        return _Node(lambda env: inner(env)[:, position], base.kind, base.rank - 1)

    def _width(self, node: ast.AST) -> int | None:
        name = (node.id if isinstance(node, ast.Name) else
                f"{node.value.id}.{node.attr}"
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) else None)
        spec = self.known.get(name) if name else None
        if spec is None or len(spec.shape) < 2 or spec.shape[1] < 0:
            return None
        return spec.shape[1]

    def visit_BinOp(self, node: ast.BinOp) -> _Node:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        for side in (left, right):
            if side.kind != "number" or side.rank:
                raise self.fail(node, "arithmetic needs numbers, one per row")
        lf, rf = left.fn, right.fn
        return _Node(lambda env: op(lf(env), rf(env)), "number")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Node:
        inner = self.visit(node.operand)
        fn = inner.fn
        if isinstance(node.op, ast.Not):
            if inner.kind != "bool":
                raise self.fail(node, "'not' needs a true/false value")
            return _Node(lambda env: np.logical_not(fn(env)), "bool", inner.rank)
        if isinstance(node.op, ast.USub | ast.UAdd) and inner.kind == "number":
            sign = -1 if isinstance(node.op, ast.USub) else 1
            return _Node(lambda env: sign * fn(env), "number", inner.rank)
        raise self.fail(node, f"operator {type(node.op).__name__} is not allowed here")

    def visit_BoolOp(self, node: ast.BoolOp) -> _Node:
        parts = [self.visit(v) for v in node.values]
        if any(p.kind != "bool" or p.rank for p in parts):
            raise self.fail(node, "'and'/'or' join true/false conditions")
        fns = [p.fn for p in parts]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def run(env: Env) -> Any:
            value = fns[0](env)
            for fn in fns[1:]:
                value = combine(value, fn(env))
            return value

        return _Node(run, "bool")

    def visit_Compare(self, node: ast.Compare) -> _Node:
        operands = [self.visit(node.left)] + [self.visit(c) for c in node.comparators]
        checks: list[_Fn] = []
        for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
            if left.rank or right.rank:
                raise self.fail(node, "compare one value per row; index the output, e.g. [1]")
            checks.append(self._compare(node, op, left, right))

        def run(env: Env) -> Any:
            value = checks[0](env)
            for check in checks[1:]:
                value = np.logical_and(value, check(env))
            return value

        return _Node(run, "bool")

    def _compare(self, node: ast.AST, op: ast.cmpop, left: _Node, right: _Node) -> _Fn:
        lf, rf = left.fn, right.fn
        if isinstance(op, ast.In | ast.NotIn):
            if right.kind != "list":
                raise self.fail(node, "'in' needs a list of constants, e.g. in ['a', 'b']")
            negate = isinstance(op, ast.NotIn)
            return lambda env: np.isin(lf(env), rf(env), invert=negate)
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
        if "list" in (left.kind, right.kind):
            raise self.fail(node, "a list can only follow 'in' or 'not in'")
        if (left.kind == "text") != (right.kind == "text"):
            raise self.fail(node, "cannot compare text with a number")
        if left.kind == "text" and not isinstance(op, ast.Eq | ast.NotEq):
            raise self.fail(node, "text compares only with == and !=")
        return lambda env: fn(lf(env), rf(env))
