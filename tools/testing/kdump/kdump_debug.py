# SPDX-License-Identifier: GPL-2.0
"""Debug kernels: the C or the Rust configuration plus configs/debug.config
(KASAN, UBSAN, PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, DEBUG_VM) in build folder
out-ARCH-IMPL-debug, or with configs/kcsan.config on top (KCSAN instead of
KASAN) in out-ARCH-IMPL-kcsan, and the scan of a console log for anything those
checkers (or the kernel itself) report."""

import re
from pathlib import Path

from kdump_build import build_kernel
from kdump_common import HERE, StageError

DEBUG_FRAGMENT = HERE / "configs/debug.config"
# The debug kernels: --debug KIND -> (build variant suffix, fragments).
DEBUG_KINDS = {
    "kasan": ("debug", [DEBUG_FRAGMENT]),
    "kcsan": ("kcsan", [DEBUG_FRAGMENT, HERE / "configs/kcsan.config"]),
}
# crashkernel= of a debug kernel's cycles (in a 1 GiB guest): the dump of a
# KASAN kernel holds its shadow (an eighth of its memory, which -d 31 does
# not filter), and the capture kernel's own shadow and checkers take room
# too: with 256M or 384M makedumpfile's dump finds no space in its tmpfs.
DEBUG_CRASHKERNEL = "512M"
# A debug cycle's first kernel runs with nokaslr. In a 1 GiB guest, 512M
# fits only above or below the kernel (about 30 MiB with KASAN) and the
# initramfs at the top: KASLR placing the kernel between about 460 and
# 528 MiB leaves no 16M-aligned 512M window, and the boot prints "cannot
# allocate crashkernel" (3 boots of 17 here). A larger guest leaves room
# for the reservation but not for the dump: with 1.5 GiB the KASAN shadow
# alone (192 MiB, which -d 31 keeps) overflows the capture kernel's tmpfs.
# KASLR is the non-debug cycles' and the soak's to cover.
DEBUG_APPEND = "nokaslr"

# The first line of a report: the kernel's own (BUG, WARNING, Oops, a
# general protection fault), KASAN's ("BUG: KASAN: ..."), KCSAN's ("BUG:
# KCSAN: data-race in ..."), UBSAN's, lockdep's
# ("WARNING: possible circular locking dependency detected", "WARNING:
# inconsistent lock state", "DEBUG_LOCKS_WARN_ON"), DEBUG_ATOMIC_SLEEP's
# ("BUG: sleeping function called from invalid context"), DEBUG_VM's
# ("page dumped because", "VM_BUG_ON"), and the hung and stall detectors.
REPORT = re.compile(r"\b(BUG: .*|WARNING: .*|Oops: .*|kernel BUG at .*|"
                    r"UBSAN: .*|general protection fault.*|"
                    r"DEBUG_LOCKS_WARN_ON.*|page dumped because.*|"
                    r"INFO: task .* blocked for more than.*|"
                    r"rcu: INFO: .*stall.*|watchdog: BUG: .*)$")

# Reports in base code that the C debug kernel prints too: name: (pattern,
# why it is not ours). Each is reported upstream-style in the README. None
# is known; a new one is added only after `kdump.py run --debug --impl c`
# shows it.
KNOWN_BASE = {}


def build_debug_kernel(tools, impl, kind="kasan"):
    """Build the debug variant `kind` (DEBUG_KINDS) of `impl`; returns
    build_kernel()'s facts (variant IMPL-debug or IMPL-kcsan), after
    checking that the fragments' checkers made it into .config."""
    suffix, fragments = DEBUG_KINDS[kind]
    k = build_kernel(tools, impl, variant=f"{impl}-{suffix}",
                     extra=fragments)
    config = (k["out"] / ".config").read_text()
    want = [f"CONFIG_{kind.upper()}=y", "CONFIG_PROVE_LOCKING=y"]
    missing = [w for w in want if w not in config.splitlines()]
    if missing:
        raise StageError("build", f"the {kind} debug kernel's .config lacks "
                         f"{', '.join(missing)} (a dependency is not met)",
                         log=k["out"] / ".config")
    return k


def reports(text):
    """[(report line, known base name or None)] of a console log's text."""
    out = []
    for line in text.splitlines():
        m = REPORT.search(line)
        if not m:
            continue
        known = next((n for n, (rx, _) in KNOWN_BASE.items()
                      if re.search(rx, m.group(1))), None)
        out.append((m.group(1).strip(), known))
    return out


def check_clean(logs):
    """Raise if any of the console logs (paths) has a report that is not a
    KNOWN_BASE one; returns a one-line summary."""
    bad, known = [], []
    for log in logs:
        for line, name in reports(Path(log).read_text(errors="replace")):
            (known if name else bad).append(f"{Path(log).parent.name}: "
                                            f"{line}")
    if bad:
        raise StageError("debug", f"{len(bad)} report(s) on the debug "
                         f"kernel's consoles: " + "; ".join(bad[:10]),
                         log=logs[0])
    return (f"{len(logs)} console log(s) clean of BUG/WARNING/KASAN/KCSAN/"
            f"UBSAN/lockdep reports" + (f" but {len(known)} known in base code"
                                  if known else ""))
