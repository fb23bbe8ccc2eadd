"""Writes tests/fixtures/real_ufuncs_float32.txt and real_ufuncs_float64.txt:
numpy's results for every real float ufunc on a dense set of inputs (tiny and
subnormal, near 1 and -1, near overflow, large trigonometric arguments, a
logarithmic sweep of the whole range, random values), which
tests/support/ufuncs.rs checks within a few ulp.

Usage: python3 make_real_ufunc_fixtures.py tests/fixtures

Format, every number as the hex of its IEEE bits, one a line (lines starting
with # are comments):
  unary DTYPE N      then N inputs X of DTYPE, one a line
  u NAME             then numpy.NAME(X) for each of the N inputs
  binary DTYPE M     then M lines `X1 X2`
  b NAME             then numpy.NAME(X1, X2) for each of the M pairs
Integer inputs (numpy converts them to the file's float type before the
function: int16 to float32, int64 and uint64 to float64) are decimal. numpy computes float32 functions in
float32, so each file holds numpy's own results in that type."""
import os
import sys

import numpy as np

INT_UNARY = ["sqrt", "exp", "expm1", "log", "log10", "log1p", "sin", "cos",
             "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
             "arcsinh", "arccosh", "arctanh"]
INT_BINARY = ["arctan2", "hypot"]
UNARY = ["sqrt", "exp", "expm1", "log", "log10", "log1p", "sin", "cos", "tan",
         "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
         "arccosh", "arctanh", "reciprocal", "square", "rint", "sign",
         "absolute", "negative"]
BINARY = ["power", "arctan2", "hypot", "true_divide", "fmod", "remainder",
          "floor_divide"]


def unary_inputs(t):
    fi = np.finfo(t)
    rng = np.random.default_rng(20261201)
    one = t(1)
    xs = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0,
          np.pi / 2, np.pi, 2 * np.pi, 0.1, 10.0, 100.0]
    # Tiny, subnormal and the largest finite values.
    tiny = [fi.smallest_subnormal, fi.smallest_subnormal * 3,
            fi.smallest_normal, fi.smallest_normal / 2,
            np.nextafter(fi.smallest_normal, t(0)), fi.max,
            np.nextafter(fi.max, t(0)), fi.max / 2, fi.max / 3]
    xs += tiny + [-v for v in tiny]
    # A logarithmic sweep of the whole range, both signs.
    e_lo, e_hi = (-149, 128) if t == np.float32 else (-1074, 1024)
    step = 2 if t == np.float32 else 9
    for e in range(e_lo, e_hi, step):
        for m in (1.0, 1.77):
            v = np.ldexp(t(m), e)
            if np.isfinite(v) and v != 0:
                xs += [v, -v]
    # Near 1 and -1 (arctanh, arccosh, log, log1p, arcsin, arccos).
    for k in range(1, 24 if t == np.float32 else 53):
        d = np.ldexp(one, -k)
        xs += [one - d, one + d, -(one - d), -(one + d)]
    for k in range(1, 12):
        below = one
        above = one
        for _ in range(k):
            below = np.nextafter(below, t(0))
            above = np.nextafter(above, t(2))
        xs += [below, above, -below, -above]
    # Near the overflow (and underflow) thresholds of exp, sinh, cosh, expm1.
    for c in ([88.7228, 89.4159, -87.3365, -103.279, 88.0, -88.0] if t == np.float32
              else [709.782712893384, 710.4758600739439, -708.3964185322641, -745.1332191019411, 709.0, -709.0]):
        v = t(c)
        for _ in range(3):
            xs += [v, -v]
            v = np.nextafter(v, t(0))
        v = t(c)
        for _ in range(3):
            v = np.nextafter(v, t(np.inf) if c > 0 else t(-np.inf))
            xs += [v, -v]
    # Large trigonometric arguments, and near multiples of pi/2.
    for v in [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 3.0e9, 1e15, 1e22, 1e30, 1e100, 1e200, 1e300]:
        if np.isfinite(t(v)):
            xs += [v, -v, v * 1.2345]
    for k in [1, 2, 3, 5, 10, 100, 1000, 10**5, 10**7]:
        v = t(k * np.pi / 2)
        xs += [v, np.nextafter(v, t(0)), np.nextafter(v, t(np.inf))]
    # Random values on a few scales.
    for scale in (1.0, 10.0, 1000.0):
        xs += list(rng.uniform(-scale, scale, 120))
    xs += list(np.ldexp(rng.uniform(1, 2, 120), rng.integers(e_lo + 30, e_hi - 30, 120)) * rng.choice([-1, 1], 120))
    return np.array(xs, dtype=t)


def binary_inputs(t):
    fi = np.finfo(t)
    rng = np.random.default_rng(11235)
    base = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 10.0, 0.1,
            np.pi, -np.e, 1e-3, 1e3, 12345.678, -7.25, np.inf, -np.inf, np.nan,
            fi.smallest_subnormal, fi.smallest_normal, fi.max, -fi.max,
            fi.max / 4, np.nextafter(t(1), t(0)), np.nextafter(t(1), t(2)),
            1e-30, 1e30, 2.5, -2.5, 0.75, 100.5]
    base = np.array(base, dtype=t)
    a, b = np.meshgrid(base, base, indexing="ij")
    a, b = list(a.ravel()), list(b.ravel())
    # Random pairs: moderate, wide-range, and bases near 1 with large powers.
    for lo, hi in ((-10, 10), (-1000, 1000)):
        a += list(rng.uniform(lo, hi, 300))
        b += list(rng.uniform(lo, hi, 300))
    e_lo, e_hi = (-140, 120) if t == np.float32 else (-1000, 1000)
    for _ in range(2):
        a += list(np.ldexp(rng.uniform(1, 2, 300), rng.integers(e_lo, e_hi, 300)) * rng.choice([-1, 1], 300))
        b += list(np.ldexp(rng.uniform(1, 2, 300), rng.integers(e_lo, e_hi, 300)) * rng.choice([-1, 1], 300))
    a += list(1 + rng.uniform(-1e-3, 1e-3, 200))
    b += list(rng.uniform(-1e4, 1e4, 200))
    a += list(rng.uniform(0, 10, 200))
    b += list(rng.uniform(-30, 30, 200))
    return np.array(a, dtype=t), np.array(b, dtype=t)


def int_inputs(t):
    info = np.iinfo(t)
    rng = np.random.default_rng(int(info.bits))
    xs = [0, 1, 2, 3, 10, 100, 1000, info.max, info.max - 1, info.max // 2, info.min, info.min + 1]
    xs += [v for v in (-1, -2, -10, -1000) if info.min < 0]
    xs += [2**k for k in range(info.bits - 1)] + [2**k - 1 for k in range(2, info.bits - 1)]
    xs += list(rng.integers(info.min, info.max, 100, dtype=t, endpoint=True))
    return np.array(xs, dtype=t)


def hexbits(t, v):
    if np.dtype(t).kind in "iu":
        return "%d" % v
    if t == np.float32:
        return "%08x" % np.array(v, dtype=t).view(np.uint32)
    return "%016x" % np.array(v, dtype=t).view(np.uint64)


def main():
    out = sys.argv[1]
    for t in (np.float32, np.float64):
        name = np.dtype(t).name
        lines = ["# numpy %s results for %s (tests/interop/make_real_ufunc_fixtures.py)" % (np.__version__, name)]
        with np.errstate(all="ignore"):
            xs = unary_inputs(t)
            lines += ["unary %s %d" % (name, len(xs))] + [hexbits(t, x) for x in xs]
            for f in UNARY:
                ys = getattr(np, f)(xs)
                assert ys.dtype == t, (f, ys.dtype)
                lines += ["u %s" % f] + [hexbits(t, y) for y in ys]
            a, b = binary_inputs(t)
            lines += ["binary %s %d" % (name, len(a))] + ["%s %s" % (hexbits(t, x1), hexbits(t, x2)) for x1, x2 in zip(a, b)]
            for f in BINARY:
                ys = getattr(np, f)(a, b)
                assert ys.dtype == t, (f, ys.dtype)
                lines += ["b %s" % f] + [hexbits(t, y) for y in ys]
            for it in ((np.int16,) if t == np.float32 else (np.int64, np.uint64)):
                xs = int_inputs(it)
                lines += ["unary %s %d" % (np.dtype(it).name, len(xs))] + [hexbits(it, x) for x in xs]
                for f in INT_UNARY:
                    ys = getattr(np, f)(xs)
                    assert ys.dtype == t, (f, it, ys.dtype)
                    lines += ["u %s" % f] + [hexbits(t, y) for y in ys]
                a, b = xs[:, None] * np.ones(len(xs), dtype=it), xs[None, :] * np.ones((len(xs), 1), dtype=it)
                pick = np.random.default_rng(7).choice(a.size, 400, replace=False)
                a, b = a.ravel()[pick], b.ravel()[pick]
                lines += ["binary %s %d" % (np.dtype(it).name, len(a))] + ["%s %s" % (hexbits(it, x1), hexbits(it, x2)) for x1, x2 in zip(a, b)]
                for f in INT_BINARY:
                    ys = getattr(np, f)(a, b)
                    assert ys.dtype == t, (f, it, ys.dtype)
                    lines += ["b %s" % f] + [hexbits(t, y) for y in ys]
        with open(os.path.join(out, "real_ufuncs_%s.txt" % name), "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
