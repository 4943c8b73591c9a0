#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline tests of `kdump.py series`: the mapping of files and hook
patches to the series' patches, the versions of a file that grows across
them, the checkpatch allow list and the cover letter's figures. No git
repository of the base, no kernel."""

import json
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import kdump_arch  # noqa: E402
import kdump_series  # noqa: E402
import kdump_series_git  # noqa: E402
from kdump_common import StageError  # noqa: E402

X86 = kdump_arch.get("x86_64")


class SeriesMapping(unittest.TestCase):
    """The series' mapping: nothing lost, nothing twice, and the versions
    of a file that grows across the patches."""

    KCONFIG = ("# SPDX-License-Identifier: GPL-2.0\n\n"
               "menu \"M\"\n\tdepends on X\n\n"
               "config A\n\tbool \"a\"\n\thelp\n\t  A.\n\n"
               "\t  More on A.\n\n"
               "config B\n\tbool \"b\"\n\n"
               "config C\n\tbool \"c\"\n\n"
               "endmenu\n")
    MAKEFILE = ("# SPDX-License-Identifier: GPL-2.0\n\n"
                "obj-$(CONFIG_A) += a.o\n"
                "ifdef CONFIG_B\n# b, on two arches\n"
                "obj-$(CONFIG_X86) += b.o\nobj-$(CONFIG_ARM64) += b.o\n"
                "endif\n"
                "obj-$(CONFIG_C) += c.o\n")
    HEADER = ("/* SPDX-License-Identifier: GPL-2.0 */\n"
              "#ifndef _H\n#define _H\n\n#ifdef CONFIG_A\n\n"
              "/**\n * a() - a\n */\nint a(void);\n\n"
              "#ifdef CONFIG_B\nint b(void);\n#endif\n\n"
              "#ifdef CONFIG_C\nint c(void);\n#endif\n\n"
              "#endif\n\n#endif\n")
    LIB = ("// SPDX-License-Identifier: GPL-2.0\n\n//! Doc.\n\n"
           "#![no_std]\n\npub mod a;\npub mod b;\npub mod c;\n\n"
           "/// Helper.\nfn h() -> u8 {\n    0\n}\n")

    def series(self, *patches):
        return kdump_series.Series("", "", ["tools/testing/kdump/"], "",
                                   [kdump_series.Patch(i, f"p{i}", "b", **p)
                                    for i, p in enumerate(patches, 1)])

    def test_every_file_and_hook_in_exactly_one_patch(self):
        s = self.series({"files": ["k/a.c", "k/sub/"], "hooks": ["0001-x"]},
                        {"files": ["k/b.c"], "hooks": ["0002-y"]})
        owner, hooks = kdump_series.assign(
            s, ["k/a.c", "k/b.c", "k/sub/c.c", "tools/testing/kdump/k.py"],
            ["0001-x", "0002-y"])
        self.assertEqual({f: p.index for f, p in owner.items()},
                         {"k/a.c": 1, "k/b.c": 2, "k/sub/c.c": 1})
        self.assertEqual({h: p.index for h, p in hooks.items()},
                         {"0001-x": 1, "0002-y": 2})
        cases = [
            (["k/a.c", "k/b.c", "k/new.c"], ["0001-x", "0002-y"],
             "k/new.c: in no patch"),
            (["k/a.c", "k/b.c"], ["0001-x", "0002-y", "0003-z"],
             "patches/0003-z: in no patch"),
            (["k/a.c"], ["0001-x", "0002-y"],
             "k/b.c: named by patch 2 but no such file"),
        ]
        for files, hks, want in cases:
            with self.assertRaisesRegex(StageError, re.escape(want)):
                kdump_series.assign(s, files, hks)

    def test_a_file_or_hook_mapped_twice_fails(self):
        twice = self.series({"files": ["k/"]}, {"files": ["k/b.c"]})
        with self.assertRaisesRegex(StageError, r"k/b.c: mapped twice "
                                    r"\(patches 1, 2\)"):
            kdump_series.assign(twice, ["k/a.c", "k/b.c"], [])
        hook = self.series({"hooks": ["0001-x"]}, {"hooks": ["0001-x"]})
        with self.assertRaisesRegex(StageError, "0001-x: mapped twice"):
            kdump_series.assign(hook, [], ["0001-x"])
        order = self.series({"hooks": ["0002-y"]}, {"hooks": ["0001-x"]})
        with self.assertRaisesRegex(StageError, "out of the order"):
            kdump_series.assign(order, [], ["0001-x", "0002-y"])
        excluded = self.series({"files": ["tools/testing/kdump/k.py"]})
        with self.assertRaisesRegex(StageError, "excluded, yet mapped"):
            kdump_series.assign(excluded, ["tools/testing/kdump/k.py"], [])

    def versions(self, path, text, claims, last):
        return [kdump_series.version(text, path, claims, 1, n)
                for n in range(1, last + 1)]

    def test_kconfig_grows_by_stanza(self):
        v = self.versions("k/Kconfig", self.KCONFIG,
                          [(2, "^config B$"), (3, "^config C$")], 3)
        self.assertEqual(v[2], self.KCONFIG)
        self.assertEqual(v[0], self.KCONFIG.replace(
            "config B\n\tbool \"b\"\n\nconfig C\n\tbool \"c\"\n\n",
            ""))
        self.assertNotIn("config C", v[1])
        self.assertIn("config B\n\tbool \"b\"\n\nendmenu\n", v[1])
        self.assertIn("\t  More on A.\n", v[0])

    def test_makefile_groups_and_nested_lines(self):
        claims = [(2, "^ifdef CONFIG_B$"), (3, "ARM64"), (3, "CONFIG_C")]
        v = self.versions("k/Makefile", self.MAKEFILE, claims, 3)
        self.assertEqual(v[0], "# SPDX-License-Identifier: GPL-2.0\n\n"
                         "obj-$(CONFIG_A) += a.o\n")
        self.assertEqual(v[1], "# SPDX-License-Identifier: GPL-2.0\n\n"
                         "obj-$(CONFIG_A) += a.o\nifdef CONFIG_B\n"
                         "# b, on two arches\nobj-$(CONFIG_X86) += b.o\n"
                         "endif\n")
        self.assertEqual(v[2], self.MAKEFILE)

    def test_header_and_module_list(self):
        v = self.versions("include/k.h", self.HEADER,
                          [(2, "^#ifdef CONFIG_B$")], 2)
        self.assertEqual(v[1], self.HEADER)
        self.assertNotIn("b(void)", v[0])
        self.assertIn("int c(void);\n#endif\n\n#endif\n\n#endif\n", v[0])
        self.assertNotIn("\n\n\n", v[0])
        v = self.versions("k/lib.rs", self.LIB,
                          [(2, "^pub mod [bc];"), (3, r"^fn h\b")], 3)
        self.assertTrue(v[0].endswith("#![no_std]\n\npub mod a;\n"), v[0])
        self.assertTrue(v[1].endswith("pub mod a;\npub mod b;\npub mod c;\n"))
        self.assertEqual(v[2], self.LIB)

    def test_claims_that_cannot_hold_fail(self):
        with self.assertRaisesRegex(StageError, "match no block"):
            kdump_series.version(self.KCONFIG, "k/Kconfig",
                                 [(2, "^config D$")], 1, 2)
        with self.assertRaisesRegex(StageError, "claimed by patches"):
            kdump_series.version(self.KCONFIG, "k/Kconfig",
                                 [(2, "^config B$"), (3, "B$")], 1, 3)
        with self.assertRaisesRegex(StageError, "claimed by patch 2, before patch 3 adds"):
            kdump_series.version(self.MAKEFILE, "k/Makefile",
                                 [(3, "^ifdef"), (2, "ARM64")], 1, 3)

    def test_the_real_mapping_loses_nothing(self):
        """series.toml against this tree: every file mapped once, and the
        last patch leaves each growing file whole."""
        s = kdump_series.load()
        root, files, hooks = kdump_series_git.tree_inputs()
        steps = kdump_series.plan(s, lambda p: (root / p).read_bytes(),
                                  files, hooks)
        final = {}
        for _, _, changed in steps:
            final.update(changed)
        owner, _ = kdump_series.assign(s, files, hooks)
        self.assertEqual(sorted(final), sorted(owner))
        for path in owner:
            self.assertEqual(final[path], (root / path).read_bytes(), path)

    def test_sign_off_needs_a_git_identity(self):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, HOME=home, GIT_CONFIG_NOSYSTEM="1",
                       GIT_CONFIG_GLOBAL=str(Path(home) / "none"))
            with self.assertRaisesRegex(StageError, "git config user.name "
                                        "is not set"):
                kdump_series_git.identity(env)
            # The test step's fallback, only where git has none.
            kdump_series_git.identity_fallback(
                kdump_series_git.TEST_IDENTITY)
            try:
                self.assertEqual(kdump_series_git.identity(env),
                                 kdump_series_git.TEST_IDENTITY)
                Path(home, "none").write_text("[user]\n\tname = C D\n"
                                              "\temail = c@d.example\n")
                self.assertEqual(kdump_series_git.identity(env),
                                 ("C D", "c@d.example"))
            finally:
                kdump_series_git._fallback.clear()
            Path(home, "none").write_text("[user]\n\tname = A B\n"
                                          "\temail = a@b.example\n")
            self.assertEqual(kdump_series_git.identity(env),
                             ("A B", "a@b.example"))

    def test_cover_figures_come_from_reports_or_are_said_absent(self):
        with tempfile.TemporaryDirectory() as d:
            text = "\n".join(kdump_series_git.figures(d))
            self.assertIn("no suite results are quoted", text)
            self.assertIn("no C-vs-Rust timings are quoted", text)
            steps = [{"name": "x86_64/cycle-c-file", "status": "passed",
                      "seconds": 1, "reason": ""},
                     {"name": "x86_64/crashkernel-table", "status": "passed",
                      "seconds": 1, "reason": "16 of 16 lines identical"},
                     {"name": "x86_64/kunit-c", "status": "failed",
                      "seconds": 1, "reason": ""}]
            Path(d, "test-report.json").write_text(json.dumps(
                {"seconds": 600, "steps": steps}))
            for impl, handoff in (("c", 1.25), ("rust", 0.75)):
                run = Path(d, f"run-{impl}-file-x86_64")
                run.mkdir()
                (run / "report.json").write_text(json.dumps(
                    {"stages": {"handoff": handoff, "capture": 5.0},
                     "vmcore_bytes": 777 << 20}))
            text = "\n".join(kdump_series_git.figures(d))
        self.assertIn("x86_64: 2 steps passed, 1 failed, 0 skipped", text)
        self.assertIn("16 of 16 lines identical", text)
        self.assertRegex(text, r"x86_64 +1.25 s +0.75 s +5.0 s +5.0 s +777 +777")

    def test_checkpatch_findings_against_the_allow_list(self):
        allow = [{"type": "FILE_PATH_CHANGES", "subject": "rust: *",
                  "reason": "r"},
                 {"type": "LONG_LINE", "file": "k/a.c", "reason": "r"}]
        found = [("rust: x", {"type": "FILE_PATH_CHANGES", "file": "",
                              "message": "m", "level": "WARNING"}),
                 ("crash: y", {"type": "FILE_PATH_CHANGES", "file": "",
                               "message": "m", "level": "WARNING"})]
        bad, stale = kdump_series_git.judge(found, allow)
        self.assertEqual([s for s, _ in bad], ["crash: y"])
        self.assertEqual([e["type"] for e in stale], ["LONG_LINE"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
