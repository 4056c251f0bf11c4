"""Text → sympy expression by a whitelist grammar: the one parser for every formula that comes
from a file, a flag or another program (docs/design.md, "Formulas from text").

`sympy.sympify` and `parse_expr` evaluate their text with Python's `eval`, so a crafted data
file or `--potential` could run code. Here the text is parsed by Python's `ast` module in
`mode="eval"` and the sympy expression is built from the tree node by node: only numbers, the
caller's variable names, `+ - * / **`, unary signs, calls of whitelisted functions and, inside
`Piecewise`, comparisons, `&`, `|` and `True`. Nothing is ever evaluated as Python, and size,
depth and numeric powers are bounded so that hostile input is refused quickly.
"""
from __future__ import annotations

import ast
import math
import numbers
from typing import Callable, Mapping

import sympy

from eqlearn.errors import UserInputError

#: Functions a formula may call, by the name sympy prints them with.
FUNCTIONS: dict[str, Callable] = {
    name: getattr(sympy, name)
    for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan",
                 "Abs", "sign", "Heaviside", "Min", "Max", "erf")
}
#: Named constants a formula may use.
CONSTANTS = {"pi": sympy.pi, "E": sympy.E}
#: Longest text accepted: a long refitted law printed by the project runs to a few thousand characters.
MAX_LENGTH = 20_000
#: Deepest nesting of the syntax tree, and most nodes in it.
MAX_DEPTH = 60
MAX_NODES = 20_000
#: Largest |exponent| of a number raised to a number, and most digits of an integer literal:
#: `9**9**9` would otherwise compute a number with 370 million digits.
MAX_NUMERIC_EXPONENT = 100
MAX_INTEGER_DIGITS = 40

_COMPARISONS = {ast.Lt: sympy.StrictLessThan, ast.LtE: sympy.LessThan, ast.Gt: sympy.StrictGreaterThan,
                ast.GtE: sympy.GreaterThan}
#: Operators whose chains are built in one go (`_Builder.chain`), as sympy's Add and Mul hold them.
_CHAINS = ((ast.Add, ast.Sub), (ast.Mult, ast.Div))
_LOGICAL = {ast.BitAnd: sympy.And, ast.BitOr: sympy.Or}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|",
            ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitXor: "^",
            ast.Not: "not", ast.Invert: "~", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def parse_formula(text: str, variables: Mapping[str, sympy.Symbol], *, what: str = "formula",
                  functions: Mapping[str, Callable] | None = None) -> sympy.Expr:
    """The sympy expression `text` writes, in the symbols `variables` (name → symbol).

    `functions` replaces the default whitelist (`FUNCTIONS`; e.g. gplearn's `add`, `mul`).
    Anything else — attributes, subscripts, keywords, lambdas, comprehensions, strings, unknown
    names — is refused with a one-line `UserInputError` that names the offending token and says
    what `text` was (`what`: "potential", "message expression", ...).
    """
    if not isinstance(text, str):
        raise UserInputError(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise UserInputError(f"{what} is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise UserInputError(f"{what} {_shown(text)} does not parse: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise UserInputError(f"{what} {_shown(text)} is nested too deeply") from None
    _check_size(tree.body, text, what)
    builder = _Builder(text, what, dict(variables), FUNCTIONS if functions is None else dict(functions))
    expression = builder.build(tree.body)
    if not isinstance(expression, sympy.Expr):
        raise UserInputError(f"{what} {_shown(text)} is not a scalar expression")
    if any(p.exp.is_Number and abs(p.exp) > MAX_NUMERIC_EXPONENT for p in expression.atoms(sympy.Pow)):
        raise UserInputError(f"{what} {_shown(text)}: a power beyond ±{MAX_NUMERIC_EXPONENT} is not allowed")
    return expression


def _shown(text: str) -> str:
    """The text as an error message quotes it: on one line, and not too long."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def _family(node: ast.AST):
    """Sums and products chain without nesting: `a + b - c` is one level, however long."""
    if isinstance(node, ast.BinOp):
        return next((family for family in _CHAINS if isinstance(node.op, family)), None)
    return None


def _check_size(root: ast.AST, text: str, what: str) -> None:
    """Refuse trees deeper than MAX_DEPTH or larger than MAX_NODES, walking without recursion; the
    terms of one sum (or factors of one product) count as one level."""
    stack, nodes = [(root, 1)], 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH or nodes > MAX_NODES:
            raise UserInputError(f"{what} {_shown(text)} is too large or nested too deeply "
                                 f"(at most {MAX_NODES} parts, {MAX_DEPTH} levels)")
        family = _family(node)
        for child in ast.iter_child_nodes(node):
            same_chain = family is not None and child is node.left and _family(child) is family
            stack.append((child, depth if same_chain else depth + 1))


class _Builder:
    """Builds the sympy expression of an already size-checked syntax tree, refusing every node
    outside the grammar."""

    def __init__(self, text: str, what: str, variables: dict, functions: dict):
        self.text, self.what, self.variables, self.functions = text, what, variables, functions

    def refuse(self, token: str, why: str = "is not allowed") -> UserInputError:
        return UserInputError(f"{self.what} {_shown(self.text)}: {token} {why}")

    def build(self, node: ast.AST, condition: bool = False):
        if isinstance(node, ast.Constant):
            return self.constant(node.value, condition)
        if isinstance(node, ast.Name):
            return self.name(node.id, condition)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if _family(node) is not None and not condition:
            return self.chain(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not condition:
            return self.arithmetic(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _LOGICAL and condition:
            return _LOGICAL[type(node.op)](self.build(node.left, True), self.build(node.right, True))
        if isinstance(node, ast.Compare) and condition:
            return self.comparison(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(self.token(node))

    def token(self, node: ast.AST) -> str:
        """The offending piece of text, for the error message."""
        operator_node = getattr(node, "op", None) or (node.ops[0] if isinstance(node, ast.Compare) else None)
        if operator_node is not None and type(operator_node) in _SYMBOLS:
            where = "outside a Piecewise condition" if type(operator_node) in {**_LOGICAL, **_COMPARISONS} else ""
            return f"the operator {_SYMBOLS[type(operator_node)]!r}" + (f" ({where})" if where else "")
        segment = ast.get_source_segment(self.text.strip(), node) or type(node).__name__
        kind = {ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
                ast.JoinedStr: "f-string", ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
                ast.SetComp: "comprehension", ast.DictComp: "comprehension", ast.Tuple: "tuple",
                ast.IfExp: "conditional expression", ast.NamedExpr: "assignment"}.get(type(node), "the syntax")
        return f"{kind} {_shown(segment)}"

    def constant(self, value, condition: bool):
        if value is True and condition:
            return sympy.true
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(f"the literal {value!r}")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_INTEGER_DIGITS:
                raise self.refuse("an integer literal", f"has more than {MAX_INTEGER_DIGITS} digits")
            return sympy.Integer(value)
        if not math.isfinite(value):
            raise self.refuse(f"the number {value!r}", "is not finite")
        return sympy.Float(value)

    def name(self, name: str, condition: bool):
        if name in self.variables:
            return self.variables[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name == "True" and condition:
            return sympy.true
        allowed = ", ".join(sorted(self.variables)) or "none"
        raise self.refuse(f"the name {name!r}", f"is unknown (variables: {allowed})")

    def chain(self, node: ast.BinOp):
        """A sum or product of any length, without recursing along it: `a - b + c` is
        Add(a, -b, c), `a / b * c` is Mul(a, 1/b, c) — what Python's operators on sympy give."""
        family, parts = _family(node), []
        while _family(node) is family:
            parts.append((node.op, node.right))
            node = node.left
        first, parts = self.build(node), [(op, self.build(right)) for op, right in reversed(parts)]
        if family is _CHAINS[0]:
            return sympy.Add(first, *(-term if isinstance(op, ast.Sub) else term for op, term in parts))
        if any(isinstance(op, ast.Div) and term == 0 for op, term in parts):
            raise self.refuse("a division by zero")
        return sympy.Mul(first, *(1 / term if isinstance(op, ast.Div) else term for op, term in parts))

    def arithmetic(self, node: ast.BinOp):
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow) and left.is_Number and right.is_Number \
                and (abs(right) > MAX_NUMERIC_EXPONENT or abs(left) > 10**MAX_INTEGER_DIGITS):
            raise self.refuse("a number raised to a power", f"beyond ±{MAX_NUMERIC_EXPONENT} or of a base "
                                                             f"beyond 1e{MAX_INTEGER_DIGITS}")
        try:
            return left**right
        except (TypeError, ValueError, ZeroDivisionError) as error:
            raise self.refuse("the operator '**'", f"cannot apply here ({error})") from None

    def comparison(self, node: ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARISONS:
            raise self.refuse(self.token(node))
        return _COMPARISONS[type(node.ops[0])](self.build(node.left), self.build(node.comparators[0]))

    def call(self, node: ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None:
            raise self.refuse(self.token(node.func), "cannot be called")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(f"keyword or starred arguments of {name!r}")
        if name == "Piecewise":
            pieces = [self.piece(arg) for arg in node.args]
            try:
                return sympy.Piecewise(*pieces)
            except (TypeError, ValueError) as error:
                raise self.refuse("the Piecewise", f"is malformed ({error})") from None
        if name not in self.functions:
            raise self.refuse(f"the function {name!r}", f"is unknown (allowed: {', '.join(sorted(self.functions))}, "
                                                         "Piecewise)")
        arguments = [self.build(arg) for arg in node.args]
        try:
            return self.functions[name](*arguments)
        except (TypeError, ValueError) as error:
            raise self.refuse(f"the call of {name!r}", f"is malformed ({error})") from None

    def piece(self, node: ast.AST):
        """One (expression, condition) pair of a Piecewise."""
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
            raise self.refuse("a Piecewise argument", "must be a pair (expression, condition)")
        return self.build(node.elts[0]), self.build(node.elts[1], condition=True)


def as_expression(value) -> sympy.Basic:
    """A sympy object for a sympy object or a plain number. Text is refused: it must go through
    `parse_formula`, so that no string ever reaches sympy's own evaluating parser (every sympy
    function that takes a string hands it to `sympify`)."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return sympy.Integer(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return sympy.Float(float(value))
    raise TypeError(f"expected a sympy expression or a number, got {type(value).__name__}; "
                    "text is parsed with eqlearn.vocabulary.formula.parse_formula")
