# SPDX-License-Identifier: GPL-2.0
"""Static checks on built objects: what kexec_file_load's loader needs from
purgatory.ro, and the panic-freedom of the Rust handoff's call graph in the
linked vmlinux.

Both read llvm-nm/llvm-readelf/llvm-objdump output; the parsers take the
text, so kdump_tool_test.py runs them on saved output too.
"""

import re
import subprocess
from pathlib import Path

from kdump_common import StageError

PANIC_SYMBOL = re.compile(r"panicking|rust_begin_unwind|panic_fmt|"
                          r"panic_bounds_check|slice_(start|end)_index|"
                          r"slice_index_fail|slice_\w*_fail")

# The panic-path handoff: its entry points, the functions outside Rust it
# may call, and those it must be seen to call. A call to anything else (an
# allocator, a lock, printk) fails the check; a required callee that is not
# found means the disassembly was not understood, which fails it too.
HANDOFF_ROOTS = ("crash_kexec", "__crash_kexec")
HANDOFF_REQUIRED = frozenset({"kdump_this_cpu", "kdump_kexec_lock_word",
                              "kdump_crash_setup_regs",
                              "crash_save_vmcoreinfo",
                              "machine_crash_shutdown", "machine_kexec"})


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True,
                          text=True, check=True).stdout


def purgatory_problems(arch, impl, nm_text, relocs_text):
    """Problems of a purgatory.ro from `llvm-nm -S` and `llvm-readelf -r`
    output: a missing or wrongly sized symbol the loader looks up, an
    undefined symbol, a Rust panic symbol, a relocation type the loader
    refuses, Rust symbols in the C one or none in the Rust one. Returns
    (problems, symbols, relocation types)."""
    problems, syms = [], {}
    for line in nm_text.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[-1], f[-2]
        syms[name] = int(f[1], 16) if len(f) == 4 else None
        if kind == "U":
            problems.append(f"undefined symbol {name}")
        if PANIC_SYMBOL.search(name):
            problems.append(f"panic symbol {name}")
    for name, size in arch.purgatory_symbols.items():
        if name not in syms:
            problems.append(f"{name} missing")
        elif size is not None and syms[name] != size:
            problems.append(f"{name} is {syms[name]} bytes, not {size}")
    types = re.findall(r"\b(R_[A-Z0-9]+_\w+)", relocs_text)
    for t in sorted(set(types) - arch.purgatory_relocs):
        problems.append(f"relocation type {t} (the loader refuses it)")
    rust_syms = sum(1 for n in syms if n.startswith("_R"))
    if (impl == "rust") != (rust_syms > 0):
        problems.append(f"{rust_syms} Rust (v0-mangled) symbols in the "
                        f"{impl} purgatory")
    return problems, syms, types


def check_purgatory(k):
    """Inspect a built purgatory.ro; raises with every problem found."""
    arch = k["arch"]
    ro = k["out"] / arch.purgatory_ro
    if not ro.exists():
        raise StageError("purgatory", f"{ro} was not built")
    problems, syms, types = purgatory_problems(
        arch, k["impl"], run(["llvm-nm", "-S", ro]),
        run(["llvm-readelf", "-r", ro]))
    if problems:
        raise StageError("purgatory", f"{ro}: " + "; ".join(problems))
    rust = sum(1 for n in syms if n.startswith("_R"))
    return (f"{len(syms)} symbols ({rust} Rust), {len(types)} relocations "
            f"of types {', '.join(sorted(set(types)))}; no undefined or "
            f"panic symbol")


def objdump(obj):
    """A disassembler for call_graph: the text of the named functions."""
    def disassemble(symbols):
        return run(["llvm-objdump", "-d", "-r", "--no-show-raw-insn",
                    "--disassemble-symbols=" + ",".join(symbols), obj])
    return disassemble


def call_graph(disassemble, roots, follow, arch):
    """Direct calls and tail jumps out of `roots` (linked, or a relocatable
    object whose calls are relocations), as the architecture spells them
    (arch.call_insns, arch.indirect_call, arch.call_relocs), following
    every callee for which follow(name) is true: ({function: {callee}},
    [functions with an indirect call or jump])."""
    graph, indirect, todo = {}, [], list(roots)
    reloc = re.compile(r"\b(?:" + "|".join(arch.call_relocs) +
                       r")\s+([^\s+-]+)")
    call_rx = re.compile(rf"\s(?:{arch.call_insns})\s+\S*"
                         r"(?:\s+<([^>+]+)(\+0x[0-9a-f]+)?>)?")
    indirect_rx = re.compile(arch.indirect_call)

    def add(fn, target):
        graph[fn].add(target)
        if target not in graph and target not in todo and follow(target):
            todo.append(target)

    while todo:
        out = disassemble(todo)
        missing = [n for n in todo if f"<{n}>:" not in out]
        if any(n in roots for n in missing):
            raise StageError("handoff", f"no function {missing[0]} in the "
                             f"disassembly")
        # Others are outside a relocatable object: leaves.
        graph.update((n, set()) for n in missing)
        todo, fn, call = [], None, False
        for line in out.splitlines():
            m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
            if m:
                fn, call = m.group(1), False
                graph[fn] = set()
                continue
            m = reloc.search(line) if reloc else None
            if m and call:
                # The call's target is this relocation's symbol.
                add(fn, m.group(1))
                call = False
                continue
            call = False
            if fn is None:
                continue
            if indirect_rx.search(line):
                indirect.append(fn)
                continue
            m = call_rx.search(line)
            if not m:
                continue
            target = m.group(1)
            if target is None or target == fn or m.group(2):
                # A branch inside the function, or (unlinked) a call whose
                # target is the relocation on the next line.
                call = True
                continue
            add(fn, target)
    return graph, indirect


def without_call_targets(disassemble):
    """The same disassembler, but its calls lost their <symbol>, as a
    differently configured objdump prints them: what check_handoff() must
    refuse rather than pass for showing no calls."""
    def strip(symbols):
        return "\n".join(l if re.match(r"^[0-9a-f]+ <", l) else
                         re.sub(r"\s+<[^>]+>$", "", l)
                         for l in disassemble(symbols).splitlines())
    return strip


def check_panic_free(disassemble, roots, allowed, required, arch):
    """The panic-freedom proof: no Rust panic function is reachable from
    `roots`. Every Rust function they reach (v0-mangled `_R`) is followed;
    calls out of Rust must go to `allowed`, and each of `required` must be
    among them, so a disassembly the parser does not understand cannot pass
    by showing no calls at all. Returns (graph, problems)."""
    graph, indirect = call_graph(disassemble, roots,
                                 lambda n: n.startswith("_R"), arch)
    problems = []
    for fn, outs in sorted(graph.items()):
        for t in sorted(outs):
            if PANIC_SYMBOL.search(t):
                problems.append(f"{fn} calls the panic function {t}")
            elif not t.startswith("_R") and t not in allowed:
                problems.append(f"{fn} calls {t}, which the panic path "
                                f"must not")
    for fn in sorted(set(indirect)):
        problems.append(f"{fn} makes an indirect call (could reach anything)")
    seen = {t for outs in graph.values() for t in outs}
    for name in sorted(required - seen):
        problems.append(f"{name} is never called: the call graph is "
                        f"incomplete or the disassembly was not understood")
    return graph, problems


def check_handoff(k, disassemble=None):
    """crash_kexec() and __crash_kexec() of the built vmlinux (Rust kernel:
    ours, checked; C kernel: upstream's, whose callees are only listed)."""
    arch = k["arch"]
    dis = disassemble or objdump(k["vmlinux"])
    if k["impl"] == "c":
        graph, _ = call_graph(dis, HANDOFF_ROOTS, lambda n: False, arch)
        return "C: " + "; ".join(f"{f} -> {', '.join(sorted(o))}"
                                 for f, o in sorted(graph.items()))
    graph, problems = check_panic_free(
        dis, HANDOFF_ROOTS, HANDOFF_REQUIRED | arch.arch_callees,
        HANDOFF_REQUIRED, arch)
    if problems:
        raise StageError("handoff", f"{k['vmlinux']}: " + "; ".join(problems))
    rust = sorted(f for f in graph if f.startswith("_R"))
    calls = sorted({t for o in graph.values() for t in o
                    if not t.startswith("_R")})
    return (f"{len(graph)} functions reached from {', '.join(HANDOFF_ROOTS)} "
            f"({len(rust)} Rust beyond them), none calls a panic function; "
            f"calls out: {', '.join(calls)}")


# A handoff that can panic (a bounds check), with the machine steps it must
# call, built the way the kernel builds Rust (panic=abort, no_std, v0
# symbols) and linked, so that every call is resolved as in vmlinux.
PANICKY_RS = r"""#![no_std]
use core::ptr::{addr_of_mut, read_volatile, write_volatile};
static mut STATE: [u8; 8] = [0; 8];
static TABLE: [u8; 4] = [1, 2, 3, 4];
fn state(n: usize) -> *mut u8 {
    // SAFETY: in bounds; only the address is taken.
    unsafe { addr_of_mut!(STATE).cast::<u8>().add(n) }
}
macro_rules! step {
    ($($name:ident = $n:literal),*) => {$(
        #[no_mangle]
        #[inline(never)]
        pub extern "C" fn $name() {
            // SAFETY: a test object, run by nobody.
            unsafe { write_volatile(state($n), $n) }
        }
    )*};
}
step!(kdump_this_cpu = 0, kdump_kexec_lock_word = 1, kdump_crash_setup_regs = 2,
      crash_save_vmcoreinfo = 3, machine_crash_shutdown = 4, machine_kexec = 5);
#[inline(never)]
fn pick(i: usize) -> u8 { TABLE[i] }
#[no_mangle]
pub extern "C" fn __crash_kexec(i: usize) -> u8 {
    kdump_kexec_lock_word();
    kdump_crash_setup_regs();
    crash_save_vmcoreinfo();
    machine_crash_shutdown();
    let v = pick(i);
    machine_kexec();
    v
}
#[no_mangle]
pub extern "C" fn crash_kexec(i: usize) -> u8 {
    kdump_this_cpu();
    // SAFETY: as above.
    __crash_kexec(i + usize::from(unsafe { read_volatile(state(6)) }))
}
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! { loop {} }
// core's unwind tables name it; with panic=abort nothing calls it.
#[no_mangle]
extern "C" fn rust_eh_personality() {}
"""


def build_panicky(rustc, tmp, arch):
    """Build PANICKY_RS as a static library and link it with ld.lld into a
    static executable (non-PIC, unused code dropped), so that its calls are
    direct and resolved, as in vmlinux; returns its path."""
    src, lib = Path(tmp) / "panicky.rs", Path(tmp) / "libpanicky.a"
    exe = Path(tmp) / "panicky"
    src.write_text(PANICKY_RS)
    for cmd in ([rustc, "--edition=2021", "--crate-type=staticlib",
                 "-Cpanic=abort", "-O", "-Ccodegen-units=1",
                 "-Csymbol-mangling-version=v0", "-Crelocation-model=static",
                 "-o", lib, src],
                ["ld.lld", "-m", arch.lld_emulation, "-static",
                 "--gc-sections", "-e", "crash_kexec", "-u", "__crash_kexec",
                 "-o", exe, lib]):
        r = subprocess.run([str(c) for c in cmd], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise StageError("handoff", "the panicky self-test object does "
                             "not build", tail=r.stderr.splitlines()[-20:])
    return exe
