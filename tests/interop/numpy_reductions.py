"""Prints numpy's mean/var/std of the data tests/reductions.rs reduces, one
result a line as `NAME HEX HEX ...` (the f64 bits of each value, C order):
1e9 + 0.01 * noise (splitmix64 of the flat index, as unit_noise in
tests/support/reductions.rs) of shape (40, 64), and a (6, 7) array of
(k * 13 % 17) * 0.5 - 4 + 1e3 with +inf at flat indices 3 and 24 and -inf
at 10 and 40; and numpy's sum along axis 0 of a (37, 10) array whose
sums round differently in every order ((k * 7919 % 1013) * 0.1 + 1e6 *
(k % 3 - 1)): row after row, whose bits distarray keeps where axis 0 is
not split."""
import numpy as np

M = (1 << 64) - 1


def unit_noise(k):
    z = ((k + 1) * 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def show(name, values):
    values = np.asarray(values, dtype=np.float64).ravel()
    print(name, " ".join("%016x" % v for v in values.view(np.uint64)))


offset = np.array([1e9 + 0.01 * unit_noise(k) for k in range(40 * 64)]).reshape(40, 64)
show("offset_var_all_ddof0", offset.var())
show("offset_var_axis0_ddof0", offset.var(axis=0))
show("offset_var_axis1_ddof1", offset.var(axis=1, ddof=1))
show("offset_std_axis0_ddof1", offset.std(axis=0, ddof=1))

inf = np.array([(k * 13 % 17) * 0.5 - 4.0 + 1e3 for k in range(42)])
inf[[3, 24]] = np.inf
inf[[10, 40]] = -np.inf
inf = inf.reshape(6, 7)
with np.errstate(invalid="ignore"):
    show("inf_mean_all", inf.mean())
    show("inf_mean_axis0", inf.mean(axis=0))
    show("inf_mean_axis1", inf.mean(axis=1))
    show("inf_var_axis0_ddof0", inf.var(axis=0))
    show("inf_std_axis1_ddof1", inf.std(axis=1, ddof=1))

rows = np.array([((k * 7919) % 1013) * 0.1 + 1e6 * (k % 3 - 1) for k in range(37 * 10)]).reshape(37, 10)
show("rows_sum_axis0", rows.sum(axis=0))
