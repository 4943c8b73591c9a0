# SPDX-License-Identifier: GPL-2.0
"""The test suite's machinery: named steps with the steps they need and a
time limit each, planned per architecture (ARCH/STEP) or once on the host,
selection by glob, failure isolation, the summary and
build/test-report.json.

A step is a function of the suite's context returning a one-line detail.
It fails by raising (StageError, or anything else: the exception becomes
the failure), is skipped by raising Skip, and is skipped when a step it
needs did not pass. It runs in a thread; at its time limit the child
processes it started are killed, which ends it.

Steps run in two lanes at once. The build lane takes the kernel builds
and the late steps that need only builds (steps registered with
lane="build": the debug kernel's cycles), one after the other in plan
order, at the lowest CPU priority and holding SOURCE_LOCK (they read, and
the mutant build rewrites, the one source tree); the main lane runs every
other step in plan order, each once the steps it needs have ended. So the
builds of the next architectures use what CPU the guests of this one leave
idle, and a guest hardly feels them; once the builds are done, the debug
kernel's guests take that CPU."""

import fnmatch
import json
import threading
import traceback

import os
from pathlib import Path

from kdump_common import (SOURCE_LOCK, Clock, StageError, fail_report,
                          kill_children, last_run, say, set_lane)

# The build lane's nice value: its compilers yield the CPU to the guests.
BUILD_NICE = 19


class Skip(Exception):
    """Raised by a step that cannot run here; the message says why."""


class Step:
    def __init__(self, name, fn, needs, timeout, doc, scope, when, lane,
                 late=False):
        self.name, self.fn, self.needs = name, fn, tuple(needs)
        self.timeout, self.doc = timeout, doc
        self.scope, self.when, self.lane = scope, when, lane
        self.late = late


class Task:
    """A step to run: on one architecture (name 'ARCH/STEP') or, for a
    host step, once (name 'STEP')."""

    def __init__(self, step, steps, arch=None):
        self.step, self.arch = step, arch
        self.name = f"{arch}/{step.name}" if arch else step.name
        self.fn, self.timeout, self.lane = step.fn, step.timeout, step.lane
        # What it needs on its own architecture, or a host step.
        self.needs = tuple(n if steps[n].scope == "host" else f"{arch}/{n}"
                           for n in step.needs)
        self.doc = step.doc


class Suite:
    def __init__(self):
        self.steps = {}

    def step(self, name, needs=(), timeout=1800, scope="arch", when=None,
             lane="main", late=False):
        """Decorator: register fn as step `name`. scope: "arch" runs it on
        every architecture, "first" on the first one only (checks of the
        runner itself), "host" once with no architecture; `when(arch)`
        false leaves an architecture out (it lacks what the step checks);
        lane "build" runs it in the build lane (a kernel build, or a late
        step that needs only builds: it may need only build-lane steps); late puts it after every architecture's
        other steps (a long build and what uses it, so that they do not
        hold up the next architecture)."""
        def add(fn):
            if name in self.steps:
                raise ValueError(f"step {name} twice")
            for n in needs:
                if n not in self.steps:
                    raise ValueError(f"step {name} needs {n}, which is not "
                                     f"registered before it")
                if scope == "host" and self.steps[n].scope != "host":
                    raise ValueError(f"host step {name} needs {n}, which "
                                     f"runs per architecture")
                if self.steps[n].late and not late:
                    raise ValueError(f"step {name} needs {n}, a late step: "
                                     f"it must be late too")
                if lane == "build" and self.steps[n].lane != "build":
                    raise ValueError(f"build step {name} needs {n}, which "
                                     f"is not in the build lane")
            doc = (fn.__doc__ or "").strip().split("\n\n")[0]
            self.steps[name] = Step(name, fn, needs, timeout,
                                    " ".join(doc.split()), scope, when, lane,
                                    late)
            return fn
        return add

    def plan(self, arches, patterns=None):
        """The tasks for `arches` (ArchConfigs, the first one first): the
        host steps, then every architecture's steps in registration order,
        then every architecture's late steps.
        With patterns, only the tasks whose name or step name matches a
        glob, and every task they need."""
        tasks = [Task(s, self.steps) for s in self.steps.values()
                 if s.scope == "host"]
        for late in (False, True):
            for i, a in enumerate(arches):
                tasks += [Task(s, self.steps, a.name)
                          for s in self.steps.values()
                          if s.late == late and
                          (s.scope == "arch" or s.scope == "first" and i == 0)
                          and (s.when is None or s.when(a))]
        if not patterns:
            return tasks
        by_name = {t.name: t for t in tasks}
        want = {t.name for t in tasks if any(
            fnmatch.fnmatchcase(t.name, p) or
            fnmatch.fnmatchcase(t.step.name, p) for p in patterns)}
        todo = list(want)
        while todo:
            for n in by_name[todo.pop()].needs:
                if n in by_name and n not in want:
                    want.add(n)
                    todo.append(n)
        return [t for t in tasks if t.name in want]

    def run(self, contexts, tasks, report_path):
        """Run tasks, each with its architecture's context (contexts:
        {arch name: context}; host tasks get the first one), the build
        lane's beside the others; returns the results and writes the
        report, in plan order."""
        results = {}
        done = threading.Condition()
        clock = Clock()
        first = next(iter(contexts.values()))

        def lane(todo, name):
            set_lane(name)
            if name == "build":
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                               BUILD_NICE)
            for t in todo:
                with done:
                    done.wait_for(lambda: all(n in results or n not in names
                                              for n in t.needs))
                ctx = contexts.get(t.arch, first)
                try:
                    if name == "build":
                        with SOURCE_LOCK:
                            r = self._run_one(ctx, t, results, name)
                    else:
                        r = self._run_one(ctx, t, results, name)
                except Exception as e:  # the lane must go on, and report
                    r = {"status": "failed", "seconds": 0.0,
                         "reason": f"suite: {type(e).__name__}: {e}"}
                with done:
                    results[t.name] = r
                    done.notify_all()

        names = {t.name for t in tasks}
        builds = [t for t in tasks if t.lane == "build"]
        builder = threading.Thread(target=lane, args=(builds, "build"),
                                   daemon=True)
        builder.start()
        lane([t for t in tasks if t.lane != "build"], "main")
        builder.join()
        total = clock.seconds()
        report = {"seconds": total, "steps": [
            dict(name=t.name, **results[t.name]) for t in tasks]}
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        print_summary(report)
        print(f"report: {report_path}")
        return report

    def _run_one(self, ctx, s, results, lane="main"):
        blocked = [n for n in s.needs if results.get(n, {}).get("status")
                   != "passed"]
        if blocked:
            return {"status": "skipped", "seconds": 0.0,
                    "reason": "needs " + ", ".join(
                        f"{n} ({results.get(n, {}).get('status', 'not run')})"
                        for n in blocked)}
        say(f"=== {s.name} ===" + (f" ({lane} lane)" if lane != "main"
                                    else ""))
        box, clock = {}, Clock()

        def body():
            set_lane(lane)
            try:
                box["detail"] = s.fn(ctx) or ""
            except Skip as e:
                box["skip"] = str(e)
            except StageError as e:
                box["error"] = e
            except Exception as e:  # a bug in the step is its failure too
                box["error"] = StageError("step", f"{type(e).__name__}: {e}",
                                          tail=traceback.format_exc()
                                          .splitlines()[-12:])

        t = threading.Thread(target=body, daemon=True)
        t.start()
        t.join(s.timeout)
        if t.is_alive():
            # Kill what it started until it gives up; a step stuck in Python
            # itself is left behind (its thread is a daemon).
            for _ in range(10):
                kill_children(lane)
                t.join(1)
                if not t.is_alive():
                    break
            box = {"error": StageError("timeout", f"{s.name} ran out of its "
                                       f"{s.timeout} s")}
        secs = clock.seconds()
        if "skip" in box:
            say(f"{s.name}: skipped: {box['skip']}")
            return {"status": "skipped", "seconds": secs,
                    "reason": box["skip"]}
        if "error" in box:
            e = box["error"]
            fail_report(e)
            return {"status": "failed", "seconds": secs,
                    "reason": f"{e.stage}: {e.message}",
                    "log": str(e.log) if e.log else None,
                    "tail": failure_tail(e)}
        return {"status": "passed", "seconds": secs, "reason": box["detail"]}


def failure_tail(err, lines=12):
    """The last lines of a failed stage's log (or its own tail), for the
    summary's closing lines."""
    if err.tail:
        return [str(x) for x in err.tail[-lines:]]
    if err.log and Path(err.log).exists():
        return last_run(err.log)[-lines:]
    return []


def print_summary(report):
    steps = report["steps"]
    print(f"\n=== kdump.py test summary ({report['seconds']:.0f} s) ===")
    width = max((len(s["name"]) for s in steps), default=10)
    for s in steps:
        print(f"{s['name']:<{width}}  {s['status']:<8} {s['seconds']:7.1f}s  "
              f"{s['reason']}")
    areas = {}
    for s in steps:
        a = s["name"].rsplit("/", 1)[-1].split("-")[0]
        areas[a] = areas.get(a, 0.0) + s["seconds"]
    print("time by area: " + ", ".join(
        f"{a} {t / 60:.1f} min" for a, t in
        sorted(areas.items(), key=lambda x: -x[1])))
    counts = {k: sum(1 for s in steps if s["status"] == k)
              for k in ("passed", "failed", "skipped")}
    print(f"{counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped, of {len(steps)}")
    for s in steps:
        if s["status"] == "skipped":
            print(f"skipped {s['name']}: {s['reason']}")
    # Failures last: CI shows the end of the output, so why a step failed
    # must not scroll away with the table.
    for s in steps:
        if s["status"] == "failed":
            print(f"FAILED {s['name']}: {s['reason']}")
            for line in s.get("tail") or []:
                print(f"  | {line}")
            if s.get("log"):
                print(f"  full log: {s['log']}")
