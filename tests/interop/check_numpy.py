"""Checks the .npy files the Rust tests wrote: NAME:SHAPE:DTYPE arguments
after the directory, e.g. `check_numpy.py DIR f8_2d:5x6:float64`; element k
(row-major) must be k % 100 (complex: k + 0.25 - 1j*k, bool: k % 3 == 1)."""
import sys, os
import numpy as np

out = sys.argv[1]
for spec in sys.argv[2:]:
    name, shape, dtype = spec.split(":")
    shape = tuple(int(s) for s in shape.split("x"))
    a = np.load(os.path.join(out, name + ".npy"))
    k = np.arange(int(np.prod(shape))).reshape(shape)
    if np.dtype(dtype).kind == 'c':
        want = (k + 0.25 - 1j * k).astype(dtype)
    elif np.dtype(dtype).kind == 'b':
        want = k % 3 == 1
    else:
        want = (k % 100).astype(dtype)
    assert a.dtype == np.dtype(dtype), (name, a.dtype, dtype)
    assert a.shape == shape, (name, a.shape, shape)
    assert np.array_equal(a, want), (name, a, want)
print("ok")
