# SPDX-License-Identifier: GPL-2.0
"""States of the first kernel that the crash path must survive: a shrunk
reservation, an unload and a new load, a second load over the first, a CPU
taken offline and back and memory hot-added after a kexec_file_load. Each
is a full cycle (kdump_cycle.run_cycle) with the state set up around the
load by the guest's init (/etc/kdump/state) and, for the hot-add, by the
host (HOST), and a check on the console and the vmcore of what the state
must change."""

import re

from kdump_common import StageError, parse_size
from kdump_cycle import iomem_ranges
from kdump_qemu_control import Qmp
from kdump_verify import PT_LOAD, PT_NOTE, subtract, vmcore_headers, \
    vmcore_phdrs

# The reservation is shrunk to this through /sys/kernel/kexec_crash_size
# before the load (crashkernel=256M: 64 MiB go back to the system).
SHRINK_TO = 192 << 20

# Memory hot-add: the guest boots with a virtio-mem device of HOTADD_REGION
# bytes, none of it plugged (the x86_64 guests have no ACPI, which pc-dimm
# needs); after kexec -s -p the host plugs HOTADD_SIZE of it.
HOTADD_REGION = 512 << 20
HOTADD_SIZE = 256 << 20

# name: (the guest's state word, loader, vCPUs, guest memory, what it
# shows). The guests' sizes, CPU counts and loaders differ from state to
# state, so that the states cover 512 MiB, 4 GiB and 8 GiB guests (beside
# the cycles' 1 GiB), 1 and 2 CPUs and both loaders without cycles of their
# own (the soak campaign mixes them all).
STATES = {
    "shrink": (f"shrink={SHRINK_TO}", "file", 1, "512M",
               "kexec_crash_size shrunk from 256 to 192 MiB before "
               "kexec -s -p in a 512 MiB guest: the freed 64 MiB are System "
               "RAM again and in the dump, the rest of the reservation is "
               "not"),
    "reload": ("reload", "file", 2, "4G",
               "kexec -s -p, kexec -s -p -u (kexec_crash_loaded 0), "
               "kexec -s -p again, then the crash, in a 4 GiB guest on 2 "
               "CPUs (RAM below and above 4 GiB)"),
    "load-twice": ("twice", "load", 1, "8G",
                   "kexec -p twice, the second load replacing the first, "
                   "then the crash, in an 8 GiB guest"),
    "cpu-hotplug": ("cpu-hotplug", "file", 2, "1G",
                    "kexec -s -p on 2 CPUs, CPU 1 offline and online again "
                    "(CRASH_HOTPLUG rebuilds the ELF core header in place), "
                    "then the crash: both CPUs' notes in the dump"),
    "mem-hotplug": (f"mem-hotplug={HOTADD_SIZE}", "file", 1, "1G",
                    "kexec -s -p in a 1 GiB guest, then 256 MiB of a "
                    "virtio-mem device plugged and onlined (CRASH_HOTPLUG "
                    "rebuilds the ELF core header in place), then the "
                    "crash: the new memory in the dump"),
}


class HotAdd:
    """The host's half of the mem-hotplug state: the guest's virtio-mem
    device of HOTADD_REGION bytes (qemu()), and the plug of HOTADD_SIZE
    (what the guest's state word waits for) once it is loaded (act())."""
    device = "vm0"
    # The hot-added blocks are onlined as they come (the crash hotplug
    # notifier runs on MEM_ONLINE).
    append = "memhp_default_state=online"

    def qemu(self, mem):
        """(QEMU's -m argument for boot memory `mem`, the device's
        arguments, the bytes the dump can grow by)."""
        maxmem = (parse_size(mem) + HOTADD_REGION) >> 20
        return (f"{mem},maxmem={maxmem}M",
                ["-object", f"memory-backend-ram,id=vmem0,"
                 f"size={HOTADD_REGION >> 20}M",
                 "-device", f"virtio-mem-pci,id={self.device},"
                 f"memdev=vmem0,requested-size=0"],
                HOTADD_REGION)

    def act(self, g):
        """Once guest g says hot-add-ready, plug HOTADD_SIZE bytes (QMP)."""
        g.expect(r"KDUMP-STAGE: hot-add-ready", 120, "state")
        with Qmp(g.qmp_path) as q:
            q.command("qom-set", path=f"/machine/peripheral/{self.device}",
                      property="requested-size", value=HOTADD_SIZE)


# What the host does for a state, beside the guest (run_cycle's host=).
HOST = {"mem-hotplug": HotAdd()}


def console_lines(outdir):
    return (outdir / "console.log").read_text(errors="replace").splitlines()


def prefixed(lines, prefix):
    return [l.split(prefix, 1)[1] for l in lines if prefix in l]


def marks(lines, word):
    return sum(1 for l in lines if re.search(rf"KDUMP-STAGE: {word}\b", l))


def shrink_facts(lines, vmcore):
    """The reservation before and after the shrink, from the console, and
    the vmcore's PT_LOADs: the freed part must be dumped, the reservation
    that is left must not be."""
    before = iomem_ranges(prefixed(lines, "KDUMP-IOMEM-BEFORE: "),
                          "Crash kernel")
    after = iomem_ranges(prefixed(lines, "KDUMP-IOMEM: "), "Crash kernel")
    if not before or not after:
        raise StageError("state", f"no Crash kernel range on the console "
                         f"(before {before}, after {after})")
    size = sum(b - a for a, b in after)
    if size != SHRINK_TO:
        raise StageError("state", f"the reservation is {size:#x} bytes after "
                         f"the shrink, not {SHRINK_TO:#x}")
    freed = [p for r in before for p in subtract(r, after)]
    loads = [(paddr, paddr + filesz) for kind, _, _, _, paddr, filesz, _
             in vmcore_phdrs(vmcore) if kind == PT_LOAD and filesz]
    missing = [p for r in freed for p in subtract(r, loads)]
    if not freed or missing:
        raise StageError("state", f"freed {freed}: not in the dump: "
                         f"{missing}" if freed else "nothing was freed")
    kept = [r for r in after if subtract(r, loads) != [r]]
    if kept:
        raise StageError("state", f"the dump covers the reservation that is "
                         f"left: {kept}")
    mib = sum(b - a for a, b in freed) >> 20
    return f"{mib} MiB freed and dumped, {size >> 20} MiB reserved and not"


def hotplug_facts(arch, lines, vmcore):
    """The memory hot-add: the crash hotplug support said so, HOTADD_SIZE
    bytes of System RAM (virtio_mem) came online after the load, and the
    dump's RAM PT_LOADs are System RAM after the hot-add minus the crash
    kernel and what the capture kernel reuses, the new memory included."""
    after = prefixed(lines, "KDUMP-IOMEM-AFTER: ")
    added = iomem_ranges(after, "System RAM (virtio_mem)")
    size = sum(b - a for a, b in added)
    if size != HOTADD_SIZE:
        raise StageError("state", f"{size:#x} bytes of System RAM "
                         f"(virtio_mem) after the hot-add, not "
                         f"{HOTADD_SIZE:#x}")
    ram = merge(iomem_ranges(after, "System RAM") + added)
    crash = iomem_ranges(prefixed(lines, "KDUMP-IOMEM: "), "Crash kernel")
    _, got, problem = ram_loads(arch, ram, crash, vmcore_phdrs(vmcore))
    missing = [(hex(a), hex(b)) for r in added for a, b in subtract(r, got)]
    if missing:
        raise StageError("state", f"hot-added memory not in the dump: "
                         f"{missing}")
    if problem:
        raise StageError("state", problem)
    # After the dump (which runner-mutant-stale-header turns red): the
    # kernel said it would update the loaded header.
    hp = prefixed(lines, "KDUMP-STAGE: memory crash_hotplug=")
    if hp != ["1"]:
        raise StageError("state", f"/sys/devices/system/memory/crash_hotplug "
                         f"is {hp}: the loaded image is not updated on "
                         f"hotplug")
    where = ", ".join(f"{a:#x}-{b - 1:#x}" for a, b in added)
    return (f"{size >> 20} MiB hot-added after the load ({where}) and "
            f"dumped; RAM PT_LOADs = System RAM minus the crash kernel "
            f"({sum(b - a for a, b in got) >> 20} MiB)")


def check_state(name, lines, vmcore, report, arch=None):
    """What state `name` must show on the console (`lines`) and in the
    vmcore of a verified cycle (of architecture `arch`); returns a one-line
    result."""
    word = STATES[name][0]
    if not any(f"KDUMP-STAGE: state-done {word}" in l for l in lines):
        raise StageError("state", f"the guest never finished setting up "
                         f"{word}")
    if name == "shrink":
        return shrink_facts(lines, vmcore)
    if name == "mem-hotplug":
        return hotplug_facts(arch, lines, vmcore)
    if name in ("reload", "load-twice"):
        loads, want = marks(lines, "loaded"), 2
        if loads != want or (name == "reload" and marks(lines, "unloaded")
                             != 1):
            raise StageError("state", f"{loads} loads (want {want})")
        return f"{loads} loads" + (", 1 unload" if name == "reload" else "")
    online = prefixed(lines, "KDUMP-STAGE: cpu1 online=")
    if online != ["0", "1"]:
        raise StageError("state", f"cpu1 went {online}, not offline and "
                         f"back")
    hp = prefixed(lines, "KDUMP-STAGE: crash_hotplug=")
    if hp != ["1"]:
        raise StageError("state", f"/sys/devices/system/cpu/crash_hotplug "
                         f"is {hp}: the loaded image is not updated on "
                         f"hotplug")
    # drgn unwinds a task running on another CPU from that CPU's PRSTATUS
    # note: without the other CPU's note in the header, it cannot.
    others = report.get("other_cpus", {})
    if len(others) != 1 or any(not f or f[0].startswith("(")
                               for f in others.values()):
        raise StageError("state", f"drgn could not unwind the other CPU "
                         f"from the dump: {others}")
    (cpu, frames), = others.items()
    return (f"cpu1 offline and online, crash_hotplug=1; CPU {cpu} (not "
            f"the crashing one) unwound from its note: "
            f"{' < '.join(frames[:4])}")


def merge(ranges):
    """Sorted [(start, end)] with touching or overlapping ranges joined."""
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def ram_loads(arch, ram, crash, ph):
    """The RAM PT_LOADs of program headers `ph` (those below the kernel
    text map), their merged ranges, and a problem (or None) if those are
    not System RAM `ram` minus the crash kernel `crash` and what the
    capture kernel reuses (x86_64's first MiB, which its header leaves
    out)."""
    loads = [t for t in ph if t[0] == PT_LOAD and t[3] < arch.text_base]
    want = merge(p for r in ram
                 for p in subtract(r, crash + list(arch.capture_reuses)))
    got = merge((t[4], t[4] + t[5]) for t in loads)
    problem = None
    if got != want:
        problem = (f"RAM PT_LOADs {[(hex(a), hex(b)) for a, b in got]} "
                   f"are not System RAM minus the crash kernel and what "
                   f"the capture kernel reuses "
                   f"{[(hex(a), hex(b)) for a, b in want]}")
    return loads, got, problem


def kaslr_layout(arch, lines, vmcore):
    """What a KASLR boot's dump must say, whatever the random offsets: its
    RAM PT_LOADs are exactly System RAM minus the crash kernel's ranges
    (from the boot's /proc/iomem) and minus what the capture kernel reuses
    (x86_64's first MiB, which its header leaves out), each at one
    direct-map offset (vaddr - paddr), and the kernel text map lies at or
    above text_base. Returns
    (direct-map offset, text map (vaddr, paddr), RAM bytes, notes)."""
    ram = iomem_ranges(prefixed(lines, "KDUMP-IOMEM: "), "System RAM")
    crash = iomem_ranges(prefixed(lines, "KDUMP-IOMEM: "), "Crash kernel")
    ph = vmcore_phdrs(vmcore)
    text = [(t[3], t[4]) for t in ph
            if t[0] == PT_LOAD and t[3] >= arch.text_base]
    loads, got, problem = ram_loads(arch, ram, crash, ph)
    offsets = {t[3] - t[4] for t in loads}
    problems = [problem] if problem else []
    if len(offsets) != 1:
        problems.append(f"RAM PT_LOADs at {len(offsets)} direct-map offsets")
    if len(text) != 1:
        problems.append(f"{len(text)} kernel text maps")
    if problems:
        raise StageError("verify", f"{vmcore}: " + "; ".join(problems))
    return (offsets.pop(), text[0], sum(b - a for a, b in got),
            sum(1 for t in ph if t[0] == PT_NOTE))


# What elfcorehdr-kaslr-c-vs-rust reads of a reload state's dump: its ELF
# header and program headers (the dump itself, up to 8 GiB, is dropped).
HEADERS = "vmcore-headers"


def keep_headers(outdir):
    """Keep the ELF header and program headers of outdir/vmcore in
    outdir/HEADERS and delete the vmcore."""
    vmcore = outdir / "vmcore"
    (outdir / HEADERS).write_bytes(vmcore_headers(vmcore))
    vmcore.unlink()


def compare_kaslr(arch, c_dir, rust_dir):
    """The C and the Rust kernel's dumps of KASLR boots: each must have
    the layout kaslr_layout() checks, and they must cover the same amount
    of RAM with as many notes; the random offsets differ, and are said."""
    c = kaslr_layout(arch, console_lines(c_dir), c_dir / HEADERS)
    r = kaslr_layout(arch, console_lines(rust_dir), rust_dir / HEADERS)
    if (c[2], c[3]) != (r[2], r[3]):
        raise StageError("verify", f"C dumps {c[2]} bytes of RAM with "
                         f"{c[3]} PT_NOTE, Rust {r[2]} with {r[3]}")
    return (f"both: RAM PT_LOADs = System RAM minus the crash kernel "
            f"({c[2] >> 20} MiB), one direct-map offset, {c[3]} PT_NOTE; "
            f"differ by KASLR: direct map C {c[0]:#x} vs Rust {r[0]:#x}, "
            f"kernel text C {c[1][0]:#x}@{c[1][1]:#x} vs Rust "
            f"{r[1][0]:#x}@{r[1][1]:#x}")
