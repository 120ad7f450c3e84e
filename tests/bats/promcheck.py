#!/usr/bin/env python3
"""Read Prometheus text exposition files (GET /metrics) for the tests.

usage:
  promcheck.py format FILE        check the text format: every sample line
                                  parses, every family has a TYPE, every
                                  histogram series (per labels besides le)
                                  has cumulative buckets ending in le="+Inf"
                                  equal to its _count, and _sum
  promcheck.py get FILE SAMPLE    print a sample's value, e.g.
                                  'livd_deliveries_total{verb="append"}'
  promcheck.py type FILE NAME     print a family's TYPE
  promcheck.py grow OLD NEW       every counter and histogram sample of OLD is
                                  in NEW and not smaller
  promcheck.py delta OLD NEW SAMPLE   print NEW - OLD of a sample (a sample
                                  missing from OLD counts as 0)

Exit status 1 (with the reason on stdout) when a check fails.
"""
import re
import sys

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?)?\})?'
    r' +(\S+)(?: +-?[0-9]+)?$')


def fail(msg):
    print(msg)
    sys.exit(1)


def number(s):
    if s in ("+Inf", "Inf"):
        return float("inf")
    if s == "-Inf":
        return float("-inf")
    if s == "NaN":
        return float("nan")
    return float(s)


def parse(path):
    types, helps, samples, order = {}, {}, {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in (
                            "counter", "gauge", "histogram", "summary",
                            "untyped"):
                        fail("%s:%d: bad TYPE line: %r" % (path, n, line))
                    if parts[2] in types:
                        fail("%s:%d: second TYPE for %s" % (path, n,
                                                            parts[2]))
                    types[parts[2]] = parts[3]
                elif len(parts) >= 3 and parts[1] == "HELP":
                    helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            m = SAMPLE.match(line)
            if not m:
                fail("%s:%d: not a sample line: %r" % (path, n, line))
            try:
                value = number(m.group(3))
            except ValueError:
                fail("%s:%d: bad value: %r" % (path, n, line))
            key = m.group(1) + (m.group(2) or "")
            if key in samples:
                fail("%s:%d: sample repeated: %s" % (path, n, key))
            samples[key] = value
            order.append((m.group(1), m.group(2) or "", value))
    return types, helps, samples, order


def family(name, types):
    """The family a sample name belongs to: histograms own _bucket etc."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(
                name[:-len(suffix)]) in ("histogram", "summary"):
            return name[:-len(suffix)]
    return None


def check_format(path):
    types, helps, samples, order = parse(path)
    if not samples:
        fail("%s: no samples" % path)
    for name, labels, value in order:
        fam = family(name, types)
        if fam is None:
            fail("%s: sample %s%s has no TYPE" % (path, name, labels))
        if types[fam] == "counter" and not value >= 0:
            fail("%s: counter %s%s is %r" % (path, name, labels, value))
    for fam, t in types.items():
        if t != "histogram":
            continue
        # One series per set of labels besides le (hook="input"...).
        series = {}
        for name, labels, value in order:
            if name == fam + "_bucket":
                m = re.search(r'le="([^"]*)"', labels)
                if not m:
                    fail("%s: bucket without le: %s%s" % (path, fam, labels))
                rest = re.sub(r',?le="[^"]*"', "", labels)
                rest = "" if rest in ("{}", "{,}") else \
                    rest.replace("{,", "{")
                series.setdefault(rest, []).append((m.group(1), value))
        if not series:
            fail("%s: histogram %s has no buckets" % (path, fam))
        for rest, buckets in series.items():
            last_le, last = float("-inf"), -1.0
            for le_text, value in buckets:
                le = number(le_text)
                if le <= last_le or value < last:
                    fail("%s: %s%s buckets not cumulative at le=%s" %
                         (path, fam, rest, le_text))
                last_le, last = le, value
            if last_le != float("inf"):
                fail("%s: %s%s has no le=\"+Inf\" bucket" % (path, fam, rest))
            count, total = fam + "_count" + rest, fam + "_sum" + rest
            if count not in samples or total not in samples:
                fail("%s: %s%s lacks _count or _sum" % (path, fam, rest))
            if samples[count] != last:
                fail("%s: %s_count %r != +Inf bucket %r" %
                     (path, fam + rest, samples[count], last))


def show(v):
    return "%d" % v if v == int(v) else repr(v)


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "format":
        check_format(args[0])
    elif cmd == "get":
        samples = parse(args[0])[2]
        if args[1] not in samples:
            fail("no sample %s" % args[1])
        print(show(samples[args[1]]))
    elif cmd == "type":
        types = parse(args[0])[0]
        print(types.get(args[1], "none"))
    elif cmd == "grow":
        otypes, _, old, _ = parse(args[0])
        ntypes, _, new, _ = parse(args[1])
        for key, value in old.items():
            name = key.split("{")[0]
            fam = family(name, otypes)
            if fam is None or otypes[fam] not in ("counter", "histogram"):
                continue
            if key not in new:
                fail("%s went missing" % key)
            if new[key] < value:
                fail("%s fell from %s to %s" % (key, show(value),
                                                show(new[key])))
    elif cmd == "delta":
        old = parse(args[0])[2]
        new = parse(args[1])[2]
        if args[2] not in new:
            fail("no sample %s" % args[2])
        print(show(new[args[2]] - old.get(args[2], 0.0)))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
