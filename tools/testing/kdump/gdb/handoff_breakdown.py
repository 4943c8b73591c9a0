# SPDX-License-Identifier: GPL-2.0
"""gdb command `kdump-handoff-breakdown SOCKET KERNEL_BUFSZ OUT`: the times
(host CLOCK_MONOTONIC) at which an x86_64 guest, started paused (-S) with
its gdbstub on unix socket SOCKET, reaches each point of the crash handoff.
Writes {"times": {point: seconds}, "segments": [[mem, bufsz, memsz]],
"start": purgatory's entry} (the crash image's segments, purgatory's
included) as JSON to OUT and lets the guest run on.

The points, in order:
    machine_kexec   the crashed kernel enters machine_kexec() (virtual)
    purgatory       purgatory's entry, kexec_crash_image->start (physical,
                    identity-mapped)
    kernel_entry    purgatory is done (the segments' SHA-256 verified): the
                    capture kernel's 64-bit bzImage entry, its segment's
                    load address + 0x200
    decompressed    the decompressor is done: the decompressed kernel's
                    startup_64, at the segment's load address (the capture
                    kernel must run with nokaslr for this)
    start_kernel    the capture kernel's start_kernel() (virtual; the same
                    vmlinux, nokaslr)

The capture kernel's segment is the one whose buffer is KERNEL_BUFSZ bytes
(the bzImage less its real-mode setup). QEMU's breakpoints (Z0 under TCG)
are on the program counter and change no guest memory, so they can be set
before the code they stop is loaded. Sourced by kdump_breakdown with
`gdb -x`; a point never reached leaves the command waiting, and the caller's
timeout ends it."""

import json
import time

import gdb


class HandoffBreakdown(gdb.Command):
    """kdump-handoff-breakdown SOCKET KERNEL_BUFSZ OUT"""

    def __init__(self):
        super().__init__("kdump-handoff-breakdown", gdb.COMMAND_USER)

    def stop_at(self, where, times, name):
        """Break at `where`, run to it, record the time; one breakpoint at
        a time, so each stop is the one asked for."""
        gdb.execute("delete", to_string=True)
        gdb.execute(f"break {where}", to_string=True)
        gdb.execute("continue", to_string=True)
        times[name] = time.monotonic()

    def invoke(self, arg, from_tty):
        sock, bufsz, out = gdb.string_to_argv(arg)
        bufsz = int(bufsz)
        gdb.execute("set pagination off")
        gdb.execute("set confirm off")
        gdb.execute(f"target remote {sock}", to_string=True)
        times = {}
        self.stop_at("machine_kexec", times, "machine_kexec")
        image = gdb.parse_and_eval("kexec_crash_image").dereference()
        # Read now: the crashed kernel's memory is out of reach later.
        table = [[int(s["mem"]), int(s["bufsz"]), int(s["memsz"])]
                 for s in (image["segment"][i]
                           for i in range(int(image["nr_segments"])))]
        kernel = [mem for mem, size, _ in table if size == bufsz]
        if len(kernel) != 1:
            raise gdb.GdbError(f"{len(kernel)} segments of {bufsz} bytes: "
                               f"{[(hex(m), b) for m, b, _ in table]}")
        start = int(image["start"])
        self.stop_at(f"*{start:#x}", times, "purgatory")
        self.stop_at(f"*{kernel[0] + 0x200:#x}", times, "kernel_entry")
        self.stop_at(f"*{kernel[0]:#x}", times, "decompressed")
        self.stop_at("start_kernel", times, "start_kernel")
        gdb.execute("delete", to_string=True)
        with open(out, "w") as f:
            json.dump({"times": times, "segments": table, "start": start},
                      f)
        gdb.execute("detach", to_string=True)


HandoffBreakdown()
