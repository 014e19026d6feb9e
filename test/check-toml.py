#!/usr/bin/env python3
"""test/check-toml.py: lib/toml.c against Python's tomllib (TOML 1.0).

Runs build/test/prog_tomldump on
  - test/toml/*.toml (valid documents, among them an MI deployment.toml),
  - the hand-written cases below (valid and invalid),
  - N seeded random mutations of all of them (CHECK_TOML_MUTATIONS, 3000),
and fails when the two readers disagree on whether a document is valid or,
for a valid one, on any key path, kind or value.  The only differences
allowed are the documented limits of lib/toml.h: U+0000 in a string or key
and nesting deeper than 64.
"""
import datetime
import math
import os
import random
import subprocess
import sys
import tomllib

DUMP = os.environ.get("TOMLDUMP", "build/test/prog_tomldump")
HERE = os.path.dirname(os.path.abspath(__file__))

VALID = [
    'a = 1', 'a = +1', 'a = -0', 'a = 0xDEAD_beef', 'a = 0o755', 'a = 0b1101',
    'a = 9223372036854775807', 'a = -9223372036854775808', 'a = 1_000',
    'a = 3.14', 'a = -0.0', 'a = 5e+22', 'a = 1e06', 'a = 6.626e-34', 'a = inf',
    'a = -nan', 'a = 224_617.445_991', 'a = true', 'a = false',
    'a = 1979-05-27T07:32:00Z', 'a = 1979-05-27T00:32:00.999999-07:00',
    'a = 1979-05-27 07:32:00', 'a = 1979-05-27', 'a = 07:32:00', 'a = 00:32:00.5',
    'a = 2024-02-29', 'a = 1979-05-27t07:32:00z',
    'a = "tab\there"', 'a = "\\u00e9\\U0001F600"', 'a = "\\b\\f\\n\\r\\"\\\\"',
    "a = 'C:\\Users\\x'", 'a = """\nline1\nline2"""', 'a = """a \\\n   \n  b"""',
    'a = """x""""', 'a = """x"""""', "a = '''\nraw\\n'''", "a = ''''x'''''",
    'a = []', 'a = [1, 2, 3,]', 'a = [\n 1, # one\n 2\n]', 'a = [[1, 2], ["a"]]',
    'a = [1, "mixed", 1.5]', 'a = [{b = 1}, {b = 2}]', 'a = {}', 'a = {b = 1, c.d = "x"}',
    '"quoted key" = 1', "'literal key' = 1", '"" = 1', 'a."b.c".d = 1', 'a . b = 1',
    '1234 = 1', '-_- = 1', '[a]\nb = 1\n[a.c]\nd = 2', '[a.b.c]\n[a]\nx = 1',
    '[[a]]\nb = 1\n[[a]]\nb = 2', '[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2',
'[fruit]\napple.color = "red"\n[fruit.apple.texture]\nsmooth = true',
    '# only a comment', '', '\n\n', 'a = 1 # c\n', 'a = 1\r\nb = 2\r\n', '[ a . "b" ]\nx = 1',
    '[[ a ]]\nx = 1', '\ufeffa = 1', 'a = "\u00e9"', '"\u00e9" = 1', 'a = "#not a comment"',
    'a={b=1}', 'a = {b = [1, {c = 2}]}', 'a = [ ]', 'a = [\n]',
    'x.y = 1\nx.z = 2', '[a]\n[b]\n[a.c]', 'a = 0', 'a = 0.0', 'a = 1E2', 
    '[tbl]\nk = "v"\n[[tbl.arr]]\nx = 1',
]

INVALID = [
    'a = 01', 'a = 1__0', 'a = _1', 'a = 1_', 'a = +0x1', 'a = 0x', 'a = 9223372036854775808',
    'a = 1.', 'a = .5', 'a = 1e', 'a = 01.5', 'a = 1.e5', 'a = infinity', 'a = True',
    'a = 1979-13-01', 'a = 1979-02-30', 'a = 2023-02-29', 'a = 1979-05-27T25:00:00',
    'a = 1979-05-27T07:32Z', 'a = 9223372036854775808', 'a = -9223372036854775809', 'a = 07:32', 'a = "open', 'a = "bad\\q"', 'a = "\\u12"',
    'a = "\\uD800"', 'a = "new\nline"', "a = 'open", 'a = """x""""""', 'a = """open',
    'a = "ctrl\x01"', 'a = [1 2]', 'a = [1,,2]', 'a = [,]', 'a = {b = 1,}', 'a = {b = 1\n}',
    'a = {b = 1, b = 2}', 'a = {b = 1}\na.c = 2', 'a = 1\na = 2', 'a = 1\na.b = 2',
    '[a]\n[a]', '[a]\nb = 1\n[a.b]', '[[a]]\n[a]', '[a]\n[[a]]', 'a = []\n[[a]]',
    '[fruit]\napple.color = "red"\n[fruit.apple]', '[a.b]\n[a]\nb.c = 1',
    '= 1', 'a =', 'a', 'a = 1 b = 2', '[a', '[[a]', '[a]]', '[]', 'a.= 1', '.a = 1',
    'a = 1 # ctrl\x01', 'a = 1\rb = 2', '"""k""" = 1', 'a = "\\u0000"', 'a = [' * 70 + ']' * 70,
    'a = trueish', 'a = 1979-05-27T07:32:60Z', '[[a.b]]\n[[a.b]]\n[[a]]\n[[a.b]]', 'a = 1979-05-27T07:32:00+1:00', '[a.b]\nc = 1\n[a]\nb = 2',
]

def py_flat(doc):
    """scalars: {path: (kind, value)}; lists: set of paths of static arrays (or lists of dicts)"""
    scalars, lists = {}, set()
    def walk(obj, path):
        for k, v in obj.items():
            p = path + (k,)
            if isinstance(v, dict):
                walk(v, p)
            elif isinstance(v, list):
                lists.add(p)
                if v and all(isinstance(e, dict) for e in v):
                    for i, e in enumerate(v):
                        walk(e, p[:-1] + (p[-1] + "[%d]" % i,))
            else:
                scalars[p] = value(v)
    walk(doc, ())
    return scalars, lists

def ints(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from ints(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from ints(v)
    elif isinstance(obj, int) and not isinstance(obj, bool):
        yield obj

def value(v):
    if isinstance(v, bool):
        return ("bool", "true" if v else "false")
    if isinstance(v, int):
        return ("integer", str(v))
    if isinstance(v, float):
        return ("float", v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return ("datetime", None)
    return ("string", v)

def unescape(v):
    return v.replace("\\\\", "\0").replace("\\n", "\n").replace("\\t", "\t") \
            .replace("\\r", "\r").replace("\0", "\\")

def c_flat(out):
    scalars, arrays = {}, set()
    for line in out.split("\n"):
        if not line:
            continue
        kind, path, val = line.split("\t", 2)
        p = tuple(unescape(c) for c in path.split("\x1f"))
        if kind in ("table", "aot"):
            continue
        if kind == "array":
            arrays.add(p)
            continue
        val = unescape(val)
        if kind == "float":
            val = float(val.replace("_", ""))
        elif kind == "datetime":
            val = None
        scalars[p] = (kind, val)
    return scalars, arrays

def same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b

def check(text, what):
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        # a leading byte order mark: allowed here (Windows editors write
        # one), refused by tomllib
        py = tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
        py_err = None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as e:
        py, py_err = None, str(e)
    r = subprocess.run([DUMP], input=data, capture_output=True)
    c_ok = r.returncode == 0
    out = r.stdout.decode("utf-8", "replace")
    if py_err is not None:
        if c_ok:
            return "%s: tomllib refuses (%s), lib/toml.c accepts" % (what, py_err)
        return None
    if not c_ok:
        if "NUL" in out or "nested too deep" in out:
            return None  # documented limits
        if "integer out of range" in out and any(
                isinstance(v, int) and not -2**63 <= v < 2**63 for v in ints(py)):
            return None  # TOML 1.0 wants an error; tomllib has big integers
        return "%s: tomllib accepts, lib/toml.c refuses: %s" % (what, out.strip())
    ps, pl = py_flat(py)
    cs, ca = c_flat(out)
    for p, (k, v) in cs.items():
        if p not in ps:
            return "%s: %s reported, tomllib has no such scalar" % (what, p)
        pk, pv = ps[p]
        if pk != k or (k == "float" and not same_float(v, pv)) or (k != "float" and pv != v):
            return "%s: %s is %s %r here, %s %r in tomllib" % (what, p, k, v, pk, pv)
    for p in ca:
        if p not in pl:
            return "%s: array %s reported, tomllib has none" % (what, p)
    for p in ps:
        if p not in cs and not any(p[:len(a)] == a or (p[len(a) - 1].startswith(a[-1] + "[") and p[:len(a) - 1] == a[:-1]) for a in ca):
            return "%s: tomllib has %s, lib/toml.c did not report it" % (what, p)
    return None

def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            del b[min(pos, len(b) - 1)]
        elif op == 1:
            b[pos:pos] = bytes([rng.choice(b'[]{}=,."\'#\n \\_-+.:0159aeTZtrufn\t\r')])
        elif op == 2 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(32, 127)
        else:
            s = rng.randrange(len(b) + 1)
            b[pos:pos] = b[s:s + rng.randint(1, 8)]
    return bytes(b)

def main():
    failures = []
    seeds = []
    tdir = os.path.join(HERE, "toml")
    for name in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, name), "rb") as f:
            data = f.read()
        seeds.append(data)
        e = check(data, name)
        if e:
            failures.append(e)
        elif subprocess.run([DUMP], input=data, capture_output=True).returncode != 0:
            failures.append("%s: a valid sample is refused" % name)
    for i, t in enumerate(VALID):
        seeds.append(t.encode())
        e = check(t.encode(), "valid case %d %r" % (i, t[:40]))
        if e:
            failures.append(e)
        elif subprocess.run([DUMP], input=t.encode(), capture_output=True).returncode != 0:
            failures.append("valid case %d %r refused" % (i, t))
    for i, t in enumerate(INVALID):
        e = check(t.encode(), "invalid case %d %r" % (i, t[:40]))
        if e:
            failures.append(e)
        elif subprocess.run([DUMP], input=t.encode(), capture_output=True).returncode == 0:
            failures.append("invalid case %d %r accepted" % (i, t[:40]))
    rng = random.Random(20261202)
    n = int(os.environ.get("CHECK_TOML_MUTATIONS", "3000"))
    for i in range(n):
        m = mutate(rng, rng.choice(seeds))
        e = check(m, "mutation %d %r" % (i, m[:60]))
        if e:
            failures.append(e)
    for f in failures[:40]:
        print("check-toml: FAIL " + f)
    print("check-toml: %d documents, %d valid and %d invalid cases, %d mutations, %d disagreements"
          % (len(seeds) - len(VALID), len(VALID), len(INVALID), n, len(failures)))
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
