# SPDX-License-Identifier: GPL-2.0
"""`kdump.py series`: the series as git commits on the pinned base, then
`git format-patch`; and its checks: `git am` on a pristine base,
checkpatch.pl --strict, the result against `kdump.py apply`, and (with
--bisect) a build of every prefix.

The base is a git repository made once from the tarball (one commit) and
kept under BUILD/series/base.git. The series' commits are written with
a temporary index (no checkout); the checks use worktrees of that
repository, reset to the base before each use.
"""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import kdump_series as ks
from kdump_common import BUILD, OVERLAY, REPO, Clock, StageError, \
    run_logged, say
from kdump_setup import BASE_DIRNAME, BASE_PKG, BASE_PKG_VERSION, \
    BASE_TARBALL, apply_patches, copy_overlay, overlay_files, patch_files

SERIES_BUILD = BUILD / "series"
GITDIR = SERIES_BUILD / "base.git"
BRANCH = "kdump-series"
# What `kdump.py apply` writes into a tree besides the overlay and hooks.
APPLY_ADDS = (".kdump-overlay", ".kdump-patches")
# The worktrees of the base repository the checks use.
WORKTREES = ("am", "apply", "bisect")


def git(*args, gitdir=GITDIR, cwd=None, env=None, inp=None, check=True):
    """Run git on the base repository; returns stdout (str)."""
    cmd = ["git"] + ([f"--git-dir={gitdir}"] if gitdir else []) + \
        [str(a) for a in args]
    r = subprocess.run(cmd, cwd=cwd, env=env, input=inp,
                       capture_output=True,
                       text=not isinstance(inp, bytes))
    out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode()
    if check and r.returncode != 0:
        err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode()
        raise StageError("series", f"git {' '.join(map(str, args[:3]))} "
                         f"failed (status {r.returncode})",
                         tail=(out + err).splitlines()[-20:])
    return out


# Who signs the series off in `kdump.py test` on a machine with no git
# identity (a fresh CI clone): the check does not depend on the name.
TEST_IDENTITY = ("kdump.py test", "kdump-test@example.org")
_fallback = []


def identity_fallback(ident):
    """Sign off as `ident` where git config has no identity (the test
    step); `kdump.py series` itself has none and asks for one."""
    _fallback[:] = [ident]


def identity(env=None):
    """(name, email) from `git config`; fails with a clear message when
    either is unset (they sign off every patch), unless a fallback was
    set."""
    got = []
    for key in ("user.name", "user.email"):
        v = subprocess.run(["git", "config", key], capture_output=True,
                           text=True, cwd=REPO, env=env).stdout.strip()
        if not v and _fallback:
            return _fallback[0]
        if not v:
            raise StageError("series", f"git config {key} is not set: the "
                             f"patches are signed off with it (git config "
                             f"--global {key} ...)")
        got.append(v)
    return tuple(got)


def base_repo(log):
    """The base repository: the tarball as one commit, made once and
    reused while the tarball is the same; returns the base commit."""
    stamp = SERIES_BUILD / "base.stamp"
    key = f"{BASE_TARBALL} {BASE_TARBALL.stat().st_size} " \
          f"{BASE_TARBALL.stat().st_mtime_ns}"
    if stamp.exists() and stamp.read_text().split("\n")[0] == key:
        return stamp.read_text().split("\n")[1]
    clock = Clock()
    say(f"making the base repository {GITDIR} from {BASE_TARBALL}")
    shutil.rmtree(GITDIR, ignore_errors=True)
    for name in WORKTREES:
        # Worktrees of an earlier base repository.
        subprocess.run(["rm", "-rf", SERIES_BUILD / name])
    SERIES_BUILD.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=SERIES_BUILD))
    try:
        run_logged(["tar", "-C", tmp, "-xf", BASE_TARBALL], log, "series")
        tree = tmp / BASE_DIRNAME
        git("init", "-q", "--bare", GITDIR, gitdir=None)
        env = dict(os.environ, GIT_INDEX_FILE=str(SERIES_BUILD / "base.index"))
        git(f"--work-tree={tree}", "add", "-A", "-f", ".", env=env)
        sha = git("write-tree", env=env).strip()
        (SERIES_BUILD / "base.index").unlink()
    finally:
        # rm is much faster than Python at 90,000 files.
        subprocess.run(["rm", "-rf", tmp])
    ident = ("kdump.py series", "kdump@localhost")
    commit = git("commit-tree", sha, "-m",
                 f"{BASE_PKG} {BASE_PKG_VERSION}\n\nThe pinned base, "
                 f"unpacked from {BASE_TARBALL.name}.",
                 env=commit_env(ident, "2000-01-01T00:00:00Z")).strip()
    git("update-ref", "refs/heads/base", commit)
    stamp.write_text(f"{key}\n{commit}\n")
    say(f"base repository made in {clock}")
    return commit


def commit_env(ident, date):
    """Environment giving a commit this author, committer and date."""
    name, email = ident
    return dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
                GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)


def tree_inputs(overlay=None):
    """The overlay files and hook patch names of the tree, as apply sees
    them."""
    root = overlay or OVERLAY
    files = [str(p) for p in overlay_files(root)]
    hooks = [p.name for p in patch_files(root)]
    return root, files, hooks


def message(patch, ident):
    """A patch's commit message, signed off by ident."""
    return (f"{patch.subject}\n\n{patch.body}\n\n"
            f"Signed-off-by: {ident[0]} <{ident[1]}>\n")


def series_date():
    """The date of the series' commits: the tree's last commit's, so that
    the same tree gives the same patches."""
    return subprocess.run(["git", "log", "-1", "--format=%cI"],
                          capture_output=True, text=True,
                          cwd=REPO).stdout.strip() or "2000-01-01T00:00:00Z"


def build_commits(series, base, ident, overlay=None):
    """Write the series as commits on the base, with a temporary index;
    returns the commit ids in order (the branch BRANCH ends at the last)."""
    root, files, hooks = tree_inputs(overlay)
    steps = ks.plan(series, lambda p: (root / p).read_bytes(), files, hooks)
    date = series_date()
    SERIES_BUILD.mkdir(parents=True, exist_ok=True)
    index = SERIES_BUILD / "series.index"
    index.unlink(missing_ok=True)
    env = dict(commit_env(ident, date), GIT_INDEX_FILE=str(index))
    git("read-tree", base, env=env)
    parent, commits = base, []
    for patch, hook_names, changed in steps:
        for h in hook_names:
            git("apply", "--cached", "-p1", root / "patches" / h, env=env)
        for path, data in sorted(changed.items()):
            sha = git("hash-object", "-w", "--stdin", inp=data).strip()
            mode = "100755" if os.access(root / path, os.X_OK) else "100644"
            git("update-index", "--add", "--cacheinfo",
                f"{mode},{sha},{path}", env=env)
        tree = git("write-tree", env=env).strip()
        if commits and tree == git("rev-parse", f"{parent}^{{tree}}").strip():
            raise StageError("series", f"patch {patch.index} "
                             f"({patch.subject}) changes nothing")
        parent = git("commit-tree", tree, "-p", parent, "-F", "-",
                     env=env, inp=message(patch, ident)).strip()
        commits.append(parent)
    index.unlink(missing_ok=True)
    git("update-ref", f"refs/heads/{BRANCH}", parent)
    return commits


def figures(fig_dir):
    """Lines of measured C-vs-Rust figures from a runner build folder
    (test-report.json and the run-*/report.json of the cycles); says so
    when there are none."""
    fig_dir = Path(fig_dir)
    out = []
    rep = fig_dir / "test-report.json"
    if rep.exists():
        r = json.loads(rep.read_text())
        counts = {}
        for s in r["steps"]:
            arch = s["name"].split("/")[0] if "/" in s["name"] else "host"
            c = counts.setdefault(arch, {"passed": 0, "failed": 0,
                                         "skipped": 0})
            c[s["status"]] += 1
        when = time.strftime("%Y-%m-%d %H:%M UTC",
                             time.gmtime(rep.stat().st_mtime))
        out.append(f"kdump.py test, report of {when} "
                   f"({r['seconds'] / 60:.0f} min on 2 cores):")
        for arch, c in counts.items():
            out.append(f"  {arch}: {c['passed']} steps passed, "
                       f"{c['failed']} failed, {c['skipped']} skipped")
        for s in r["steps"]:
            if s["name"].endswith("crashkernel-table") and \
                    s["status"] == "passed":
                out.append(f"  {s['name']}: {s['reason']} (C and Rust)")
    else:
        out.append(f"kdump.py test: no {rep} here, so no suite results "
                   f"are quoted.")
    rows = []
    for arch in ("x86_64", "arm64", "riscv64"):
        got = {}
        for impl in ("c", "rust"):
            p = fig_dir / f"run-{impl}-file-{arch}" / "report.json"
            if p.exists():
                got[impl] = json.loads(p.read_text())
        if len(got) == 2:
            st = {i: got[i].get("stages", {}) for i in got}
            rows.append(f"  {arch:<8} {st['c'].get('handoff', '?'):>5} s "
                        f"{st['rust'].get('handoff', '?'):>5} s "
                        f"{st['c'].get('capture', '?'):>6} s "
                        f"{st['rust'].get('capture', '?'):>6} s "
                        f"{got['c'].get('vmcore_bytes', 0) >> 20:>5} "
                        f"{got['rust'].get('vmcore_bytes', 0) >> 20:>5}")
    if rows:
        out += ["One crash each of the C and the Rust kernel "
                "(kexec_file_load, QEMU TCG, host clock; single runs, "
                "not a benchmark): crash to the capture kernel's first "
                "line (handoff), the capture kernel's copy of "
                "/proc/vmcore (capture), the vmcore's size in MiB:",
                "",
                "           handoff C/Rust   capture C/Rust   vmcore C/Rust"]
        out += rows
    else:
        out.append(f"No C and Rust cycle reports (run-*-file-*/report.json) "
                   f"in {fig_dir}: no C-vs-Rust timings are quoted.")
    # kdump.py bench prints its table only (no file to read back).
    out += ["", "kdump.py bench and cargo bench print their results and "
            "save none: no benchmark figures are quoted here."]
    return out


def cover_body(series, fig_dir):
    """The cover letter's text: the description from series.toml, the
    commands it was tested with, the figures, what is left out."""
    test = ["Tested with the project's runner, tools/testing/kdump/kdump.py",
            "(not part of this series), on Debian's "
            f"{BASE_PKG} {BASE_PKG_VERSION}:",
            "",
            "  kdump.py test                  # CI: every step, x86_64, "
            "arm64, riscv64",
            "  kdump.py run --guest-checks    # one crash, capture, drgn, "
            "makedumpfile",
            "  kdump.py crashkernel-table     # C and Rust reservations "
            "side by side",
            "  kdump.py series --check        # this series: git am, "
            "checkpatch --strict,",
            "                                 # the result equals "
            "kdump.py apply",
            "  cargo test --workspace         # the core on the host, and "
            "against the C",
            "", "Figures from the runner's reports:", ""]
    left = ["", "Left out of the series: " + " ".join(series.exclude) +
            " -- " + " ".join(series.exclude_reason.split())]
    return "\n".join([series.cover_body, ""] + test + figures(fig_dir) +
                     left)


def wrap(text, width=72):
    """Re-wrap the paragraphs of the left-out note; other lines stay."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width or line.startswith(" "):
            out.append(line)
            continue
        cur = ""
        for w in line.split():
            if cur and len(cur) + 1 + len(w) > width:
                out.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        out.append(cur)
    return "\n".join(out)


def generate(out, fig_dir, log):
    """Write the series into out (format-patch files, cover letter 0000);
    returns the patch files, cover letter first."""
    ident = identity()
    series = ks.load()
    base = base_repo(log)
    commits = build_commits(series, base, ident)
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    git("format-patch", "-q", "--cover-letter", "--no-signature",
        "--thread=shallow", "-o", out, f"{base}..{BRANCH}",
        env=commit_env(ident, series_date()))
    files = sorted(out.glob("*.patch"))
    cover = files[0]
    text = cover.read_text()
    text = text.replace("*** SUBJECT HERE ***", series.cover_subject)
    text = text.replace("*** BLURB HERE ***",
                        wrap(cover_body(series, fig_dir)) +
                        f"\n\nSigned-off-by: {ident[0]} <{ident[1]}>")
    cover.write_text(text)
    say(f"{len(commits)} patches and a cover letter in {out}")
    return files


# The checks ---------------------------------------------------------------

def worktree(name):
    """A worktree of the base repository at the base commit, pristine."""
    path = SERIES_BUILD / name
    base = git("rev-parse", "refs/heads/base").strip()
    if not (path / ".git").exists():
        shutil.rmtree(path, ignore_errors=True)
        git("worktree", "prune")
        git("worktree", "add", "-q", "--detach", path, base)
    else:
        git("am", "--abort", gitdir=None, cwd=path, check=False)
        git("checkout", "-q", "-f", "--detach", base, gitdir=None, cwd=path)
    git("clean", "-q", "-f", "-d", "-x", gitdir=None, cwd=path)
    return path


def am(files):
    """git am the series (cover letter left out) on a pristine base;
    returns the worktree."""
    path = worktree("am")
    git("am", "-q", *[f for f in files if not f.name.startswith("0000-")],
        gitdir=None, cwd=path,
        env=commit_env(identity(), "2000-01-01T00:00:00Z"))
    return path


FINDING = re.compile(r"^(ERROR|WARNING|CHECK):([A-Z0-9_]+): (.*)$")
WHERE = re.compile(r"^#\d+: FILE: ([^:]+):")


def checkpatch(tree, patch):
    """scripts/checkpatch.pl --strict of the base on one patch file;
    returns its findings as dicts (level, type, message, file)."""
    r = subprocess.run(["perl", "scripts/checkpatch.pl", "--strict",
                        "--show-types", "--no-color", str(patch)],
                       cwd=tree, capture_output=True, text=True)
    found = []
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        m = FINDING.match(line)
        if m:
            w = next((WHERE.match(l) for l in lines[i + 1:i + 3]
                      if WHERE.match(l)), None)
            found.append({"level": m.group(1), "type": m.group(2),
                          "message": m.group(3),
                          "file": w.group(1) if w else ""})
    if not re.search(r"^total: \d+ errors", r.stdout, re.M):
        raise StageError("series", f"checkpatch.pl gave no summary for "
                         f"{patch.name}", tail=(r.stdout + r.stderr)
                         .splitlines()[-15:])
    return found


def load_allow(path=ks.ALLOW_FILE):
    """The allowed checkpatch findings, each with its reason."""
    try:
        entries = tomllib.loads(path.read_text()).get("allow", [])
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise StageError("series", f"{path}: {e}")
    for i, e in enumerate(entries, 1):
        if not e.get("type") or not str(e.get("reason", "")).strip():
            raise StageError("series", f"{path}: entry {i} needs a type and "
                             f"a reason")
    return entries


def allowed(entry, subject, f):
    """An allow entry covers finding f of the patch with this subject."""
    return entry["type"] == f["type"] and \
        fnmatch.fnmatchcase(subject, entry.get("subject", "*")) and \
        fnmatch.fnmatchcase(f["file"], entry.get("file", "*")) and \
        entry.get("message", "") in f["message"]


def judge(findings, allow):
    """Split findings [(subject, finding)] into those no entry allows,
    and the entries that allow nothing (stale)."""
    used = set()
    bad = []
    for subject, f in findings:
        hits = [i for i, e in enumerate(allow) if allowed(e, subject, f)]
        used.update(hits)
        if not hits:
            bad.append((subject, f))
    stale = [e for i, e in enumerate(allow) if i not in used]
    return bad, stale


def subject_of(patch):
    """The subject of a format-patch file, without [PATCH n/m]."""
    m = re.search(r"^Subject: (?:\[[^\]]*\] )?(.*(?:\n .*)*)",
                  patch.read_text(), re.M)
    return " ".join(m.group(1).split()) if m else patch.name


def tree_of_apply(log, series):
    """`kdump.py apply --kernel-dir` on a pristine base worktree (what
    cmd_apply runs), less what apply adds and the series leaves out on
    purpose; returns the git tree id."""
    path = worktree("apply")
    apply_patches(path, log)
    copy_overlay(path)
    for name in APPLY_ADDS:
        (path / name).unlink(missing_ok=True)
    for e in series.exclude:
        shutil.rmtree(path / e, ignore_errors=True) if e.endswith("/") \
            else (path / e).unlink(missing_ok=True)
    index = SERIES_BUILD / "apply.index"
    index.unlink(missing_ok=True)
    env = dict(os.environ, GIT_INDEX_FILE=str(index))
    git(f"--work-tree={path}", "add", "-A", "-f", ".", env=env)
    tree = git("write-tree", env=env).strip()
    index.unlink(missing_ok=True)
    return tree


def core_prefixes():
    """Each prefix of the series that changes rust/kdump: its crate
    compiles on the host (core only, warnings denied), so the core's
    module list and helpers grow in a working order. Returns how many
    prefixes were compiled; raises naming the first that fails."""
    from kdump_setup import RUSTC
    commits = git("rev-list", "--reverse", f"refs/heads/base..{BRANCH}") \
        .split()
    n = 0
    with tempfile.TemporaryDirectory(prefix="kdump-series-core-") as tmp:
        for i, c in enumerate(commits, 1):
            if not git("diff", "--name-only", f"{c}~1", c, "--",
                       "rust/kdump").strip():
                continue
            d = Path(tmp) / str(i)
            d.mkdir()
            tar = subprocess.run(["git", f"--git-dir={GITDIR}", "archive", c,
                                  "rust/kdump"], capture_output=True,
                                 check=True).stdout
            subprocess.run(["tar", "-x", "-C", d], input=tar, check=True)
            r = subprocess.run([RUSTC, "--edition", "2021", "--crate-type",
                                "lib", "--crate-name", "kdump", "-D",
                                "warnings", "--emit=metadata", "-o",
                                d / "kdump.rmeta", d / "rust/kdump/lib.rs"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                subject = git("log", "-1", "--format=%s", c).strip()
                raise StageError("series", f"patch {i} ({subject}): "
                                 f"rust/kdump does not compile on its own",
                                 tail=r.stderr.splitlines()[-20:])
            n += 1
    return n


def check(files, log):
    """git am, checkpatch and the apply comparison; returns a summary or
    raises StageError listing every problem."""
    series = ks.load()
    clock = Clock()
    tree = am(files)
    n = len([f for f in files if not f.name.startswith("0000-")])
    say(f"git am: {n} patches applied to a pristine base in {clock}")
    findings = []
    for f in files:
        if f.name.startswith("0000-"):
            continue
        subject = subject_of(f)
        findings += [(subject, x) for x in checkpatch(tree, f)]
    bad, stale = judge(findings, load_allow())
    problems = [f"{s}: {x['level']}:{x['type']}: {x['message']}"
                + (f" ({x['file']})" if x["file"] else "") for s, x in bad]
    problems += [f"allow entry no longer needed: {e['type']} "
                 f"subject={e.get('subject', '*')!r} "
                 f"file={e.get('file', '*')!r}" for e in stale]
    cores = core_prefixes()
    am_tree = git("rev-parse", "HEAD^{tree}", gitdir=None, cwd=tree).strip()
    apply_tree = tree_of_apply(log, series)
    if am_tree != apply_tree:
        diff = git("diff", "--stat=200", apply_tree, am_tree)
        problems.append("the series' tree differs from kdump.py apply's "
                        "(apply -> series): " + "; ".join(
                            l.strip() for l in diff.splitlines()[:20]))
    for p in problems:
        print(f"  {p}")
    if problems:
        raise StageError("series", f"{len(problems)} problems with the "
                         f"series (listed above)")
    levels = {}
    for _, x in findings:
        levels[x["level"]] = levels.get(x["level"], 0) + 1
    counts = ", ".join(f"{v} {k}" for k, v in sorted(levels.items()))
    return (f"{n} patches: git am clean; checkpatch --strict: "
            f"{len(findings)} findings, all allowed "
            f"({counts or 'none'}); "
            f"rust/kdump compiles at each of the {cores} patches that "
            f"change it; tree equals kdump.py apply's; {clock}")


def bisect(tools, log):
    """Build every prefix of the series (the runner's Rust configuration
    of tools.arch, incremental, one build folder); returns a summary."""
    from kdump_build import configure, make_cmd
    commits = git("rev-list", "--reverse", f"refs/heads/base..{BRANCH}") \
        .split()
    path = worktree("bisect")
    out = BUILD / f"out-{tools.arch.name}-rust-series"
    # The configuration of the whole series, restored before each prefix:
    # olddefconfig drops what a prefix does not know yet.
    git("checkout", "-q", "--detach", commits[-1], gitdir=None, cwd=path)
    configure(tools, out, "rust", log, src=path)
    full = (out / ".config").read_text()
    clock = Clock()
    for i, c in enumerate(commits, 1):
        git("checkout", "-q", "--detach", c, gitdir=None, cwd=path)
        (out / ".config").write_text(full)
        subject = git("log", "-1", "--format=%s", c)
        say(f"bisect: building patch {i}/{len(commits)}: {subject.strip()}")
        try:
            run_logged(make_cmd(tools, out, path) + ["olddefconfig"], log,
                       "build")
            run_logged(make_cmd(tools, out, path) + [tools.arch.make_target],
                       log, "build")
        except StageError as e:
            e.message = f"patch {i}/{len(commits)} ({subject.strip()}) " \
                        f"does not build: {e.message}"
            raise
    return f"{len(commits)} prefixes built ({tools.arch.name}, Rust), {clock}"
