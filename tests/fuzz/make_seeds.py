#!/usr/bin/env python3
"""Crafted fuzz seeds: one file for each class of hostile input of issue 12, written
byte by byte (no torch, no pip packages). Usage: make_seeds.py SEEDS_DIR"""
import json
import os
import struct
import sys
import zipfile

out = sys.argv[1]


def put(kind, name, data):
    os.makedirs(os.path.join(out, kind), exist_ok=True)
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)


# ---- pickles (protocol 2, the opcodes torch.save uses)
def s(text):  # BINUNICODE
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i32(v):
    return b"J" + struct.pack("<i", v)


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def tensor(key, numel, size):
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"((" + s("storage") + glob("torch", "FloatStorage") +
            s(key) + s("cpu") + i32(numel) + b"tQ" + i32(0) + b"(" + i32(size) + b"t(" + i32(1) + b"t\x89" +
            glob("collections", "OrderedDict") + b")RtR")


P = b"\x80\x02"
pickles = {
    "tensor": P + tensor("0", 4, 4) + b".",
    "state_dict": P + glob("collections", "OrderedDict") + b")R(" + s("w") + tensor("0", 4, 4) + s("b") +
                  tensor("1", 2, 2) + b"u.",
    "nested_popped": P + b")" + b"\x85" * 20000 + b"0N.",
    "nested_kept": P + b")" + b"\x85" * 200 + b".",
    "raw_tuple_global": P + glob("torch", "FloatStorage") + b"\x85" * 200 + b".",
    "shared_dicts": P + b"}q\x000" + b"".join(
        b"}q" + bytes([i]) + b"(" + s("a") + b"h" + bytes([i - 1]) + s("b") + b"h" + bytes([i - 1]) + b"u0"
        for i in range(1, 60)) + b"h\x3b.",
    "odict_reuse": P + glob("collections", "OrderedDict") + b"q\x000]q\x01(" +
                   b"".join(b"M" + struct.pack("<H", i) + b"N\x86" for i in range(300)) + b"e0" +
                   b"h\x00h\x01\x85R0" * 300 + b"N.",
    "build_reuse": P + glob("argparse", "Namespace") + b"q\x000}q\x01(" +
                   b"".join(b"M" + struct.pack("<H", i) + b"N" for i in range(300)) + b"u0" +
                   b"h\x00)\x81h\x01b0" * 300 + b"N.",
    "memo_chain": P + b"]q\x000" + b"".join(
        b"]r" + struct.pack("<I", i) + b"j" + struct.pack("<I", i - 1) + b"j" + struct.pack("<I", i) + b"a00"
        for i in range(1, 2000)) + b"N.",
}
for name, data in pickles.items():
    put("pickle", name + ".pkl", data)


# ---- archives
def archive(entries):
    import io
    import warnings
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for n, d in entries:
                z.writestr(n, d)
    return buf.getvalue()


floats = struct.pack("<4f", 1, 2, 3, 4)
big = P + tensor("0", 1024, 1024) + b"."
put("checkpoint", "ok.pt", archive([("a/data.pkl", pickles["tensor"]), ("a/version", b"3\n"), ("a/data/0", floats)]))
put("checkpoint", "two_folders.pt", archive([("a/data.pkl", big), ("a/version", b"3\n"), ("a/data/0", b"\1" * 16),
                                             ("b/data.pkl", big), ("b/data/0", b"\1" * 4096)]))
put("checkpoint", "duplicate.pt", archive([("a/data.pkl", big), ("a/version", b"3\n"), ("a/data/0", b"\1" * 16),
                                           ("a/data/0", b"\1" * 4096)]))
put("checkpoint", "case.pt", archive([("a/data.pkl", big), ("a/version", b"3\n"), ("a/data/0", b"\1" * 16),
                                      ("A/DATA/0", b"\1" * 4096)]))
put("checkpoint", "short_record.pt", archive([("a/data.pkl", big), ("a/version", b"3\n"), ("a/data/0", b"\1" * 16)]))
for name in ("nested_popped", "raw_tuple_global", "shared_dicts", "odict_reuse", "build_reuse"):
    put("checkpoint", name + ".pt", archive([("a/data.pkl", pickles[name]), ("a/version", b"3\n")]))


# ---- safetensors
def st(header, data=b""):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


data = struct.pack("<6f", 0.5, -1.0, 2.0, 0.0, 1.5, -0.25)
put("safetensors", "seed.safetensors", st({"__metadata__": {"name": "seed", "default_strength": "5"},
                                           "basis": {"dtype": "F32", "shape": [1, 2, 3], "data_offsets": [0, 24]}}, data))
put("safetensors", "zero_dim.safetensors",
    st({"x": {"dtype": "F32", "shape": [0] + [2147483647] * 15, "data_offsets": [0, 0]}}))
put("safetensors", "empty.safetensors", st({"x": {"dtype": "F32", "shape": [0, 512], "data_offsets": [0, 0]}}))
put("safetensors", "deep.safetensors", st(b"[" * 20000 + b"]" * 20000))
put("safetensors", "long_header.safetensors", struct.pack("<Q", (1 << 20) + 8) + b"{}")
put("safetensors", "bad_json.safetensors", st(b'{"w": nope}'))
put("safetensors", "passwd.safetensors", b"root:x:0:0:root:/root:/bin/bash\n")
put("safetensors", "dtype.safetensors", st({"\u0007w": {"dtype": "Q\n", "shape": [1], "data_offsets": [0, 1]}}, b"z"))


# ---- npy
def npy(header, payload):
    h = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + payload


put("npy", "ok.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", b"\0" * 24))
put("npy", "dtype.npy", npy("{'descr': '\x1b[2J', 'fortran_order': False, 'shape': (2,), }", b"\0" * 8))
put("npy", "overflow.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", b""))
put("npy", "zero.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", b""))

# ---- strength expressions
exprs = {
    "simple": "5*t/4", "calls": "min(5, 2*t) + max(0, n - 10) + clamp(t, 0, 1) * 3*sin(t) - abs(cos(n))",
    "div_zero": "5/t", "nan": "0/0", "inf_then_finite": "min(5/t, 3)", "unary": "+" * 5000 + "-" * 5001 + "1",
    "chain": "1" + "+1" * 10000, "nest63": "(" * 63 + "t" + ")" * 63, "nest65": "(" * 65 + "t" + ")" * 65,
    "calls_deep": "abs(" * 70 + "t" + ")" * 70, "control": "1 \x1b[2J",
    # FFmpeg's language (libavutil/eval.c): precedence, signs, numbers, every function.
    "pow_signs": "-2^2 + 2^3^2 - --2^2 + 1+-2^2 + 2^-1 + 2^--1 + 2^-t", "pts": "if(isnan(pts), t, pts/90000)",
    "numbers": "1.5e-3 + .5 + 5. + 2E+1 + 0x1F + 1e400 - 1e-400 + inf - NAN",
    "ffmpeg_fns": "sin(t)+cos(t)+tan(t)+asin(t)+acos(t)+atan(t)+atan2(t, n)+sinh(t)+cosh(t)+tanh(t)+exp(t)"
                  "+log(t)+sqrt(t)+abs(t)+floor(t)+ceil(t)+round(t)+trunc(t)+sgn(t)+min(t, n)+max(t, n)",
    "ffmpeg_fns2": "clip(t, 0, 1)*clamp(n, 5, 2)+lt(t, n)+lte(t, n)+gt(t, n)+gte(t, n)+eq(t, n)+if(t, 2)"
                   "+if(t, 2, 3)+ifnot(n, 2)+ifnot(n, 2, 3)+between(t, 1, 2)+not(t)+pow(t, n)+mod(t, n)"
                   "+hypot(t, n)+squish(t)*gauss(t)+isnan(pts)+isinf(t)+lerp(t, n, 0.5)",
    "recipes": "5*clip(min(t, 6-t), 0, 1) + if(between(t, 2, 4), 5, 0) + 3*sin(2*PI*t/5) + if(lt(n, 50), 0, 5)",
    "refused": "1-gauss(t) ; 2n + st(0, 1) + 1+-t + if(0, 1, ---2) + Sin(1) + 3dB",
}
for name, text in exprs.items():
    put("strength", name + ".txt", text.encode())
