"""Rewrites an SMQ statistics file of format 3 as format 2: the same
statistics without the calibration windows (docs/StatsFormat.md), as an
older smq-calibrate wrote them."""
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
assert data[:8] == b"SMQSTATS" and struct.unpack_from("<I", data, 8)[0] == 3
at = 16
(n,) = struct.unpack_from("<Q", data, at)
at += 8 + n  # provenance
sequences, length = struct.unpack_from("<QQ", data, at)
at += 16 + 8 * sequences * length  # held-out tokens
windows_at = at
windows, length = struct.unpack_from("<QQ", data, at)
at += 16 + 8 * windows * length + 8 + 8 + 1  # windows, seed, holdout, diag
out = bytearray(data[:windows_at] + data[at:])
struct.pack_into("<I", out, 8, 2)
open(dst, "wb").write(bytes(out))
