# SPDX-License-Identifier: GPL-2.0
"""`kdump.py bench`: C, the fair C baseline and Rust side by side in one
run, and one table to paste into the cover letter. A benchmark, not a
test: it asserts nothing about speed."""

import statistics

import kdump_arch

from kdump_build import build_kernel
from kdump_common import BUILD, HERE
from kdump_cycle import BENCH_COLUMNS, CAPTURE_CPUS, MD_RUNS, run_cycle
from kdump_qemu import accel
from kdump_scenarios import handoff_latency
from kdump_setup import setup

# The fair baseline: C plus what the Rust kernel carries besides our
# components (variant c-fair).
FAIR_FRAGMENT = HERE / "configs/fair.config"


class Summary:
    """The rows of the cover-letter table: (what, {kernel: value}, unit)."""

    KERNELS = ("c", "c-fair", "rust")

    def __init__(self):
        self.rows = []

    def add(self, what, values, unit):
        self.rows.append((what, values, unit))

    def markdown(self):
        """The table, with Rust's ratio to each C kernel that has a value
        (a ratio of times below 1, or of MB/s above 1, favours Rust)."""
        out = ["| | C | C-fair | Rust | Rust/C | Rust/C-fair |",
               "|---|---:|---:|---:|---:|---:|"]
        for what, v, unit in self.rows:
            fmt = {"s": ",.3f", "MB/s": ",.1f"}.get(unit, ",")
            cells = [format(v[k], fmt) if k in v else "" for k in self.KERNELS]
            ratios = [f"{v['rust'] / v[k]:.2f}" if k in v and "rust" in v
                      and v[k] else "" for k in ("c", "c-fair")]
            out.append(f"| {what} ({unit}) | " + " | ".join(cells + ratios)
                       + " |")
        return "\n".join(out)


def cmd_bench(args):
    """C and Rust side by side in one run; a benchmark, not a test."""
    tools = setup(kdump_arch.get(args.arch))
    kernels = {impl: build_kernel(tools, impl) for impl in ("c", "rust")}
    timed = dict(kernels)
    if args.runs > 0 or args.breakdown > 0:
        timed["c-fair"] = build_kernel(tools, "c", variant="c-fair",
                                       extra=[FAIR_FRAGMENT])
    summary = Summary()
    summary.add("image size", {n: k["image"].stat().st_size
                               for n, k in timed.items()}, "bytes")
    if args.runs > 0:
        lat = handoff_latency(timed, BUILD, args.runs)
        med = {name: statistics.median(v) for name, v in lat.items()}
        print(f"\n=== kdump bench: panic to capture kernel, {args.runs} "
              f"crashes each (host clock, serial console, QEMU {accel()}) ===")
        print(f"{'kernel':<8}{'median':>10}{'min':>10}{'max':>10}"
              f"{'image':>12}")
        for name, v in lat.items():
            size = timed[name]["image"].stat().st_size
            print(f"{name:<8}{med[name]:>9.3f}s{min(v):>9.3f}s"
                  f"{max(v):>9.3f}s{size:>12}")
        print(f"Rust/C median time: {med['rust'] / med['c']:.2f}")
        print(f"Rust/C-fair median time: {med['rust'] / med['c-fair']:.2f} "
              f"(C with RUST=y, doctests and the sample: configs/fair.config)")
        summary.add(f"panic to capture kernel, median of {args.runs}", med,
                    "s")
    if args.breakdown > 0:
        from kdump_breakdown import handoff_breakdown, print_breakdown
        res, hashed = handoff_breakdown(timed, BUILD, args.breakdown)
        print_breakdown(res, hashed, args.breakdown)
        summary.add(f"of which purgatory, median of {args.breakdown}",
                    {n: statistics.median(r["purgatory"])
                     for n, r in res.items()}, "s")
    if args.vmcore_mib:
        vmcore_bench(tools, kernels, args.vmcore_mib, summary)
    print(f"\n=== kdump bench: for the cover letter ({args.arch}, QEMU "
          f"{accel()}) ===")
    print(summary.markdown())
    return 0


def vmcore_bench(tools, kernels, mib, summary):
    """/proc/vmcore throughput in each capture kernel (on CAPTURE_CPUS
    CPUs): read() with 4 KiB and 1 MiB blocks, mmap() in 64 MiB windows,
    read() with 1 MiB blocks by 2 and by 4 readers at once, and a tmpfs
    file read with 1 MiB blocks in the same guest as the ceiling
    (vmcore_test bench); then makedumpfile (print_makedumpfile)."""
    res, md, size = {}, {}, {}
    for impl, k in kernels.items():
        r = run_cycle(tools, k, BUILD / f"bench-vmcore-{impl}-{tools.arch.name}",
                      loader="file", append_extra="nokaslr",
                      makedumpfile=False, bench_mib=mib,
                      capture_cpus=CAPTURE_CPUS)
        res[impl] = r["guest"]["bench"]
        md[impl], size[impl] = r["guest"]["makedumpfile"], r["vmcore_bytes"]
    cols = BENCH_COLUMNS
    print(f"\n=== kdump bench: /proc/vmcore throughput, MB/s over "
          f"{int(res['c']['bytes']) >> 20} MiB of old memory in the capture "
          f"kernel (QEMU {accel()}) ===")
    print(f"{'impl':<8}" + "".join(f"{c:>12}" for c in cols))
    for impl, b in res.items():
        print(f"{impl:<8}" + "".join(f"{b[c]:>12.1f}" for c in cols))
    print(f"{'Rust/C':<8}" + "".join(f"{res['rust'][c] / res['c'][c]:>12.2f}"
                                     for c in cols))
    for c in ("read-1m", "mmap", "read-1m-x4"):
        summary.add(f"/proc/vmcore {c}", {i: res[i][c] for i in res}, "MB/s")
    for name, real in print_makedumpfile(md, size).items():
        summary.add(f"makedumpfile {name}", real, "s")


def print_makedumpfile(md, size):
    """The makedumpfile table of the bench: medians of its runs, wall
    time, user and system time, MB/s of /proc/vmcore, and Rust's speed
    relative to C's (C's wall time over Rust's). Returns {run: {impl:
    median wall time}}."""
    n = len(next(iter(md["c"].values())))
    print(f"\n=== kdump bench: makedumpfile -F in the capture kernel, all of "
          f"/proc/vmcore ({size['c'] >> 20} MiB) to a pipe, median of {n} "
          f"runs (time -p: 10 ms steps) ===")
    print(f"{'run':<9}" + "".join(
        f"{impl + ' ' + what:>12}" for impl in md
        for what in ("real", "user", "sys", "MB/s")) + f"{'Rust/C':>9}  what")
    walls = {}
    for name, what in MD_RUNS:
        row, real = f"{name:<9}", {}
        for impl, runs in md.items():
            med = [statistics.median(r[i] for r in runs[name])
                   for i in range(3)]
            real[impl] = med[0]
            mbs = size[impl] / 1e6 / med[0] if med[0] > 0 else float("inf")
            row += "".join(f"{x:>11.2f}s" for x in med) + f"{mbs:>12.1f}"
        speed = real["c"] / real["rust"] if real["rust"] > 0 else float("inf")
        print(f"{row}{speed:>9.2f}  {what}")
        walls[name] = real
    return walls
