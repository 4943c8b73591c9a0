# SPDX-License-Identifier: GPL-2.0
"""Kernel configuration and build: tinyconfig plus the fragments, with
LLVM=1 and Debian's rustc-web, one build folder per architecture and
variant (c, rust, or a mutant)."""

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

from kdump_common import BUILD, HERE, REPO, Clock, StageError, \
    run_logged, say
from kdump_setup import RUSTC, RUSTDOC, RUST_LIB_SRC

COMMON_FRAGMENTS = [REPO / "tools/testing/selftests/kdump/config",
                    HERE / "configs/guest.config"]
IMPL_FRAGMENTS = {"c": HERE / "configs/c.config",
                  "rust": HERE / "configs/rust.config"}


def fragments(arch, impl, extra=()):
    """The fragments of a build, in order; a later one wins. An optional
    configs/ARCH-IMPL.config says what the architecture lacks of IMPL's;
    `extra` ones (a variant's) come last."""
    own = HERE / "configs" / f"{arch.name}-{impl}.config"
    return COMMON_FRAGMENTS + [HERE / "configs" / arch.config,
                               IMPL_FRAGMENTS[impl]] + \
        ([own] if own.exists() else []) + list(extra)


def make_cmd(tools, out, src=None, make_vars=()):
    """The make command line of a build folder; `make_vars` ("NAME=value")
    come last (a variant's tools, e.g. PAHOLE=)."""
    cmd = ["make", "-C", src or tools.src, f"O={out}", "LLVM=1",
           f"ARCH={tools.arch.kernel_arch}",
           f"RUSTC={RUSTC}", f"RUSTDOC={RUSTDOC}", f"HOSTRUSTC={RUSTC}",
           f"RUST_LIB_SRC={RUST_LIB_SRC}", f"-j{os.cpu_count() or 2}"]
    if tools.bindgen:
        cmd.append(f"BINDGEN={tools.bindgen}")
    return cmd + list(make_vars)


def read_config(text, unset=True):
    """{option: value} of a .config or fragment; value None for '# ... is
    not set' lines when unset is true."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^# (CONFIG_\w+) is not set", line)
        if m and unset:
            out[m.group(1)] = None
    return out


def configure(tools, out, impl, log, src=None, extra=(), make_vars=()):
    """Configure build folder `out`: tinyconfig plus the fragments, then a
    check that .config has every option the fragments set (Kconfig drops
    one silently when a dependency is missing)."""
    frags = fragments(tools.arch, impl, extra)
    text = "".join(f.read_text() for f in frags) + \
        "".join(f"# make {v}\n" for v in make_vars)
    stamp = out / ".kdump-fragments"
    if stamp.exists() and stamp.read_text() == text and \
            (out / ".config").exists():
        return
    say(f"configuring the {impl} kernel for {tools.arch.name}: tinyconfig + "
        f"{', '.join(f.name for f in frags)}")
    out.mkdir(parents=True, exist_ok=True)
    base = make_cmd(tools, out, src, make_vars)
    run_logged(base + ["tinyconfig"], log, "build")
    run_logged([(src or tools.src) / "scripts/kconfig/merge_config.sh", "-m",
                "-O", out, out / ".config"] + frags, log, "build", cwd=out)
    run_logged(base + ["olddefconfig"], log, "build")
    have = read_config((out / ".config").read_text(), unset=False)
    want = {}
    for f in frags:
        want.update(read_config(f.read_text()))
    bad = [f"{k}={v if v is not None else 'n'} (got {have.get(k, 'n')})"
           for k, v in want.items() if have.get(k) != v]
    if bad:
        raise StageError("build", "the kernel configuration does not have "
                         "what the fragments ask for (a dependency is "
                         "missing): " + "; ".join(bad), log=log)
    stamp.write_text(text)


def kexec_image(arch, out, log):
    """The image the guest's kexec loads: the boot image, or (kexec_image
    "elf") the boot image as the one PT_LOAD of an ELF file."""
    if arch.kexec_image is None:
        return out / arch.image
    src, dst = out / arch.image, out / "Image.elf"
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        dst.write_bytes(image_elf(out / "vmlinux", src.read_bytes()))
    return dst


def image_elf(vmlinux, image):
    """An ELF64 executable whose one PT_LOAD is `image` (a flat copy of
    vmlinux from _start, as riscv's Image is) at _start, spanning to _end,
    entered where vmlinux is. riscv's kexec_file_load in 6.12 takes ELF
    only and loads a segment per PT_LOAD: LLD's vmlinux has 18, which
    with the ELF core header and purgatory pass KEXEC_SEGMENT_MAX (16)."""
    nm = subprocess.run(["llvm-nm", str(vmlinux)], capture_output=True,
                        text=True, check=True).stdout
    syms = {f[2]: int(f[0], 16) for f in (l.split() for l in nm.splitlines())
            if len(f) == 3 and f[2] in ("_start", "_end")}
    head = Path(vmlinux).open("rb").read(64)
    machine, entry = struct.unpack_from("<H", head, 18)[0], \
        struct.unpack_from("<Q", head, 24)[0]
    memsz = syms["_end"] - syms["_start"]
    if len(image) > memsz:
        raise StageError("build", f"the image ({len(image)} bytes) is larger "
                         f"than vmlinux's _start.._end ({memsz})")
    page = 0x1000
    ehdr = struct.pack("<4s5B7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                       2, machine, 1, entry, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    # PT_LOAD, RWX, from the file's second page; physical address 0: the
    # loader places the segment relative to the lowest p_paddr.
    phdr = struct.pack("<IIQQQQQQ", 1, 7, page, syms["_start"], 0,
                       len(image), memsz, page)
    return ehdr + phdr + bytes(page - len(ehdr) - len(phdr)) + image


def build_kernel(tools, impl, variant=None, src=None, extra=(), seed=None,
                 make=True, make_vars=()):
    """Build (or bring up to date) a kernel; returns its facts. `variant`
    names the build folder (default: the impl); `src` another source tree
    (a mutant's); `extra` fragments change the configuration. A new build
    folder starts as a copy of `seed` (another build folder of the same
    source tree), so that only what the change touches is built again.
    `make_vars` ("NAME=value") go on every make command of the folder.
    With make false, only configures."""
    variant = variant or impl
    arch = tools.arch
    out = BUILD / f"out-{arch.name}-{variant}"
    log = out / "build.log"
    clock = Clock()
    if seed is not None and not (out / ".config").exists():
        say(f"build folder {out.name}: a copy of {Path(seed).name}")
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(["cp", "-a", seed, out], check=True)
    out.mkdir(parents=True, exist_ok=True)
    configure(tools, out, impl, log, src, extra, make_vars)
    if not make:
        return {"impl": impl, "variant": variant, "arch": arch, "out": out,
                "src": src or tools.src}
    say(f"building the {variant} kernel for {arch.name} (log: {log})")

    def beat(last):
        say(f"  build {variant}: {clock} elapsed, {last[:70]}")

    run_logged(make_cmd(tools, out, src, make_vars) + [arch.make_target],
               log, "build",
               heartbeat=beat)
    release = (out / "include/config/kernel.release").read_text().strip()
    say(f"built the {variant} kernel {release} in {clock}")
    return {"impl": impl, "variant": variant, "arch": arch,
            "image": out / arch.image, "vmlinux": out / "vmlinux",
            "kexec_image": kexec_image(arch, out, log),
            "release": release, "seconds": clock.seconds(), "out": out}
