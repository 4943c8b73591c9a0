# SPDX-License-Identifier: GPL-2.0
"""The full kdump cycle (boot, load, crash, capture, verify) and the
purgatory refusal cycle (change a loaded segment, crash, no kernel may
start)."""

import json
import os
import re
import secrets
import shutil
import time

from kdump_common import StageError, parse_size, say
from kdump_devdump import check_sample, sample_built
from kdump_initramfs import run_initramfs
from kdump_qemu import Guest
from kdump_qemu_control import GdbStub, Qmp
from kdump_setup import base_version
from kdump_verify import check_guest, compare_old_memory, verify_vmcore

LKDTM = "/sys/kernel/debug/provoke-crash/DIRECT"
# How `run --trigger` crashes the first kernel: the guest script, what the
# kernel command line needs for it, the vCPUs, and what the crashed thread's
# backtrace (drgn) must show: every group needs one of its functions.
TRIGGERS = {
    "sysrq": {"script": "echo c > /proc/sysrq-trigger\n", "append": "",
              "smp": 1, "expect": [["panic"], ["sysrq_handle_crash"]]},
    "panic": {"script": f"echo PANIC > {LKDTM}\n", "append": "", "smp": 1,
              "expect": [["panic"], ["lkdtm_PANIC"]]},
    # An oops with panic_on_oops (boot parameter oops=panic): oops_end()
    # calls crash_kexec() with the registers of the fault, before panic().
    "bug": {"script": f"echo BUG > {LKDTM}\n", "append": "oops=panic",
            "smp": 1, "expect": [["lkdtm_BUG"]]},
    "exception": {"script": f"echo EXCEPTION > {LKDTM}\n",
                  "append": "oops=panic", "smp": 1,
                  "expect": [["lkdtm_EXCEPTION"]]},
    "warning": {"script": f"echo WARNING > {LKDTM}\n",
                "append": "panic_on_warn=1", "smp": 1,
                "expect": [["panic"], ["lkdtm_WARNING"]]},
    # Two CPUs at once: CPU 0 panics (panic() claims panic_cpu and calls
    # __crash_kexec()), CPU 1 oopses (crash_kexec() claims panic_cpu). Both
    # spin on one flag so that they fire together; exactly one may enter
    # the crash kernel, and the backtrace is that one's.
    "two-cpus": {"script": "".join(
        f"taskset -c {cpu} sh -c 'echo armed cpu {cpu} {what}; "
        f"while [ ! -e /tmp/kdump-go ]; do :; done; echo {what} > {LKDTM}' &\n"
        for cpu, what in ((0, "PANIC"), (1, "BUG"))) +
        "sleep 1; touch /tmp/kdump-go; wait\n",
        "append": "oops=panic", "smp": 2, "armed": 2,
        "expect": [["lkdtm_PANIC", "lkdtm_BUG"]]},
}

# The guest's "about to crash" mark. Not anchored at the end of the line:
# a kernel message can follow it on the same line, with no newline between;
# "crash-returned" is another mark.
CRASH_MARK = r"KDUMP-STAGE: crash(?!-)"

# The first console line of a crash, whatever the trigger: a panic, an oops
# (with panic_on_oops, crash_kexec() runs before any panic line) or a
# warning (with panic_on_warn).
CRASH_LINE = (r"Kernel panic - not syncing|kernel BUG at|BUG: |Oops: |"
              r"WARNING: CPU: |sysrq: Trigger a crash|"
              r"lkdtm: Performing direct entry")

# --guest-checks: the capture kernel runs vmcore_test's concurrent readers
# on this many CPUs, and the first kernel fills this much memory with
# random pages for the old-memory comparison.
CAPTURE_CPUS = 2
# What `vmcore_test bench` measures, in MB/s (it also prints "bytes").
BENCH_COLUMNS = ("read-4k", "read-1m", "mmap", "read-1m-x2", "read-1m-x4",
                 "tmpfs")
FILL_MIB = 32


def console_append(arch, *more):
    return " ".join([f"console={arch.console} panic=1 loglevel=7", *more]
                    ).strip()


def capture_append(arch, cpus=1, *more):
    return " ".join([f"console={arch.console} panic=1 nr_cpus={cpus}",
                     arch.capture_append, *more]).strip()


def iomem_ranges(lines, name):
    """[(start, end)] of the KDUMP-IOMEM lines naming `name` (end
    exclusive); System RAM only at the top level."""
    out = []
    for l in lines:
        m = re.match(r"^(\s*)([0-9a-f]+)-([0-9a-f]+) : (.*)$", l)
        if m and m.group(4).strip().lower() == name.lower() and \
                (name != "System RAM" or not m.group(1)):
            out.append((int(m.group(2), 16), int(m.group(3), 16) + 1))
    return out


def iomem_lines(g):
    return [l.split("KDUMP-IOMEM: ", 1)[1] for _, l in g.seen
            if "KDUMP-IOMEM: " in l]


# The bench's makedumpfile runs in the capture kernel (guest/init): name,
# and what it is.
MD_RUNS = (("d31", "-d 31 (the common filter)"),
           ("d0-mmap", "-d 0 through mmap()"),
           ("d0-read", "-d 0 --non-mmap (read())"))


def makedumpfile_bench(g):
    """{name: [(real, user, sys) seconds]} of the bench's makedumpfile
    runs (BENCH-MD lines); raises if one failed or is missing."""
    runs = {name: [] for name, _ in MD_RUNS}
    for _, line in g.seen:
        m = re.match(r"BENCH-MD (\S+) rc=(\d+) real ([\d.]+) user ([\d.]+) "
                     r"sys ([\d.]+)", line)
        if not m:
            continue
        if m.group(2) != "0" or m.group(1) not in runs:
            raise StageError("bench", f"makedumpfile bench: {line.strip()}",
                             log=g.log_path)
        runs[m.group(1)].append(tuple(float(x) for x in m.groups()[2:]))
    if not all(runs.values()):
        raise StageError("bench", f"makedumpfile bench: no result for "
                         f"{[n for n, v in runs.items() if not v]}",
                         log=g.log_path, tail=g.tail())
    return runs


# The boot's own word that the reservation was made: C's reserve code
# prints "crashkernel reserved: 0x...", ours (pr_fmt "crashkernel: ")
# "crashkernel: reserved: 0x...".
RESERVED = re.compile(r"crashkernel:? reserved: 0x")


def unreserved(g):
    """If the first kernel reserved no crash kernel, why, in the kernel's
    words; else None. Reserved means a `Crash kernel` range in its
    /proc/iomem or, when the guest did not get to list it all (a slow
    kernel killed at a timeout), the reservation's message at boot."""
    if any("Crash kernel" in l for l in iomem_lines(g)):
        return None
    why = []
    # The reservation is made in setup_arch(), before start_kernel() prints
    # the command line again (later lines are KUnit's parser cases).
    for _, l in g.seen:
        if "Kernel command line:" in l:
            break
        if RESERVED.search(l):
            return None
        if re.search(r"crash ?kernel", l, re.I) and \
                "Command line:" not in l and not l.startswith("$ "):
            why.append(l.strip())
    return "; ".join(why) or "the kernel said nothing about crashkernel="


def save_memory(qmp_path, ranges, workdir):
    """QEMU saves guest physical memory `ranges`; returns [(start, path)]."""
    saved = []
    with Qmp(qmp_path) as q:
        for i, (a, b) in enumerate(ranges):
            path = workdir / f"guest-ram-{i}.bin"
            q.pmemsave(a, b - a, path)
            saved.append((a, path))
    return saved


def run_cycle(tools, k, outdir, mem="1G", crashkernel="256M", loader="load",
              fault=None, smp=1, append_extra="", trigger="sysrq",
              makedumpfile=True, guest_checks=False, bench_mib=None,
              capture_cpus=None, state=None, host=None):
    """One full kdump cycle of kernel k; returns the report dict (raises on
    failure).

    guest_checks: the first kernel fills memory with random pages; in the
    capture kernel (on CAPTURE_CPUS CPUs), after the copy, vmcore_test (TAP)
    and makedumpfile -d 31 through mmap() and read(); on the host, every
    byte of old memory in the vmcore against QEMU's copy of guest memory.
    bench_mib: then the read/mmap throughput bench over that many MiB.
    state: the guest sets it up around the load (kdump_states.STATES);
    host: the host's half of it (kdump_states.HOST: its QEMU devices and
    kernel arguments, and act(guest) once the capture kernel is loaded)."""
    arch = tools.arch
    trig = TRIGGERS[trigger]
    cpus = capture_cpus or (CAPTURE_CPUS if guest_checks else 1)
    # One vCPU more than the capture kernel needs: on x86 a capture kernel
    # entered from a CPU other than the boot CPU cannot use the boot CPU.
    smp = max(smp, trig["smp"], cpus + 1 if cpus > 1 else 1)
    append_extra = f"{trig['append']} {append_extra}".strip()
    qemu_mem, extra, grow = host.qemu(mem) if host else (mem, [], 0)
    if host:
        append_extra = f"{append_extra} {host.append}".strip()
    stages = {"build": k["seconds"]}
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in ("vmcore", "report.json", "dumpfile"):
        (outdir / stale).unlink(missing_ok=True)
    # fault capture-1cpu: the capture kernel gets one CPU while the checks
    # still want CAPTURE_CPUS (the runner's own test of the CPU check).
    cap_append = capture_append(arch, 1 if fault == "capture-1cpu" else cpus)
    if fault == "capture":
        # Deliberately unusable capture kernel (its init cannot start, so it
        # panics): proves the runner notices a guest that never gets there.
        cap_append += " rdinit=/nonexistent init=/nonexistent"
    initrd = outdir / "initramfs.cpio"
    run_initramfs(arch, initrd, k["kexec_image"], loader, cap_append, trig["script"],
                  guest_checks=guest_checks, bench_mib=bench_mib,
                  fill_mib=FILL_MIB if guest_checks else None, state=state)
    disk = outdir / "vmcore.disk"
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as f:
        f.truncate(parse_size(mem) + grow + (64 << 20))
    append = console_append(arch, f"crashkernel={crashkernel}", append_extra)
    name = f"run {k['variant']}/{loader}"
    say(f"{name}: booting ({mem}, {smp} CPU, crashkernel={crashkernel}, "
        f"trigger {trigger})")
    g = Guest(arch, k["image"], initrd, append, outdir / "console.log",
              mem=qemu_mem, smp=smp, disk=disk, extra=extra,
              control=guest_checks or host is not None)
    last = 0.0
    saved = []
    try:
        t, _ = g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        stages["boot"], last = round(t - last, 1), t
        try:
            t, _ = g.expect(r"KDUMP-STAGE: loaded", 120, "load")
        except StageError as e:
            # A load fails first of all when boot reserved nothing: say so.
            if (why := unreserved(g)) is not None:
                e.message += (f" (crashkernel={crashkernel} was not "
                              f"reserved at boot: {why})")
                e.args = (e.message,)
            raise
        if host:
            host.act(g)
        if state:
            t, _ = g.expect(r"KDUMP-STAGE: state-done", 300, "state")
        iomem = iomem_lines(g)
        stages["load"], last = round(t - last, 1), t
        say(f"{name}: capture kernel loaded, crashing")
        t, _ = g.expect(CRASH_MARK, 300, "crash")
        t, _ = g.expect(CRASH_LINE, 120, "crash")
        stages["crash"], last = round(t - last, 1), t
        # The handoff: from the crash to the capture kernel's first line.
        t, _ = g.expect(r"Linux version", 300, "capture")
        stages["handoff"], last = round(t - last, 1), t
        _, mc = g.expect(r"KDUMP-STAGE: capture-kernel cpus=(\d+)", 300,
                         "capture")
        if guest_checks:
            # Old memory is frozen now: QEMU's copy is the reference.
            saved = save_memory(g.qmp_path,
                                iomem_ranges(iomem, "System RAM"), outdir)
        _, m1 = g.expect(r"KDUMP-STAGE: capture-start size=(\d+)", 60,
                         "capture")
        say(f"{name}: capture kernel up on {mc.group(1)} CPU(s), copying "
            f"{int(m1.group(1)) >> 20} MiB of /proc/vmcore")
        t, m = g.expect(r"KDUMP-STAGE: capture-done rc=(\d+) size=(\d+)",
                        1800, "capture")
        stages["capture"], last = round(t - last, 1), t
        guest = {"capture_cpus": int(mc.group(1))}
        if guest_checks:
            say(f"{name}: vmcore_test and makedumpfile in the capture kernel")
            g.expect(r"KDUMP-STAGE: vmcore-test-done rc=(\d+)", 1200,
                     "guest-checks")
            t, _ = g.expect(r"KDUMP-STAGE: makedumpfile-non-mmap rc=", 600,
                            "guest-checks")
            stages["guest_checks"], last = round(t - last, 1), t
        if bench_mib:
            t, mb = g.expect(r"KDUMP-STAGE: bench-done rc=(\d+)", 3600,
                             "bench")
            stages["bench"] = round(t - last, 1)
            guest["bench_rc"] = int(mb.group(1))
    finally:
        g.stop()
    if m.group(1) != "0":
        raise StageError("capture", f"dd of /proc/vmcore failed with status "
                         f"{m.group(1)}", log=g.log_path, tail=g.tail())
    size = int(m.group(2))
    if size <= 0 or size > disk.stat().st_size:
        raise StageError("capture", f"implausible vmcore size {size}",
                         log=g.log_path, tail=g.tail())
    with open(disk, "r+b") as f:
        f.truncate(size)
    vmcore = outdir / "vmcore"
    disk.rename(vmcore)
    if guest_checks:
        # Every check runs and every failure is reported together.
        problems = []
        t0 = time.monotonic()
        keep_out = list(arch.capture_reuses) + iomem_ranges(iomem,
                                                            "Crash kernel")
        try:
            guest["old_memory"] = compare_old_memory(vmcore, saved, keep_out)
        except StageError as e:
            problems.append(e.message)
        finally:
            for _, p in saved:
                p.unlink(missing_ok=True)
        stages["compare"] = round(time.monotonic() - t0, 1)
        if guest["capture_cpus"] < cpus:
            problems.append(f"the concurrent readers ran on "
                            f"{guest['capture_cpus']} CPU(s), not {cpus}")
        try:
            guest.update(check_guest(g))
        except StageError as e:
            problems.append(e.message)
        if problems:
            raise StageError("guest-checks", "; ".join(problems),
                             log=g.log_path)
    if bench_mib:
        guest["bench"] = {key: float(v) for key, v in
                          (l.split()[1:3] for _, l in g.seen
                           if l.startswith("BENCH "))}
        if guest["bench_rc"] != 0 or \
                len(guest["bench"]) != len(BENCH_COLUMNS) + 1 or \
                any(v <= 0 for v in guest["bench"].values()):
            raise StageError("bench", f"vmcore_test bench failed "
                             f"(rc {guest['bench_rc']})", log=g.log_path,
                             tail=g.tail())
        guest["makedumpfile"] = makedumpfile_bench(g)
    # Exactly one crash kernel came up: no second handoff, no second boot.
    boots = sum(1 for _, l in g.seen if "Linux version" in l)
    captures = sum(1 for _, l in g.seen if "KDUMP-STAGE: capture-kernel" in l)
    if boots != 2 or captures != 1:
        raise StageError("capture", f"{boots} kernel boots and {captures} "
                         f"capture kernels on the console (want 2 and 1)",
                         log=g.log_path, tail=g.tail())
    armed = [l.strip() for _, l in g.seen if l.startswith("armed cpu")]
    if len(armed) != trig.get("armed", 0):
        raise StageError("crash", f"{len(armed)} of {trig.get('armed', 0)} "
                         f"CPUs armed the trigger: {armed}", log=g.log_path,
                         tail=g.tail())
    vml = outdir / "vmlinux"
    vml.unlink(missing_ok=True)
    try:
        os.link(k["vmlinux"], vml)
    except OSError:
        shutil.copy2(k["vmlinux"], vml)
    # The host's makedumpfile only knows the host's architecture; for
    # another one makedumpfile runs in the capture kernel (guest_checks).
    md_skipped = None
    if makedumpfile and not arch.host_makedumpfile:
        md_skipped = (f"not run on the host, whose makedumpfile cannot read "
                      f"{arch.name} dumps" +
                      ("" if guest_checks else
                       "; --guest-checks runs it in the capture kernel"))
    makedumpfile = makedumpfile and arch.host_makedumpfile
    say(f"{name}: verifying with drgn" +
        (" and makedumpfile" if makedumpfile else ""))
    t0 = time.monotonic()
    facts = verify_vmcore(vmcore, vml, k["release"], outdir, trig["expect"],
                          makedumpfile)
    # The sample's device dump, where the kernel has it: its note's bytes
    # are kept for the C-vs-Rust comparison.
    device_dump = None
    (outdir / "device-dump.bin").unlink(missing_ok=True)
    if sample_built(k):
        try:
            note = check_sample(vmcore)
            (outdir / "device-dump.bin").write_bytes(note)
            device_dump = len(note)
        except StageError as e:
            facts["problems"].append(e.message)
    stages["verify"] = round(time.monotonic() - t0, 1)
    report = {
        "arch": arch.name, "impl": k["impl"], "variant": k["variant"],
        "loader": loader, "trigger": trigger,
        "append": append, "armed": armed,
        "base_version": base_version(tools.src),
        "kernel_release": k["release"], "vmcore_bytes": size,
        "crashed_pid": facts["pid"], "crashed_comm": facts["comm"],
        "other_cpus": facts.get("others", {}),
        "backtrace": facts["frames"], "stages": stages,
        "crash_kernel_iomem": [l.strip() for l in iomem
                               if "crash kernel" in l.lower()],
        "makedumpfile_bytes": facts["makedumpfile_bytes"],
        "makedumpfile_skipped": md_skipped,
        "device_dump_bytes": device_dump,
        "guest": guest,
        "problems": facts["problems"], "verified": not facts["problems"],
    }
    (outdir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    report["trace"] = facts["trace"]
    report["unwinder"] = facts.get("unwinder", "drgn")
    return report


def refusal_cycle(tools, k, outdir, change, mem="1G", crashkernel="256M"):
    """kexec -s -p with a token on the capture kernel's command line, then,
    before the crash, QEMU's gdbstub writes one byte of that token in the
    loaded segment: changed (change=True) or written back as it was. With
    the byte changed, purgatory must refuse the jump (no kernel starts);
    unchanged, the capture kernel must start with the token intact. Returns
    a one-line result; raises otherwise."""
    arch = tools.arch
    outdir.mkdir(parents=True, exist_ok=True)
    token = f"kdump.segment_token={secrets.token_hex(8)}"
    initrd = outdir / "initramfs.cpio"
    run_initramfs(arch, initrd, k["kexec_image"], "file",
                  capture_append(arch, 1, token), "echo c > /proc/sysrq-trigger\n",
                  await_go=True)
    g = Guest(arch, k["image"], initrd,
              console_append(arch, f"crashkernel={crashkernel}"),
              outdir / "console.log", mem=mem, control=True)
    try:
        g.expect(r"KDUMP-STAGE: await-go", 300, "load")
        crash = iomem_ranges(iomem_lines(g), "Crash kernel")
        if len(crash) != 1:
            raise StageError("load", f"want one crash kernel range, got "
                             f"{crash}", log=g.log_path)
        (a, b), = crash
        saved, = save_memory(g.qmp_path, [(a, b)], outdir)
        image = saved[1].read_bytes()
        saved[1].unlink()
        hits, i = [], image.find(token.encode())
        while i >= 0:
            hits.append(i)
            i = image.find(token.encode(), i + 1)
        if len(hits) != 1:
            raise StageError("load", f"the token is {len(hits)} times in the "
                             f"crash kernel's memory, want once",
                             log=g.log_path)
        # The last character of the token's value: still a valid command
        # line, but not the bytes the loader hashed.
        at = a + hits[0] + len(token) - 1
        with GdbStub(g.gdb_path) as gdb:
            old = gdb.read_phys(at, 1)
            new = bytes([old[0] ^ 0x01]) if change else old
            gdb.write_phys(at, new)
            if gdb.read_phys(at, 1) != new:
                raise StageError("crash", f"the write at {at:#x} did not "
                                 f"take", log=g.log_path)
        what = (f"byte {at:#x} of the loaded command line "
                f"{old!r} -> {new!r}")
        g.send("go")
        g.expect(CRASH_MARK, 60, "crash")
        g.expect(CRASH_LINE, 120, "crash")
        if change:
            if not g.quiet_for(r"Linux version", 45):
                raise StageError("purgatory", f"a kernel started although "
                                 f"{what} after the load: purgatory did "
                                 f"not refuse", log=g.log_path,
                                 tail=g.tail())
            return f"{what}: purgatory refused, no kernel in 45 s"
        _, m = g.expect(r"KDUMP-STAGE: capture-kernel cpus=\d+ (.*)", 300,
                        "capture")
        if token not in m.group(1):
            raise StageError("capture", f"the capture kernel's command line "
                             f"lacks {token}: {m.group(1)}", log=g.log_path)
        return f"{what} (unchanged): capture kernel up, token intact"
    finally:
        g.stop(grace=0)
