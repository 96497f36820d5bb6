"""Checks that the modules of a crate's src/ import each other without a
circle, and that the named modules import nothing from the named others.

    python3 scripts/check-use-graph.py plugin-host/src \
        --forbid lifecycle:proxy,admin,server --forbid tokens:proxy,admin,server

Every file is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`). An edge is a
path the file names outside its `#[cfg(test)]` module: `use crate::…`,
`use super::…`, `use self::…`, a relative `use child::…` of a declared child
module, or an inline `crate::…` / `super::…` path; each resolves to the
longest module prefix it names. A module's edges to its own submodules
(declaring and re-exporting them) are not counted: a directory module is one
concept whose parts may use their parent. Prints every circle (Tarjan's
strongly connected components) and every forbidden edge; exits 1 if there is
one.
"""

import argparse
import os
import re
import sys


def modules(root):
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                continue
            found["::".join(parts)] = path
    return found


def expand(prefix, body):
    """`a::{b, c::{d}}` → ["a::b", "a::c::d"]."""
    body = body.strip()
    if body.startswith("{") and body.endswith("}"):
        out, depth, current = [], 0, ""
        for ch in body[1:-1]:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                out += expand(prefix, current)
                current = ""
            else:
                current += ch
        return out + (expand(prefix, current) if current.strip() else [])
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:::(.*))?$", body, re.S)
    if not match:
        return [prefix] if prefix else []
    head = f"{prefix}::{match.group(1)}" if prefix else match.group(1)
    return [head] if match.group(2) is None else expand(head, match.group(2))


def edges(mods):
    names = set(mods)

    def resolve(path):
        segments = path.split("::")
        for k in range(len(segments), 0, -1):
            candidate = "::".join(segments[:k])
            if candidate in names:
                return candidate
        return None

    graph = {}
    for module, path in mods.items():
        with open(path, encoding="utf-8") as f:
            source = f.read()
        source = re.split(r"#\[cfg\(test\)\]\s*(?:pub(?:\(crate\))?\s+)?mod\s+tests\b", source)[0]
        source = re.sub(r"//[^\n]*", "", source)
        parent = module.rsplit("::", 1)[0] if "::" in module else ""
        children = set(re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", source, re.M))

        def absolute(p):
            if p.startswith("crate::"):
                return p[len("crate::"):]
            if p.startswith("super::"):
                rest = p[len("super::"):]
                return f"{parent}::{rest}" if parent else rest
            if p.startswith("self::"):
                return f"{module}::{p[len('self::'):]}"
            head = p.split("::")[0]
            if head in children:
                return f"{module}::{p}"
            return None

        deps = set()
        for use in re.findall(r"\buse\s+([^;]+);", source, re.S):
            for p in expand("", re.sub(r"\s+", "", use)):
                target = absolute(p)
                resolved = resolve(target) if target else None
                if resolved and resolved != module and not resolved.startswith(module + "::"):
                    deps.add(resolved)
        for p in re.findall(r"\b((?:crate|super)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", source):
            target = absolute(p)
            resolved = resolve(target) if target else None
            if resolved and resolved != module and not resolved.startswith(module + "::"):
                deps.add(resolved)
        graph[module] = deps
    return graph


def circles(graph):
    sys.setrecursionlimit(10000)
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("--forbid", action="append", default=[], help="module:other,other (and their submodules)")
    args = parser.parse_args()
    graph = edges(modules(args.src))
    problems = [f"circle: {' <-> '.join(c)}" for c in circles(graph)]
    for rule in args.forbid:
        owner, others = rule.split(":", 1)
        others = others.split(",")
        for module, deps in sorted(graph.items()):
            if module != owner and not module.startswith(owner + "::"):
                continue
            for dep in sorted(deps):
                if any(dep == o or dep.startswith(o + "::") for o in others):
                    problems.append(f"forbidden: {module} imports {dep}")
    for problem in problems:
        print(problem)
    print(f"use graph of {args.src}: {len(graph)} modules, {sum(map(len, graph.values()))} edges, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
