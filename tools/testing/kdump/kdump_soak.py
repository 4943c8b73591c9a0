# SPDX-License-Identifier: GPL-2.0
"""`kdump.py soak`: many crash cycles of one kernel, each with a loader,
trigger, guest memory size, CPU count and KASLR setting drawn from a seeded
random sequence, every vmcore verified (drgn, makedumpfile where the host
reads the architecture). A campaign, not a test step."""

import json
import random
import shutil
import time

from kdump_common import BUILD, StageError, say
from kdump_cycle import TRIGGERS, run_cycle

# Guest memory and the crashkernel= that fits it.
MEMORY = (("512M", "192M"), ("1G", "256M"), ("2G", "256M"), ("4G", "256M"),
          ("8G", "256M"))
CPUS = (1, 2)


def plan(arch, cycles, seed):
    """The cycles' settings, [(loader, trigger, mem, crashkernel, smp,
    kaslr)], reproducible from `seed`: both loaders, every trigger."""
    rnd = random.Random(seed)
    loaders = ["load", "file"]
    out = []
    for _ in range(cycles):
        mem, ck = rnd.choice(MEMORY)
        trigger = rnd.choice(sorted(TRIGGERS))
        out.append((rnd.choice(loaders), trigger, mem, ck,
                    max(rnd.choice(CPUS), TRIGGERS[trigger]["smp"]),
                    rnd.choice((True, False))))
    return out


def soak(tools, k, cycles, seed):
    """Run the campaign on kernel k; returns (passed, [failure lines]) and
    writes build/soak-ARCH-VARIANT/summary.json."""
    work = BUILD / f"soak-{tools.arch.name}-{k['variant']}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results, failures = [], []
    t0 = time.monotonic()
    for i, (loader, trigger, mem, ck, smp, kaslr) in enumerate(
            plan(tools.arch, cycles, seed)):
        what = (f"cycle {i + 1}/{cycles}: {loader}, {trigger}, {mem} "
                f"crashkernel={ck}, {smp} CPU, KASLR {'on' if kaslr else 'off'}")
        say(what)
        out = work / f"cycle-{i + 1:03d}"
        try:
            r = run_cycle(tools, k, out, mem=mem, crashkernel=ck,
                          loader=loader, smp=smp, trigger=trigger,
                          append_extra="" if kaslr else "nokaslr")
            ok = r["verified"]
            why = "; ".join(r["problems"])
        except StageError as e:
            ok, why = False, f"{e.stage}: {e.message}"
        (out / "vmcore").unlink(missing_ok=True)
        results.append({"cycle": i + 1, "loader": loader, "trigger": trigger,
                        "mem": mem, "crashkernel": ck, "smp": smp,
                        "kaslr": kaslr, "verified": ok, "problem": why})
        if not ok:
            failures.append(f"{what}: {why[:300]} (console: {out}/console.log)")
    summary = {"arch": tools.arch.name, "variant": k["variant"],
               "seed": seed, "cycles": cycles,
               "passed": cycles - len(failures),
               "seconds": round(time.monotonic() - t0), "results": results}
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return cycles - len(failures), failures, work
