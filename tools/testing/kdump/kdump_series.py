# SPDX-License-Identifier: GPL-2.0
"""The patch series we would post, as data: which overlay file and which
hook patch lands in which patch of the series, and the version of each
file at every patch.

The mapping and the texts live in series/series.toml. A file that grows
across the series (a Kconfig menu, a Makefile, a module list, a header
of prototypes) is cut into blocks: a Kconfig stanza, a kernel-doc
comment with its declaration, a Makefile line, a `pub mod` line, or a
conditional (`ifdef ... endif`, `#if ... #endif`) with what it holds. A
patch claims blocks by a regular expression matched on their first line
(a conditional's directive, else the first line that is not a comment
or an attribute); a block nobody claims lands with its enclosing block,
or with the file. The file at patch N is the blocks that patches up to
N own, in their order in the file: the last patch gives the file as it
is, byte for byte.

Nothing here runs git: kdump_series_git.py builds the commits.
"""

import re
import tomllib
from dataclasses import dataclass, field

from kdump_common import HERE, StageError

SERIES_DIR = HERE / "series"
SERIES_FILE = SERIES_DIR / "series.toml"
ALLOW_FILE = SERIES_DIR / "checkpatch-allow.toml"


def fail(message):
    """Raise the series stage's error."""
    raise StageError("series", message)


@dataclass
class Patch:
    """One patch of the series: its texts, the overlay files it adds
    (paths or folders ending in /), the hook patches it applies, and the
    blocks of growing files it claims ({path: [regex, ...]})."""
    index: int
    subject: str
    body: str
    files: list = field(default_factory=list)
    hooks: list = field(default_factory=list)
    grow: dict = field(default_factory=dict)


@dataclass
class Series:
    """The whole series: cover letter texts, what is left out, patches."""
    cover_subject: str
    cover_body: str
    exclude: list
    exclude_reason: str
    patches: list


def load(path=SERIES_FILE):
    """Read series.toml into a Series; errors name the patch at fault."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{path}: {e}")
    cover = data.get("cover", {})
    patches = []
    for i, p in enumerate(data.get("patch", []), 1):
        for key in ("subject", "body"):
            if not isinstance(p.get(key), str) or not p[key].strip():
                fail(f"{path}: patch {i} has no {key}")
        unknown = set(p) - {"subject", "body", "files", "hooks", "grow"}
        if unknown:
            fail(f"{path}: patch {i} ({p['subject']}): unknown keys "
                 f"{sorted(unknown)}")
        patches.append(Patch(i, p["subject"].strip(), p["body"].strip(),
                             list(p.get("files", [])),
                             list(p.get("hooks", [])),
                             dict(p.get("grow", {}))))
    if not patches:
        fail(f"{path}: no [[patch]]")
    ex = data.get("exclude", {})
    return Series(cover.get("subject", "").strip(),
                  cover.get("body", "").strip(), list(ex.get("paths", [])),
                  ex.get("reason", "").strip(), patches)


def covers(entry, path):
    """A files entry (a path, or a folder ending in /) covers path."""
    return path == entry or (entry.endswith("/") and path.startswith(entry))


def excluded(series, path):
    """path is left out of the series on purpose ([exclude] paths)."""
    return any(covers(e, path) for e in series.exclude)


def assign(series, files, hooks):
    """Map every overlay file and every hook patch to its patch.

    files: relative paths (str) of the overlay; hooks: hook patch file
    names. Returns ({path: Patch}, {hook: Patch}). Fails naming the file
    or hook that is in no patch, in two, or named by the mapping but
    missing from the tree; and when the hooks would land in another order
    than `kdump.py apply` applies them (sorted by name).
    """
    problems = []
    owner = {}
    used = set()
    for path in files:
        hits = [(p, e) for p in series.patches for e in p.files
                if covers(e, path)]
        if excluded(series, path):
            if hits:
                problems.append(f"{path}: excluded, yet mapped to patch "
                                f"{hits[0][0].index}")
            continue
        if not hits:
            problems.append(f"{path}: in no patch of the series")
        elif len(hits) > 1:
            problems.append(f"{path}: mapped twice (patches "
                            f"{', '.join(str(p.index) for p, _ in hits)})")
        else:
            owner[path] = hits[0][0]
        used.update((p.index, e) for p, e in hits)
    for p in series.patches:
        for e in p.files:
            if (p.index, e) not in used:
                problems.append(f"{e}: named by patch {p.index} but no such "
                                f"file in the tree")
        for g in p.grow:
            if g not in owner:
                problems.append(f"{g}: patch {p.index} grows it, but it is "
                                f"not a mapped file")
            elif owner[g].index > p.index:
                problems.append(f"{g}: patch {p.index} grows it before patch "
                                f"{owner[g].index} adds it")
    hook_owner = {}
    for p in series.patches:
        for h in p.hooks:
            if h in hook_owner:
                problems.append(f"patches/{h}: mapped twice (patches "
                                f"{hook_owner[h].index}, {p.index})")
            elif h not in hooks:
                problems.append(f"patches/{h}: named by patch {p.index} but "
                                f"not in patches/")
            hook_owner[h] = p
    for h in hooks:
        if h not in hook_owner:
            problems.append(f"patches/{h}: in no patch of the series")
    order = [h for p in series.patches for h in p.hooks if h in hooks]
    if order != sorted(order):
        problems.append("hook patches land out of the order kdump.py apply "
                        f"applies them: {order}")
    if problems:
        fail("series mapping: " + "; ".join(problems))
    return owner, hook_owner


# Blocks of growing files -------------------------------------------------

# Per syntax: conditional open/middle/close, comment/attribute prefixes,
# and whether a block is a paragraph (up to a blank line before an
# unindented line) or a line (with its indented continuation).
SYNTAX = {
    "make": (r"(ifdef|ifndef|ifeq|ifneq)\b", r"else\b", r"endif\b",
             ("#",), False),
    "c": (r"#\s*(if|ifdef|ifndef)\b", r"#\s*(elif|else)\b", r"#\s*endif\b",
          (), True),
    "rust": (None, None, None, ("//", "#["), False),
    "kconfig": (None, None, None, (), True),
}


def syntax_of(path):
    """The block syntax of a growing file, from its name."""
    name = path.rsplit("/", 1)[-1]
    if name.startswith("Kconfig"):
        return "kconfig"
    if name.startswith(("Makefile", "Kbuild")):
        return "make"
    if name.endswith(".rs"):
        return "rust"
    if name.endswith((".h", ".c")):
        return "c"
    fail(f"{path}: no block syntax for this kind of file")


@dataclass
class Block:
    """A leaf (lines) or a conditional (head line, children, tail line)."""
    lines: list
    children: list = None
    tail: list = None
    owner: int = None
    sep: bool = False

    def head(self, syntax):
        """The line claims are matched on."""
        if self.children is not None:
            return self.lines[0]
        prefixes = SYNTAX[syntax][3]
        for line in self.lines:
            if line.strip() and not line.lstrip().startswith(prefixes):
                return line
        return self.lines[0]

    def text(self):
        """The block's lines, as in the file."""
        out = list(self.lines)
        for c in self.children or ():
            out += c.text()
        return out + list(self.tail or ())


def parse(lines, syntax):
    """Cut lines (with their line ends) into a list of Blocks."""
    opener, middle, closer, prefixes, para = SYNTAX[syntax]

    def match(rx, line):
        return rx is not None and re.match(rx, line) is not None

    def directive(line):
        return any(match(rx, line) for rx in (opener, middle, closer))

    def indented(line):
        return line[:1] in (" ", "\t")

    def level(i, inner):
        out = []
        while i < len(lines):
            line = lines[i]
            if match(closer, line):
                if not inner:
                    fail(f"unbalanced {line.strip()!r}")
                return out, i
            if match(opener, line):
                children, j = level(i + 1, True)
                if j >= len(lines):
                    fail(f"{line.strip()!r} is never closed")
                out.append(Block([line], children, [lines[j]]))
                i = j + 1
                continue
            if match(middle, line):
                out.append(Block([line]))
                i += 1
                continue
            if not line.strip():
                j = blank_run(i)
                out.append(Block(lines[i:j], sep=True))
            else:
                j = (para_end if para else line_end)(i)
                out.append(Block(lines[i:j]))
            i = j
        return out, i

    def blank_run(j):
        while j < len(lines) and not lines[j].strip():
            j += 1
        return j

    def para_end(i):
        j = i + 1
        while j < len(lines):
            if directive(lines[j]):
                return j
            if not lines[j].strip():
                k = blank_run(j)
                if k == len(lines) or directive(lines[k]) or \
                        not indented(lines[k]):
                    return j
                j = k
                continue
            j += 1
        return j

    def line_end(i):
        j = i
        while j < len(lines) and lines[j].strip() and \
                lines[j].lstrip().startswith(prefixes) and \
                not directive(lines[j]):
            j += 1
        if j < len(lines) and lines[j].strip() and not directive(lines[j]):
            j += 1
            while j < len(lines) and not directive(lines[j]) and \
                    (indented(lines[j]) or lines[j][:1] in ("}", ")", "]")):
                j += 1
        return max(j, i + 1)

    blocks, _ = level(0, False)
    return blocks


def claim(blocks, syntax, claims, intro, path):
    """Set each block's owner: the patch whose pattern matches its head
    line, else its enclosing block's owner (the file's: intro).

    claims: [(patch index, regex)]. Fails on a pattern that claims
    nothing, a block claimed by two patches, and a block claimed before
    the block (or file) that holds it lands.
    """
    hits = {i: 0 for i in range(len(claims))}

    def walk(bs, parent):
        for b in bs:
            head = b.head(syntax)
            mine = [(k, p) for k, (p, rx) in enumerate(claims)
                    if re.search(rx, head.rstrip("\n"))]
            for k, _ in mine:
                hits[k] += 1
            owners = {p for _, p in mine}
            if len(owners) > 1:
                fail(f"{path}: {head.strip()!r} claimed by patches "
                     f"{sorted(owners)}")
            b.owner = owners.pop() if owners else parent
            if b.owner < parent:
                fail(f"{path}: {head.strip()!r} claimed by patch {b.owner}, "
                     f"before patch {parent} adds what holds it")
            walk(b.children or (), b.owner)

    walk(blocks, intro)
    stale = [f"patch {claims[k][0]} /{claims[k][1]}/"
             for k, n in hits.items() if n == 0]
    if stale:
        fail(f"{path}: patterns that match no block: {', '.join(stale)}")


def version(text, path, claims, intro, upto):
    """The file as it is after patch `upto` of the series.

    text: the whole file; claims: [(patch index, regex)] from every patch
    that grows it; intro: the index of the patch that adds it.
    """
    syntax = syntax_of(path)
    lines = text.splitlines(keepends=True)
    blocks = parse(lines, syntax)
    if [l for b in blocks for l in b.text()] != lines:
        fail(f"{path}: cutting it into blocks lost lines")
    claim(blocks, syntax, claims, intro, path)

    def emit(bs):
        # Blank lines between blocks separate what is there: one run
        # between two blocks that are, none after a missing block.
        out, pending, before = [], None, False
        for b in bs:
            if b.sep:
                if not before:
                    out += b.lines
                elif pending is None:
                    pending = b.lines
                continue
            if b.owner > upto:
                continue
            out += pending or []
            pending, before = None, True
            out += b.lines
            if b.children is not None:
                out += emit(b.children) + b.tail
        # A level's own trailing blank lines stay; a run before a missing
        # last block goes with it.
        if bs and bs[-1].sep and before:
            out += bs[-1].lines
        return out

    return "".join(emit(blocks))


def claims_of(series, path):
    """[(patch index, regex)] of every patch that grows path."""
    return [(p.index, rx) for p in series.patches
            for rx in p.grow.get(path, ())]


def plan(series, read, files, hooks):
    """What each patch does, in order: [(Patch, [hook], {path: text})].

    read(path) gives an overlay file's text (bytes for files that do not
    grow). The last patch leaves every growing file whole.
    """
    owner, _ = assign(series, files, hooks)
    steps = []
    for p in series.patches:
        changed = {}
        for path, o in owner.items():
            claims = claims_of(series, path)
            if o is p:
                data = read(path)
                changed[path] = version(data.decode(), path, claims, o.index,
                                        p.index).encode() if claims else data
            elif claims and any(i == p.index for i, _ in claims):
                changed[path] = version(read(path).decode(), path, claims,
                                        o.index, p.index).encode()
        steps.append((p, list(p.hooks), changed))
    return steps
