#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/helpers/schema-check.py - keeps the JSON Schema of the spec
# (data/piperun-spec.schema.json) and the parser (`piperun validate`) in
# step, with a real validator (Debian's python3-jsonschema, draft 2020-12).
#
#   schema-check.py --piperun P --schema S meta
#       the schema is a valid draft 2020-12 schema
#   schema-check.py --piperun P --schema S valid SPEC...
#       each spec: validate accepts it and so does the schema
#   schema-check.py --piperun P --schema S invalid SPEC...
#       each spec: validate rejects it and so does the schema
#   schema-check.py --piperun P --schema S beyond SPEC...
#       each spec: validate rejects it for what no schema can say
#       (SEMANTIC below: names, references, cycles) and the schema accepts
#       it; the limits of the schema, written down
#   schema-check.py --piperun P --schema S mutate --work DIR SPEC...
#       from each (valid) spec, specs with one change each: an unknown
#       key added to an object, a member removed, a value replaced by one
#       of another type or by a string that is no enum value, a number
#       out of range; validate and the schema must agree on each, but
#       where validate's every error is one a schema cannot express
#       (names, references, cycles; SEMANTIC below) or the parser never
#       reads the value (a default every job overrides; LENIENT below).
#   schema-check.py --piperun P --schema S suites --work DIR BATS...
#       the specs the suites write in here-documents (each expansion of
#       an unquoted one made 1): validate and the schema agree on each
#       (but SEMANTIC errors)
#   schema-check.py --piperun P --schema S random --work DIR [--count N]
#           [--seed S] SPEC...
#       N specs made of the given ones with 1 to 3 random changes each
#       (a key added, a member removed, a value replaced; a fixed seed):
#       validate and the schema agree on each, as for mutate
#   schema-check.py --piperun P --schema S keys --src DIR SPEC...
#       every key the parser's key lists name (src/spec*.c, src/kind-*.c)
#       is in the schema, and the specs use every key of the schema
#
# A disagreement is printed with the spec, the change and its JSON path,
# and both verdicts; the exit status is then 1.
import argparse
import copy
import json
import os
import re
import subprocess
import sys

from jsonschema import Draft202012Validator

# validate's errors about what a schema cannot say
SEMANTIC = [
    r'duplicate job name', r'no job named', r'a job cannot wait for itself',
    r'names \d+ jobs; stdin\.from needs exactly one', r'a job cannot read its own output',
    r'does not capture its stdout', r'is a pool job: its stdout is the pool', r'dependency cycle', r'the spec expands to more than',
    r'comes earlier; step names are unique', r'is both set in this job\'s env and unset',
    r'is out of range: a spec keeps numbers exactly up to 2\^53', r'too close to 0 to be kept',
    r'\{\} is in a here-document whose delimiter is quoted', r'\{\} is read as arithmetic in',
    r"cannot be a shell script's \{\}",
    # magnitudes written in strings, bytes in base64: past a pattern
    r'expected a duration of at most', r'expected a size like .*, got "[0-9]',
    r'at least 1M, got "[0-9]', r'an argv item cannot contain a NUL byte',
    # how many values a foreach range makes: arithmetic over its items
    r'the range from -?\d+ to -?\d+ by -?\d+ is empty', r'the range has more than \d+ values',
]
# keys of the steps host's description (kind-steps.c), not of a spec
HOST_ONLY_KEYS = {'journal_items', 'resume', 'trace_items'}
KIND_KEYS = ('run', 'shell', 'pipeline', 'pool', 'steps')

UNKNOWN_KEY = 'zz_unknown_key'
REPLACEMENTS = [True, 7, -1000000, 1000000000000, 0.5, 'zz-bogus', [], {}, None]


def load(path):
    with open(path, 'rb') as f:
        return json.loads(f.read().decode('utf-8'))


def fmt_path(path):
    out = ''
    for p in path:
        out += '[%d]' % p if isinstance(p, int) else ('.' if out else '') + str(p)
    return out or '(top level)'


class Checker:
    def __init__(self, piperun, schema):
        self.piperun = piperun
        self.schema = load(schema)
        self.validator = Draft202012Validator(self.schema)
        self.failures = 0

    def schema_errors(self, doc):
        errs = sorted(self.validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        return ['%s: %s' % (fmt_path(e.absolute_path), e.message[:200]) for e in errs]

    def validate(self, files):
        """{file: [error lines]} from `piperun validate`, in batches."""
        res = {}
        for i in range(0, len(files), 400):
            batch = files[i:i + 400]
            p = subprocess.run([self.piperun, 'validate'] + batch, capture_output=True)
            if p.returncode not in (0, 2):
                # a crash hides which spec did it: one at a time
                if len(batch) > 1:
                    for f in batch:
                        res.update(self.validate([f]))
                    continue
                res[batch[0]] = ['CRASH: piperun validate ended with status %d: %s'
                                 % (p.returncode, p.stderr.decode(errors='replace')[:300])]
                continue
            for f in batch:
                res[f] = []
            for line in p.stderr.decode('utf-8', errors='replace').splitlines():
                m = re.match(r'piperun: (.*?): (.*)$', line)
                if not m or ': warning: ' in line or line.endswith(': warning'):
                    continue
                if m.group(1) in res:
                    res[m.group(1)].append(m.group(2))
        return res

    def fail(self, msg):
        self.failures += 1
        print(msg)


def cmd_meta(c, args):
    Draft202012Validator.check_schema(c.schema)
    print('ok: the schema is a valid draft 2020-12 schema')


def cmd_valid(c, args, want_valid=True):
    v = c.validate(args.specs)
    for f in args.specs:
        s_errs = c.schema_errors(load(f))
        v_errs = v.get(f, ['(no verdict)'])
        if want_valid and (v_errs or s_errs):
            c.fail('NOT VALID %s\n  validate: %s\n  schema:   %s' % (
                f, '; '.join(v_errs) or 'ok', '; '.join(s_errs) or 'ok'))
        if not want_valid and (not v_errs or not s_errs):
            c.fail('NOT REJECTED %s\n  validate: %s\n  schema:   %s' % (
                f, '; '.join(v_errs) or 'accepts', '; '.join(s_errs) or 'accepts'))
    print('%d specs checked' % len(args.specs))


def semantic(errs):
    return errs and all(any(re.search(p, e) for p in SEMANTIC) for e in errs)


def cmd_beyond(c, args):
    v = c.validate(args.specs)
    for f in args.specs:
        s_errs = c.schema_errors(load(f))
        v_errs = v.get(f, ['(no verdict)'])
        if not semantic(v_errs) or s_errs:
            c.fail('NOT BEYOND A SCHEMA %s\n  validate: %s\n  schema:   %s' % (
                f, '; '.join(v_errs) or 'accepts', '; '.join(s_errs) or 'accepts'))
    print('%d specs checked' % len(args.specs))


def walk(v, path=()):
    """Every (path, value) in v, containers first."""
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from walk(x, path + (i,))


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def same(a, b):
    return type(a) is type(b) and a == b


def mutations(doc):
    """(description, path, mutated document) for one spec."""
    for path, v in walk(doc):
        if isinstance(v, dict) and UNKNOWN_KEY not in v:
            m = copy.deepcopy(doc)
            get(m, path)[UNKNOWN_KEY] = 'zz'
            yield 'unknown key "%s" added' % UNKNOWN_KEY, path, m
        if not path:
            continue
        parent, key = path[:-1], path[-1]
        if isinstance(key, str):
            m = copy.deepcopy(doc)
            del get(m, parent)[key]
            yield 'member removed', path, m
        for r in REPLACEMENTS:
            if same(r, v):
                continue
            m = copy.deepcopy(doc)
            get(m, parent)[key] = copy.deepcopy(r)
            yield 'value replaced by %s' % json.dumps(r), path, m


# values the random changes draw from: each type, enum values, and
# the shapes of the spec's objects, so that a change can make a spec
# valid again as well as break it
FUZZ_VALUES = [True, False, 0, 1, 3, -1, 7, 64, 255, 256, 0.5, 1e9, '', 'x', '1s', '16M', 'TERM',
               'capture', 'null', 'inherit', 'stdout', 'tee', 'process', 'gcd', 'a:b', '-', [], [1],
               ['x'], ['true'], [['true']], {}, None, {'text': 'x'}, {'count': 1}, {'file': 'f'},
               {'run': ['cat']}, [{'run': ['cat']}], {'task': 'gcd'}, {'random': 1, 'seed': 1}]


def random_changes(docs, n, seed):
    """n specs, each one of docs with 1 to 3 random changes: a key (any
    key the docs use) added, a member removed, a value replaced."""
    import random
    rnd = random.Random(seed)
    keys = sorted({k for d in docs for _, v in walk(d) if isinstance(v, dict) for k in v})
    for _ in range(n):
        d = copy.deepcopy(rnd.choice(docs))
        for _ in range(rnd.choice([1, 2, 2, 3])):
            path, v = rnd.choice(list(walk(d)))
            r = rnd.random()
            if isinstance(v, dict) and r < 0.35:
                v[rnd.choice(keys)] = copy.deepcopy(rnd.choice(FUZZ_VALUES))
            elif isinstance(v, dict) and r < 0.5 and v:
                del v[rnd.choice(list(v))]
            elif path:
                get(d, path[:-1])[path[-1]] = copy.deepcopy(rnd.choice(FUZZ_VALUES))
        yield d


def cmd_random(c, args):
    os.makedirs(args.work, exist_ok=True)
    cases = []
    for d in random_changes([load(f) for f in args.specs], args.count, args.seed):
        f = os.path.join(args.work, 'r%05d.json' % len(cases))
        with open(f, 'w') as out:
            json.dump(d, out)
        cases.append((d, f))
    verdicts = c.validate([f for _, f in cases])
    valid = 0
    for d, f in cases:
        v_errs = verdicts.get(f, ['(no verdict)'])
        if (not v_errs) == c.validator.is_valid(d):
            valid += not v_errs
            if any(e.startswith('CRASH') for e in v_errs):
                c.fail('CRASH %s: %s' % (f, v_errs[0]))
            continue
        s_errs = c.schema_errors(d)
        if semantic(v_errs) or (not v_errs and any(
                defaults_unread(d, p) for p, _ in walk(d) if p[:1] == ('defaults',))):
            continue
        c.fail('DISAGREE %s: %s\n  validate: %s\n  schema:   %s' % (
            f, json.dumps(d)[:600], '; '.join(v_errs) or 'accepts', '; '.join(s_errs) or 'accepts'))
    print('%d specs with random changes (seed %d): %d valid, %d disagreements'
          % (len(cases), args.seed, valid, c.failures))


def defaults_unread(doc, path):
    """Is path inside a default that no job reads (each overrides it)?"""
    if len(path) < 2 or path[0] != 'defaults' or not isinstance(doc.get('jobs'), list):
        return False
    key = path[1]
    jobs = [j for j in doc['jobs'] if isinstance(j, dict)]
    if not jobs or key == 'env':
        return False
    if key in KIND_KEYS:
        return all(any(k in j for k in KIND_KEYS) for j in jobs)
    if key == 'stdin':   # a steps job, or a pool job with items, ignores it
        d = doc['defaults']

        def pool_items(j):
            own = any(k in j for k in KIND_KEYS)
            pool = j.get('pool') if own else d.get('pool')
            return isinstance(pool, dict) and 'items' in pool
        return all('stdin' in j or 'steps' in j or pool_items(j) for j in jobs)
    return all(key in j for j in jobs)


def cmd_mutate(c, args):
    os.makedirs(args.work, exist_ok=True)
    cases = []
    for spec in args.specs:
        doc = load(spec)
        for what, path, m in mutations(doc):
            f = os.path.join(args.work, 'm%05d.json' % len(cases))
            with open(f, 'w') as out:
                json.dump(m, out)
            cases.append((spec, what, path, m, f))
    verdicts = c.validate([x[4] for x in cases])
    both_reject = both_accept = known = 0
    for spec, what, path, m, f in cases:
        v_errs = verdicts.get(f, ['(no verdict)'])
        # is_valid stops at the first error: the messages only when wanted
        s_ok = c.validator.is_valid(m)
        if bool(v_errs) != s_ok:
            both_reject += bool(v_errs)
            both_accept += not v_errs
            if any(e.startswith('CRASH') for e in v_errs):
                c.fail('CRASH %s: %s at %s\n  %s' % (os.path.basename(spec), what, fmt_path(path), v_errs[0]))
            continue
        s_errs = c.schema_errors(m)
        if semantic(v_errs) or (s_errs and not v_errs and defaults_unread(m, path)):
            known += 1
            if args.verbose:
                print('beyond a schema: %s: %s at %s\n  validate: %s\n  schema:   %s' % (
                    os.path.basename(spec), what, fmt_path(path),
                    '; '.join(v_errs) or 'accepts', '; '.join(s_errs) or 'accepts'))
            continue
        c.fail('DISAGREE %s: %s at %s (%s)\n  validate: %s\n  schema:   %s' % (
            os.path.basename(spec), what, fmt_path(path), f,
            '; '.join(v_errs) or 'accepts', '; '.join(s_errs) or 'accepts'))
    print('%d mutations: %d rejected by both, %d accepted by both, %d beyond a schema, %d disagreements'
          % (len(cases), both_reject, both_accept, known, c.failures))


def expand(text):
    """An unquoted here-document's text with each expansion ($VAR,
    ${...}, $(...), $((...))) as 1: a number where the suite puts one, a
    character in a string."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == '\\' and i + 1 < len(text) and text[i + 1] in '$`\\\n':
            out.append('' if text[i + 1] == '\n' else text[i + 1])
            i += 2
        elif ch == '$' and i + 1 < len(text) and text[i + 1] in '({':
            close = ')' if text[i + 1] == '(' else '}'
            depth, j = 0, i + 1
            while j < len(text):
                depth += text[j] == text[i + 1]
                depth -= text[j] == close
                j += 1
                if not depth:
                    break
            out.append('1')
            i = j
        elif ch == '$' and i + 1 < len(text) and re.match(r'[A-Za-z_0-9#?@*]', text[i + 1]):
            m = re.match(r'[A-Za-z_][A-Za-z_0-9]*|.', text[i + 1:])
            out.append('1')
            i += 1 + len(m.group(0))
        else:
            out.append(ch)
            i += 1
    return ''.join(out)


def heredocs(path):
    """The bodies of the here-documents in a bats file: quoted ones
    (<<'EOF') as they are, others with their expansions made (expand)."""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    i = 0
    while i < len(lines):
        m = re.search(r"<<(-?)(['\"]?)([A-Za-z_]\w*)\2", lines[i])
        i += 1
        if not m:
            continue
        body = []
        while i < len(lines):
            line = lines[i].lstrip('\t') if m.group(1) else lines[i]
            i += 1
            if line == m.group(3):
                break
            body.append(line)
        text = '\n'.join(body) + '\n'
        yield text if m.group(2) else expand(text)


def cmd_suites(c, args):
    """The specs the test suites write: validate and the schema agree."""
    os.makedirs(args.work, exist_ok=True)
    cases = []
    for bats in args.bats:
        for text in heredocs(bats):
            try:
                doc = json.loads(text)
            except ValueError:
                continue
            if not isinstance(doc, dict) or 'jobs' not in doc:
                continue
            f = os.path.join(args.work, 's%05d.json' % len(cases))
            with open(f, 'w') as out:
                out.write(text)
            cases.append((bats, doc, f))
    verdicts = c.validate([x[2] for x in cases])
    ok = rejected = known = 0
    for bats, doc, f in cases:
        v_errs = verdicts.get(f, ['(no verdict)'])
        s_errs = c.schema_errors(doc)
        if bool(v_errs) == bool(s_errs):
            ok += not v_errs
            rejected += bool(v_errs)
        elif semantic(v_errs):
            known += 1
        else:
            c.fail('DISAGREE %s: a spec of %s\n  validate: %s\n  schema:   %s' % (
                f, os.path.basename(bats), '; '.join(v_errs) or 'accepts',
                '; '.join(s_errs) or 'accepts'))
    print('%d specs from the suites: %d valid, %d rejected by both, %d beyond a schema, %d disagreements'
          % (len(cases), ok, rejected, known, c.failures))
    if ok < 50:
        c.fail('only %d valid specs found in the suites: has their form changed?' % ok)


def schema_keys(node, out, under=None):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'properties' and isinstance(v, dict):
                out.update(v.keys())
            schema_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_keys(v, out)
    return out


def parser_keys(src):
    keys = set()
    for name in sorted(os.listdir(src)):
        if not re.match(r'(spec.*|kind-.*)\.c$', name):
            continue
        with open(os.path.join(src, name)) as f:
            text = f.read()
        for m in re.finditer(r'const char \*const \w*keys\[\] = \{(.*?)\};', text, re.S):
            keys.update(re.findall(r'"([^"]*)"', m.group(1)))
        for m in re.finditer(r'#define COMMON_JOB_KEYS((?:.*\\\n)*.*)', text):
            keys.update(re.findall(r'"([^"]*)"', m.group(1)))
    return keys


def cmd_keys(c, args):
    in_schema = schema_keys(c.schema, set())
    in_parser = parser_keys(args.src)
    if len(in_parser) < 40:
        c.fail('found only %d keys in %s: has the parser changed its key lists?' % (len(in_parser), args.src))
    for k in sorted(in_parser - in_schema - HOST_ONLY_KEYS):
        c.fail('MISSING key "%s": the parser knows it, the schema does not' % k)
    used = set()
    for spec in args.specs:
        for path, v in walk(load(spec)):
            if isinstance(v, dict):
                used.update(v.keys())
    for k in sorted(in_schema - used):
        c.fail('UNUSED key "%s": in the schema but in none of the specs' % k)
    print('%d keys in the parser, %d in the schema, %d used by the specs'
          % (len(in_parser), len(in_schema), len(used)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--piperun', required=True)
    ap.add_argument('--schema', required=True)
    sub = ap.add_subparsers(dest='cmd', required=True)
    sub.add_parser('meta')
    for name in ('valid', 'invalid', 'beyond'):
        sub.add_parser(name).add_argument('specs', nargs='+')
    m = sub.add_parser('mutate')
    m.add_argument('--work', required=True)
    m.add_argument('--verbose', action='store_true', help='show what is beyond a schema too')
    m.add_argument('specs', nargs='+')
    r = sub.add_parser('random')
    r.add_argument('--work', required=True)
    r.add_argument('--count', type=int, default=2000)
    r.add_argument('--seed', type=int, default=19)
    r.add_argument('specs', nargs='+')
    b = sub.add_parser('suites')
    b.add_argument('--work', required=True)
    b.add_argument('bats', nargs='+')
    k = sub.add_parser('keys')
    k.add_argument('--src', required=True)
    k.add_argument('specs', nargs='+')
    args = ap.parse_args()
    c = Checker(args.piperun, args.schema)
    if args.cmd == 'meta':
        cmd_meta(c, args)
    elif args.cmd == 'valid':
        cmd_valid(c, args, True)
    elif args.cmd == 'invalid':
        cmd_valid(c, args, False)
    elif args.cmd == 'beyond':
        cmd_beyond(c, args)
    elif args.cmd == 'random':
        cmd_random(c, args)
    elif args.cmd == 'suites':
        cmd_suites(c, args)
    elif args.cmd == 'mutate':
        cmd_mutate(c, args)
    else:
        cmd_keys(c, args)
    return 1 if c.failures else 0


if __name__ == '__main__':
    sys.exit(main())
