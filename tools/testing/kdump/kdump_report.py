# SPDX-License-Identifier: GPL-2.0
"""How a kdump cycle's report is shown: the run subcommand's summary and
the one line the test suite keeps."""


def print_report(r):
    print(f"\n=== kdump run: arch={r['arch']} impl={r['variant']} "
          f"loader={r['loader']} trigger={r['trigger']} ===")
    print(f"base:            {r['base_version']}")
    print(f"kernel:          {r['kernel_release']}")
    print(f"command line:    {r['append']}")
    for a in r["armed"]:
        print(f"trigger:         {a}")
    print(f"crash kernel:    {'; '.join(r['crash_kernel_iomem']) or '?'}")
    print(f"vmcore:          {r['vmcore_bytes']} bytes "
          f"({r['vmcore_bytes'] / (1 << 20):.1f} MiB)")
    if r["makedumpfile_bytes"] is not None:
        print(f"makedumpfile -d 31: {r['makedumpfile_bytes']} bytes")
    if r.get("makedumpfile_skipped"):
        print(f"makedumpfile:    {r['makedumpfile_skipped']}")
    g = r.get("guest") or {}
    if "old_memory" in g:
        m = g["old_memory"]
        print(f"old memory:      {m['compared'] >> 20} MiB of {m['loads']} "
              f"PT_LOADs identical to guest memory as QEMU saved it "
              f"({m['nonzero_pages']} non-zero pages; {m['skipped'] >> 10} "
              f"KiB the capture kernel reuses not compared)")
    if "tap" in g:
        print(f"in the capture kernel ({g['capture_cpus']} CPUs): vmcore_test "
              f"{g['vmcore_test_passed']} ok; makedumpfile -d 31 through "
              f"mmap() and read(): {g['makedumpfile_guest_bytes']['mmap']} "
              f"bytes each")
        for line in g["tap"]:
            if line.startswith(("ok ", "# seed")):
                print(f"  {line}")
    print("stages:          " + ", ".join(f"{k} {v}s" for k, v in
                                         r["stages"].items()))
    print(f"crashed thread:  pid {r['crashed_pid']} ({r['crashed_comm']})")
    for cpu, frames in r.get("other_cpus", {}).items():
        print(f"CPU {cpu} stopped in: {' < '.join(frames) or '?'}")
    print(f"backtrace ({r.get('unwinder', 'drgn')}):")
    for line in r["trace"].splitlines():
        print("  " + line)
    for p in r["problems"]:
        print(f"PROBLEM: {p}")
    print(f"verified:        {str(r['verified']).lower()}")


def cycle_detail(r):
    """One line of a verified cycle for the test summary."""
    g = r["guest"]
    out = (f"vmcore {r['vmcore_bytes'] >> 20} MiB, pid {r['crashed_pid']}, "
           f"stages {r['stages']}")
    if "old_memory" in g:
        out += (f"; old memory: {g['old_memory']['compared'] >> 20} MiB "
                f"identical to QEMU's copy")
    if "tap" in g:
        out += (f"; capture kernel on {g['capture_cpus']} CPUs: vmcore_test "
                f"{g['vmcore_test_passed']} ok, makedumpfile -d 31 "
                f"{g['makedumpfile_guest_bytes']['mmap']} B via mmap and read")
    if r.get("device_dump_bytes"):
        out += (f"; device dump rust_sample: a {r['device_dump_bytes']}-byte "
                f"note, first, with the sample's bytes")
    return out
