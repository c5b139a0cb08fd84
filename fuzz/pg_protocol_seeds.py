#!/usr/bin/env python3
"""Writes the PostgreSQL protocol fuzzer's seed corpus (see the path byte in
fuzz/pg_protocol_fuzzer.cpp): a startup packet, an SSLRequest, a
CancelRequest, a simple Query, an extended-protocol round (Parse, Bind,
Describe, Execute, Sync), a SCRAM client-first and client-final message (RFC
7677's example), and a DataRow/ErrorResponse round trip. Generated at test
time so that no corpus is committed.

usage: fuzz/pg_protocol_seeds.py OUT_DIR
"""
import hashlib
import pathlib
import struct
import sys

STARTUP, MESSAGES, SCRAM, ROUND_TRIP = b"\x00", b"\x01", b"\x02", b"\x03"


def message(kind, body):
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text):
    return text.encode("utf-8") + b"\x00"


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    startup = struct.pack("!i", 196608) + cstr("user") + cstr("planner") + cstr("database") + \
        cstr("hospital") + cstr("application_name") + cstr("psql") + b"\x00"
    query = message(b"Q", cstr("SELECT COUNT(*) FROM admissions"))
    extended = (message(b"P", cstr("") + cstr("SELECT COUNT(*) FROM admissions WHERE age > $1") +
                        struct.pack("!hi", 1, 20)) +
                message(b"B", cstr("") + cstr("") + struct.pack("!hh", 1, 0) + struct.pack("!hi", 1, 2) +
                        b"40" + struct.pack("!h", 0)) +
                message(b"D", b"P" + cstr("")) +
                message(b"E", cstr("") + struct.pack("!i", 0)) +
                message(b"S", b""))
    sasl = message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", 32) + b"n,,n=,r=rOprNGfwEbeRWgbNEkqO")
    seeds = [
        STARTUP + startup,
        STARTUP + struct.pack("!i", 80877103),  # SSLRequest
        STARTUP + struct.pack("!i", 80877104),  # GSSENCRequest
        STARTUP + struct.pack("!iii", 80877102, 4242, 123456789),  # CancelRequest
        MESSAGES + b"\x03\x00" + query,
        MESSAGES + b"\x03\x07" + query + message(b"X", b""),
        MESSAGES + b"\x02\x01" + extended,
        MESSAGES + b"\x03\x05" + sasl + message(b"p", b"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=AAAA"),
        MESSAGES + b"\x01\x00" + message(b"Q", cstr("x" * 40)),  # over a 16-byte limit
        SCRAM + b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO\x00"
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO3rfcNHYJY1ZVvWVs7j,"
                b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        SCRAM + b"y,,n=,r=abc\x00c=eSws,r=abc3rfcNHYJY1ZVvWVs7j,p=AAAA",
        ROUND_TRIP + b"\x02hello\x0042601syntax error at or near\x00\x01",
    ]
    for seed in seeds:
        (out / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    print(f"seed corpus: {len(seeds)} protocol inputs in {out}")


if __name__ == "__main__":
    main()
