"""A safe calculator: arithmetic parsed with `ast` and evaluated node by node (never eval/exec).

Only number literals, + - * / // % **, unary +/-, the names pi/e/tau and a fixed set of math functions
are allowed; anything else (attributes, names like __import__, strings, comprehensions) is refused.
Sizes are bounded so a spoken "9 to the power of 9 to the power of 9" cannot hang the CPU.
Spoken forms are accepted: "17 times 23", "3 x 4", "2^10", "10 divided by 4", "15% of 80".
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

MAX_LENGTH = 300  # characters of expression
MAX_NODES = 200  # AST nodes
MAX_DIGITS = 1000  # an integer result may have at most this many digits
MAX_FACTORIAL = 400  # 400! has 869 digits


class CalculatorError(ValueError):
    """The expression is not safe arithmetic, or its result is too large."""


def _factorial(n: float) -> int:
    if not float(n).is_integer() or n < 0:
        raise CalculatorError("factorial needs a whole number ≥ 0")
    if n > MAX_FACTORIAL:
        raise CalculatorError(f"factorial of {n:g} is too large (limit {MAX_FACTORIAL})")
    return math.factorial(int(n))


FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "cbrt": math.cbrt, "exp": math.exp, "log": math.log, "ln": math.log, "log10": math.log10,
    "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "degrees": math.degrees, "radians": math.radians, "abs": abs, "round": round,
    "floor": math.floor, "ceil": math.ceil, "factorial": _factorial, "min": min, "max": max, "hypot": math.hypot,
}  # fmt: skip
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip

# spoken arithmetic → symbols (applied before parsing)
_SPOKEN: list[tuple[str, str]] = [
    (r"(\d)\s*,\s*(?=\d{3}\b)", r"\1"),  # 1,000 → 1000
    (r"\bmultiplied\s+by\b|\btimes\b|[×✕·]", "*"),
    (r"(?<=[\d)\s])x(?=[\s\d(])", "*"),
    (r"\bdivided\s+by\b|\bover\b|[÷∶]", "/"),
    (r"\bto\s+the\s+power\s+of\b|\braised\s+to\b|\^", "**"),
    (r"\bsquared\b", "**2"),
    (r"\bcubed\b", "**3"),
    (r"\bplus\b", "+"),
    (r"\bminus\b|[−–]", "-"),
    (r"(\d+(?:\.\d+)?)\s*(?:%|\bpercent\b)\s*of\b", r"\1/100*"),
    (r"(\d+(?:\.\d+)?)\s*(?:%(?!\s*[\d(.])|\bpercent\b)", r"(\1/100)"),
    (r"\bmod(?:ulo)?\b", "%"),
    (r"\bsquare\s+root\s+of\s+(\d+(?:\.\d+)?)", r"sqrt(\1)"),
    (r"\s*(?:=|\bequals?\b)\s*$", ""),  # "17 * 23 =" (a keyword argument "f(x=1)" stays, to be refused)
    (r"\bwhat\s+is\b|\bwhat's\b|\bcalculate\b|\bhow\s+much\s+is\b|\?", " "),
]


def normalize(expression: str) -> str:
    """Spoken or typed arithmetic → a Python expression string (still to be checked by `evaluate`)."""
    text = expression.strip().lower()
    for pattern, repl in _SPOKEN:
        text = re.sub(pattern, repl, text)
    return " ".join(text.split())


def _power(base: float, exp: float) -> float:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        digits = exp * math.log10(abs(base))
        if digits > MAX_DIGITS:
            raise CalculatorError(f"the result would have about {digits:.3g} digits (limit {MAX_DIGITS})")
    try:
        result = base**exp
    except OverflowError as e:
        raise CalculatorError("the result is too large") from e
    if isinstance(result, complex):
        raise CalculatorError("the result is not a real number")
    return result


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise CalculatorError(f"the operator {type(node.op).__name__} is not allowed")
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
            raise CalculatorError("division by zero")
        if isinstance(node.op, ast.Mult) and _too_big(left) + _too_big(right) > MAX_DIGITS:
            raise CalculatorError(f"the result would have more than {MAX_DIGITS} digits")
        try:
            return op(left, right)
        except OverflowError as e:  # a huge integer met a float: (10**999) / 10**-5
            raise CalculatorError("the result is too large") from e
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords:
            raise CalculatorError("functions take plain arguments only")
        args = [_eval(a) for a in node.args]
        try:
            return FUNCTIONS[node.func.id](*args)
        except CalculatorError:
            raise
        except (ValueError, TypeError, OverflowError) as e:
            raise CalculatorError(f"{node.func.id}: {e}") from e
    if isinstance(node, ast.Name):
        raise CalculatorError(f"unknown name '{node.id}' (known: {', '.join([*CONSTANTS, *FUNCTIONS])})")
    raise CalculatorError(f"'{ast.unparse(node)[:40]}' is not arithmetic")


def _too_big(value: float) -> int:
    """Approximate digit count of an integer (0 for floats, which overflow to inf instead of growing)."""
    return len(str(abs(value))) if isinstance(value, int) and abs(value) > 10**12 else 0


def evaluate(expression: str) -> float | int:
    """The value of an arithmetic expression; raises CalculatorError for anything unsafe or invalid."""
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"the expression is too long (limit {MAX_LENGTH} characters)")
    text = normalize(expression)
    if not text:
        raise CalculatorError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise CalculatorError(f"cannot parse '{expression}' as arithmetic") from e
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError("the expression is too complex")
    result = _eval(tree)
    if isinstance(result, float) and (math.isinf(result) or math.isnan(result)):
        raise CalculatorError("the result is not a finite number")
    return result


def tidy(value: float | int) -> float | int:
    """A result for speaking: 0.1 + 0.2 → 0.3 (12 significant digits), 12.0 → 12."""
    if isinstance(value, int):
        return value
    rounded = float(f"{value:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded
