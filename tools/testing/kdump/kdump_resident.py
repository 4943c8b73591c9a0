# SPDX-License-Identifier: GPL-2.0
"""What the crashkernel= code leaves in memory after boot.

C's parse_crashkernel() and reserve_crashkernel_generic() are __init: the
kernel frees them with .init.text. Ours are too (kernel/kdump/reserve.rs),
but the core code they call is ordinary .text, shared with the KUnit suites
and the host builds; this measures it on the built vmlinux: every Rust
function reachable from the two faces, with its section and size.
"""

import re
import subprocess

from kdump_common import StageError
from kdump_objcheck import call_graph, objdump, run

BOOT_FACES = ("parse_crashkernel", "reserve_crashkernel_generic")
# llvm-objdump -t: ADDRESS FLAGS SECTION SIZE NAME (FLAGS is 7 columns).
SYMBOL = re.compile(r"^([0-9a-f]+) (.{7}) (\S+)\s+([0-9a-f]+) (.+)$")


def symbol_table(text):
    """{name: (section, size)} of the functions in `llvm-objdump -t`
    output."""
    out = {}
    for line in text.splitlines():
        m = SYMBOL.match(line)
        if m and "F" in m.group(2):
            out[m.group(5).strip()] = (m.group(3), int(m.group(4), 16))
    return out


def boot_resident(symbols, graph, impl):
    """From the symbol table and the call graph of BOOT_FACES: (problems,
    faces' bytes, {resident Rust function: bytes}). Each face must be in
    .init.text (with impl "rust", also every face of the C kernel)."""
    problems = []
    faces = 0
    for face in BOOT_FACES:
        section, size = symbols.get(face, (None, 0))
        if section != ".init.text":
            problems.append(f"{face} is in {section or 'no section'}, not "
                            f".init.text: it would stay after boot")
        faces += size
    resident = {}
    if impl == "rust":
        for fn in graph:
            section, size = symbols.get(fn, (None, 0))
            if fn.startswith("_R") and section != ".init.text":
                resident[fn] = size
    return problems, faces, resident


def check_boot_resident(k):
    """The check on a built kernel; returns a summary or raises."""
    vmlinux = k["vmlinux"]
    symbols = symbol_table(run(["llvm-objdump", "-t", vmlinux]))
    graph = {}
    if k["impl"] == "rust":
        graph, _ = call_graph(objdump(vmlinux, k["arch"]), BOOT_FACES,
                              lambda n: n.startswith("_R"), k["arch"])
    problems, faces, resident = boot_resident(symbols, graph, k["impl"])
    if problems:
        raise StageError("reserve", f"{vmlinux}: " + "; ".join(problems))
    if k["impl"] == "c":
        return (f"C: {', '.join(BOOT_FACES)} in .init.text, {faces} bytes "
                f"freed after boot")
    top = sorted(resident.items(), key=lambda kv: -kv[1])[:3]
    return (f"Rust: {', '.join(BOOT_FACES)} in .init.text ({faces} bytes, "
            f"freed); {len(resident)} core functions they call stay in "
            f".text, {sum(resident.values())} bytes (largest: " +
            ", ".join(f"{demangled(n)} {s}" for n, s in top) + ")")


def demangled(name):
    """A v0 symbol's readable path, or the name itself."""
    try:
        out = run(["llvm-cxxfilt", name]).strip()
    except (OSError, subprocess.CalledProcessError):
        return name
    return re.sub(r"::h[0-9a-f]{16}$|\[[0-9a-f]+\]", "", out)
