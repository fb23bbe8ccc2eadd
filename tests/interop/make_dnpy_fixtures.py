"""Builds the .dnpy fixtures in tests/fixtures byte by byte from the format
Python DistArray documents (no numpy, no distarray): magic \\x93DARRY, version
1.0, u16 LE header length, the Python-literal header padded with spaces and a
newline to a multiple of 16, then a .npy 1.0 stream padded the same way.
Usage: python3 make_dnpy_fixtures.py tests/fixtures"""
import struct, sys, os

def padded(prefix, text):
    topad = 16 - (len(prefix) + 2 + len(text) + 1) % 16
    text = text + " " * topad + "\n"
    return prefix + struct.pack("<H", len(text)) + text.encode("ascii")

def npy(descr, shape, data):
    shape_s = "(%s)" % (", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    head = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
    return padded(b"\x93NUMPY\x01\x00", head) + data

def dnpy(dim_data, npy_bytes, old=False):
    magic = b"\x93DARRY\x01\x00"
    head = "{'__version__': '0.10.0', 'dim_data': %s, }" % dim_data
    prefix = magic + magic if old else magic
    return padded(prefix, head) + npy_bytes

out = sys.argv[1]
def write(name, b):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)

# The example of the reference: 1-D block, size 10, two ranks; float64 0..9.
for rank, (start, stop) in enumerate([(0, 5), (5, 10)]):
    dd = "({'dist_type': 'b', 'size': 10, 'proc_grid_rank': %d, 'proc_grid_size': 2, 'start': %d, 'stop': %d},)" % (rank, start, stop)
    data = struct.pack("<%dd" % (stop - start), *range(start, stop))
    write("block10_%d.dnpy" % rank, dnpy(dd, npy("<f8", (stop - start,), data)))
    # The same before DistArray 0.6: the magic twice.
    write("old_block10_%d.dnpy" % rank, dnpy(dd, npy("<f8", (stop - start,), data), old=True))

# 2-D: rows block-cyclic (block 1) on 2 ranks, columns unstructured on 1 rank
# with numpy's array(...) repr; int32 big-endian; element (i, j) = 10 i + j.
for rank in range(2):
    rows = [i for i in range(5) if i % 2 == rank]
    cols = [3, 0, 2, 1]
    dd = ("({'dist_type': 'c', 'size': 5, 'proc_grid_rank': %d, 'proc_grid_size': 2, 'start': %d}, "
          "{'dist_type': 'u', 'size': 4, 'proc_grid_rank': 0, 'proc_grid_size': 1, 'indices': array([3, 0, 2, 1])})" % (rank, rank))
    values = [10 * i + j for i in rows for j in cols]
    data = struct.pack(">%di" % len(values), *values)
    write("cyclic_u_%d.dnpy" % rank, dnpy(dd, npy(">i4", (len(rows), 4), data)))
