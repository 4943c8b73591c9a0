# SPDX-License-Identifier: GPL-2.0
"""KTAP (KUnit in the kernel log) and TAP (kselftests on the console)
results, read from console logs."""

import re

TIMESTAMP = re.compile(r"^\[\s*[\d.]+\]\s*")


def strip_stamps(line):
    """A console line without the runner's and printk's timestamps."""
    return TIMESTAMP.sub("", TIMESTAMP.sub("", line))


def parse_ktap(console):
    """Results of top-level KTAP test lines: {suite: 'ok ...'|'not ok ...'}.
    Subtests are indented and so not top-level."""
    res = {}
    for line in console.splitlines():
        m = re.match(r"^(not ok|ok) \d+ (\S+)(.*)$", strip_stamps(line))
        if m:
            res[m.group(2)] = m.group(1) + m.group(3)
    return res


def kunit_outcomes(console, suites):
    """{suite: 'ok'|'not ok'|'missing'} for the expected suites; a result
    with a SKIP directive counts as skipped, never as ok."""
    res = parse_ktap(console)
    out = {}
    for s in suites:
        r = res.get(s)
        if r is None:
            out[s] = "missing"
        elif "# SKIP" in r:
            out[s] = "skipped"
        else:
            out[s] = "ok" if r.startswith("ok") else "not ok"
    return out


def tap_block(lines, start_marker, end_prefix="# Totals"):
    """The TAP lines of a kselftest printed after start_marker; returns
    (plan, passed, failed lines, skipped lines, the block)."""
    lines = [l.strip() for l in lines]
    start = lines.index(start_marker)
    tap = [l for l in lines[start:]
           if re.match(r"(not )?ok \d+ |# |1\.\.\d+|TAP version", l)]
    tap = tap[:next((i + 1 for i, l in enumerate(tap)
                     if l.startswith(end_prefix)), len(tap))]
    plan = next((int(l[3:]) for l in tap if l.startswith("1..")), 0)
    results = [l for l in tap if re.match(r"(not )?ok \d+ ", l)]
    skipped = [l for l in results if re.search(r"#\s*SKIP", l, re.I)]
    failed = [l for l in results if l.startswith("not ok")
              and l not in skipped]
    passed = len(results) - len(failed) - len(skipped)
    return plan, passed, failed, skipped, tap


def kselftest_results(text):
    """Per test, what run_kselftest.sh printed for it: {test: {"result":
    "pass"|"fail"|"skip", "directive": the text after '#' on its result
    line, "reason": the test's last line of its own (for a skip, why),
    "info": its "[INFO] ..." lines, "log": all its lines}}. A test's own
    lines are the '# ' lines between its "# selftests: C: T" header and
    its result line, the runner's "timeout set to" line left out."""
    out, log, name = {}, [], None
    for line in (strip_stamps(l).rstrip() for l in text.splitlines()):
        m = re.match(r"^# selftests: \S+: (\S+)$", line)
        if m:
            name, log = m.group(1), []
            continue
        m = re.match(r"^(not ok|ok) \d+ selftests: \S+: (\S+)\s*(?:#\s*(.*))?$",
                     line)
        if m:
            directive = (m.group(3) or "").strip()
            if m.group(1) == "not ok":
                result = "fail"
            elif directive.upper().startswith("SKIP"):
                result = "skip"
            else:
                result = "pass"
            own = [l for l in log if l and not
                   re.match(r"(timeout set to|overriding timeout)", l)]
            out[m.group(2)] = {
                "result": result, "directive": directive,
                "reason": own[-1] if own else "",
                "info": [l for l in own if l.startswith("[INFO]")],
                "log": own}
            name, log = None, []
            continue
        if name is not None and line.startswith("#"):
            log.append(line[1:].strip())
    return out
