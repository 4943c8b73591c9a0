# SPDX-License-Identifier: GPL-2.0
"""Static checks on built objects: what kexec_file_load's loader needs from
purgatory.ro, and the panic-freedom of the Rust handoff's call graph in the
linked vmlinux.

Both read llvm-nm/llvm-readelf/llvm-objdump output; the parsers take the
text, so kdump_tool_test.py runs them on saved output too.
"""

import os
import platform
import re
import subprocess
from pathlib import Path

from kdump_common import StageError
from kdump_disasm import pair_disassembler

PANIC_SYMBOL = re.compile(r"panicking|rust_begin_unwind|panic_fmt|"
                          r"panic_bounds_check|slice_(start|end)_index|"
                          r"slice_index_fail|slice_\w*_fail")

# The panic-path handoff: its entry points, the functions outside Rust it
# may call, and those it must be seen to call. A call to anything else (an
# allocator, a lock, printk) fails the check; a required callee that is not
# found means the disassembly was not understood, which fails it too.
HANDOFF_ROOTS = ("crash_kexec", "__crash_kexec")
# The Rust faces the C crash_kexec() and __crash_kexec() call on the Rust
# kernel (kernel/kdump/handoff_glue.c), whose call graph is checked, and the
# machine steps they must reach.
RUST_HANDOFF_ROOTS = ("kdump_rust_crash_kexec", "kdump_rust_crash_kexec_locked")
HANDOFF_REQUIRED = frozenset({"kdump_kexec_lock_word",
                              "crash_save_vmcoreinfo",
                              "machine_crash_shutdown", "machine_kexec"})
# The kernel's atomic_t accessors (rust/helpers/atomic.c) through which the
# Rust handoff must reach panic_cpu and the kexec lock: a Rust atomic
# instruction in their place would have C11's ordering, not the kernel
# memory model's.
HANDOFF_ATOMICS = frozenset({"rust_helper_atomic_try_cmpxchg",
                             "rust_helper_atomic_cmpxchg_acquire",
                             "rust_helper_atomic_set",
                             "rust_helper_atomic_set_release"})


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True,
                          text=True, check=True).stdout


def purgatory_problems(arch, impl, nm_text, relocs_text):
    """Problems of a purgatory.ro from `llvm-nm -S` and `llvm-readelf -r`
    output: a missing or wrongly sized symbol the loader looks up, an
    undefined symbol, a Rust panic symbol, a relocation type the loader
    refuses, Rust symbols in the C one or none in the Rust one, the Rust
    one's SHA-256 block function missing or across a page. Returns
    (problems, symbols, relocation types)."""
    problems, syms, addrs = [], {}, {}
    for line in nm_text.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        name, kind = f[-1], f[-2]
        syms[name] = int(f[1], 16) if len(f) == 4 else None
        if len(f) == 4:
            addrs[name] = int(f[0], 16)
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
    if impl == "rust":
        problems += sha_loop_problems(syms, addrs)
    rust_syms = sum(1 for n in syms if n.startswith("_R"))
    if (impl == "rust") != (rust_syms > 0):
        problems.append(f"{rust_syms} Rust (v0-mangled) symbols in the "
                        f"{impl} purgatory")
    return problems, syms, types


def sha_loop_problems(sizes, addrs):
    """The Rust purgatory's SHA-256 block function must lie within one 4 KiB
    page (rust/kdump/sha256.rs: TCG does not chain translated blocks across
    pages). Its address in purgatory.ro is its offset in .text, the first
    section the loader places, at the start of a page-aligned buffer."""
    name = next((n for n in sizes if n.endswith("sha25615compress_blocks")),
                None)
    if name is None or sizes[name] is None:
        return ["the SHA-256 block function (sha256::compress_blocks) is "
                "missing"]
    start, size = addrs[name], sizes[name]
    if start % 4096 + size > 4096:
        return [f"sha256::compress_blocks (0x{start:x}, {size} bytes) "
                f"straddles a 4 KiB page"]
    return []


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
            f"panic symbol" + ("; the SHA-256 block loop within one page"
                               if k["impl"] == "rust" else ""))


def objdump(obj, arch=None):
    """A disassembler for call_graph: the text of the named functions (on
    an architecture whose calls llvm-objdump does not name, resolved by
    kdump_disasm)."""
    if arch is not None and arch.call_pairs:
        return pair_disassembler(obj)

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
    """crash_kexec() and __crash_kexec() of the built vmlinux. C kernel:
    upstream's, whose callees are only listed. Rust kernel: each must call
    its Rust face, and the faces' call graph is checked."""
    arch = k["arch"]
    dis = disassemble or objdump(k["vmlinux"], arch)
    wrappers, _ = call_graph(dis, HANDOFF_ROOTS, lambda n: False, arch)
    if k["impl"] == "c":
        return "C: " + "; ".join(f"{f} -> {', '.join(sorted(o))}"
                                 for f, o in sorted(wrappers.items()))
    missing = [f"{c} does not call {r}" for c, r in
               zip(HANDOFF_ROOTS, RUST_HANDOFF_ROOTS) if r not in wrappers[c]]
    if missing:
        raise StageError("handoff", f"{k['vmlinux']}: " + "; ".join(missing))
    graph, problems = check_panic_free(
        dis, RUST_HANDOFF_ROOTS,
        HANDOFF_REQUIRED | HANDOFF_ATOMICS | arch.arch_callees,
        HANDOFF_REQUIRED | HANDOFF_ATOMICS, arch)
    if problems:
        raise StageError("handoff", f"{k['vmlinux']}: " + "; ".join(problems))
    rust = sorted(f for f in graph if f.startswith("_R"))
    calls = sorted({t for o in graph.values() for t in o
                    if not t.startswith("_R")})
    return (f"{', '.join(HANDOFF_ROOTS)} call {', '.join(RUST_HANDOFF_ROOTS)}"
            f"; {len(graph)} functions reached from these ({len(rust)} Rust "
            f"beyond them), none calls a panic function; calls out: "
            f"{', '.join(calls)}")


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
step!(kdump_kexec_lock_word = 1, crash_save_vmcoreinfo = 3,
      machine_crash_shutdown = 4, machine_kexec = 5);
#[inline(never)]
fn pick(i: usize) -> u8 { TABLE[i] }
#[no_mangle]
pub extern "C" fn kdump_rust_crash_kexec_locked(i: usize) -> u8 {
    kdump_kexec_lock_word();
    crash_save_vmcoreinfo();
    machine_crash_shutdown();
    let v = pick(i);
    machine_kexec();
    v
}
#[no_mangle]
pub extern "C" fn kdump_rust_crash_kexec(i: usize) -> u8 {
    // SAFETY: as above.
    kdump_rust_crash_kexec_locked(i + usize::from(unsafe { read_volatile(state(6)) }))
}
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! { loop {} }
// core's unwind tables name it; with panic=abort nothing calls it.
#[no_mangle]
extern "C" fn rust_eh_personality() {}
"""


def build_panicky(rustc, tmp, arch, kernel_out):
    """Build PANICKY_RS and link it with ld.lld into a static executable
    (non-PIC, unused code dropped), so that its calls are direct and
    resolved, as in vmlinux; returns its path. For the host's architecture
    it is a static library of the host's core; for another one, an object
    of the kernel's target linked with the core the kernel built in
    kernel_out (what core needs from the kernel, memset and the like, stays
    unresolved: nothing the check follows calls it)."""
    src, exe = Path(tmp) / "panicky.rs", Path(tmp) / "panicky"
    src.write_text(PANICKY_RS)
    flags = ["--edition=2021", "-Cpanic=abort", "-O", "-Ccodegen-units=1",
             "-Csymbol-mangling-version=v0", "-Crelocation-model=static"]
    link = ["ld.lld", "-m", arch.lld_emulation, "-static", "--gc-sections",
            "-e", RUST_HANDOFF_ROOTS[0], "-u", RUST_HANDOFF_ROOTS[1],
            "-o", exe]
    env = None
    if arch.name == host_arch():
        lib = Path(tmp) / "libpanicky.a"
        cmds = [[rustc, *flags, "--crate-type=staticlib", "-o", lib, src],
                link + [lib]]
    else:
        rust = Path(kernel_out) / "rust"
        m = re.search(r"--target=(\S+)",
                      (rust / ".core.o.cmd").read_text())
        obj = Path(tmp) / "panicky.o"
        cmds = [[rustc, *flags, f"--target={m.group(1)}", "--sysroot=/dev/null",
                 "-L", rust, "--crate-type=lib", "--emit=obj", "-o", obj, src],
                link + ["--unresolved-symbols=ignore-all", obj,
                        rust / "core.o", rust / "compiler_builtins.o"]]
        # The kernel's core is built by the same rustc, unstable features
        # and all.
        env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    for cmd in cmds:
        r = subprocess.run([str(c) for c in cmd], capture_output=True,
                           text=True, env=env)
        if r.returncode != 0:
            raise StageError("handoff", "the panicky self-test object does "
                             "not build", tail=r.stderr.splitlines()[-20:])
    return exe


def host_arch():
    """The host's architecture, as arch_configs names it."""
    return {"aarch64": "arm64"}.get(platform.machine(), platform.machine())
