# SPDX-License-Identifier: GPL-2.0
"""gdb command `kdump-trap-frames TID`: where the crashed thread TID was
when it trapped, read from the trap frames on its stack.

gdb unwinds a kernel stack only as far as the exception entry, which has no
call frame information (riscv64's handle_exception): a panic raised inside
a trap handler (panic_on_warn from do_trap_break) ends its backtrace there,
short of the function that trapped. Every frame of TID with a `regs`
argument or local of type `struct pt_regs *` is such a trap's handler; for
each, this prints one line per saved program counter and return address:

    kdump-trap HANDLER FIELD ADDRESS FUNCTION

FUNCTION is `?` when no symbol covers ADDRESS. Sourced by kdump_verify with
`gdb -x`; gdb's own Python, no other module."""

import gdb

# struct pt_regs fields that hold where the trapped code was, per
# architecture: riscv64 (epc, ra), arm64 (pc, regs[30] is not named), x86_64
# (ip).
PC_FIELDS = ("epc", "ra", "pc", "ip")


def symbol(addr):
    """The function covering addr, or '?'."""
    text = gdb.execute(f"info symbol {addr:#x}", to_string=True)
    return "?" if text.startswith("No symbol") else text.split()[0]


def pt_regs(frame):
    """frame's `regs` as a struct pt_regs pointer, or None."""
    try:
        regs = frame.read_var("regs")
    except (ValueError, gdb.error):
        return None
    t = regs.type.strip_typedefs()
    if t.code != gdb.TYPE_CODE_PTR or \
            str(t.target().strip_typedefs()) != "struct pt_regs":
        return None
    return regs


class TrapFrames(gdb.Command):
    """kdump-trap-frames TID: the trapped code of TID's trap frames."""

    def __init__(self):
        super().__init__("kdump-trap-frames", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        tid = int(arg)
        thread = next((t for t in gdb.selected_inferior().threads()
                       if t.ptid[1] == tid), None)
        if thread is None:
            print(f"kdump-trap none: no thread {tid}")
            return
        thread.switch()
        frame = gdb.newest_frame()
        while frame is not None:
            regs = pt_regs(frame)
            if regs is not None:
                names = [f.name for f in regs.dereference().type.fields()]
                for field in PC_FIELDS:
                    if field in names:
                        addr = int(regs[field])
                        print(f"kdump-trap {frame.name()} {field} "
                              f"{addr:#x} {symbol(addr)}")
            try:
                frame = frame.older()
            except gdb.error:
                break


TrapFrames()
