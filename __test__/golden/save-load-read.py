"""Reads a safetensors file with nothing but the standard library and numpy, independently of
backprop's reader, and prints one tensor and the metadata as JSON. Used by save-load.test.ts.

  python3 save-load-read.py FILE TENSOR_NAME
"""
import json
import struct
import sys

import numpy as np

path, name = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    raw = f.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8 : 8 + n])
entry = header[name]
begin, end = entry["data_offsets"]
assert entry["dtype"] == "F32", entry["dtype"]
values = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype="<f4").reshape(entry["shape"])
# Every tensor's bytes lie inside the data section, and together they cover it exactly.
spans = sorted(tuple(e["data_offsets"]) for k, e in header.items() if k != "__metadata__")
assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])), spans
assert spans[-1][1] == len(raw) - 8 - n, (spans[-1], len(raw) - 8 - n)
print(json.dumps({
    "shape": list(values.shape),
    # float32 → Python float is exact, and JSON round-trips doubles exactly.
    "values": [float(v) for v in values.reshape(-1)],
    "metadata": header.get("__metadata__"),
}))
