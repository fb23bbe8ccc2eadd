"""numpy's complex ufuncs on a dense set of edge inputs, as the reference for
the complex checks of tests/support/ufuncs.rs.

Prints one line per element: `DTYPE FUNC IN... = OUT...`, every float as the
hexadecimal bit pattern of its IEEE value (`complex64` parts as 32-bit,
`complex128` parts as 64-bit patterns), comparisons as 0 or 1. DTYPE is
`complex64` or `complex128`. Unary functions take one complex input, binary
ones two; the inputs are all pairs (re, im) of the edge values below: signed
zeros, subnormal and tiny values, +-1 and its neighbours (branch points), 2
(the cuts of arccos and arctanh), huge values up to the largest finite one,
+-inf and NaN, and a few ordinary values. Binary functions take every pair
of a smaller set of such numbers (power also integer and complex exponents),
comparisons every pair of numbers with parts 0, -0, 1, -1, inf and NaN.
Lines of DTYPE `complex64/random` and `complex128/random` hold the unary
functions of random ordinary arguments (numpy itself is a few ulps from the
exact result there, in complex64 too).
"""
import sys
import warnings

import numpy as np

UNARY = ["square", "reciprocal", "sqrt", "exp", "expm1", "log", "log10", "log1p",
         "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
         "arcsinh", "arccosh", "arctanh", "sign", "negative", "conjugate"]
BINARY = ["power", "true_divide", "multiply", "add", "subtract"]
COMPARE = ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]

INF, NAN = float("inf"), float("nan")


def edges(ftype):
    fi = np.finfo(ftype)
    eps = float(fi.eps)
    if ftype == np.float32:
        tiny, small, big, huge, exp_big = 1e-40, 1e-30, 1e10, 1e30, 100.0
    else:
        tiny, small, big, huge, exp_big = 1e-300, 1e-200, 1e10, 1e300, 720.0
    values = [0.0, -0.0, float(fi.smallest_subnormal), tiny, -tiny, small, 1e-10, -1e-10,
              0.5, -0.5, 0.75, 1.0, -1.0, 1.0 + eps, 1.0 - eps / 2, -1.0 - eps, 2.0, -2.0,
              3.0, 30.0, -30.0, exp_big, -exp_big, big, -big, huge, -huge, 0.3, -1.7, 1e-5, 1e5,
              float(fi.max), -float(fi.max), INF, -INF, NAN]
    return [ftype(v) for v in values]


def bits(ftype, v):
    ut = np.uint32 if ftype == np.float32 else np.uint64
    return "%x" % int(np.array(v, dtype=ftype).view(ut))


def main():
    out = sys.stdout
    for ctype, ftype in [(np.complex64, np.float32), (np.complex128, np.float64)]:
        name = np.dtype(ctype).name
        e = edges(ftype)
        grid = np.array([complex(re, im) for re in e for im in e], dtype=ctype)
        # Binary inputs: every pair from a smaller set of values.
        few = [ftype(v) for v in [0.0, -0.0, 0.5, 1.0, -1.0, 2.0, -2.5, INF, -INF, NAN]]
        small_grid = np.array([complex(re, im) for re in few for im in few], dtype=ctype)
        a2 = np.repeat(small_grid, len(small_grid))
        b2 = np.tile(small_grid, len(small_grid))
        # power: also integer exponents up to numpy's limit of 100 for exact
        # multiplication, and complex ones.
        exponents = np.array([3, -3, 7, -8, 99, -99, 100, 1.5, 1 + 1j, 0.5 - 2j, -1 - 1j, 1e-10j,
                              complex(0, INF), complex(INF, 1)], dtype=ctype)
        a_pow = np.concatenate([a2, np.repeat(small_grid, len(exponents))])
        b_pow = np.concatenate([b2, np.tile(exponents, len(small_grid))])
        cmp_values = [ftype(v) for v in [0.0, -0.0, 1.0, -1.0, INF, NAN]]
        cmp_grid = np.array([complex(re, im) for re in cmp_values for im in cmp_values], dtype=ctype)
        a3 = np.repeat(cmp_grid, len(cmp_grid))
        b3 = np.tile(cmp_grid, len(cmp_grid))
        f = lambda v: bits(ftype, v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fn in UNARY:
                r = getattr(np, fn)(grid)
                assert r.dtype == grid.dtype, (fn, r.dtype)
                for z, w in zip(grid, r):
                    out.write(f"{name} {fn} {f(z.real)} {f(z.imag)} = {f(w.real)} {f(w.imag)}\n")
            # absolute is real: its imaginary part is written as +0.
            for z, w in zip(grid, np.absolute(grid)):
                out.write(f"{name} absolute {f(z.real)} {f(z.imag)} = {f(w)} 0\n")
            # Ordinary arguments, random (fixed seed): moduli from 1e-3 to
            # 1e3 (complex64) or 1e-8 to 1e8 (complex128), half of them
            # between -3 and 3. Lines of DTYPE/random.
            rng = np.random.default_rng(13)
            n, span = 2000, (3 if ftype == np.float32 else 8)
            parts = np.where(rng.random((2, n)) < 0.5, rng.uniform(-3, 3, (2, n)),
                             rng.choice([-1.0, 1.0], (2, n)) * 10.0 ** rng.uniform(-span, span, (2, n)))
            ordinary = (parts[0] + 1j * parts[1]).astype(ctype)
            for fn in UNARY:
                r = getattr(np, fn)(ordinary)
                for z, w in zip(ordinary, r):
                    out.write(f"{name}/random {fn} {f(z.real)} {f(z.imag)} = {f(w.real)} {f(w.imag)}\n")
            for fn in BINARY:
                a, b = (a_pow, b_pow) if fn == "power" else (a2, b2)
                r = getattr(np, fn)(a, b)
                for x, y, w in zip(a, b, r):
                    out.write(f"{name} {fn} {f(x.real)} {f(x.imag)} {f(y.real)} {f(y.imag)} = {f(w.real)} {f(w.imag)}\n")
            for fn in COMPARE:
                r = getattr(np, fn)(a3, b3)
                for x, y, w in zip(a3, b3, r):
                    out.write(f"{name} {fn} {f(x.real)} {f(x.imag)} {f(y.real)} {f(y.imag)} = {int(w)}\n")


if __name__ == "__main__":
    main()
