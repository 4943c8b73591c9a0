# SPDX-License-Identifier: GPL-2.0
"""Where the panic-to-capture time goes (x86_64): each crash of the handoff
bench again, with gdb on QEMU's gdbstub timing the points of
gdb/handoff_breakdown.py, and the console timing the two ends (the crash's
first line, the capture kernel's "Linux version"). A benchmark, not a
test: gdb's stops add a few milliseconds to each part."""

import json
import statistics
import subprocess
import time

from kdump_common import HERE, StageError, say
from kdump_cycle import CRASH_LINE, CRASH_MARK
from kdump_qemu import Guest
from kdump_scenarios import crash_setups

SCRIPT = HERE / "gdb/handoff_breakdown.py"
# The parts, each from the point before it: (name, point, what it is).
PARTS = [
    ("crash", "machine_kexec", "crash line to machine_kexec()"),
    ("relocate", "purgatory", "machine_kexec() to purgatory"),
    ("purgatory", "kernel_entry", "purgatory: SHA-256 of the segments"),
    ("decompress", "decompressed", "the bzImage decompressor"),
    ("startup", "start_kernel", "startup_64 to start_kernel()"),
    ("console", "banner", "start_kernel() to the banner on the console"),
]


def kernel_bufsz(image):
    """Bytes of a bzImage that kexec_file_load loads as the kernel
    segment: all of it but the real-mode setup ((setup_sects + 1) * 512)."""
    data = image.read_bytes()
    if data[0x202:0x206] != b"HdrS":
        raise StageError("bench", f"{image}: not a bzImage (no HdrS)")
    return len(data) - (data[0x1f1] + 1) * 512


def one_crash(k, outdir, i, initrd, append, mem):
    """({point: seconds from the crash line}, bytes purgatory hashes) of
    one crash of kernel k in a guest of `mem`."""
    g = Guest(k["arch"], k["image"], initrd, append,
              outdir / f"breakdown-{i}.log", mem=mem, control=True,
              extra=["-S"])
    out = outdir / f"breakdown-{i}.json"
    out.unlink(missing_ok=True)
    try:
        deadline = time.monotonic() + 30
        while not g.gdb_path.exists():
            if time.monotonic() > deadline:
                raise StageError("bench", "QEMU made no gdbstub socket")
            time.sleep(0.1)
        with open(outdir / f"breakdown-{i}.gdb.log", "w") as log:
            gdb = subprocess.Popen(
                ["gdb-multiarch", "-batch", "-nx", str(k["vmlinux"]),
                 "-x", str(SCRIPT), "-ex",
                 f"kdump-handoff-breakdown {g.gdb_path} "
                 f"{kernel_bufsz(k['image'])} {out}"],
                stdout=log, stderr=subprocess.STDOUT)
            try:
                g.expect(r"KDUMP-STAGE: loaded", 300, "load")
                g.expect(CRASH_MARK, 60, "crash")
                t0, _ = g.expect(CRASH_LINE, 120, "crash")
                t1, _ = g.expect(r"Linux version", 300, "capture")
                gdb.wait(timeout=60)
            finally:
                if gdb.poll() is None:
                    gdb.kill()
                    gdb.wait()
    finally:
        g.stop(grace=0)
    if not out.exists():
        raise StageError("bench", f"gdb timed no handoff (log: "
                         f"{outdir / f'breakdown-{i}.gdb.log'})")
    got = json.loads(out.read_text())
    points = {p: t - g.t0 - t0 for p, t in got["times"].items()}
    points["banner"] = t1 - t0
    # Purgatory hashes every segment but its own (the one holding its
    # entry point), each for its memsz (the rest of bufsz as zeros).
    hashed = sum(memsz for mem, _, memsz in got["segments"]
                 if not mem <= got["start"] < mem + memsz)
    return points, hashed


def handoff_breakdown(kernels, workdir, runs, mem="1G", crashkernel="256M"):
    """({name: {part: [seconds]}}, {name: bytes purgatory hashes}) over
    `runs` crashes of each kernel, taking turns as handoff_latency does;
    the capture kernel runs with nokaslr (gdb's breakpoints need its
    addresses)."""
    for k in kernels.values():
        if k["arch"].name != "x86_64":
            raise StageError("bench", "the handoff breakdown knows x86_64's "
                             "entry points only")
    setups = crash_setups(kernels, workdir, "initramfs-breakdown.cpio",
                          crashkernel, "nokaslr")
    res = {name: {part: [] for part, _, _ in PARTS} for name in kernels}
    hashed = {}
    for i in range(runs):
        for name, k in kernels.items():
            outdir, initrd, append = setups[name]
            points, hashed[name] = one_crash(k, outdir, i, initrd, append,
                                             mem)
            last = 0.0
            for part, point, _ in PARTS:
                res[name][part].append(points[point] - last)
                last = points[point]
            say(f"breakdown {name} {i + 1}/{runs}: " + ", ".join(
                f"{p} {res[name][p][-1]:.3f}s" for p, _, _ in PARTS))
    return res, hashed


def print_breakdown(res, hashed, runs):
    """The medians side by side, with Rust's ratio to each C kernel, and
    the bytes purgatory hashes with its rate."""
    names = list(res)
    print(f"\n=== kdump bench: where the handoff time goes, median of "
          f"{runs} crashes each (gdb stops add a few ms to each part) ===")
    print(f"{'part':<12}" + "".join(f"{n:>10}" for n in names) +
          "".join(f"{'rust/' + n:>12}" for n in names if n != "rust") +
          "  what")
    total = {n: 0.0 for n in names}
    for part, _, what in PARTS:
        med = {n: statistics.median(res[n][part]) for n in names}
        for n in names:
            total[n] += med[n]
        print(f"{part:<12}" + "".join(f"{med[n]:>9.3f}s" for n in names) +
              "".join(f"{med['rust'] / med[n]:>12.2f}" for n in names
                      if n != "rust" and med[n] > 0) + f"  {what}")
    print(f"{'sum':<12}" + "".join(f"{total[n]:>9.3f}s" for n in names))
    print(f"{'hashed MiB':<12}" + "".join(f"{hashed[n] / 2**20:>10.2f}"
                                          for n in names) +
          "  what purgatory hashes: every segment's memsz but its own")
    print(f"{'MB/s':<12}" + "".join(
        f"{hashed[n] / 1e6 / statistics.median(res[n]['purgatory']):>10.1f}"
        for n in names) + "  purgatory's SHA-256 rate")
