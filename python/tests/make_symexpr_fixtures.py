"""Write ``test/fixtures/symexpr/cases.json``: symbolic size expressions as torch writes them, for trtx's SymExpr.

torch.export writes a symbolic size as ``{"as_expr": {"expr_str": sympy.srepr(e), "hint": ...}}`` and trtx's IR
holds ``str(e)``. trtx's ``src/graph/SymExpr.ts`` parses and prints both forms; this script records, for each
expression, what sympy itself prints, so that the TypeScript test can check trtx against it:

* ``str``: ``str(e)`` (sympy's StrPrinter, with torch's ``_sympystr`` and ``precedence`` conventions);
* ``text``: trtx's text form, equal to ``str`` except where ``str`` is ambiguous (``CleanDiv`` prints
  ``(a//b)`` like ``FloorDiv``, ``Identity(x)`` prints ``(x)``): those two print in call form there;
* ``srepr``: ``sympy.srepr(e)``, the ``expr_str`` torch writes;
* ``freeSymbols`` (in order of first appearance in ``srepr``), ``assumptions`` of each symbol;
* ``values`` for the symbols and ``expected``: the value of ``e`` there (every symbol replaced at once, the tree
  rebuilt bottom-up) when it is an integer (as a decimal string) or a boolean, else ``null``.

torch is not imported. Its functions (``torch/utils/_sympy/functions.py``, torch 2.11) are stood in for by
classes of the same names below, with the same printing convention (``_sympystr``, ``precedence``, ``nargs``)
and with evaluation on integer arguments as torch defines it (extended to any rational argument the random
expressions give them: ``FloorDiv`` and ``ModularIndexing`` floor, ``IntTrueDiv`` divides in doubles). Run with
the sympy torch 2.11 uses (>= 1.13; torch 2.11's own is 1.14.0):

    python3 python/tests/make_symexpr_fixtures.py test/fixtures/symexpr/cases.json

``--seed S --random N`` makes another random set (a wider check than the fixture). ``--check-torch`` (on a
machine with torch) builds the hand-written cases with torch's own classes and reads every case back from its
``srepr`` with them, as torch's deserializer does, and prints each difference: one in ``srepr`` too comes from
torch's own simplification (``FloorDiv(FloorDiv(x, 4), 4)`` is ``FloorDiv(x, 16)``), one in ``str`` alone would
be a printing difference.
"""
from __future__ import annotations

import json
import math
import random
import re
import sys
from types import SimpleNamespace

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

SEED = 20251207
RANDOM_CASES = 400

# ===== Stand-ins for torch/utils/_sympy/functions.py =====


def _ints(*args) -> bool:
    return all(isinstance(a, sympy.Integer) for a in args)


def _nums(*args) -> bool:
    return all(isinstance(a, sympy.Number) and a.is_finite for a in args)


class FloorDiv(sympy.Function):
    """Python floor division; prints ``(a//b)``, each side parenthesized unless it is an atom."""

    nargs = (2,)
    precedence = 35
    is_integer = True

    def _sympystr(self, printer):
        base = printer.parenthesize(self.args[0], PRECEDENCE["Atom"] - 0.5)
        divisor = printer.parenthesize(self.args[1], PRECEDENCE["Atom"] - 0.5)
        return f"({base}//{divisor})"

    @classmethod
    def eval(cls, base, divisor):
        if divisor.is_zero:
            raise ZeroDivisionError("division by zero")
        if base.is_zero:
            return sympy.S.Zero
        if _nums(base, divisor):
            return sympy.Integer(sympy.floor(base / divisor))
        return None


class CleanDiv(FloorDiv):
    """A FloorDiv known to be exact; inherits FloorDiv's printing."""


class ModularIndexing(sympy.Function):
    nargs = (3,)
    precedence = 35
    is_integer = True

    @classmethod
    def eval(cls, base, divisor, modulus):
        if base == 0 or modulus == 1:
            return sympy.S.Zero
        if _nums(base, divisor, modulus):
            # floor(), not //: sympy's Rational // Integer does not floor (Rational(-1, 2) // 2 is 0)
            return sympy.Integer(sympy.floor(base / divisor)) % modulus
        return None


class Where(sympy.Function):
    nargs = (3,)
    precedence = 35

    @classmethod
    def eval(cls, c, p, q):
        if c == sympy.true:
            return p
        if c == sympy.false:
            return q
        return None


class PythonMod(sympy.Function):
    nargs = (2,)
    precedence = 35
    is_integer = True

    @classmethod
    def eval(cls, p, q):
        if q.is_zero:
            raise ZeroDivisionError("Modulo by zero")
        if _nums(p, q):
            return p % q
        return None


class Mod(sympy.Function):
    """torch's Mod: only defined on non-negative arguments (a literal p < 0 or q < 1 is an error)."""

    nargs = (2,)
    precedence = 35
    is_integer = True
    is_nonnegative = True

    @classmethod
    def eval(cls, p, q):
        if q.is_zero:
            raise ZeroDivisionError("Modulo by zero")
        if _nums(p, q):
            if p < 0 or q < 1:
                raise ValueError(f"Mod({p}, {q}) is outside torch's domain")
            return p % q
        return None


class CeilToInt(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, number):
        if _nums(number):
            return sympy.Integer(math.ceil(float(number)))
        return None


class FloorToInt(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, number):
        if isinstance(number, sympy.Integer):
            return number
        if _nums(number):
            return sympy.Integer(math.floor(float(number)))
        return None


class CeilDiv(sympy.Function):
    """Never survives construction: CleanDiv when the divisor divides, else FloorDiv(a + (b - 1), b)."""

    is_integer = True

    def __new__(cls, base, divisor):
        base = sympy.sympify(base)
        divisor = sympy.sympify(divisor)
        if sympy.gcd(base, divisor) == divisor:
            return CleanDiv(base, divisor)
        return FloorDiv(base + (divisor - 1), divisor)


class LShift(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, base, shift):
        if shift < 0:
            raise ValueError("negative shift count")
        return base * 2**shift


class RShift(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, base, shift):
        if shift < 0:
            raise ValueError("negative shift count")
        return FloorDiv(base, 2**shift)


class PowByNatural(sympy.Function):
    precedence = 50
    is_integer = True

    @classmethod
    def eval(cls, base, exp):
        if _ints(base, exp):
            if exp < 0:
                raise ValueError("Exponent must be non-negative.")
            return sympy.Integer(int(base) ** int(exp))
        if isinstance(exp, sympy.Integer):
            return sympy.Pow(base, exp)
        return None


class FloatPow(sympy.Function):
    precedence = 60
    is_real = True

    @classmethod
    def eval(cls, base, exp):
        if _nums(base, exp):
            return sympy.Float(float(base) ** float(exp))
        return None


class FloatTrueDiv(sympy.Function):
    precedence = 35
    is_real = True

    @classmethod
    def eval(cls, base, divisor):
        if divisor.is_zero:
            raise ZeroDivisionError("division by zero")
        if _nums(base, divisor):
            return sympy.Float(float(base) / float(divisor))
        return None


class IntTrueDiv(sympy.Function):
    precedence = 35
    is_real = True

    @classmethod
    def eval(cls, base, divisor):
        if divisor.is_zero:
            raise ZeroDivisionError("division by zero")
        if _nums(base, divisor):
            return sympy.Float(float(base) / float(divisor))
        return None


def _non_overlapping_and_dense(sizes, strides) -> int:
    if len(sizes) == 1:
        return int(strides[0] == 1 or sizes[0] < 2)
    expected = 1
    for length, stride in sorted(zip(sizes, strides), key=lambda p: p[1]):
        if length == 1:
            continue
        if stride != expected:
            return 0
        expected *= length
    return 1


class IsNonOverlappingAndDenseIndicator(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, *args):
        assert len(args) % 2 == 0
        dim = len(args) // 2
        if _ints(*args):
            return sympy.Integer(_non_overlapping_and_dense([int(a) for a in args[:dim]], [int(a) for a in args[dim:]]))
        return None


class TruncToFloat(sympy.Function):
    is_real = True

    @classmethod
    def eval(cls, number):
        if _nums(number):
            return sympy.Float(math.trunc(float(number)))
        return None


class TruncToInt(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, number):
        if _nums(number):
            return sympy.Integer(math.trunc(float(number)))
        return None


class RoundToInt(sympy.Function):
    is_integer = True

    @classmethod
    def eval(cls, number):
        if _nums(number):
            return sympy.Integer(round(float(number), 0))
        return None


class RoundDecimal(sympy.Function):
    is_real = True

    @classmethod
    def eval(cls, number, ndigits):
        if _nums(number) and isinstance(ndigits, sympy.Integer):
            return sympy.Float(round(float(number), int(ndigits)))
        return None


class ToFloat(sympy.Function):
    is_real = True

    @classmethod
    def eval(cls, number):
        if isinstance(number, sympy.Integer):
            return sympy.Float(int(number))
        return None


class Identity(sympy.Function):
    """Prints its argument in parentheses, ``(s0)``. torch's Identity has no eval; this one returns a number
    argument, so that an expression has a value."""

    precedence = 10

    def _sympystr(self, printer):
        return f"({printer.doprint(self.args[0])})"

    @classmethod
    def eval(cls, arg):
        if isinstance(arg, sympy.Number):
            return arg
        return None


def _bitwise(name: str, prec: int, op):
    class BitwiseFn(sympy.Function):
        precedence = prec

        @classmethod
        def eval(cls, a, b):
            if _ints(a, b):
                return sympy.Integer(op(int(a), int(b)))
            return None

    BitwiseFn.__name__ = BitwiseFn.__qualname__ = "BitwiseFn_" + name
    return BitwiseFn


def _opaque_unary(name: str):
    class OpaqueUnaryFn(sympy.Function):
        @classmethod
        def eval(cls, a):
            if isinstance(a, (sympy.Integer, sympy.Float)):
                return sympy.Float(getattr(math, name)(float(a)))
            return None

    OpaqueUnaryFn.__name__ = OpaqueUnaryFn.__qualname__ = "OpaqueUnaryFn_" + name
    return OpaqueUnaryFn


STAND_INS = SimpleNamespace(
    FloorDiv=FloorDiv, CleanDiv=CleanDiv, ModularIndexing=ModularIndexing, Where=Where, PythonMod=PythonMod,
    Mod=Mod, CeilToInt=CeilToInt, FloorToInt=FloorToInt, CeilDiv=CeilDiv, LShift=LShift, RShift=RShift,
    PowByNatural=PowByNatural, FloatPow=FloatPow, FloatTrueDiv=FloatTrueDiv, IntTrueDiv=IntTrueDiv,
    IsNonOverlappingAndDenseIndicator=IsNonOverlappingAndDenseIndicator, TruncToFloat=TruncToFloat,
    TruncToInt=TruncToInt, RoundToInt=RoundToInt, RoundDecimal=RoundDecimal, ToFloat=ToFloat, Identity=Identity,
    Max=sympy.Max, Min=sympy.Min,
    BitwiseFn_bitwise_and=_bitwise("bitwise_and", PRECEDENCE["BitwiseAnd"], lambda a, b: a & b),
    BitwiseFn_bitwise_or=_bitwise("bitwise_or", PRECEDENCE["BitwiseOr"], lambda a, b: a | b),
    BitwiseFn_bitwise_xor=_bitwise("bitwise_xor", PRECEDENCE["BitwiseXor"], lambda a, b: a ^ b),
    OpaqueUnaryFn_sqrt=_opaque_unary("sqrt"),
)

# ===== trtx's text form =====

CALL_FORM = ("CleanDiv", "Identity")


class TextPrinter(StrPrinter):
    """sympy's StrPrinter, except that CleanDiv and Identity print in call form (their str is ambiguous)."""

    def _print(self, expr, **kwargs):
        if isinstance(expr, sympy.Function) and type(expr).__name__ in CALL_FORM:
            self._print_level += 1
            try:
                return f"{type(expr).__name__}({', '.join(self._print(a) for a in expr.args)})"
            finally:
                self._print_level -= 1
        return super()._print(expr, **kwargs)


def text(e) -> str:
    return TextPrinter({"order": None}).doprint(e)


# ===== Cases =====


def symbols():
    pos = {n: sympy.Symbol(n, positive=True, integer=True) for n in ("s0", "s1", "s2", "s3", "s77")}
    unb = {n: sympy.Symbol(n, integer=True) for n in ("u0", "u1")}
    return SimpleNamespace(**pos, **unb, x=sympy.Symbol("x"), zf0=sympy.Symbol("zf0", real=True))


def hand_cases(F, S):
    """Expressions torch's shape code produces (sizes, strides, guards, runtime asserts), and printer corners."""
    s0, s1, s2, s3, s77, u0, u1 = S.s0, S.s1, S.s2, S.s3, S.s77, S.u0, S.u1
    I, R, Fl = sympy.Integer, sympy.Rational, sympy.Float
    return [
        # sizes
        s77, s0, 2 * s0, s0 + 1, s0 - 1, 5 - s0, -s0, s0 * s1, 16 * s0 * s1, 2 * s0 + 1, 1024 * s0 + 16 * s1 - 7,
        -2 * s0 + s1, -3 * s0 * s1, s0 - 2 * s1, s0**2, s0 * s1**2, s1 * (s0 + 1), (s0 + 1) * (s1 - 1),
        s0 * s1 * s2 * s3, 3 * s0 * s2 + s1, s0 + s1 + s2 + s3, -s0 - 1, -s0 * s1 + 4, s0**3 - s0,
        # torch functions
        F.FloorDiv(s0, 2), F.FloorDiv(s0 + 1, 2), F.FloorDiv(s0 - 1, 2) + 1, 2 * F.FloorDiv(s0, 2),
        F.FloorDiv(s0 * s1, 4), F.FloorDiv(2 * s0, 3), F.FloorDiv(s0, s1), F.FloorDiv(s0, 2) * F.FloorDiv(s1, 2),
        -F.FloorDiv(s0, 2), s1 - F.FloorDiv(s0, 2), F.FloorDiv(F.Max(s0, s1), 2), F.FloorDiv(F.Mod(s0, 7), 2),
        F.FloorDiv(F.CeilToInt(F.IntTrueDiv(s0, 3)), 2), F.FloorDiv(s0 - 3, 2) + 1, F.FloorDiv(-s0, 2),
        F.CleanDiv(s0, 2), F.CleanDiv(2 * s0, s1), 2 * F.CleanDiv(s0, 4) + 1, F.CeilDiv(s0, 4), F.CeilDiv(4 * s0, 2),
        F.Mod(s0, 2), F.Mod(s0, 3) + 1, 2 * F.Mod(s0, 3), F.Mod(s0 + 1, s1), -F.Mod(s0, 4),
        F.PythonMod(u0, 3), F.PythonMod(s0 - 5, 4) + s1, F.ModularIndexing(s0, 2, 8), 4 * F.ModularIndexing(s0, 1, 3),
        F.Where(sympy.Gt(u0, 0), u0, 1), F.Where(sympy.Eq(s0, 1), s1, s0) + 1,
        F.Max(1, u0), F.Max(s0, s1), F.Min(s0, s1), F.Max(s0, s1) + 1, -F.Max(s0, s1), 2 * F.Min(s0, 8),
        F.Max(s0, s1, s2), F.Min(s0 - 1, s1 + 1), F.Max(0, u0 - 4), s0 - F.Max(s0, s1),
        F.CeilToInt(F.IntTrueDiv(s0, 2)), F.FloorToInt(F.IntTrueDiv(3 * s0, 2)), F.TruncToInt(F.IntTrueDiv(s0, 3)),
        F.RoundToInt(F.IntTrueDiv(s0, 2)), F.RoundToInt(F.IntTrueDiv(5 * s0, 4)), F.CeilToInt(F.IntTrueDiv(s0, s1)),
        F.CeilToInt(F.FloatTrueDiv(F.ToFloat(s0), 2.5)), F.FloorToInt(F.FloatPow(F.ToFloat(s0), 0.5)),
        F.TruncToFloat(F.IntTrueDiv(s0, 2)), F.RoundDecimal(F.IntTrueDiv(s0, 3), 2), F.ToFloat(s0),
        F.PowByNatural(s0, s1), 2 * F.PowByNatural(s0, s1), F.PowByNatural(s0, u0) + 1, F.PowByNatural(s0, 2),
        F.FloatPow(F.ToFloat(s0), F.ToFloat(s1)), 2 * F.FloatPow(F.ToFloat(s0), 2.0),
        F.LShift(s0, 2), F.LShift(s0, s1), F.RShift(s0, 1), F.RShift(s0, s1),
        F.IsNonOverlappingAndDenseIndicator(s0, s1, s1, 1), F.IsNonOverlappingAndDenseIndicator(s0, 3, 1, s0),
        F.IsNonOverlappingAndDenseIndicator(s0, 1),
        F.Identity(s0), F.Identity(s0) + 1, 2 * F.Identity(s0 + s1), F.Identity(F.FloorDiv(s0, 2)),
        F.BitwiseFn_bitwise_and(s0, 7), F.BitwiseFn_bitwise_or(s0, s1) + 1, 2 * F.BitwiseFn_bitwise_xor(u0, 5),
        F.OpaqueUnaryFn_sqrt(s0),
        # unbacked and runtime asserts
        S.u0, u0 + u1, u0 * s0, u0 - 1, -u0, 2 * u0 - 3,
        sympy.Ge(u0, 0), sympy.Gt(u0, 0), sympy.Le(u0, 10), sympy.Lt(u0, s0), sympy.Ne(u0, 0), sympy.Eq(s0, 2),
        sympy.Eq(F.Mod(s0, 2), 0), sympy.Eq(2 * F.FloorDiv(s0, 2), s0), sympy.Ne(F.Mod(s0 * s1, 8), 0),
        sympy.Ge(u0 + u1, s0), sympy.Lt(F.FloorDiv(u0, 2), 5), sympy.Ge(F.Max(u0, u1), 1),
        sympy.Ge(-u0, -10), sympy.Le(2 * u0, s0 - 1), sympy.Eq(u0, s0 * s1),
        sympy.And(sympy.Ge(u0, 0), sympy.Le(u0, 10)), sympy.Or(sympy.Eq(u0, 0), sympy.Ge(u0, 2)),
        sympy.Not(sympy.Eq(s0, u0)), sympy.And(sympy.Ne(u0, 1), sympy.Or(sympy.Lt(u1, 0), sympy.Eq(u1, 3))),
        sympy.Ge(F.Mod(u0, 3), 1), sympy.Eq(F.Where(sympy.Gt(u0, 0), u0, 0), 4),
        sympy.true, sympy.false,
        # numbers and printer corners
        I(0), I(7), I(-3), R(3, 4), R(-1, 2), s0 / 2, 3 * s0 / 2, -s0 / 2, s0 * s1 / 3, s0 / 2 + 1, s0 / 2 - R(1, 3),
        s0 / s1, s1 / s0, 1 / s0, 2 / s0, s0**-2, s0 / s1**2, s0 / (s1 + 1), (s0 + 1) / (s1 + 1), -s0 / (2 * s1),
        s0 / (s1 * s2), s2 / (s0 * s1), sympy.sqrt(s0), s0 ** R(3, 2), 1 / sympy.sqrt(s0), (s0 + 1) ** 2,
        2**s0, 2 ** (-s0), s0 ** (s1 + 1), s0 ** (-s1), (2 * s0) ** s1, -(s0**2), -2 * (s0 + 1) * s1,
        Fl(2.5) * s0, -Fl(2.5) * s0, Fl(0.1) * s0 + 1, Fl(1e20) * s0, Fl(2.5), Fl(-0.125), s0 + Fl(0.5),
        sympy.Eq(F.ToFloat(s0), Fl(2.0)), S.x * s0 + 1, S.zf0 + 1,
    ]


def random_cases(F, S, rng: random.Random, count: int):
    """Random sums, products, powers and functions of s0..s3, u0 and small integers."""
    syms = [S.s0, S.s1, S.s2, S.s3, S.u0]

    def leaf():
        if rng.random() < 0.7:
            return rng.choice(syms)
        return sympy.Integer(rng.choice([-3, -2, -1, 1, 2, 3, 4, 5, 7, 8, 16]))

    def small():
        return sympy.Integer(rng.choice([2, 3, 4, 8]))

    def arith(depth):
        if depth == 0:
            return leaf()
        k = rng.randrange(16)
        a = lambda: arith(depth - 1)  # noqa: E731
        if k == 0:
            return a() + a()
        if k == 1:
            return a() + a() + a()
        if k == 2:
            return a() - a()
        if k == 3:
            return a() * a()
        if k == 4:
            return rng.choice([-4, -3, -2, -1, 2, 3, 16]) * a() + rng.choice([-1, 0, 1, 5])
        if k == 5:
            return a() ** rng.choice([2, 3])
        if k == 6:
            return F.FloorDiv(a(), rng.choice([small(), rng.choice(syms[:4])]))
        if k == 7:
            return F.Mod(a(), small())
        if k == 8:
            return F.PythonMod(a(), small())
        if k == 9:
            return rng.choice([F.Max, F.Min])(a(), a())
        if k == 10:
            return F.ModularIndexing(a(), small(), small())
        if k == 11:
            return rng.choice([F.CeilToInt, F.FloorToInt])(F.IntTrueDiv(a(), small()))
        if k == 12:
            return F.CleanDiv(a(), small())
        if k == 13:
            return F.Where(relation(depth - 1), a(), a())
        if k == 14:
            return a() / small()
        return a() * a() - a()

    def relation(depth):
        op = rng.choice([sympy.Eq, sympy.Ne, sympy.Lt, sympy.Le, sympy.Gt, sympy.Ge])
        return op(arith(depth), arith(max(depth - 1, 0)))

    def boolean(depth):
        k = rng.randrange(4)
        if k == 0:
            return sympy.And(relation(depth), relation(depth))
        if k == 1:
            return sympy.Or(relation(depth), relation(depth))
        if k == 2:
            return sympy.Not(relation(depth))
        return relation(depth)

    out = []
    seen = set()
    while len(out) < count:
        try:
            e = boolean(rng.randrange(1, 3)) if rng.random() < 0.2 else arith(rng.randrange(1, 4))
        except (ZeroDivisionError, ValueError, TypeError):
            continue
        key = sympy.srepr(e)
        if key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out


SYMBOL = re.compile(r"Symbol\('([^']+)'((?:, \w+=(?:True|False))*)\)")


def free_symbols(srepr: str):
    """Symbols in order of first appearance in srepr, with their assumptions in srepr order."""
    out = {}
    for m in SYMBOL.finditer(srepr):
        if m.group(1) not in out:
            out[m.group(1)] = [[k, v == "True"] for k, v in re.findall(r"(\w+)=(True|False)", m.group(2))]
    return out


def value_of(e, values):
    """The value at ``values``: every symbol replaced at once and the tree rebuilt bottom-up (``xreplace``), so
    that every argument is evaluated (``subs`` substitutes one symbol at a time and can decide a ``Where`` or an
    ``And`` before the other symbols are known)."""
    try:
        v = e.xreplace({k: sympy.Integer(n) for k, n in values.items()}) if values else e
    except (ZeroDivisionError, ValueError, TypeError, AssertionError):
        return None
    if v is sympy.true or v is sympy.false:
        return bool(v)
    if isinstance(v, sympy.Integer):
        return str(int(v))
    return None


def case(e, rng: random.Random):
    srepr = sympy.srepr(e)
    syms = free_symbols(srepr)
    by_name = {s.name: s for s in e.free_symbols}
    values = {}
    for name in syms:
        if name.startswith("s"):
            values[name] = rng.randint(1, 40)
        elif name.startswith("u"):
            values[name] = rng.randint(-5, 20)
    expected = value_of(e, {by_name[n]: v for n, v in values.items()}) if len(values) == len(syms) else None
    return {
        "str": str(e),
        "text": text(e),
        "srepr": srepr,
        "freeSymbols": list(syms),
        "assumptions": syms,
        "values": values,
        "expected": expected,
    }


def build(F, seed=SEED, count=RANDOM_CASES):
    S = symbols()
    rng = random.Random(seed)
    exprs = [("hand", e) for e in hand_cases(F, S)] + [("random", e) for e in random_cases(F, S, rng, count)]
    values_rng = random.Random(seed + 1)
    return [{"origin": origin, **case(e, values_rng)} for origin, e in exprs]


def check_torch(cases) -> int:
    """Compare with torch's own classes: the hand-written cases built with them, and every case read back from its
    srepr the way torch's deserializer does (``sympify`` with torch's functions). Reports each difference."""
    import torch.utils._sympy.functions as T

    F = SimpleNamespace(**{name: getattr(T, name, getattr(STAND_INS, name)) for name in vars(STAND_INS)})
    bad = 0
    hand = [c for c in cases if c["origin"] == "hand"]
    for mine, expr in zip(hand, hand_cases(F, symbols())):
        for key, theirs in (("str", str(expr)), ("srepr", sympy.srepr(expr))):
            if mine[key] != theirs:
                bad += 1
                print(f"built {key}: stand-in {mine[key]!r} torch {theirs!r}")
    ns = {name: getattr(sympy, name) for name in dir(sympy) if not name.startswith("_")}
    ns.update({name: getattr(T, name) for name in dir(T) if not name.startswith("_")})
    for c in cases:
        try:
            expr = eval(c["srepr"], ns)  # noqa: S307 - our own fixture text
        except Exception as e:  # noqa: BLE001
            bad += 1
            print(f"read {c['srepr']!r}: {type(e).__name__} {e}")
            continue
        for key, theirs in (("str", str(expr)), ("srepr", sympy.srepr(expr))):
            if c[key] != theirs:
                bad += 1
                print(f"read {key}: stand-in {c[key]!r} torch {theirs!r}")
    print(f"torch {T.__file__}; sympy {sympy.__version__}; {len(cases)} cases, {bad} differences")
    return bad


def main(argv) -> int:
    if tuple(int(x) for x in re.findall(r"\d+", sympy.__version__)[:2]) < (1, 13):
        print(f"warning: sympy {sympy.__version__}; torch 2.11 uses sympy >= 1.13", file=sys.stderr)
    # --seed S --random N: another random set (for a wider check than the fixture's).
    opts = {k: int(v) for k, v in zip(argv[1:], argv[2:]) if k in ("--seed", "--random")}
    cases = build(STAND_INS, opts.get("--seed", SEED), opts.get("--random", RANDOM_CASES))
    if "--check-torch" in argv:
        return 1 if check_torch(cases) else 0
    paths = [a for i, a in enumerate(argv) if i > 0 and not a.startswith("--") and argv[i - 1] not in opts]
    out = paths[0] if paths else "test/fixtures/symexpr/cases.json"
    doc = {
        "about": "str/srepr of symbolic expressions as sympy prints them for torch; made by "
        "python/tests/make_symexpr_fixtures.py (stand-ins for torch/utils/_sympy/functions.py)",
        "sympy": sympy.__version__,
        "seed": opts.get("--seed", SEED),
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    hand = sum(1 for c in cases if c["origin"] == "hand")
    print(f"wrote {len(cases)} cases ({hand} hand-written, {len(cases) - hand} random) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
