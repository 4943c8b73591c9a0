# SPDX-License-Identifier: GPL-2.0
"""Guest scenarios besides the kdump cycle: a plain boot running a command,
the kexec reboot, a panic with no crash kernel, the crashkernel= table,
kexec_file_load of broken kernel images, and the handoff latency bench."""

import os
import time
from pathlib import Path

from kdump_common import BUILD, StageError, say
from kdump_cycle import CRASH_LINE, CRASH_MARK, LKDTM, capture_append, \
    console_append
from kdump_initramfs import boot_initramfs, reboot_initramfs, run_initramfs
from kdump_qemu import Guest


def boot_guest(k, append, cmd, mem, smp, timeout, workdir, extra=(),
               kexec=False, files=None):
    """Boot kernel k, run cmd; returns (rc, output, guest). extra: more
    QEMU arguments; kexec: the guest has kexec and k's image as
    /boot/kernel; files(cpio) adds files to the initramfs."""
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "boot.cpio"
    boot_initramfs(k["arch"], initrd, cmd, k["kexec_image"] if kexec else None,
                   files)
    out = workdir / "cmd.out"
    out.write_bytes(b"")
    g = Guest(k["arch"], k["image"], initrd, console_append(k["arch"], append),
              workdir / "console.log", mem=mem, smp=smp, cmd_out=out,
              extra=extra)
    try:
        g.expect(r"KDUMP-STAGE: booted", timeout, "boot")
        _, m = g.expect(r"KDUMP-STAGE: exit rc=(\d+)", timeout, "boot")
    finally:
        g.stop()
    return int(m.group(1)), out.read_text(errors="replace"), g


def reboot_cycle(k, outdir, mem="1G"):
    """A normal kexec_file_load reboot: `kexec -s -l` the same kernel,
    `kexec -e`, and wait for the second kernel's init. The jump goes
    through purgatory, which checks the segments' SHA-256 first."""
    arch = k["arch"]
    stages = {}
    outdir.mkdir(parents=True, exist_ok=True)
    # A token on the second kernel's command line proves that the kernel
    # that came up is the one kexec loaded.
    token = f"kdump.kexec_token={os.getpid()}x{int(time.time())}"
    initrd = outdir / "initramfs.cpio"
    reboot_initramfs(arch, initrd, k["kexec_image"], console_append(arch, token))
    say(f"reboot {k['variant']}: booting, then kexec -s -l and kexec -e")
    g = Guest(arch, k["image"], initrd, console_append(arch),
              outdir / "console.log", mem=mem)
    try:
        t, _ = g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        stages["boot"] = round(t, 1)
        t1, _ = g.expect(r"KDUMP-STAGE: loaded", 120, "load")
        stages["load"] = round(t1 - t, 1)
        t2, _ = g.expect(r"KDUMP-STAGE: kexec(?!-)", 60, "kexec")
        t3, _ = g.expect(r"Linux version", 120, "kexec")
        stages["kexec"] = round(t3 - t2, 1)
        t4, m = g.expect(r"KDUMP-STAGE: second-kernel (.*)", 300, "kexec")
        stages["second boot"] = round(t4 - t3, 1)
    finally:
        g.stop()
    if token not in m.group(1):
        raise StageError("kexec", f"the second kernel's command line "
                         f"{m.group(1)!r} lacks {token!r}", log=g.log_path)
    return {"impl": k["impl"], "stages": stages,
            "cmdline": m.group(1).strip(), "console": str(g.log_path)}


def panic_without_crash_kernel(k, workdir):
    """With no crash kernel loaded the handoff must do nothing: panic() goes
    on to its reboot (panic=1) and no second kernel starts."""
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "boot.cpio"
    boot_initramfs(k["arch"], initrd, (
        "mount -t debugfs debugfs /sys/kernel/debug; "
        "echo kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded); "
        f"sync; echo PANIC > {LKDTM}"))
    out = workdir / "cmd.out"
    out.write_bytes(b"")
    g = Guest(k["arch"], k["image"], initrd,
              console_append(k["arch"], "crashkernel=256M"),
              workdir / "console.log", cmd_out=out)
    try:
        g.expect(r"KDUMP-STAGE: booted", 300, "boot")
        t0, _ = g.expect(r"Kernel panic - not syncing", 120, "crash")
        t1, _ = g.expect(r"Rebooting in 1 seconds", 60, "crash")
    finally:
        g.stop()
    boots = sum(1 for _, l in g.seen if "Linux version" in l)
    loaded = out.read_text(errors="replace").strip()
    if boots != 1 or loaded != "kexec_crash_loaded=0":
        raise StageError("crash", f"{boots} kernel boots (want 1), guest "
                         f"said {loaded!r}", log=g.log_path, tail=g.tail())
    return (f"{loaded}: panic went on to 'Rebooting in 1 seconds' "
            f"({t1 - t0:.1f}s), no second kernel")


# crashkernel= command lines booted on both kernels; the "Crash kernel" lines
# of /proc/iomem, /sys/kernel/kexec_crash_size and the result of shrinking it
# must be identical. (append, guest memory, refused: the Rust kernel must say
# why in one warning naming the word.) Lines with a fixed address depend on
# where the architecture has RAM: ArchConfig.crashkernel_fixed.
CRASHKERNEL_COMMON = [
    ("crashkernel=128M", "1G", False),
    ("crashkernel=0x8000000", "1G", False),
    ("crashkernel=512M-2G:64M,2G-:128M", "1G", False),
    ("crashkernel=512M-2G:64M,2G-:128M", "6G", False),
    ("crashkernel=64M crashkernel=96M", "1G", False),
    ("crashkernel=256M,high crashkernel=64M,low", "6G", False),
    ("crashkernel=256M,high", "6G", False),
    ("crashkernel=3G", "8G", False),
    ("crashkernel=2G", "1G", True),
    ("crashkernel=99999999999999999999G", "1G", True),
    ("crashkernel=1G-:", "1G", True),
    ("crashkernel=2G-1G:64M", "1G", True),
    ("crashkernel=64Mjunk", "1G", True),
]


def crashkernel_lines(arch):
    """The crashkernel= table of arch."""
    return CRASHKERNEL_COMMON + list(arch.crashkernel_fixed)


CRASHKERNEL_PROBE = (
    "grep -i 'crash kernel' /proc/iomem; "
    "s=$(cat /sys/kernel/kexec_crash_size); echo kexec_crash_size=$s; "
    "if [ \"$s\" -gt 0 ]; then echo $((s / 2)) > /sys/kernel/kexec_crash_size; "
    "grep -i 'crash kernel' /proc/iomem; "
    "echo shrunk=$(cat /sys/kernel/kexec_crash_size); fi")


# The reservation's log lines that scripts look for (kernel/crash_reserve.c):
# the Rust kernel must print them word for word, as C does.
C_RESERVE_LINES = ("crashkernel reserved:", "crashkernel low memory reserved:",
                   "crashkernel reservation failed",
                   "cannot allocate crashkernel")


def crashkernel_table(kernels):
    """Boot every crashkernel_lines() line on each kernel in `kernels`
    ({impl: build}); returns rows and raises if C and Rust disagree (in
    what they reserve or in the C_RESERVE_LINES they log) or a malformed
    line is not explained by the Rust kernel."""
    rows, problems = [], []
    arch = next(iter(kernels.values()))["arch"]
    for i, (append, mem, malformed) in enumerate(crashkernel_lines(arch)):
        seen = {}
        for impl, k in kernels.items():
            work = BUILD / f"crashkernel-{k['arch'].name}-{impl}" / f"{i:02d}"
            # KUnit off: its parser cases log warnings of their own. KASLR
            # off: a randomly placed kernel image moves the reservation.
            rc, out, g = boot_guest(k, f"{append} kunit.enable=0 nokaslr",
                                    CRASHKERNEL_PROBE, mem, 1, 300, work)
            if rc != 0:
                problems.append(f"{impl} {append!r}: guest command status {rc}")
            console = Path(g.log_path).read_text(errors="replace")
            warns = [l.split("] ", 1)[-1] for l in console.splitlines()
                     if "crashkernel: 'crashkernel=" in l]
            logged = [l.split("] ", 1)[-1] for l in console.splitlines()
                      if any(t in l for t in C_RESERVE_LINES)]
            seen[impl] = (out.strip().splitlines(), warns, logged)
        outs = {impl: v[0] for impl, v in seen.items()}
        if len({tuple(v) for v in outs.values()}) > 1:
            problems.append(f"{append!r} ({mem}): C and Rust differ: {outs}")
        logs = {impl: v[2] for impl, v in seen.items()}
        if len({tuple(v) for v in logs.values()}) > 1:
            problems.append(f"{append!r} ({mem}): C and Rust log the "
                            f"reservation differently: {logs}")
        if "rust" in seen:
            warns = seen["rust"][1]
            if malformed and len(warns) != 1:
                problems.append(f"{append!r}: expected one Rust warning naming "
                                f"the word, got {warns}")
            if not malformed and warns:
                problems.append(f"{append!r}: unexpected warning {warns}")
        first = next(iter(outs.values()))
        rows.append((append, mem, first, seen.get("rust", ([], []))[1]))
        say(f"  {append:<45} {mem:>3}  " +
            " | ".join(first or ["(nothing reserved)"]))
    if problems:
        raise StageError("boot", "crashkernel table: " + "; ".join(problems))
    return rows


def crash_setups(kernels, workdir, initrd_name, crashkernel, *capture):
    """{name: (folder, initramfs, kernel command line)} of the benches'
    crashes of each kernel in `kernels` (kexec -s -p, then echo c >
    /proc/sysrq-trigger; nokaslr), in workdir/bench-NAME-ARCH; `capture`
    goes on the capture kernel's command line."""
    setups = {}
    for name, k in kernels.items():
        arch = k["arch"]
        outdir = workdir / f"bench-{name}-{arch.name}"
        outdir.mkdir(parents=True, exist_ok=True)
        initrd = outdir / initrd_name
        run_initramfs(arch, initrd, k["kexec_image"], "file",
                      capture_append(arch, 1, *capture),
                      "echo c > /proc/sysrq-trigger\n")
        setups[name] = (outdir, initrd, console_append(
            arch, f"crashkernel={crashkernel}", "nokaslr"))
    return setups


def handoff_latency(kernels, workdir, runs, mem="1G", crashkernel="256M"):
    """{name: [seconds]}: from the crash's first console line to the
    capture kernel's first line (host clock), for `runs` crashes of each
    kernel in `kernels` ({name: build}; kexec -s -p, echo c >
    /proc/sysrq-trigger). The kernels take turns, crash by crash, so that
    a change in the host's load falls on all of them alike. The guest is
    killed once the capture kernel speaks: only the handoff is timed."""
    setups = crash_setups(kernels, workdir, "initramfs.cpio", crashkernel)
    samples = {name: [] for name in kernels}
    for i in range(runs):
        for name, k in kernels.items():
            outdir, initrd, append = setups[name]
            g = Guest(k["arch"], k["image"], initrd, append,
                      outdir / f"console-{i}.log", mem=mem)
            try:
                g.expect(r"KDUMP-STAGE: loaded", 300, "load")
                g.expect(CRASH_MARK, 60, "crash")
                t0, _ = g.expect(CRASH_LINE, 120, "crash")
                t1, _ = g.expect(r"Linux version", 300, "capture")
            finally:
                g.stop(grace=0)  # kills it: only the handoff is timed
            samples[name].append(t1 - t0)
            say(f"bench {name}: handoff {i + 1}/{runs}: {t1 - t0:.3f}s")
    return samples


def image_checks(kernels, workdir):
    """kexec -s -l of each of the architecture's broken kernel images
    (ArchConfig.image_cases) on each kernel in `kernels` ({impl: build}),
    then of the intact image: each broken one must be refused with the
    expected error and the intact one loaded, the same on C and Rust, and
    the Rust kernel must log one line naming the header field. Returns
    the rows; raises otherwise."""
    arch = next(iter(kernels.values()))["arch"]
    # guest/kexec_file_load.c prints the errno: kexec-tools folds EINVAL,
    # ENOEXEC and ENOSYS into one message.
    cmd = "".join(
        f"cp /boot/kernel /tmp/img; {mutate}; "
        f"echo \"CASE {name} $(kexec_file_load /tmp/img x)\"; "
        for name, mutate, _, _ in arch.image_cases)
    cmd += ("echo \"CASE intact $(kexec_file_load /boot/kernel x) "
            "loaded=$(cat /sys/kernel/kexec_loaded)\"")
    seen, problems = {}, []
    for impl, k in kernels.items():
        # KUnit off: the kexec ELF cases log refusals of their own.
        rc, out, g = boot_guest(k, "kunit.enable=0", cmd, "1G", 1, 300,
                                workdir / f"image-checks-{impl}", kexec=True)
        rows = dict(l.split(" ", 2)[1:] for l in out.splitlines()
                    if l.startswith("CASE "))
        seen[impl] = rows
        log = Path(g.log_path).read_text(errors="replace")
        for name, _, error, field in arch.image_cases:
            got = rows.get(name, "missing")
            if not got.startswith(error):
                problems.append(f"{impl} {name}: want a refusal with "
                                f"{error!r}, got {got!r}")
            if impl == "rust" and log.count(field) != 1:
                problems.append(f"rust {name}: want one log line naming "
                                f"{field!r}, got {log.count(field)}")
        if rows.get("intact") != "ok loaded=1":
            problems.append(f"{impl}: the intact image did not load: "
                            f"{rows.get('intact')!r}")
    if len({tuple(sorted(v.items())) for v in seen.values()}) > 1:
        problems.append(f"C and Rust differ: {seen}")
    if problems:
        raise StageError("load", "kernel image checks: " + "; ".join(problems))
    return [f"{n}: {r}" for n, r in next(iter(seen.values())).items()]
