# SPDX-License-Identifier: GPL-2.0
"""Disassembly for the call-graph checks where llvm-objdump does not name
call targets: riscv64.

A riscv kernel is linked without relaxation (-mno-relax), so a call is a
pair, `auipc ra, HI` then `jalr LO(ra)`, and a tail call `auipc t1, HI` then
`jr LO(t1)`; llvm-objdump prints neither target. The symbol table also
keeps local `.L` labels (what a PC-relative low part refers to), which
--disassemble-symbols takes for the end of a function. This disassembler
prints each function by its address range (llvm-nm -S), drops the label
lines, turns every resolved pair into `call`/`tail ADDR <function>`, and
names every branch target after the function that holds it, as
llvm-objdump does on other architectures. What it cannot resolve (a jump
through a register) stays a `jalr`/`jr`, which the check counts as
indirect.
"""

import bisect
import re
import subprocess

AUIPC = re.compile(r"^\s*([0-9a-f]+):\s+auipc\s+(\w+),\s*(-?(?:0x)?[0-9a-f]+)\s*$")
JALR = re.compile(r"^\s*([0-9a-f]+):\s+(jalr|jr)\s+(-?\d+)\((\w+)\)\s*$")
TARGET = re.compile(r"(0x[0-9a-f]+) <[^>]+>")
LABEL = re.compile(r"^[0-9a-f]+ <\.L[^>]*>:$")


def function_symbols(nm_text):
    """{name: (address, size)} of the defined text symbols of `llvm-nm -S`
    output, local labels left out."""
    out = {}
    for line in nm_text.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTW" and not f[3].startswith(".L"):
            out[f[3]] = (int(f[0], 16), int(f[1], 16))
    return out


class Symbolizer:
    """Address to `function` or `function+0xoff`."""

    def __init__(self, symbols):
        pairs = sorted((a, s, n) for n, (a, s) in symbols.items())
        self.starts = [a for a, _, _ in pairs]
        self.pairs = pairs

    def name(self, addr):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        start, size, name = self.pairs[i]
        if addr >= start + max(size, 1):
            return None
        return name if addr == start else f"{name}+{addr - start:#x}"


def resolve(text, sym):
    """The disassembly `text` with label lines dropped, auipc/jalr pairs
    turned into calls and branch targets named by `sym`."""
    out, hi = [], {}
    for line in text.splitlines():
        if LABEL.match(line):
            continue
        m = AUIPC.match(line)
        if m:
            pc, reg, imm = int(m.group(1), 16), m.group(2), int(m.group(3), 0)
            # llvm-objdump prints the 20-bit immediate unsigned.
            imm = imm - (1 << 20) if imm >= 1 << 19 else imm
            hi[reg] = (pc + 4, (pc + (imm << 12)) % 2**64)
            out.append(line)
            continue
        m = JALR.match(line)
        if m and m.group(4) in hi and hi[m.group(4)][0] == int(m.group(1), 16):
            target = (hi.pop(m.group(4))[1] + int(m.group(3))) % 2**64
            name = sym.name(target)
            op = "call" if m.group(2) == "jalr" else "tail"
            out.append(f"{m.group(1)}:\t{op}\t{target:#x}" +
                       (f" <{name}>" if name else ""))
            continue
        out.append(TARGET.sub(lambda t: f"{t.group(1)} <"
                              f"{sym.name(int(t.group(1), 16)) or '?'}>",
                              line))
    return "\n".join(out)


def pair_disassembler(obj):
    """A disassembler for call_graph (names -> text) over `obj`."""
    nm = subprocess.run(["llvm-nm", "-S", "--defined-only", str(obj)],
                        capture_output=True, text=True, check=True).stdout
    symbols = function_symbols(nm)
    sym = Symbolizer(symbols)

    def disassemble(names):
        parts = []
        for n in names:
            if n not in symbols:
                continue
            a, s = symbols[n]
            parts.append(subprocess.run(
                ["llvm-objdump", "-d", "--no-show-raw-insn",
                 f"--start-address={a:#x}", f"--stop-address={a + s:#x}",
                 str(obj)], capture_output=True, text=True,
                check=True).stdout)
        return resolve("\n".join(parts), sym)
    return disassemble
