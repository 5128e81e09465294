#!/usr/bin/env python3
"""Documentation that runs: every SQL example of the given Markdown files is executed
against a real PostgreSQL and its shown output compared (see docs/README.md, "Examples
that run").

The convention, in Markdown:

    ```sql
    SELECT hll_count(hll_agg(g)) FROM generate_series(1, 1000) g;
    ```
    ```
     hll_count
    -----------
          1000
    (1 row)
    ```

* A ```sql block is executed. If the fence right after it (only blank lines between)
  has no info string, or `text` / `output`, that block is its expected output: what
  `psql -X -q` prints in its default aligned format with \set SHOW_CONTEXT never
  (notices, and errors with their DETAIL and HINT lines, are included; each line is
  compared with trailing spaces removed). A line `...` alone in an expected block matches any number of lines.
  A ```sql block without an output block must run without an ERROR.
* ```sql skip (or the comment <!-- doctest: skip --> just before the block) shows SQL
  that is not run (CREATE EXTENSION in an existing install, pg_cron setup, Citus...).
* <!-- doctest-setup ... --> is SQL that runs at that point but is not shown (test data
  a reader is assumed to have). Its output is ignored; an ERROR in it fails the file.
* <!-- doctest: skip-file --> anywhere: the file has no runnable examples.

Each file runs in order, in one psql session, in a fresh database of the cluster that
PGHOST/PGPORT/PGUSER name; topk_pg is created in it first unless the file itself runs
CREATE EXTENSION topk_pg. Roles a file creates are dropped after it.

    doctest.py [--update] [--add-missing] [-v] FILE.md ...

--update rewrites the output blocks that differ with what psql printed; --add-missing
also adds an output block after each example that prints something and has none.
Prints one line per file (and a diff per failing example) and closes with
'doctest: N passed, N failed' counting examples.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys
import time

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`]*)$")
OUTPUT_INFOS = {"", "text", "output"}
SKIP_COMMENT = re.compile(r"^\s*<!--\s*doctest:\s*skip\s*-->\s*$")
SKIP_FILE = re.compile(r"<!--\s*doctest:\s*skip-file\s*-->")
SETUP_START = re.compile(r"^\s*<!--\s*doctest-setup\b(.*)$")
CREATES_EXTENSION = re.compile(r"^\s*CREATE\s+EXTENSION\s+(IF\s+NOT\s+EXISTS\s+)?\"?topk_pg\b", re.I | re.M)
MARK = "@@doctest {} {}@@"


class Example:
    def __init__(self, kind, sql, line):
        self.kind = kind            # 'sql' or 'setup'
        self.sql = sql
        self.line = line            # 1-based line of the SQL's first line
        self.expected = None        # list of lines, or None
        self.out_span = None        # (first, last) 0-based line indexes of the output block's body
        self.fence_end = None       # 0-based index of the closing fence of the SQL block
        self.indent = ""
        self.fence = "```"
        self.actual = None


def parse(lines):
    """The runnable examples of a Markdown file, in order."""
    examples = []
    i = 0
    skip_next = False
    n = len(lines)
    while i < n:
        line = lines[i]
        if SKIP_COMMENT.match(line):
            skip_next = True
            i += 1
            continue
        m = SETUP_START.match(line)
        if m:
            body = []
            rest = m.group(1)
            start = i
            if "-->" in rest:
                body.append(rest.split("-->")[0])
            else:
                if rest.strip():
                    body.append(rest)
                i += 1
                while i < n and "-->" not in lines[i]:
                    body.append(lines[i])
                    i += 1
                if i < n:
                    body.append(lines[i].split("-->")[0])
            examples.append(Example("setup", "\n".join(body).strip() + "\n", start + 2))
            i += 1
            continue
        m = FENCE.match(line)
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).strip()
        # Find the closing fence.
        j = i + 1
        while j < n and not (lines[j].strip().startswith(fence[0] * len(fence)) and
                             lines[j].strip().strip(fence[0]) == ""):
            j += 1
        words = info.split()
        lang = words[0].lower() if words else ""
        if lang == "sql":
            body = [l[len(indent):] if l.startswith(indent) else l for l in lines[i + 1:j]]
            if skip_next or "skip" in [w.lower() for w in words[1:]]:
                skip_next = False
                i = j + 1
                continue
            ex = Example("sql", "\n".join(body).rstrip() + "\n", i + 2)
            ex.fence_end = j
            ex.indent = indent
            ex.fence = fence
            # An output block right after?
            k = j + 1
            while k < n and lines[k].strip() == "":
                k += 1
            if k < n:
                m2 = FENCE.match(lines[k])
                if m2 and m2.group(3).strip().lower() in OUTPUT_INFOS:
                    f2 = m2.group(2)
                    e = k + 1
                    while e < n and not (lines[e].strip().startswith(f2[0] * len(f2)) and
                                         lines[e].strip().strip(f2[0]) == ""):
                        e += 1
                    ind2 = m2.group(1)
                    ex.expected = [l[len(ind2):] if l.startswith(ind2) else l for l in lines[k + 1:e]]
                    ex.out_span = (k + 1, e - 1)
                    examples.append(ex)
                    i = e + 1
                    continue
            examples.append(ex)
            i = j + 1
            continue
        skip_next = False
        i = j + 1
    return examples


def normalise(lines):
    out = [l.rstrip() for l in lines]
    while out and out[0] == "":
        out.pop(0)
    while out and out[-1] == "":
        out.pop()
    return out


def matches(expected, actual):
    """expected may hold '...' lines, each matching any number of actual lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def psql(args, sql, env):
    return subprocess.run(["psql", "-X", "-q"] + args, input=sql, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def run_file(path, examples, env, verbose):
    """Runs the examples of one file in a fresh database; fills in ex.actual.
    Returns an error string for file-level failures, or None."""
    slug = re.sub(r"[^a-z0-9]+", "_", os.path.relpath(path).lower()).strip("_")
    db = "doctest_" + slug[:50]
    admin = ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-At"]
    roles_before = set(psql(admin, "SELECT rolname FROM pg_roles;", env).stdout.split())
    r = psql(admin, 'DROP DATABASE IF EXISTS "{0}";\nCREATE DATABASE "{0}";\n'.format(db), env)
    if r.returncode != 0:
        return "could not create database {}: {}".format(db, r.stdout.strip())
    try:
        # CONTEXT lines (PL/pgSQL call stacks with line numbers) are left out of the output.
        script = ["\\set SHOW_CONTEXT never\n"]
        if not any(ex.kind == "sql" and CREATES_EXTENSION.search(ex.sql) for ex in examples):
            script.append("CREATE EXTENSION topk_pg;\n")
        for idx, ex in enumerate(examples):
            script.append("\\echo '" + MARK.format("begin", idx) + "'\n")
            script.append(ex.sql)
            # A final ';' flushes an unterminated statement, so it shows up after 'end'.
            script.append("\\echo '" + MARK.format("end", idx) + "'\n;\n")
        script.append("\\echo '" + MARK.format("begin", len(examples)) + "'\n")
        r = psql(["-d", db, "-v", "ON_ERROR_STOP=0"], "".join(script), env)
        out = r.stdout.split("\n")
        if verbose:
            sys.stdout.write(r.stdout)
        pos = {}
        for k, l in enumerate(out):
            m = re.match(r"^@@doctest (begin|end) (\d+)@@$", l)
            if m:
                pos[(m.group(1), int(m.group(2)))] = k
        prelude = out[:pos.get(("begin", 0), 0)]
        if any("ERROR:" in l for l in prelude):
            return "setting up the database failed:\n" + "\n".join(prelude)
        for idx, ex in enumerate(examples):
            b, e = pos.get(("begin", idx)), pos.get(("end", idx))
            nb = pos.get(("begin", idx + 1))
            if b is None or e is None or nb is None:
                ex.actual = None
                return ("psql stopped at the example of line {} (server crash?); its output:\n".format(ex.line)
                        + "\n".join(out[-30:]))
            ex.actual = normalise(out[b + 1:e])
            between = normalise(out[e + 1:nb])
            if between:
                ex.unterminated = between
        return None
    finally:
        psql(admin, 'DROP DATABASE IF EXISTS "{0}" WITH (FORCE);\n'.format(db), env)
        roles_after = set(psql(admin, "SELECT rolname FROM pg_roles;", env).stdout.split())
        for role in sorted(roles_after - roles_before):
            psql(admin, 'DROP ROLE IF EXISTS "{}";\n'.format(role.replace('"', '""')), env)


def check(path, ex):
    """None if the example passes, else the reason (with a diff)."""
    where = "{}:{}".format(path, ex.line)
    if getattr(ex, "unterminated", None):
        return "{}: the example's last statement has no ';' (it ran with the next one)".format(where)
    if ex.kind == "setup" or ex.expected is None:
        errs = [l for l in ex.actual if re.match(r"^(ERROR|FATAL|PANIC):", l)]
        if errs:
            what = "hidden setup" if ex.kind == "setup" else "example (it has no output block, so it must not fail)"
            return "{}: {} failed:\n    {}".format(where, what, "\n    ".join(ex.actual))
        return None
    expected = normalise(ex.expected)
    if matches(expected, ex.actual):
        return None
    diff = difflib.unified_diff(expected, ex.actual, "expected (shown in the doc)", "actual (psql)", lineterm="")
    return "{}: output differs:\n    {}".format(where, "\n    ".join(diff))


def rewrite(path, lines, examples, add_missing):
    """Writes the actual outputs into the file; returns how many blocks changed."""
    edits = []   # (start, end_exclusive, new_lines)
    for ex in examples:
        if ex.kind != "sql" or ex.actual is None or getattr(ex, "unterminated", None):
            continue
        if ex.expected is not None:
            if not matches(normalise(ex.expected), ex.actual):
                first, last = ex.out_span
                edits.append((first, last + 1, [ex.indent + l if l else l for l in ex.actual]))
        elif add_missing and ex.actual:
            block = [ex.indent + ex.fence] + [ex.indent + l if l else l for l in ex.actual] + [ex.indent + ex.fence]
            edits.append((ex.fence_end + 1, ex.fence_end + 1, block))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:end] = new
    if edits:
        with open(path, "w") as f:
            f.write("\n".join(lines))
    return len(edits)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--update", action="store_true", help="rewrite output blocks that differ")
    ap.add_argument("--add-missing", action="store_true", help="with --update: add missing output blocks")
    ap.add_argument("-v", "--verbose", action="store_true", help="print psql's whole output")
    args = ap.parse_args()
    env = dict(os.environ)
    passed = failed = 0
    failed_files = []
    for path in args.files:
        with open(path) as f:
            text = f.read()
        lines = text.split("\n")
        if SKIP_FILE.search(text):
            print("skip   {} (doctest: skip-file)".format(path))
            continue
        examples = parse(lines)
        if not examples:
            print("ok     {} (no SQL examples)".format(path))
            continue
        t0 = time.monotonic()
        err = run_file(path, examples, env, args.verbose)
        took = time.monotonic() - t0
        problems = []
        n_ok = n_bad = 0
        for ex in examples:
            if ex.actual is None:
                continue
            why = check(path, ex)
            if ex.kind == "setup":
                if why:
                    n_bad += 1
                    problems.append(why)
                continue
            if why:
                n_bad += 1
                problems.append(why)
            else:
                n_ok += 1
        if err:
            problems.insert(0, "{}: {}".format(path, err))
            n_bad += sum(1 for ex in examples if ex.kind == "sql" and ex.actual is None)
            n_bad = max(n_bad, 1)
        passed += n_ok
        failed += n_bad
        checked = sum(1 for ex in examples if ex.kind == "sql")
        if problems:
            failed_files.append(path)
            print("FAILED {} ({} of {} examples failed, {:.1f}s)".format(path, max(n_bad, 1), checked, took))
            for p in problems:
                print("  " + p.replace("\n", "\n  "))
        else:
            print("ok     {} ({} examples, {:.1f}s)".format(path, checked, took))
        if args.update and not err:
            n = rewrite(path, lines, examples, args.add_missing)
            if n:
                print("       updated {} output block(s) in {}".format(n, path))
    print("doctest: {} files, {} with failures{}".format(
        len(args.files), len(failed_files), " (" + ", ".join(failed_files) + ")" if failed_files else ""))
    print("doctest: {} passed, {} failed".format(passed, failed))
    return 1 if failed or failed_files else 0


if __name__ == "__main__":
    sys.exit(main())
