# SPDX-License-Identifier: GPL-2.0
"""Device dumps in a vmcore: the NT_VMCOREDD notes that drivers of the
capture kernel add, read from the file's PT_NOTE segment by this parser
(written from include/uapi/linux/vmcore.h, not from our kernel code), and
the bytes the Rust sample (samples/rust/rust_vmcore_device_dump.rs) must
have put in its own."""

import struct

from kdump_common import StageError
from kdump_verify import PT_NOTE, vmcore_phdrs

NT_VMCOREDD = 0x700
# struct vmcoredd_header: n_namesz, n_descsz, n_type, name[8], dump_name[44].
HEADER = 64
NAME_BYTES = 44
SAMPLE_NAME = "rust_sample"
SAMPLE_SIZE = 5000
SAMPLE_TEXT = b"Rust vmcore device dump sample\n"
SAMPLE_OPTION = "CONFIG_SAMPLE_RUST_VMCORE_DEVICE_DUMP=y"


def sample_bytes():
    """What the sample writes: its line of text, then (7 i + 3) mod 251."""
    return bytes(SAMPLE_TEXT[i] if i < len(SAMPLE_TEXT) else (7 * i + 3) % 251
                 for i in range(SAMPLE_SIZE))


def note_segment(vmcore):
    """(offset, bytes) of the vmcore's one PT_NOTE segment."""
    notes = [p for p in vmcore_phdrs(vmcore) if p[0] == PT_NOTE]
    if len(notes) != 1:
        raise StageError("verify", f"{len(notes)} PT_NOTE segments in "
                         f"{vmcore}, want the one merged segment")
    _, _, off, _, _, filesz, _ = notes[0]
    with open(vmcore, "rb") as f:
        f.seek(off)
        return off, f.read(filesz)


def device_dumps(vmcore):
    """Every NT_VMCOREDD note of the vmcore, in order: dicts with its
    name, where it starts in the PT_NOTE segment, its raw note bytes and
    its data (the descriptor after the dump name)."""
    _, seg = note_segment(vmcore)
    out, at = [], 0
    while at + 12 <= len(seg):
        namesz, descsz, kind = struct.unpack_from("<III", seg, at)
        name_end = at + 12 + ((namesz + 3) & ~3)
        end = name_end + ((descsz + 3) & ~3)
        if namesz == 0 and descsz == 0 and kind == 0:
            break
        if end > len(seg):
            raise StageError("verify", f"a note at {at:#x} of the PT_NOTE "
                             f"segment runs past its end ({len(seg)} bytes)")
        if kind == NT_VMCOREDD:
            desc = seg[name_end:name_end + descsz]
            out.append({"at": at, "name": desc[:NAME_BYTES].split(b"\0")[0]
                        .decode(errors="replace"),
                        "note_name": seg[at + 12:at + 12 + namesz],
                        "note": seg[at:end], "data": desc[NAME_BYTES:]})
        at = end
    return out


def check_sample(vmcore):
    """The sample's dump is the first note of the PT_NOTE segment, named
    "LINUX", a whole number of pages, with the sample's bytes then zeros.
    Returns its raw note bytes."""
    dumps = device_dumps(vmcore)
    ours = [d for d in dumps if d["name"] == SAMPLE_NAME]
    if len(ours) != 1:
        raise StageError("verify", f"{len(ours)} device dumps named "
                         f"{SAMPLE_NAME} in the vmcore (device dumps: "
                         f"{[d['name'] for d in dumps]})")
    d = ours[0]
    want = sample_bytes()
    total = -(-(HEADER + SAMPLE_SIZE) // 4096) * 4096
    problems = []
    if d["at"] != 0:
        problems.append(f"it is at {d['at']:#x} of the PT_NOTE segment, "
                        f"not first")
    if d["note_name"] != b"LINUX\0\0\0":
        problems.append(f"note name {d['note_name']!r}")
    if len(d["note"]) != total:
        problems.append(f"{len(d['note'])} bytes, want {total}")
    if d["data"][:SAMPLE_SIZE] != want:
        bad = next(i for i, (a, b) in enumerate(zip(d["data"], want))
                   if a != b) if len(d["data"]) >= SAMPLE_SIZE else \
            len(d["data"])
        problems.append(f"its bytes differ from the sample's at {bad}")
    elif any(d["data"][SAMPLE_SIZE:]):
        problems.append("the padding after the sample's bytes is not zero")
    if problems:
        raise StageError("verify", f"device dump {SAMPLE_NAME}: " +
                         "; ".join(problems))
    return d["note"]


def sample_built(k):
    """Whether kernel k has the sample built in."""
    return SAMPLE_OPTION in (k["out"] / ".config").read_text().splitlines()
