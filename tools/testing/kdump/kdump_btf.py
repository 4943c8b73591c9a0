# SPDX-License-Identifier: GPL-2.0
"""The DEBUG_INFO_BTF build of the Rust kernel, and the check that
crash_kexec() is still a BPF kfunc in it.

Upstream's kernel/bpf/helpers.c lists crash_kexec in the kfunc set
generic_btf_ids with KF_DESTRUCTIVE. At link time pahole describes the C
functions of vmlinux in BTF (Rust is left out: --lang_exclude=rust), and
resolve_btfids writes each listed function's BTF id into the set in
.BTF_ids, then sorts the set by id; the verifier looks a kfunc's id up in
that sorted set. A function pahole did not describe keeps id 0: the kfunc
is gone, and the build only says "unresolved symbol" in its log.

The check reads what the verifier reads: the id of the FUNC named
crash_kexec in vmlinux's .BTF (bpftool's dump), and the (id, flags) pairs
of the set in vmlinux's .BTF_ids (its symbol and the section's bytes).
"""

import hashlib
import re
import struct
import subprocess
from pathlib import Path

from kdump_build import build_kernel, read_config
from kdump_common import BUILD, HERE, StageError, last_run
from kdump_pahole import ensure_pahole
from kdump_scenarios import boot_guest
from kdump_setup import ensure_apt

BTF_FRAGMENT = HERE / "configs/btf.config"
KFUNC = "crash_kexec"
KFUNC_SET = "generic_btf_ids"
# include/linux/btf_ids.h: the set's flags say it holds kfuncs.
BTF_SET8_KFUNCS = 1 << 0
# What pahole's decl_tag_kfuncs feature tags every kfunc's FUNC with.
KFUNC_TAG = "bpf_kfunc"


def build_btf_kernel(tools, impl="rust", seed=None, log=None, variant=None):
    """Build the kernel of `impl` with configs/btf.config and trixie's
    pahole in build folder out-ARCH-VARIANT (default IMPL-btf; a copy of
    `seed` when it is new); returns build_kernel()'s facts."""
    log = log or BUILD / "logs/setup.log"
    pahole = ensure_pahole(log)
    ensure_apt(log, ["bpftool"])
    return build_kernel(tools, impl, variant=variant or f"{impl}-btf",
                        extra=[BTF_FRAGMENT], seed=seed,
                        make_vars=[f"PAHOLE={pahole}"])


def parse_btf_dump(text):
    """The types of `bpftool btf dump file F` (raw format): a list of
    (id, kind, name, {key: value}) in dump order, name "" for anonymous
    types (bpftool's '(anon)'); member lines (indented) are left out."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\[(\d+)\] (\w+) '([^']*)'(.*)$", line)
        if not m:
            continue
        attrs = dict(re.findall(r"(\w+)=(\S+)", m.group(4)))
        name = "" if m.group(3) == "(anon)" else m.group(3)
        out.append((int(m.group(1)), m.group(2), name, attrs))
    return out


def elf_section(data, name):
    """(address, file offset, size) of section `name` of a little-endian
    ELF64 image (bytes); None if it has none."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)

    def header(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    strtab = header(shstrndx)[4]
    for i in range(shnum):
        sh_name, _, _, addr, offset, size = header(i)
        end = data.index(b"\0", strtab + sh_name)
        if data[strtab + sh_name:end].decode() == name:
            return addr, offset, size
    return None


def read_set8(data, section, addr):
    """The (cnt, flags, [(id, flags)]) of the struct btf_id_set8 at
    address `addr` of `section` (elf_section()'s triple) in ELF image
    `data`."""
    sec_addr, sec_off, sec_size = section
    off = addr - sec_addr
    if not 0 <= off <= sec_size - 8:
        raise ValueError(f"set at {addr:#x} is outside the section")
    cnt, flags = struct.unpack_from("<II", data, sec_off + off)
    if off + 8 + 8 * cnt > sec_size:
        raise ValueError(f"set at {addr:#x} says {cnt} entries, more than "
                         f"the section holds")
    pairs = [struct.unpack_from("<II", data, sec_off + off + 8 + 8 * i)
             for i in range(cnt)]
    return cnt, flags, pairs


def kf_flag(src, name):
    """The value of kfunc flag `name` (KF_DESTRUCTIVE) as the source
    tree's include/linux/btf.h defines it: (1 << N)."""
    text = (Path(src) / "include/linux/btf.h").read_text()
    m = re.search(rf"^#define\s+{name}\s+\(1 << (\d+)\)", text, re.M)
    if not m:
        raise StageError("btf", f"include/linux/btf.h of {src} does not "
                         f"define {name} as (1 << N)")
    return 1 << int(m.group(1))


def symbol_addresses(vmlinux, name):
    """Addresses of every symbol called `name` in vmlinux (llvm-nm)."""
    nm = subprocess.run(["llvm-nm", str(vmlinux)], capture_output=True,
                        text=True, check=True).stdout
    return [int(f[0], 16) for f in (l.split() for l in nm.splitlines())
            if len(f) == 3 and f[2] == name]


def kfunc_problems(types, set8, destructive, func=KFUNC):
    """What is wrong with kfunc `func` given vmlinux's BTF types
    (parse_btf_dump()) and its kfunc set (read_set8()): [] when the set
    holds the id of the one FUNC named `func`, with the `destructive`
    flag, and pahole tagged that FUNC as a kfunc. Also returns the FUNC's
    id (or None). (pahole gives every FUNC static linkage: not checked.)"""
    problems = []
    funcs = [i for i, kind, name, _ in types
             if kind == "FUNC" and name == func]
    if len(funcs) != 1:
        problems.append(f"vmlinux's BTF has {len(funcs)} FUNC named {func}"
                        f" (want 1: pahole describes C functions only)")
        return problems, None
    fid = funcs[0]
    cnt, flags, pairs = set8
    if not flags & BTF_SET8_KFUNCS:
        problems.append(f"the set's flags {flags:#x} lack BTF_SET8_KFUNCS")
    mine = [f for i, f in pairs if i == fid]
    if not mine:
        zero = sum(1 for i, _ in pairs if i == 0)
        problems.append(f"the kfunc set ({cnt} entries, {zero} with id 0, "
                        f"unresolved) does not hold id {fid} of {func}")
    elif not mine[0] & destructive:
        problems.append(f"{func} [{fid}] is in the set with flags "
                        f"{mine[0]:#x}, without KF_DESTRUCTIVE "
                        f"({destructive:#x})")
    if not any(kind == "DECL_TAG" and name == KFUNC_TAG and
               a.get("type_id") == str(fid) and
               a.get("component_idx") == "-1" for _, kind, name, a in types):
        problems.append(f"no DECL_TAG '{KFUNC_TAG}' on FUNC {func} [{fid}]")
    return problems, fid


def check_kfunc(k, src):
    """crash_kexec() is a destructive kfunc of the built BTF kernel `k`
    (build_btf_kernel()'s facts): the .config has BTF and the bpf()
    system call, and for the Rust kernel RUST and the Rust handoff; the
    BTF has one FUNC crash_kexec, tagged as a kfunc; resolve_btfids put
    its id into generic_btf_ids with KF_DESTRUCTIVE; the build log names
    no unresolved crash_kexec. Returns a one-line summary; raises
    StageError with every problem found."""
    out, vmlinux = Path(k["out"]), Path(k["vmlinux"])
    problems = []
    config = read_config((out / ".config").read_text(), unset=False)
    want = ["CONFIG_DEBUG_INFO_BTF", "CONFIG_BPF_SYSCALL"] + \
        (["CONFIG_RUST", "CONFIG_CRASH_HANDOFF_RUST"]
         if k["impl"] == "rust" else [])
    for opt in want:
        if config.get(opt) != "y":
            problems.append(f"{opt} is not y in {out / '.config'}")
    dump = subprocess.run(["bpftool", "btf", "dump", "file", str(vmlinux)],
                          capture_output=True, text=True)
    if dump.returncode != 0:
        raise StageError("btf", f"bpftool cannot dump the BTF of {vmlinux}: "
                         f"{dump.stderr.strip()[:300]}")
    types = parse_btf_dump(dump.stdout)
    data = vmlinux.read_bytes()
    section = elf_section(data, ".BTF_ids")
    addrs = symbol_addresses(vmlinux, f"__BTF_ID__set8__{KFUNC_SET}")
    if section is None or len(addrs) != 1:
        raise StageError("btf", f"{vmlinux}: want a .BTF_ids section and "
                         f"one symbol __BTF_ID__set8__{KFUNC_SET}, found "
                         f"{'a' if section else 'no'} section and "
                         f"{len(addrs)} symbols")
    set8 = read_set8(data, section, addrs[0])
    found, fid = kfunc_problems(types, set8, kf_flag(src, "KF_DESTRUCTIVE"))
    problems += found
    unresolved = [l.strip() for l in last_run(out / "build.log")
                  if "unresolved symbol" in l and KFUNC in l.split()]
    if unresolved:
        problems.append(f"the build log says: {unresolved[0]}")
    if problems:
        raise StageError("btf", f"{KFUNC} is not a destructive kfunc of "
                         f"{vmlinux}: " + "; ".join(problems),
                         log=out / "build.log")
    funcs = sum(1 for t in types if t[1] == "FUNC")
    return (f"BTF: {len(types)} types, {funcs} FUNCs, FUNC {KFUNC} [{fid}] "
            f"tagged {KFUNC_TAG}; {KFUNC_SET}: {set8[0]} kfuncs, "
            f"{KFUNC} [{fid}] with KF_DESTRUCTIVE; .config: " +
            " ".join(f"{o[7:]}=y" for o in want))


def initcall_returns(console, name):
    """What each initcall called `name` returned, in boot order, from a
    console log of a kernel booted with initcall_debug ("initcall
    NAME+0x0/0xe0 returned -22 after ... usecs")."""
    return [int(v) for v in re.findall(
        rf"initcall {re.escape(name)}\+0x[0-9a-f]+/0x[0-9a-f]+ "
        rf"returned (-?\d+)", console)]


def check_sysfs_btf(k, workdir):
    """Boot BTF kernel `k`: kernel/bpf/helpers.c's kfunc_init(), which
    registers the kfunc sets against the kernel's parsed BTF, returned 0
    (initcall_debug; registering a set fails with -EINVAL if one of its
    ids is not a FUNC, e.g. 0, unresolved), and /sys/kernel/btf/vmlinux,
    the BTF the running kernel's verifier and bpftool read, is byte for
    byte the .BTF section of its vmlinux (sha256 in the guest and on the
    host)."""
    data = Path(k["vmlinux"]).read_bytes()
    section = elf_section(data, ".BTF")
    if section is None:
        raise StageError("btf", f"{k['vmlinux']} has no .BTF section")
    _, off, size = section
    want = hashlib.sha256(data[off:off + size]).hexdigest()
    rc, output, g = boot_guest(k, "initcall_debug ignore_loglevel",
                               "sha256sum /sys/kernel/btf/vmlinux; "
                               "wc -c < /sys/kernel/btf/vmlinux", "512M", 1,
                               300, workdir)
    words = output.split()
    if rc != 0 or not words or words[0] != want:
        raise StageError("btf", f"/sys/kernel/btf/vmlinux of the booted "
                         f"kernel is not vmlinux's .BTF ({size} bytes, "
                         f"sha256 {want[:16]}...): guest said {output!r} "
                         f"(status {rc})", log=g.log_path)
    init = initcall_returns(Path(g.log_path).read_text(errors="replace"),
                            "kfunc_init")
    # kernel/bpf/arena.c has a kfunc_init() too: every one must return 0.
    if not init or set(init) != {0}:
        raise StageError("btf", f"kfunc_init() (kernel/bpf/helpers.c, "
                         f"arena.c), which registers the kfunc sets, "
                         f"returned {init or 'nothing in the console log'}",
                         log=g.log_path)
    return (f"{len(init)} kfunc_init() returned 0; /sys/kernel/btf/vmlinux "
            f"of the booted kernel: {size} bytes, the .BTF section of "
            f"vmlinux (sha256 {want[:16]}...)")
