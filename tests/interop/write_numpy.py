"""Writes .npy files with numpy for the Rust interop tests: C and Fortran
order, both byte orders. Element k (row-major) of each array is k % 100
(complex: k + 0.25 - 1j*k, bool: k % 3 == 1). Usage: write_numpy.py DIR"""
import sys, os
import numpy as np

out = sys.argv[1]
def sample(shape, dtype):
    k = np.arange(int(np.prod(shape))).reshape(shape)
    if np.dtype(dtype).kind == 'c':
        return (k + 0.25 - 1j * k).astype(dtype)
    if np.dtype(dtype).kind == 'b':
        return (k % 3 == 1)
    return (k % 100).astype(dtype)

for name, shape, dtype, order in [
    ("c_f8", (5, 6), "<f8", "C"),
    ("f_i4", (5, 6), "<i4", "F"),
    ("be_f8", (4, 3, 5), ">f8", "C"),
    ("be_f_c16", (6, 4), ">c16", "F"),
    ("be_u2", (9,), ">u2", "C"),
    ("bool", (7, 3), "|b1", "F"),
]:
    a = np.asarray(sample(shape, dtype), dtype=dtype, order=order)
    if order == "F":
        a = np.asfortranarray(a)
    np.save(os.path.join(out, name + ".npy"), a)
