#!/usr/bin/env python3
"""Folder-level include graph of src/: prints every edge (folder -> folder it
includes from, with the count of include lines) and fails when the edges form
a cycle. A public header include/otad/X.h belongs to the folder that
implements it (src/*/X.cc, or the OWNERS table below); a header nobody owns
is an error, so a new one must be placed. Usage: include-graph.py [ROOT]"""
import collections
import os
import re
import sys

# Public headers whose implementation file has another name, or none.
OWNERS = {
    "authorize.h": "fleet", "catalog_store.h": "catalog", "detect.h": "catalog", "platforms.h": "catalog", "tokens.h": "admin", "decision.h": "fleet", "http.h": "http", "tcpboot.h": "proto",
    "result.h": None, "catalog.h": "catalog", "session_store.h": "tls", "suite_order.h": "tls",
    "named_sections.h": "catalog", "wpa2.h": "fleet",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    src = os.path.join(root, "src")
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    impl = {}
    for d in folders:
        for f in os.listdir(os.path.join(src, d)):
            if f.endswith(".cc"):
                impl.setdefault(f[:-3] + ".h", d)
    edges = collections.Counter()
    errors = []
    for d in folders:
        for dirpath, _, files in os.walk(os.path.join(src, d)):
            for f in files:
                if not f.endswith((".cc", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                for inc in INCLUDE.findall(open(path, encoding="utf-8").read()):
                    head, _, name = inc.partition("/")
                    if head == "otad":
                        if name in OWNERS:
                            to = OWNERS[name]
                        elif name in impl:
                            to = impl[name]
                        else:
                            errors.append(f"{os.path.relpath(path, root)}: include/otad/{name} has no owning folder "
                                          f"(add it to OWNERS in {os.path.basename(__file__)})")
                            continue
                    elif head in folders:
                        to = head
                    else:
                        continue
                    if to and to != d:
                        edges[(d, to)] += 1
    graph = collections.defaultdict(set)
    for (a, b), n in sorted(edges.items()):
        print(f"{a:8} -> {b:8} ({n})")
        graph[a].add(b)
    # Depth-first search for a back edge; report the cycle it closes.
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in folders:
        if v not in state:
            cycle = visit(v)
            if cycle:
                errors.append("include cycle between folders: " + " -> ".join(cycle))
                break
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
