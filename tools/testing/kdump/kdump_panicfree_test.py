#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of the faces check (kdump_panicfree.py): finding the faces
in our sources and in a vmlinux's symbols, the panic paths of a call graph
and the allow list. Synthetic input; no kernel."""

import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kdump_panicfree as pf  # noqa: E402
from kdump_common import StageError  # noqa: E402
from kdump_panicfree import (find_roots, judge, load_allowed,  # noqa: E402
                             our_sources, panic_paths, source_faces)

GLUE = """
/// Doc.
#[no_mangle]
pub unsafe extern "C" fn plain(a: u32) -> u32 { a }

#[no_mangle]
// `__init`, as in C.
#[link_section = ".init.text"]
pub unsafe extern "C" fn boot_only() {}

#[no_mangle]
pub extern "C" fn safe_face() {}

#[no_mangle]
extern "C" fn private_face() {}

fn helper() {}
extern "C" {
    fn from_c();
}
"""
ABSTRACTION = """
impl<T> Adapter<T> {
    unsafe extern "C" fn read_iter(k: *mut u8) -> isize { 0 }
}
pub(crate) extern "C" fn fault(_v: *mut u8) -> u32 { 0 }
"""


class Faces(unittest.TestCase):
    """Faces from sources, roots from symbols."""

    def test_no_mangle_faces_with_attributes_and_comments(self):
        faces, callbacks = source_faces({"kernel/kdump/glue.rs": GLUE})
        self.assertEqual(faces, {n: ["kernel/kdump/glue.rs"] for n in
                                 ("plain", "boot_only", "safe_face",
                                  "private_face")})
        self.assertEqual(callbacks, [])

    def test_callbacks_of_abstractions_and_what_is_not_a_face(self):
        faces, callbacks = source_faces({
            "rust/kernel/proc_fs.rs": ABSTRACTION,
            "arch/x86/purgatory/purgatory.rs": GLUE,
            "kernel/kdump/purgatory_main.rs": GLUE,
            "rust/kdump/memparse.rs": GLUE,
            "kernel/kdump/notes.txt": GLUE})
        self.assertEqual(faces, {})
        self.assertEqual(callbacks, [("kernel::proc_fs", "read_iter"),
                                     ("kernel::proc_fs", "fault")])

    def test_one_face_per_architecture(self):
        faces, _ = source_faces({"arch/x86/kernel/r.rs": GLUE,
                                 "arch/riscv/kernel/r.rs": GLUE})
        self.assertEqual(faces["plain"], ["arch/riscv/kernel/r.rs",
                                          "arch/x86/kernel/r.rs"])

    def test_our_tree_has_the_known_faces(self):
        faces, callbacks = source_faces(our_sources())
        for name in ("crash_prepare_elf64_headers", "parse_crashkernel",
                     "kdump_rust_crash_kexec", "kdump_vmcore_init",
                     "arch_kexec_apply_relocations_add"):
            self.assertIn(name, faces)
        self.assertEqual(len(faces["arch_kexec_apply_relocations_add"]), 2)
        self.assertNotIn("purgatory", faces)
        self.assertIn(("kernel::proc_fs", "read_iter"), callbacks)

    def test_roots(self):
        nm = ("ffffffff81000000 T plain\n"
              "ffffffff81000010 t _RNvAdapterRead\n"
              "ffffffff81000020 t _RNvOther\n"
              "                 U from_c\n")
        demangled = {"_RNvAdapterRead":
                     "<kernel::proc_fs::Adapter<vmcore::File>>::read_iter",
                     "_RNvOther": "kernel::proc_fs_extra::read_iter"}
        faces = {"plain": ["a.rs"], "boot_only": ["a.rs"],
                 "other_arch": ["b.rs"]}
        roots, problems = find_roots(nm, faces,
                                     [("kernel::proc_fs", "read_iter")],
                                     lambda rel: rel == "a.rs", demangled)
        self.assertEqual(sorted(roots), ["_RNvAdapterRead", "plain"])
        self.assertEqual(problems, ["boot_only (a.rs, built) is not in "
                                    "vmlinux"])


GRAPH = {
    "face_a": {"_Rmid", "kmalloc"},
    "_Rmid": {"_Rleaf", "_RNvNtCs1_4core9panicking9panic_fmt"},
    "_Rleaf": {"_RNvNtCs1_4core9panicking18panic_bounds_check"},
    "face_b": {"_Rleaf"},
    "face_c": {"memcpy"},
}
NAMES = {"_Rmid": "kdump::mid", "_Rleaf": "kdump::leaf",
         "_RNvNtCs1_4core9panicking9panic_fmt": "core::panicking::panic_fmt",
         "_RNvNtCs1_4core9panicking18panic_bounds_check":
         "core::panicking::panic_bounds_check"}


class Paths(unittest.TestCase):
    """Panic paths and the allow list."""

    def test_shortest_paths_to_every_panicking_caller(self):
        p = panic_paths(GRAPH, ["face_a", "face_b", "face_c"])
        self.assertEqual(p["face_a"]["_Rmid"][0], ["face_a", "_Rmid"])
        self.assertEqual(p["face_a"]["_Rleaf"][0],
                         ["face_a", "_Rmid", "_Rleaf"])
        self.assertEqual(list(p["face_b"]), ["_Rleaf"])
        self.assertEqual(p["face_c"], {})

    def test_unlisted_panics_fail_with_their_path(self):
        p = panic_paths(GRAPH, ["face_b"])
        problems, used = judge(p, [], NAMES, "x86_64")
        self.assertEqual(problems, [
            "face_b reaches core::panicking::panic_bounds_check via "
            "face_b -> kdump::leaf"])
        self.assertEqual(used, 0)

    def test_allowed_panics_pass_and_stale_entries_fail(self):
        p = panic_paths(GRAPH, ["face_b", "face_c"])
        allowed = [("face_b", "kdump::leaf", "i < 4 by construction", None),
                   ("face_c", "kdump::gone", "was fixed", None)]
        problems, used = judge(p, allowed, NAMES, "x86_64")
        self.assertEqual(used, 1)
        self.assertEqual(len(problems), 1)
        self.assertIn("face_c -> kdump::gone, which no longer calls a "
                      "panic", problems[0])
        # An entry for a face this architecture does not have is not stale.
        problems, _ = judge(panic_paths(GRAPH, ["face_b"]),
                            allowed, NAMES, "x86_64")
        self.assertEqual(problems, [])

    def test_patterns_and_architectures(self):
        p = panic_paths(GRAPH, ["face_a", "face_b"])
        # One entry covers every face that reaches kdump::leaf, another
        # kdump::mid on x86_64 only.
        allowed = [("*", "kdump::l*f", "proof", None),
                   ("face_a", "kdump::mid", "proof", ["x86_64"])]
        self.assertEqual(judge(p, allowed, NAMES, "x86_64"), ([], 2))
        problems, used = judge(p, allowed, NAMES, "arm64")
        self.assertEqual(used, 1)
        self.assertEqual(problems, [
            "face_a reaches core::panicking::panic_fmt via face_a -> "
            "kdump::mid"])
        self.assertTrue(pf.glob("<[kdump::Range]>::copy_within::<*>",
                                "<[kdump::Range]>::copy_within::<usize>"))
        self.assertFalse(pf.glob("<[kdump::Range]>::copy_within",
                                 "<[kdump::Range]>::copy_within::<usize>"))

    def test_allow_file_needs_reasons(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write('[[allow]]\nface = "a"\ncaller = "b"\nreason = " "\n')
            f.flush()
            with self.assertRaises(StageError):
                load_allowed(f.name)
        self.assertIsInstance(load_allowed(pf.ALLOW_FILE), list)


if __name__ == "__main__":
    unittest.main()
