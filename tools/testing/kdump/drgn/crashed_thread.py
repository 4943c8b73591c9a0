# SPDX-License-Identifier: GPL-2.0
import json, sys, drgn
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
t = prog.crashed_thread()


def names(trace):
    out = []
    for f in trace:
        try:
            out.append(f.name)
        except Exception:
            out.append(None)
    return out


try:
    trace = t.stack_trace()
except NotImplementedError as e:
    # drgn 0.3.0 reads riscv64 cores but does not unwind them: the
    # runner unwinds with gdb instead (kdump_verify.gdb_frames()).
    trace, unwound = [], str(e)
else:
    unwound = None
frames = names(trace)
text = str(trace) if unwound is None else f"(drgn: {unwound})"
# An exception handler's frame (a WARN() is a trap) holds the registers of
# the code it interrupted: unwind from them too, as the oops printout does.
interrupted = []
for f in trace:
    try:
        regs = f["regs"]
        if (regs.type_.type_name() != "struct pt_regs *" or
                regs.absent_ or not regs.value_()):
            continue
        if regs.cs.value_() & 3:
            continue  # the system call's user-mode registers
        more = prog.stack_trace(regs)
        interrupted = names(more)
        text += "\n  -- interrupted by " + str(f.name) + " --\n" + str(more)
        break
    except Exception:
        continue
# Where the other CPUs were when the crash kernel's NMI stopped them.
others = {}
try:
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr
    for cpu in for_each_online_cpu(prog):
        task = cpu_curr(prog, cpu)
        if task.pid.value_() == t.tid:
            continue
        try:
            others[cpu] = [n for n in names(prog.stack_trace(task)) if n][:8]
        except Exception as e:
            others[cpu] = [f"({e})"]
except Exception as e:
    others = {"error": str(e)}
print(json.dumps({
    "others": others,
    "unwound": unwound,
    "pid": t.tid,
    "comm": t.object.comm.string_().decode() if t.object else None,
    "frames": frames + interrupted,
    "release": prog["init_uts_ns"].name.release.string_().decode(),
    "trace": text,
}))
