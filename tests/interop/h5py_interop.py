"""HDF5 interop with h5py for the Rust tests (tests/hdf5.rs).

Element k (row-major) of every array is the one of tests/support/io.rs's
`Sample`: k % 100 for integers and floats, k % 3 == 1 for bool,
k - 0.5j*k for complex64 and k + 0.25 - 1j*k for complex128.

Usage:
  h5py_interop.py write DIR   writes DIR/h5py.h5 (C order): one dataset per
                              dtype named after it, shape (5, 6), plus
                              "float64_be" (big-endian, 3x4x5),
                              "group/int32" (7,), and for bad input
                              "bad_bool" (an h5py bool holding 2) and
                              "strings" (S3)
  h5py_interop.py check FILE KEY:SHAPE:DTYPE ...
                              checks that FILE holds each dataset KEY with
                              that shape (e.g. 5x6) and dtype and the sample
                              values
"""
import sys
import numpy as np
import h5py

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64", "complex64", "complex128"]


def sample(shape, dtype):
    k = np.arange(int(np.prod(shape))).reshape(shape)
    dtype = np.dtype(dtype)
    if dtype == np.complex64:
        return (k - 0.5j * k).astype(dtype)
    if dtype.kind == "c":
        return (k + 0.25 - 1j * k).astype(dtype)
    if dtype.kind == "b":
        return k % 3 == 1
    return (k % 100).astype(dtype)


def write(out):
    with h5py.File(out + "/h5py.h5", "w") as f:
        for name in DTYPES:
            f.create_dataset(name, data=sample((5, 6), name))
        f.create_dataset("float64_be", data=sample((3, 4, 5), "f8").astype(">f8"))
        f.create_group("group").create_dataset("int32", data=sample((7,), "i4"))
        # Bad input: an h5py bool (enum) holding a byte other than 0 or 1, and
        # fixed-length strings.
        bool_enum = h5py.enum_dtype({"FALSE": 0, "TRUE": 1}, basetype="i1")
        f.create_dataset("bad_bool", data=np.array([0, 1, 2, 1], dtype="i1"), dtype=bool_enum)
        f.create_dataset("strings", data=np.array([b"abc", b"de"], dtype="S3"))
    print("wrote", out + "/h5py.h5")


def check(path, specs):
    failures = []
    with h5py.File(path, "r") as f:
        for spec in specs:
            key, shape, dtype = spec.split(":")
            shape = tuple(int(s) for s in shape.split("x")) if shape else ()
            if key not in f:
                failures.append(f"{key}: missing (the file holds {list(f.keys())})")
                continue
            d = f[key]
            if d.dtype != np.dtype(dtype):
                failures.append(f"{key}: dtype {d.dtype}, expected {dtype}")
            if d.shape != shape:
                failures.append(f"{key}: shape {d.shape}, expected {shape}")
                continue
            if not np.array_equal(d[...], sample(shape, dtype)):
                failures.append(f"{key}: values differ:\n{d[...]}\nexpected\n{sample(shape, dtype)}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("checked", len(specs), "datasets of", path)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3:])
