# SPDX-License-Identifier: GPL-2.0
"""No Rust panic behind any of our C faces.

Every function of ours that C calls (the `#[no_mangle] extern "C"` faces of
kernel/ and arch/, and the `extern "C"` callbacks our kernel-crate
abstractions hand to C, proc_ops and vm_operations among them) is a root;
every Rust function a root reaches in the linked vmlinux is followed (calls
into C end a path). A reachable call to a Rust panic function
(kdump_objcheck.PANIC_SYMBOL) fails the check unless panic-allow.toml lists
it, by face and by the demangled function that calls the panic, with the
proof that it cannot fire. An entry that no longer matches fails too, so
the list cannot go stale.

The faces are found in our sources, not listed by hand: a new face is
checked the day it is written.
"""

import re
import subprocess
import tomllib
from collections import deque
from pathlib import Path

from kdump_common import HERE, OVERLAY, StageError
from kdump_objcheck import PANIC_SYMBOL, call_graph, objdump, run
from kdump_setup import overlay_files

ALLOW_FILE = HERE / "panic-allow.toml"
# Our Rust code linked into vmlinux: the kernel's Rust objects and glue, and
# our abstractions in the kernel crate. Purgatory runs outside the kernel
# and has its own check (kdump_objcheck.check_purgatory: no panic symbol at
# all in purgatory.ro).
FACE_DIRS = ("kernel/", "arch/", "rust/kernel/")
PURGATORY = re.compile(r"(^|/)purgatory(/|_main\.rs$)")
NO_MANGLE = re.compile(r"#\[no_mangle\]\s*(?:#\[[^\]]*\]\s*|//[^\n]*\n\s*)*"
                       r"(?:pub(?:\([\w:]+\))?\s+)?(?:unsafe\s+)?"
                       r"extern\s+\"C\"\s+fn\s+(\w+)")
CALLBACK = re.compile(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:unsafe\s+)?"
                      r"extern\s+\"C\"\s+fn\s+(\w+)", re.M)


def source_faces(files):
    """From {relative path: text} of our Rust sources: ({face symbol:
    [paths]} of the no_mangle faces (each architecture's glue may define
    the same one), [(module path, name)] of the callbacks
    our kernel-crate modules define, which C reaches through a pointer)."""
    faces, callbacks = {}, []
    for rel, text in sorted(files.items()):
        if not rel.endswith(".rs") or PURGATORY.search(rel) or \
                not rel.startswith(FACE_DIRS):
            continue
        named = set()
        for m in NO_MANGLE.finditer(text):
            faces.setdefault(m.group(1), []).append(rel)
            named.add(m.group(1))
        if rel.startswith("rust/kernel/"):
            module = "kernel::" + rel[len("rust/kernel/"):-3].replace("/",
                                                                       "::")
            callbacks += [(module, n) for n in CALLBACK.findall(text)
                          if n not in named]
    return faces, callbacks


def demangle(names):
    """{mangled: demangled} through llvm-cxxfilt (v0 names come out
    without their crate hashes, so they are stable between builds)."""
    names = list(names)
    if not names:
        return {}
    out = subprocess.run(["llvm-cxxfilt"], input="\n".join(names),
                         capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return dict(zip(names, out))


def find_roots(nm_text, faces, callbacks, built, demangled):
    """The roots in a vmlinux from its `llvm-nm` text: every face whose
    source was built (`built(path)`), and every instance of a callback.
    Returns ({root: what it is}, problems)."""
    defined = {f[-1] for f in (l.split() for l in nm_text.splitlines())
               if len(f) >= 2 and f[-2] in "tTwW"}
    roots, problems = {}, []
    for name, paths in sorted(faces.items()):
        if name in defined:
            roots[name] = " or ".join(paths)
        for rel in paths:
            if name not in defined and built(rel):
                problems.append(f"{name} ({rel}, built) is not in vmlinux")
    for module, name in callbacks:
        rx = re.compile(rf"{re.escape(module)}\b.*::{name}(<.*>)?$")
        for sym in sorted(defined):
            if sym.startswith("_R") and rx.search(demangled.get(sym, "")):
                roots[sym] = f"{module} callback {name}"
    return roots, problems


def panic_paths(graph, roots):
    """For each root, the functions it reaches that call a panic function
    directly, each with its shortest call path from the root: {root:
    {caller: (path, panic callee)}}."""
    out = {}
    for root in roots:
        seen, q, found = {root: [root]}, deque([root]), {}
        while q:
            fn = q.popleft()
            for t in sorted(graph.get(fn, ())):
                if PANIC_SYMBOL.search(t):
                    found.setdefault(fn, (seen[fn], t))
                elif t in graph and t not in seen:
                    seen[t] = seen[fn] + [t]
                    q.append(t)
        out[root] = found
    return out


def glob(pattern, name):
    """Whether `name` matches `pattern`, in which `*` stands for any text
    (and nothing else is special: Rust names have brackets)."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))),
                        name) is not None


def load_allowed(path=ALLOW_FILE):
    """The allow list: [(face, caller, reason, arches)], demangled name
    patterns (glob()), arches None for every architecture."""
    data = tomllib.loads(Path(path).read_text())
    out = []
    for e in data.get("allow", []):
        if not e.get("reason", "").strip():
            raise StageError("panic-free", f"{path}: entry {e} has no reason")
        out.append((e["face"], e["caller"], e["reason"], e.get("arches")))
    return out


def judge(paths, allowed, demangled, arch):
    """Problems: reachable panics the allow list does not cover, and
    allow entries (for this architecture) that match nothing."""
    d = lambda n: demangled.get(n, n)  # noqa: E731
    allowed = [a for a in allowed if a[3] is None or arch in a[3]]
    problems, used = [], set()
    for root, found in sorted(paths.items()):
        for caller, (path, panic) in sorted(found.items()):
            key = next((i for i, (f, c, _, _) in enumerate(allowed)
                        if glob(f, d(root)) and glob(c, d(caller))), None)
            if key is not None:
                used.add(key)
                continue
            problems.append(f"{d(root)} reaches {d(panic)} via "
                            f"{' -> '.join(d(p) for p in path)}")
    faces = [d(r) for r in paths]
    for i, (face, caller, _, _) in enumerate(allowed):
        if i not in used and any(glob(face, f) for f in faces):
            problems.append(f"{ALLOW_FILE.name} allows {face} -> {caller}, "
                            f"which no longer calls a panic on {arch}: "
                            f"drop the entry")
    return problems, len(used)


def our_sources():
    """{relative path: text} of our Rust sources."""
    return {str(p): (OVERLAY / p).read_text() for p in overlay_files()
            if p.suffix == ".rs"}


def check_faces_panic_free(k, allowed=None, disassemble=None):
    """The check on a built Rust kernel `k`; returns a summary line, raises
    with every problem."""
    arch, vmlinux, out = k["arch"], k["vmlinux"], Path(k["out"])
    faces, callbacks = source_faces(our_sources())
    nm = run(["llvm-nm", vmlinux])
    syms = [f[-1] for f in (l.split() for l in nm.splitlines()) if f]
    demangled = demangle(s for s in syms if s.startswith("_R"))
    roots, problems = find_roots(
        nm, faces, callbacks,
        lambda rel: (out / rel).with_suffix(".o").exists(), demangled)
    if not roots:
        raise StageError("panic-free", f"{vmlinux}: none of our faces found")
    dis = disassemble or objdump(vmlinux, arch)
    graph, indirect = call_graph(
        dis, list(roots), lambda n: n.startswith("_R") or n in faces, arch)
    demangled.update(demangle(n for n in graph if n not in demangled))
    paths = panic_paths(graph, roots)
    bad, n_allowed = judge(paths, load_allowed() if allowed is None
                           else allowed, demangled, arch.name)
    problems += bad
    if problems:
        raise StageError("panic-free", f"{vmlinux}: {len(problems)} "
                         f"problem(s): " + "; ".join(problems))
    rust = sum(1 for f in graph if f.startswith("_R"))
    ind = sorted({demangled.get(f, f) for f in indirect})
    return (f"{len(roots)} faces ({len(faces)} no_mangle in our sources, "
            f"{sum(1 for v in roots.values() if 'callback' in v)} callback "
            f"instances), {len(graph)} functions reached ({rust} Rust); no "
            f"panic reachable" + (f" but the {n_allowed} allowed in "
                                  f"{ALLOW_FILE.name}" if n_allowed else "")
            + (f"; indirect calls not followed in: {', '.join(ind)}"
               if ind else ""))
