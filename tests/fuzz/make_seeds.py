#!/usr/bin/env python3
"""Writes seed inputs for a fuzz target from tests/data/vectors.json."""
import json
import os
import sys

target, out = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
vec = json.load(open(os.path.join(here, "..", "data", "vectors.json")))
seeds = []
if target == "fuzz_segment":
    for s in vec["segments"]:
        if "segment_hex" in s:
            fmt = b"\x01" if s["format"] == "lz4" else b"\x00"
            seeds.append(fmt + b"\x07" + bytes.fromhex(s["segment_hex"]))
    for f in vec["derived_frames"]:
        if "segment_hex" in f:
            seeds.append(b"\x00\x03" + bytes.fromhex(f["segment_hex"]))
elif target == "fuzz_envelope":
    for f in vec["derived_frames"]:
        if "envelope_hex" in f:
            seeds.append(bytes.fromhex(f["envelope_hex"]))
elif target == "fuzz_result":
    for m in vec["messages"]:
        seeds.append(bytes.fromhex(m["body_hex"]))
elif target == "fuzz_value":
    # Byte 0 picks the type from the target's table: read the table's names
    # from the source so seeds follow it.
    import re
    src = open(os.path.join(here, "fuzz_value.cpp")).read()
    block = src[src.index("const char* names[] = {"):]
    block = block[:block.index("};")]
    names = re.findall(r'"([^"]+)"', block)
    for t in vec["types"]:
        name = t["cql_type"].split(" ")[0]
        if name in names:
            seeds.append(bytes([names.index(name)]) + bytes.fromhex(t["hex"]))
elif target == "fuzz_parquet":
    # Files made by our writer: the target writes them itself (it links the
    # writer). It sits at build/fuzz/tests/fuzz/ when the corpus is
    # build/fuzz/corpus/fuzz_parquet (scripts/test.sh), or FUZZ_PARQUET names it.
    import subprocess
    exe = os.environ.get("FUZZ_PARQUET") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(out))), "tests", "fuzz", target)
    os.makedirs(out, exist_ok=True)
    subprocess.run([exe, "-cqlpp_write_seeds=" + out], check=True)
    # DuckDB's V2 files (tests/parquet_interop/fuzz_seeds.mjs made them), whole
    # (byte 0 even): the encodings and page v2 our writer does not make.
    dd = os.path.join(here, "seeds", "parquet")
    for name in sorted(os.listdir(dd)):
        if name.endswith(".parquet"):
            seeds.append(b"\x00" + open(os.path.join(dd, name), "rb").read())
    if not any(s[:5] == b"\x00PAR1" for s in seeds):
        sys.exit("make_seeds.py: no DuckDB seed files in " + dd)
    # Edits of writer files (byte 0 odd): none, and a few XORs in the footer's region.
    seeds += [bytes([1, c, 12, 5]) for c in range(3)]
    seeds += [bytes([1, 2, 40, 7, 0xF0, 0xFF, 0x01, 0x10, 0xFF, 0x80])]
os.makedirs(out, exist_ok=True)
for i, s in enumerate(seeds):
    with open(os.path.join(out, "seed_%03d" % i), "wb") as fh:
        fh.write(s)
