"""numpy on this machine, one core, for the cases of benches/perf.rs that
numpy has: prints `case<TAB>seconds` lines whose case names are the bench's,
so scripts/perf.sh can put numpy beside distarray in one table. Best of 5,
as the bench; inputs built as the bench builds them."""

import sys
import time

import numpy as np

REPS = 5


def best(f):
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def elementwise(log2):
    n = 1 << log2
    a = np.sin(np.arange(n, dtype=np.float64) * 1e-3)
    b = a * 0.5
    c = a + 2.0
    print(f"`a * b + c`, 2^{log2} f64, operators\t{best(lambda: a * b + c)}")
    print(f"`((a + b) * c - 1.5) * 0.5`, 2^{log2} f64, operators\t{best(lambda: ((a + b) * c - 1.5) * 0.5)}")
    d = a.copy()

    def in_place():
        d.__imul__(b)
        d.__iadd__(c)

    print(f"`d *= b; d += c`, 2^{log2} f64, in place\t{best(in_place)}")


def reductions(side):
    i = np.arange(side * side, dtype=np.int64).reshape(side, side)
    a = (i % 1000).astype(np.float64) * 0.25
    label = lambda what: f"`{what}`, {side}x{side} f64"  # noqa: E731
    print(f"{label('sum()')}\t{best(lambda: a.sum())}")
    print(f"{label('sum(axis=0)')}\t{best(lambda: a.sum(axis=0))}")
    print(f"{label('var()')}\t{best(lambda: a.var())}")


def main():
    quick = len(sys.argv) > 1 and sys.argv[1] == "--quick"
    if quick:
        elementwise(12)
        reductions(64)
        return
    elementwise(18)
    elementwise(24)
    elementwise(26)
    reductions(4096)


if __name__ == "__main__":
    main()
