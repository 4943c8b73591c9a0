# SPDX-License-Identifier: GPL-2.0
"""One QEMU guest with its serial console streamed, timestamped and logged.

The machine comes from the architecture's config; everything else (memory,
CPUs, disk, the second serial port for a command's output, the QMP and
gdbstub sockets of kdump_qemu_control) is per guest.
"""

import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

from kdump_common import StageError, track, untrack


# What Guest._take() returns once the guest has stopped.
STOPPED = object()


def accel():
    # KVM guests hang on the machines this was measured on: TCG by default.
    return os.environ.get("KDUMP_QEMU_ACCEL", "tcg")


class Guest:
    """expect() waits for a console line; the guest is always killed at the
    end, so a guest that halts instead of powering off cannot hang the
    runner. With control=True the guest has QMP and gdbstub unix sockets
    (qmp_path, gdb_path) and a console the host can type into (send())."""

    def __init__(self, arch, kernel, initrd, append, log, mem="1G", smp=1,
                 disk=None, cmd_out=None, extra=(), control=False):
        self.log_path = Path(log)
        self.log = open(self.log_path, "w")
        args = [arch.qemu, "-accel", accel(), *arch.machine_args(append),
                *arch.firmware_args(), "-m", mem,
                *arch.smp_args(smp), "-nodefaults", "-display", "none",
                "-no-reboot", "-kernel", str(kernel), "-initrd", str(initrd),
                "-append", append, "-serial", "stdio",
                *arch.cmd_out_args(cmd_out)]
        if disk:
            # Zero blocks stay holes in the (sparse) disk file: a dump of
            # an 8 GiB guest is mostly zeros, and CI's disk is not large.
            args += ["-drive", f"file={disk},format=raw,if=virtio,"
                     f"discard=unmap,detect-zeroes=unmap"]
        self.qmp_path = self.gdb_path = None
        if control:
            self.qmp_path = self.log_path.with_suffix(".qmp")
            self.gdb_path = self.log_path.with_suffix(".gdb")
            for p in (self.qmp_path, self.gdb_path):
                p.unlink(missing_ok=True)
            args += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                     "-gdb", f"unix:{self.gdb_path},server=on,wait=off"]
        args += list(extra)
        self.log.write(f"$ {shlex.join(args)}\n")
        self.log.flush()
        self.proc = track(subprocess.Popen(
            args, stdin=subprocess.PIPE if control else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True))
        self.lines = queue.Queue()
        self.seen = []
        self.t0 = time.monotonic()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            t = time.monotonic() - self.t0
            self.log.write(f"[{t:8.3f}] {line}\n")
            self.log.flush()
            self.lines.put((t, line))
        self.lines.put(None)

    def tail(self, n=25):
        return [l for _, l in self.seen[-n:]]

    def send(self, line):
        """Type a line on the guest's console."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def _take(self, deadline):
        """The next console line before deadline: (time, line), None when
        time is up, or STOPPED when the guest has stopped."""
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if item is None:
                self.lines.put(None)
                return STOPPED
            self.seen.append(item)
            return item
        return None

    def expect(self, pattern, timeout, stage, fail=r"KDUMP-STAGE: \S+-failed"):
        """Wait for a console line matching pattern; returns (time, match)."""
        rx, frx = re.compile(pattern), re.compile(fail) if fail else None
        deadline = time.monotonic() + timeout
        while True:
            item = self._take(deadline)
            if item is None:
                raise StageError(stage, f"no `{pattern}` on the console "
                                 f"within {timeout}s", log=self.log_path,
                                 tail=self.tail())
            if item is STOPPED:
                raise StageError(stage, f"the guest stopped (QEMU exit "
                                 f"status {self.proc.wait()}) before "
                                 f"`{pattern}` appeared", log=self.log_path,
                                 tail=self.tail())
            t, line = item
            if frx and frx.search(line):
                raise StageError(stage, f"guest reported: {line.strip()}",
                                 log=self.log_path, tail=self.tail())
            m = rx.search(line)
            if m:
                return t, m

    def quiet_for(self, pattern, seconds):
        """True if no console line matches pattern for `seconds` (the
        guest may stop meanwhile); False as soon as one does."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + seconds
        while (item := self._take(deadline)) not in (None, STOPPED):
            if rx.search(item[1]):
                return False
        return True

    def stop(self, grace=20):
        """Let the guest power off by itself for grace seconds, then kill."""
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.log.write("[kdump] guest did not power off: killed\n")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        untrack(self.proc)
        # Drain what is left so the log is complete.
        while True:
            try:
                item = self.lines.get(timeout=2)
            except queue.Empty:
                break
            if item is None:
                break
            self.seen.append(item)
        self.log.close()
        for p in (self.qmp_path, self.gdb_path):
            if p:
                p.unlink(missing_ok=True)
