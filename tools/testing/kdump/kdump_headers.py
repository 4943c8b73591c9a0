# SPDX-License-Identifier: GPL-2.0
"""ELF core headers planted in guest memory: elfcorehdr= points at bytes
QEMU loaded above mem=, where the kernel never looks, as a crashed kernel
leaves them. Each case boots once; a bad header must leave no /proc/vmcore
and no oops, a good one must be served with the planted bytes."""

import hashlib
import re
import struct
import subprocess
from pathlib import Path

from kdump_common import StageError
from kdump_scenarios import boot_guest

# Where the header is planted: 768 MiB into RAM; the guest runs with
# mem=512M (or, where the device tree tells the kernel, with the planted
# bytes reserved there).
HDR_OFFSET = 0x30000000
NOTE_AT, LOAD_AT, LOAD_SIZE = 0x10000, 0x100000, 1 << 20
NOTE = (struct.pack("<III", 11, 28, 0) + b"VMCOREINFO\0\0" +
        b"OSRELEASE=6.12\nPAGESIZE=4096\n")   # 11 -> 12, 28: padded


def hdr_addr(arch):
    """Guest physical address of the planted header."""
    return arch.ram_base + HDR_OFFSET


def core_header(machine, cls=64, phnum=None, phentsize=None, loads=None,
                notes=None, direct_map=0, base=HDR_OFFSET):
    """An ELF core header as a crashed kernel leaves it at `base`, written
    here from the ELF specification: PT_NOTEs, then PT_LOADs (p_offset =
    p_paddr)."""
    loads = loads or ((base + LOAD_AT, LOAD_SIZE),)
    notes = notes or ((base + NOTE_AT, 4096),)
    phs = [(4, a, 0, n) for a, n in notes] + \
          [(1, a, direct_map + a, n) for a, n in loads]
    # Per class: e_ident[EI_CLASS], Elf_Ehdr after e_ident, Elf_Phdr (the
    # ELF64 one has p_flags second, the ELF32 one seventh), address mask.
    ident, ehdr, phdr, mask = {
        64: (2, "<HHIQQQIHHHHHH", "<IIQQQQQQ", 2**64 - 1),
        32: (1, "<HHIIIIIHHHHHH", "<IIIIIIII", 2**32 - 1)}[cls]
    eh = 16 + struct.calcsize(ehdr)
    out = (b"\x7fELF" + bytes([ident, 1, 1]) + bytes(9) +
           struct.pack(ehdr, 4, machine, 1, 0, eh, 0, 0, eh,
                       phentsize or struct.calcsize(phdr),
                       len(phs) if phnum is None else phnum, 0, 0, 0))
    for t, off, va, n in phs:
        load = t == 1
        f = (t, 7 if load else 0, off, va & mask if load else 0,
             off if load else 0, n, n, 0)
        out += struct.pack(phdr, *(f if cls == 64 else f[:1] + f[2:7] +
                                   f[1:2] + f[7:]))
    return out


def header_image(hdr, notes=NOTE):
    """What QEMU loads at hdr_addr(): the header, the notes, and a PT_LOAD
    page pattern whose digest the guest can check."""
    img = bytearray(LOAD_AT + LOAD_SIZE)
    img[:len(hdr)] = hdr
    img[NOTE_AT:NOTE_AT + len(notes)] = notes
    pattern = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest()
                       for i in range(LOAD_SIZE // 32))
    img[LOAD_AT:] = pattern
    return bytes(img), hashlib.md5(pattern).hexdigest()


# Bogus elfcorehdr= addresses (the good ELF64 header stays planted at
# hdr_addr()), where the command line gives the address: name: (address,
# what the Rust kernel's one error may say). In this kernel's own RAM the
# address is refused before anything maps it; elsewhere the bytes read are
# no ELF header.
OWN_RAM = "elfcorehdr: in this kernel's own RAM"
NOT_ELF = "e_ident[EI_MAG]: not an ELF file"
ADDRESS_CASES = {
    # 16 MiB: the kernel image (CONFIG_PHYSICAL_START), RAM in use.
    "addr-own-ram": (lambda at: 0x1000000, (OWN_RAM,)),
    # The last page of the RAM mem=512M leaves this kernel: its own, or
    # reserved by early boot, then read and found to be no header.
    "addr-last-page": (lambda at: (512 << 20) - 4096, (OWN_RAM, NOT_ELF)),
    # The legacy VGA hole below 1 MiB: not RAM.
    "addr-hole": (lambda at: 0xa0000, (NOT_ELF,)),
    # Past the end of the guest's 1 GiB.
    "addr-past-end": (lambda at: 1 << 32, (NOT_ELF,)),
    # Not page aligned: 16 bytes into the planted header.
    "addr-unaligned": (lambda at: at + 0x10, (NOT_ELF,)),
}


def cases(arch):
    """name: (header bytes or None for plain zeros, notes, what the Rust
    kernel's one error must say (a string, or a tuple of alternatives), or
    None for a served /proc/vmcore, and the elfcorehdr= address, or None
    for the planted header's)."""
    m, at = arch.elf_machine, hdr_addr(arch)
    kw = {"direct_map": arch.direct_map, "base": at}
    planted = {
        "zeros": (None, NOTE, "e_ident[EI_MAG]: not an ELF file"),
        "machine": (core_header(183 if m != 183 else 62, **kw),
                    NOTE, "e_machine: wrong machine"),
        "phnum-0": (core_header(m, phnum=0, **kw), NOTE,
                    "e_phnum: no program header"),
        "phentsize": (core_header(m, phentsize=40, **kw), NOTE,
                      "e_phentsize: wrong program header size"),
        "load-wraps": (core_header(m, loads=((2**64 - 4096, 8192),), **kw),
                       NOTE, "p_memsz: PT_LOAD ends past the address space"),
        "note-huge": (core_header(m, notes=((at + NOTE_AT, 1 << 40),), **kw),
                      NOTE, "p_memsz"),
        "bad-note": (core_header(m, **kw),
                     struct.pack("<III", 0x7fffffff, 4, 0), None),
        "elf64": (core_header(m, **kw), NOTE, None),
        "elf32": (core_header(m, cls=32, **kw), NOTE,
                  None if 32 in arch.core_classes else
                  "e_ident[EI_CLASS]: not this machine's ELF class"),
    }
    out = {name: (*c, None) for name, c in planted.items()}
    if not arch.elfcorehdr_in_dt:
        # Where the device tree gives the address (arm64), the kernel maps
        # and reserves what it says; elfcorehdr= outside mem= oopses in the
        # base's arch code, C and Rust alike (see the README).
        for name, (addr, want) in ADDRESS_CASES.items():
            out[name] = (planted["elf64"][0], NOTE, want, addr(at))
    return out


HEADER_CMD = (
    "if [ -e /proc/vmcore ]; then echo \"VMCORE size=$(stat -c %s /proc/vmcore)"
    " mode=$(stat -c %a /proc/vmcore) md5=$(md5sum < /proc/vmcore | "
    "cut -d' ' -f1) load=$(tail -c 1048576 /proc/vmcore | md5sum | "
    "cut -d' ' -f1)\"; else echo VMCORE none; fi")

OOPS = re.compile(r"Oops|BUG:|WARNING:|Call Trace|Kernel panic|"
                  r"general protection")


GUEST_MEM = "1G"


def dtb_with_elfcorehdr(k, work, at, size):
    """QEMU's device tree for the header guest, with /chosen's
    linux,elfcorehdr = <at size>; built with the kernel's own dtc."""
    arch = k["arch"]
    plain, dts = work / "virt.dtb", work / "planted.dts"
    out = work / "planted.dtb"
    dtc = k["out"] / "scripts/dtc/dtc"
    steps = ([arch.qemu, *arch.qemu_args, *arch.firmware_args(),
              "-machine", f"dumpdtb={plain}",
              "-m", GUEST_MEM, *arch.smp_args(1), "-nodefaults",
              "-display", "none"],
             [dtc, "-q", "-I", "dtb", "-O", "dts", "-o", dts, plain])
    for cmd in steps:
        r = subprocess.run([str(c) for c in cmd], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise StageError("headers", f"{cmd[0]} failed making the "
                             f"device tree", tail=r.stderr.splitlines())
    text = dts.read_text()
    cells = " ".join(f"{v >> 32:#x} {v & 0xffffffff:#x}" for v in (at, size))
    text, n = re.subn(r"(\bchosen \{\n)",
                      rf"\1\t\tlinux,elfcorehdr = <{cells}>;\n", text, count=1)
    if n != 1:
        raise StageError("headers", f"no /chosen node in {plain}")
    dts.write_text(text)
    r = subprocess.run([str(dtc), "-q", "-I", "dts", "-O", "dtb", "-o",
                        str(out), str(dts)], capture_output=True, text=True)
    if r.returncode != 0:
        raise StageError("headers", "dtc failed", tail=r.stderr.splitlines())
    return out


def header_boot(k, name, workdir):
    """Boot kernel k with case `name` planted; returns what happened:
    outcome ('refused' or 'served size=.. mode=..'), the vmcore's md5, its
    PT_LOAD md5 against the planted one, the kernel's vmcore errors, any
    oops line, and the guest command's status."""
    hdr, notes, _, addr = cases(k["arch"])[name]
    work = workdir / name
    work.mkdir(parents=True, exist_ok=True)
    img, load_md5 = header_image(hdr or b"", notes)
    if hdr is None:
        img = bytes(len(img))
    (work / "planted.bin").write_bytes(img)
    arch = k["arch"]
    at = hdr_addr(arch)
    extra = ["-device", f"loader,file={work / 'planted.bin'},"
             f"addr={at:#x},force-raw=on"]
    if arch.elfcorehdr_in_dt:
        # As kexec tells a capture kernel there: /chosen's
        # linux,elfcorehdr, which also keeps the planted bytes reserved
        # (and mapped: the header is read through the linear map).
        extra += ["-dtb", str(dtb_with_elfcorehdr(k, work, at, len(img)))]
        append = ""
    else:
        append = f"mem=512M elfcorehdr={addr if addr is not None else at:#x}"
    # The cases are about the crashed kernel's header: no device dump (the
    # Rust kernel's sample would add one) changes the file's size here.
    append = f"{append} novmcoredd".strip()
    try:
        rc, output, g = boot_guest(k, append, HEADER_CMD, GUEST_MEM, 1, 120,
                                   work, extra)
    except StageError:
        # The C kernel is the reference: an oops that leaves its guest
        # hung (riscv64's load-wraps) is what it does, and is recorded.
        console = (work / "console.log").read_text(errors="replace")
        oops = OOPS.search(console)
        if k["impl"] != "c" or not oops:
            raise
        return {"outcome": "hung", "md5": None, "load_ok": False,
                "errors": [], "dropped_note": False, "oops": oops.group(0),
                "rc": None, "log": work / "console.log"}
    console = Path(g.log_path).read_text(errors="replace")
    # A read that fails leaves md5 empty.
    m = re.search(r"VMCORE size=(\d+) mode=(\d+) md5=(\w*) load=(\w*)",
                  output)
    oops = OOPS.search(console)
    return {
        "outcome": (f"served size={m.group(1)} mode={m.group(2)}" if m
                    else "refused"),
        "md5": (m.group(3) or "unreadable") if m else None,
        "load_ok": bool(m) and m.group(4) == load_md5,
        "errors": [l.split("] ", 2)[-1] for l in console.splitlines()
                   if "vmcore: " in l and ("refused" in l or "disabled" in l)],
        "dropped_note": any("n_namesz" in l for l in console.splitlines()),
        "oops": oops.group(0) if oops else None,
        "rc": rc, "log": g.log_path,
    }


def rust_problems(k, name, f):
    """What is wrong with the Rust kernel's handling of case `name`."""
    _, _, want, _ = cases(k["arch"])[name]
    problems = []
    if f["oops"]:
        problems.append(f"oops/warning: {f['oops']}")
    if f["rc"] != 0:
        problems.append(f"guest command status {f['rc']}")
    if want is not None:
        if f["outcome"] != "refused":
            problems.append("/proc/vmcore exists")
        wants = want if isinstance(want, tuple) else (want,)
        if len(f["errors"]) != 1 or not any(w in f["errors"][0]
                                            for w in wants):
            problems.append(f"want one error naming {want!r}, got "
                            f"{f['errors']}")
    else:
        # Header page, the notes' page (none when the one note was
        # dropped), the PT_LOAD.
        size = (1 if name == "bad-note" else 2) * 4096 + LOAD_SIZE
        if f["outcome"] != f"served size={size} mode=400" or not f["load_ok"]:
            problems.append(f"/proc/vmcore is {f['outcome']} (PT_LOAD bytes "
                            f"{'right' if f['load_ok'] else 'wrong'}); want "
                            f"size {size}, mode 400, the planted PT_LOAD")
        if name == "bad-note" and not f["dropped_note"]:
            problems.append("the dropped note is not reported")
    return problems


def header_boots(k, workdir, names=None):
    """Every case (or `names`) on kernel k: {case: facts}. On the Rust
    kernel, raises at the first case handled wrongly. The C kernel is the
    reference, not under test: what it does (an oops included) is recorded
    for side_by_side()."""
    out = {}
    for name in names or cases(k["arch"]):
        f = header_boot(k, name, workdir)
        if k["impl"] == "rust":
            problems = rust_problems(k, name, f)
            if problems:
                raise StageError("headers", f"rust elfcorehdr case {name}: "
                                 + "; ".join(problems), log=f["log"])
        out[name] = f
    return out


def outcome(f):
    """What a kernel did with a planted header, in one phrase."""
    said = f["errors"][0].split("refused: ")[-1] if f["errors"] else ""
    return (f["outcome"] + (f" ({said})" if said else "") +
            (f", console: {f['oops']}" if f["oops"] else ""))


def side_by_side(c, rust, differ_ok):
    """Rows 'case: C outcome | Rust outcome'; raises if an outcome differs
    (refused vs served, size, mode, content, an oops) where differ_ok
    (case: reason) does not say why it may."""
    rows, bad = [], []
    for name in rust:
        co, ro = c[name], rust[name]
        same = (co["outcome"], co["md5"], bool(co["oops"])) == \
            (ro["outcome"], ro["md5"], bool(ro["oops"]))
        note = "" if same else \
            f"  [differs: {differ_ok.get(name, 'NOT EXPECTED')}]"
        if not same and name not in differ_ok:
            bad.append(name)
        rows.append(f"{name}: C {outcome(co)} | Rust {outcome(ro)}{note}")
    if bad:
        raise StageError("headers", "C and Rust differ on " +
                         ", ".join(bad) + ": " + "; ".join(rows))
    return rows
