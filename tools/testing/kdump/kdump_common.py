# SPDX-License-Identifier: GPL-2.0
"""What every part of the kdump runner shares: where things are, how a
failure is reported, how a command is run and logged.

A failure anywhere raises StageError naming its stage; kdump.py prints it
with fail_report() and the test suite turns it into that step's failure.
"""

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BUILD = Path(os.environ.get("KDUMP_BUILD_DIR", REPO / "build")).resolve()
# Files of this tree are copied from here; the runner's own checks point it
# at a deliberately broken copy.
OVERLAY = Path(os.environ.get("KDUMP_OVERLAY", REPO)).resolve()


class StageError(Exception):
    """A stage failed; carries what the user needs to see."""

    def __init__(self, stage, message, log=None, tail=None):
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.log = log
        self.tail = tail


def last_run(log):
    """Lines of the last command in a log (logs are appended to)."""
    lines = Path(log).read_text(errors="replace").splitlines()
    start = max((i for i, l in enumerate(lines) if l.startswith("$ ")),
                default=0)
    return lines[start:]


def fail_report(err):
    """Print a stage failure the way every subcommand reports it."""
    print(f"\nFAILED at stage '{err.stage}': {err.message}", flush=True)
    tail = err.tail
    if tail is None and err.log and Path(err.log).exists():
        lines = last_run(err.log)
        tail = lines[-25:]
        # With parallel make the first error is rarely at the end: show it.
        first = next((i for i, l in enumerate(lines)
                      if re.search(r"\berror\b[:\[]|^\S+:\d+:\d+: error", l)),
                     None)
        if first is not None and first < len(lines) - 25:
            tail = lines[max(first - 3, 0):first + 12] + ["..."] + lines[-6:]
    if tail:
        print(f"--- last lines of the {err.stage} log ---")
        for line in tail:
            print("  " + line)
        print("---")
    if err.log:
        print(f"full log: {err.log}", flush=True)


class Clock:
    """Elapsed-time helper for progress lines."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __str__(self):
        s = int(time.monotonic() - self.t0)
        return f"{s // 60}m{s % 60:02d}s"

    def seconds(self):
        return round(time.monotonic() - self.t0, 1)


def say(msg):
    print(f"[kdump] {msg}", flush=True)


# Child processes (builds, guests) that are running, by the suite's lane
# that started them: a step that runs out of time has its lane's killed, so
# that its thread ends and the lane's next step can run.
_children = {}
_children_lock = threading.Lock()
_lane = threading.local()

# Held while a step reads or rewrites the one source tree (build/src): the
# build lane's kernel builds, and a step that breaks it on purpose.
SOURCE_LOCK = threading.Lock()


def set_lane(name):
    """Name the calling thread's lane: the children it starts from now on
    are that lane's (default "main")."""
    _lane.name = name


def track(proc):
    """Register a child started with start_new_session=True."""
    with _children_lock:
        _children[proc] = getattr(_lane, "name", "main")
    return proc


def untrack(proc):
    with _children_lock:
        _children.pop(proc, None)


def kill_children(lane=None):
    """Kill every tracked child's process group, or only those of `lane`;
    returns how many."""
    with _children_lock:
        procs = [p for p, l in _children.items() if lane in (None, l)]
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return len(procs)


def run_logged(cmd, log, stage, cwd=None, env=None, heartbeat=None):
    """Run cmd with output appended to log; raise StageError on failure.

    heartbeat(last_line) is called every 30 s so long steps show progress.
    """
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as f:
        f.write(f"\n$ {shlex.join(map(str, cmd))}\n".encode())
        f.flush()
        proc = track(subprocess.Popen(list(map(str, cmd)), cwd=cwd, env=env,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL,
                                      start_new_session=True))
        last = [""]
        stop = threading.Event()

        def beat():
            while not stop.wait(30):
                if heartbeat:
                    heartbeat(last[0])

        threading.Thread(target=beat, daemon=True).start()
        try:
            for line in proc.stdout:
                f.write(line)
                s = line.decode(errors="replace").strip()
                if s:
                    last[0] = s
            rc = proc.wait()
        finally:
            stop.set()
            untrack(proc)
    if rc != 0:
        raise StageError(stage, f"`{shlex.join(map(str, cmd[:3]))} ...` "
                         f"exited with status {rc}", log=log)


def parse_size(s):
    """'1G', '512M', '4096' -> bytes."""
    m = re.fullmatch(r"(\d+)([KMG]?)", s.upper())
    if not m:
        raise ValueError(f"bad size {s!r}: use e.g. 1G or 512M")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]
