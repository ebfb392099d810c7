#!/usr/bin/env python3
"""Renames the wasm-bindgen imports of a package to short names, in the wasm and its JS glue.

wasm-bindgen names most imports `__wbg_<method>_<16 hex digits>` (the rest
`__wbindgen_<what>`), and each name is written
twice: in the wasm's import section and as a key of the glue's import object. The hex digits do
not compress, so at about two hundred imports they cost the customer's package some 2 KB gzip
for nothing. This renames every import of module `wbg` to a short base-36 name in both files.

Usage: shrink-imports.py PKG_DIR NAME   (files NAME.js and NAME_bg.wasm; rewritten in place)

Fails (exit 1, nothing written) unless every renamed import is assigned exactly once in the
glue as `imports.wbg.<name> = `, so a change in wasm-bindgen's output cannot break the package
silently.
"""

import re
import sys


def leb(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def uleb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def short(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        s = digits[n % 36] + s
        n //= 36
        if n == 0:
            return "_" + s


def name_at(data, at):
    length, at = leb(data, at)
    return data[at : at + length].decode(), at + length


def rename_imports(wasm):
    """Returns the new wasm and the {old: new} map."""
    assert wasm[:8] == b"\0asm\x01\0\0\0", "not a wasm module"
    out = bytearray(wasm[:8])
    renamed = {}
    at = 8
    while at < len(wasm):
        section = wasm[at]
        size, body = leb(wasm, at + 1)
        end = body + size
        if section != 2:
            out += wasm[at:end]
            at = end
            continue
        count, p = leb(wasm, body)
        new = bytearray(uleb(count))
        for _ in range(count):
            module, p = name_at(wasm, p)
            field, p = name_at(wasm, p)
            # The import's description: kind byte, then its type (function: a type index).
            start = p
            kind = wasm[p]
            p += 1
            if kind == 0:
                _, p = leb(wasm, p)
            elif kind == 1:  # table: reftype, limits
                p += 1
                flags, p = leb(wasm, p)
                _, p = leb(wasm, p)
                if flags & 1:
                    _, p = leb(wasm, p)
            elif kind == 2:  # memory: limits
                flags, p = leb(wasm, p)
                _, p = leb(wasm, p)
                if flags & 1:
                    _, p = leb(wasm, p)
            elif kind == 3:  # global: valtype, mutability
                p += 2
            else:
                raise SystemExit(f"unknown import kind {kind}")
            if module == "wbg":
                field = renamed.setdefault(field, short(len(renamed)))
            for s in (module, field):
                b = s.encode()
                new += uleb(len(b)) + b
            new += wasm[start:p]
        out.append(2)
        out += uleb(len(new)) + new
        at = end
    return bytes(out), renamed


def main():
    pkg, name = sys.argv[1], sys.argv[2]
    wasm_path, js_path = f"{pkg}/{name}_bg.wasm", f"{pkg}/{name}.js"
    with open(wasm_path, "rb") as f:
        wasm, renamed = rename_imports(f.read())
    with open(js_path, encoding="utf-8") as f:
        js = f.read()
    for old, new in renamed.items():
        pattern = re.compile(r"imports\.wbg\." + re.escape(old) + r"(?= = )")
        js, n = pattern.subn("imports.wbg." + new, js)
        if n != 1 or old in js:
            print(f"shrink-imports: {old} appears {n} times as an import key", file=sys.stderr)
            sys.exit(1)
    with open(wasm_path, "wb") as f:
        f.write(wasm)
    with open(js_path, "w", encoding="utf-8") as f:
        f.write(js)


if __name__ == "__main__":
    main()
