#!/usr/bin/env python3
"""The include layering: every #include in production C must name a header
of its own library, of a library it depends on (directly or through
another), or an outside library's header its library declares.

Usage: layering.py LAYERS_TXT SOURCE_DIR   (LAYERS_TXT is written by CMake from
the deploybot_library() calls: "name dir deps=a,b headers=x,y" per line).
Before checking the tree it checks itself on a small tree with a wrong-way
include, so a checker that stopped finding anything would fail too."""
import os
import re
import sys
import tempfile

# Outside libraries whose headers are rationed; anything else in <...> is the
# C library or POSIX.
OUTSIDE = {"curl", "openssl", "sqlite3", "git2", "libwebsockets", "lws_config",
           "jansson", "libpq-fe", "systemd"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def parse_layers(text):
    libs = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, d, deps, headers = line.split(" ")
        libs[name] = {
            "dir": d,
            "deps": [x for x in deps[len("deps="):].split(",") if x],
            "headers": {x for x in headers[len("headers="):].split(",") if x},
        }
    return libs


def closure(libs, name):
    seen, pending = set(), [name]
    while pending:
        for d in libs[pending.pop()]["deps"]:
            if d not in seen:
                seen.add(d)
                pending.append(d)
    return seen


def owner(libs, path):
    """The library whose folder holds `path` directly (not in a subfolder)."""
    d = os.path.dirname(path)
    for name, lib in libs.items():
        if lib["dir"] == d:
            return name
    return None


def check(libs, root):
    problems = []
    for name, lib in sorted(libs.items()):
        allowed = closure(libs, name) | {name}
        folder = os.path.join(root, lib["dir"])
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.join(lib["dir"], f)
            with open(os.path.join(root, rel), encoding="utf-8") as fh:
                text = fh.read()
            for kind, inc in INCLUDE.findall(text):
                if kind == '"':
                    other = owner(libs, inc)
                    if other is None:
                        problems.append(f"{rel}: includes \"{inc}\", which is in no library")
                    elif other not in allowed:
                        problems.append(f"{rel}: includes \"{inc}\" of library {other}, "
                                        f"but {name} depends only on "
                                        f"{', '.join(sorted(allowed - {name})) or 'nothing'}")
                else:
                    top = re.split(r"[/.]", inc)[0]
                    if top in OUTSIDE and top not in lib["headers"]:
                        problems.append(f"{rel}: includes <{inc}>, but library {name} "
                                        f"declares only {', '.join(sorted(lib['headers'])) or 'none'}")
    return problems


def self_test():
    layers = "low low deps= headers=jansson\nhigh high deps=low headers=\n"
    with tempfile.TemporaryDirectory() as root:
        for d, files in {"low": {"a.h": '#include "high/b.h"\n',
                                 "ok.c": '#include "low/a.h"\n#include <jansson.h>\n'},
                         "high": {"b.h": '#include "low/a.h"\n#include <sqlite3.h>\n'}}.items():
            os.makedirs(os.path.join(root, d))
            for f, text in files.items():
                with open(os.path.join(root, d, f), "w") as fh:
                    fh.write(text)
        got = check(parse_layers(layers), root)
    want = ['low/a.h: includes "high/b.h" of library high, but low depends only on nothing',
            "high/b.h: includes <sqlite3.h>, but library high declares only none"]
    if sorted(got) != sorted(want):
        sys.exit(f"layering self-test failed:\n got {got}\nwant {want}")


def main():
    self_test()
    with open(sys.argv[1]) as fh:
        libs = parse_layers(fh.read())
    problems = check(libs, sys.argv[2])
    for p in problems:
        print(p)
    if problems:
        sys.exit(f"{len(problems)} include(s) break the layering (CMakeLists.txt deploybot_library)")
    print(f"layering: {len(libs)} libraries, every include allowed")


main()
