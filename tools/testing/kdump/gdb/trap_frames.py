# SPDX-License-Identifier: GPL-2.0
"""gdb command `kdump-trap-frames TID`: where the crashed thread TID was
when it trapped in kernel mode, from the trap frames on its stack (riscv64).

gdb unwinds a riscv64 kernel stack by its call frame information only, and
that ends early: a function that calls a noreturn one (check_panic_on_warn()
calling panic()) need not save its return address, and the exception entry
has none. A panic raised in a trap handler (panic_on_warn from
do_trap_break) then ends the backtrace short of the function that trapped.

The exception entry saves a struct pt_regs on the task's stack, below the
stack pointer it had (PT_SIZE_ON_STACK: sizeof(struct pt_regs) rounded up
to 16), and stores that stack pointer in it. This command scans TID's
stack, from its stack pointer to the end of its THREAD_SIZE-aligned stack,
for such frames: the saved sp is the frame's own end and the saved status
says the trap came from supervisor mode (SR_SPP). For each, innermost
first, it prints the saved pc and return address:

    kdump-trap FRAME-ADDRESS FIELD ADDRESS FUNCTION

FUNCTION is `?` when no symbol covers ADDRESS. A thread or architecture
without such frames prints nothing. Sourced by kdump_verify with `gdb -x`."""

import struct

import gdb

SR_SPP = 0x100      # sstatus: the trap came from supervisor mode
STACK_ALIGN = 16    # riscv's PT_SIZE_ON_STACK alignment


def symbol(addr):
    """The function covering addr, or '?'."""
    text = gdb.execute(f"info symbol {addr:#x}", to_string=True)
    return "?" if text.startswith("No symbol") else text.split()[0]


def thread_size():
    """THREAD_SIZE: the size of init_task's stack, between the linker
    script's __start_init_stack and __end_init_stack."""
    def at(name):
        return int(gdb.parse_and_eval(f"(unsigned long)&{name}"))
    return at("__end_init_stack") - at("__start_init_stack")


def trap_frames(sp):
    """(address, epc, ra) of each kernel-mode struct pt_regs on the stack
    above sp, innermost first."""
    regs = gdb.lookup_type("struct pt_regs")
    fields = {f.name: f.bitpos // 8 for f in regs.fields()}
    if not {"epc", "ra", "sp", "status"} <= set(fields):
        return []
    size = thread_size()
    top = (sp & ~(size - 1)) + size
    on_stack = (regs.sizeof + STACK_ALIGN - 1) & ~(STACK_ALIGN - 1)
    mem = bytes(gdb.selected_inferior().read_memory(sp, top - sp))

    def word(at, name):
        return struct.unpack_from("<Q", mem, at + fields[name])[0]

    found = []
    for at in range(0, len(mem) - regs.sizeof + 1, 8):
        if word(at, "sp") == sp + at + on_stack and \
                word(at, "status") & SR_SPP:
            found.append((sp + at, word(at, "epc"), word(at, "ra")))
    return found


class TrapFrames(gdb.Command):
    """kdump-trap-frames TID: the kernel-mode trap frames on TID's stack."""

    def __init__(self):
        super().__init__("kdump-trap-frames", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        tid = int(arg)
        thread = next((t for t in gdb.selected_inferior().threads()
                       if t.ptid[1] == tid), None)
        if thread is None:
            return
        thread.switch()
        sp = int(gdb.newest_frame().read_register("sp"))
        for at, epc, ra in trap_frames(sp):
            for field, addr in (("epc", epc), ("ra", ra)):
                print(f"kdump-trap {at:#x} {field} {addr:#x} {symbol(addr)}")


TrapFrames()
