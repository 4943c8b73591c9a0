# SPDX-License-Identifier: GPL-2.0
"""Checks of a captured vmcore by tools nobody here wrote (drgn,
makedumpfile), against guest memory as QEMU saw it, and against the other
implementation's vmcore."""

import json
import re
import struct
import subprocess
from pathlib import Path

from kdump_common import BUILD, HERE, StageError
from kdump_ktap import tap_block
from kdump_setup import ensure_drgn

DRGN_SCRIPT = HERE / "drgn/crashed_thread.py"
GDB_TRAP_SCRIPT = HERE / "gdb/trap_frames.py"
PT_LOAD, PT_NOTE = 1, 4


def verify_vmcore(vmcore, vmlinux, release, workdir, expect,
                  makedumpfile=True):
    """drgn and makedumpfile on the host; returns facts or raises. `expect`
    lists groups of functions: the crashed thread's backtrace must hold one
    of each group."""
    py = ensure_drgn(BUILD / "logs/setup.log")
    r = subprocess.run([py, DRGN_SCRIPT, vmcore, vmlinux],
                       capture_output=True, text=True, timeout=600)
    (workdir / "drgn.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise StageError("verify", "drgn could not read the vmcore",
                         log=workdir / "drgn.log")
    facts = demangled(json.loads(r.stdout.strip().splitlines()[-1]))
    if facts.get("unwound"):
        facts["frames"], facts["trace"] = gdb_frames(vmcore, vmlinux, workdir,
                                                     facts["pid"])
        facts["unwinder"] = "gdb-multiarch (drgn: " + facts["unwound"] + ")"
    problems = []
    names = [f for f in facts["frames"] if f]
    for group in expect:
        if not any(fn in names for fn in group):
            problems.append(f"`{'` or `'.join(group)}` is not in the "
                            f"crashed thread's backtrace")
    if facts["release"] != release:
        problems.append(f"UTS release {facts['release']!r} is not the built "
                        f"kernel's {release!r}")
    dump = workdir / "dumpfile"
    dump.unlink(missing_ok=True)
    facts["problems"] = problems
    facts["makedumpfile_bytes"] = None
    if not makedumpfile:
        return facts
    m = subprocess.run(["makedumpfile", "-d", "31", "-x", str(vmlinux),
                        str(vmcore), str(dump)], capture_output=True,
                       text=True, timeout=900)
    (workdir / "makedumpfile.log").write_text(m.stdout + m.stderr)
    facts["makedumpfile_bytes"] = dump.stat().st_size if dump.exists() else 0
    dump.unlink(missing_ok=True)
    if m.returncode != 0 or not facts["makedumpfile_bytes"]:
        problems.append(f"makedumpfile -d 31 failed (status {m.returncode}, "
                        f"see {workdir / 'makedumpfile.log'})")
    return facts


GDB_FRAME = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?([\w.$]+) \(")


def gdb_frames(vmcore, vmlinux, workdir, tid):
    """The backtrace of the crashed thread (`tid`, which drgn found) as
    gdb-multiarch unwinds it from the core's NT_PRSTATUS notes, where drgn
    cannot: (function names, text). gdb makes a thread of every CPU's
    note; the first need not be the crashed one. Where gdb stops short of
    a kernel-mode trap (riscv64), the functions its trap frame names (the
    saved pc and return address, gdb/trap_frames.py) follow the unwound
    frames."""
    r = subprocess.run(["gdb-multiarch", "-batch", "-nx", "-x",
                        str(GDB_TRAP_SCRIPT), "-ex", "set pagination off",
                        "-ex", "thread apply all bt 40",
                        "-ex", f"kdump-trap-frames {tid}",
                        str(vmlinux), str(vmcore)], capture_output=True,
                       text=True, timeout=600)
    (workdir / "gdb.log").write_text(r.stdout + r.stderr)
    return parse_gdb_frames(r.returncode, r.stdout, tid, workdir / "gdb.log")


# One line of gdb/trap_frames.py: frame address, field, address, function.
GDB_TRAP = re.compile(r"^kdump-trap (\S+) (\w+) (0x[0-9a-f]+) (\S+)$", re.M)


def parse_gdb_frames(status, out, tid, log):
    """gdb_frames() on gdb's output: the unwound frames of LWP tid, then
    the functions its trap frames name."""
    trap_at = out.find("\nkdump-trap ")
    bt, traps = (out, "") if trap_at < 0 else (out[:trap_at], out[trap_at:])
    parts = re.split(r"^Thread \d+ \((?:LWP|process) (\d+)\):$",
                     bt, flags=re.M)
    text = next((t for p, t in zip(parts[1::2], parts[2::2])
                 if int(p) == tid), "")
    frames = [m.group(1) for m in map(GDB_FRAME.match, text.splitlines())
              if m]
    if status != 0 or not frames:
        raise StageError("verify", f"gdb-multiarch could not unwind the "
                         f"crashed thread (LWP {tid})", log=log)
    trapped = [m.groups() for m in GDB_TRAP.finditer(traps)]
    frames += [fn for _, _, _, fn in trapped if fn != "?"]
    text = text.strip() + "".join(
        f"\n(trap frame at {at}: {field} {addr} in {fn})"
        for at, field, addr, fn in trapped)
    return frames, text


# A Rust v0 symbol (rustc's mangling in the kernel), as drgn prints it.
RUST_SYMBOL = re.compile(r"\b_R[0-9A-Za-z_]+")


def demangled(facts):
    """drgn's facts with every Rust symbol demangled by llvm-cxxfilt
    (`kdump::handoff::crash_kexec_locked::<...>` rather than `_RINv...`);
    a symbol it cannot read stays as it was."""
    text = json.dumps(facts)
    symbols = sorted(set(RUST_SYMBOL.findall(text)))
    if not symbols:
        return facts
    r = subprocess.run(["llvm-cxxfilt", *symbols], capture_output=True,
                       text=True, timeout=60)
    names = r.stdout.splitlines() if r.returncode == 0 else []
    if len(names) != len(symbols):
        return facts
    table = dict(zip(symbols, names))
    return json.loads(RUST_SYMBOL.sub(
        lambda m: json.dumps(table[m.group(0)])[1:-1], text))


def vmcore_headers(vmcore):
    """The bytes of an ELF64 core file from its start to the end of its
    program header table."""
    with open(vmcore, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2:
            raise StageError("verify", f"{vmcore} is not an ELF64 file")
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(0)
        return f.read(phoff + phentsize * phnum)


def vmcore_phdrs(vmcore):
    """Program headers of an ELF64 core file: [(type, flags, offset,
    vaddr, paddr, filesz, memsz)]."""
    data = vmcore_headers(vmcore)
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return [struct.unpack_from("<IIQQQQQ", data, phoff + i * phentsize)
            for i in range(phnum)]


def compare_core_layouts(arch, c_dir, rust_dir):
    """The vmcores of the C and the Rust kernel, crashed the same way on the
    same guest, must describe the same memory: same PT_LOAD addresses and
    sizes in the same order, same number of notes."""
    def summary(d):
        ph = vmcore_phdrs(Path(d) / "vmcore")
        # The kernel text map covers _text.._end, which differs between two
        # kernel images: compare its addresses, not its size.
        loads = [(t[3], t[4]) if t[3] >= arch.text_base else
                 (t[3], t[4], t[6]) for t in ph if t[0] == PT_LOAD]
        return loads, sum(1 for t in ph if t[0] == PT_NOTE)
    (c_loads, c_notes), (r_loads, r_notes) = summary(c_dir), summary(rust_dir)
    if c_loads != r_loads or c_notes != r_notes:
        diff = [f"#{i}: C {c} vs Rust {r}" for i, (c, r) in
                enumerate(zip(c_loads, r_loads)) if c != r][:3]
        raise StageError("verify", f"vmcore program headers differ: C has "
                         f"{len(c_loads)} PT_LOAD/{c_notes} PT_NOTE, Rust "
                         f"{len(r_loads)}/{r_notes}; {diff}")
    return (f"{len(c_loads)} PT_LOAD (vaddr, paddr, size; the kernel map's "
            f"size aside) and {c_notes} PT_NOTE identical")


def compare_old_memory(vmcore, saved, keep_out):
    """Every byte of old memory in the vmcore's PT_LOADs against what QEMU
    saved of guest physical memory while the capture kernel ran (`saved`:
    [(paddr, path)]). Parts in `keep_out` ([(start, end)]: memory the
    capture kernel owns or reuses) are not compared. Returns facts; raises
    at the first page that differs."""
    chunk = 1 << 20
    facts = {"loads": 0, "compared": 0, "skipped": 0, "nonzero_pages": 0}
    zero = bytes(4096)
    with open(vmcore, "rb") as core:
        for kind, _, off, _, paddr, filesz, _ in vmcore_phdrs(vmcore):
            if kind != PT_LOAD:
                continue
            facts["loads"] += 1
            pieces = subtract((paddr, paddr + filesz), keep_out)
            facts["skipped"] += filesz - sum(b - a for a, b in pieces)
            for start, end in pieces:
                ref = next(((a, p) for a, p in saved
                            if a <= start and end <= a + p.stat().st_size),
                           None)
                if ref is None:
                    raise StageError("guest-checks", f"PT_LOAD bytes "
                                     f"{start:#x}-{end:#x} are not in the "
                                     f"guest memory QEMU saved")
                with open(ref[1], "rb") as mem:
                    mem.seek(start - ref[0])
                    core.seek(off + start - paddr)
                    for at in range(start, end, chunk):
                        n = min(chunk, end - at)
                        a, b = core.read(n), mem.read(n)
                        if a != b:
                            page = next(i for i in range(0, n, 4096)
                                        if a[i:i + 4096] != b[i:i + 4096])
                            raise StageError(
                                "guest-checks", f"/proc/vmcore differs "
                                f"from guest memory at physical "
                                f"{at + page:#x} (file offset "
                                f"{off + at + page - paddr:#x})")
                        facts["nonzero_pages"] += sum(
                            1 for i in range(0, n, 4096)
                            if a[i:i + 4096] != zero)
                facts["compared"] += end - start
    return facts


def subtract(rng, holes):
    """The parts of [start, end) outside every [a, b) of holes."""
    out, (at, end) = [], rng
    for a, b in sorted(holes):
        if b <= at or a >= end:
            continue
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < end:
        out.append((at, end))
    return out


def check_guest(g):
    """What vmcore_test and makedumpfile said in the capture kernel; raises
    on a failed or skipped TAP line, a failed or inconsistent makedumpfile."""
    lines = [l.strip() for _, l in g.seen]
    rc = next(int(l.rsplit("=", 1)[1]) for l in lines
              if l.startswith("KDUMP-STAGE: vmcore-test-done rc="))
    plan, passed, bad, skipped, tap = tap_block(lines,
                                                "KDUMP-STAGE: vmcore-test")
    out = {"tap": tap, "vmcore_test_passed": passed}
    if bad or skipped or rc != 0 or plan == 0 or passed != plan:
        raise StageError("guest-checks", f"vmcore_test: {passed}/{plan} "
                         f"passed, rc {rc}: " + "; ".join(bad + skipped),
                         log=g.log_path, tail=tap[-20:])
    how = {l.split()[1]: " ".join(l.split()[2:]) for l in lines
           if l.startswith("KDUMP-MD: ")}
    sizes = {}
    for h in ("mmap", "non-mmap"):
        line = next((l for l in lines if f"makedumpfile-{h} rc=" in l), "")
        f = dict(w.split("=", 1) for w in line.split() if "=" in w)
        rc, sizes[h] = int(f.get("rc", -1)), int(f.get("size", 0))
        if rc != 0 or sizes[h] == 0:
            raise StageError("guest-checks", f"makedumpfile ({h}) in the "
                             f"capture kernel failed (rc {rc}, {sizes[h]} "
                             f"bytes)", log=g.log_path, tail=g.tail())
    if how.get("mmap") != "mmap() is available" or \
            how.get("non-mmap") != "mmap() is disabled":
        raise StageError("guest-checks", f"makedumpfile did not take the "
                         f"mmap() and read() paths: {how}", log=g.log_path)
    if sizes["mmap"] != sizes["non-mmap"]:
        raise StageError("guest-checks", f"makedumpfile -d 31 gives "
                         f"{sizes['mmap']} bytes through mmap() and "
                         f"{sizes['non-mmap']} through read()",
                         log=g.log_path)
    out["makedumpfile_guest_bytes"] = sizes
    return out
