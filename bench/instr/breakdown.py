#!/usr/bin/env python3
"""Where a client's instructions per request go, by layer, from callgrind files.

instr.py counts one number per client and workload; this splits it. It reads
the callgrind files `instr.py --keep DIR` leaves and adds up each function's
own instructions (exclusive cost: what it executes itself, not its callees)
into groups named after the code they belong to, so the groups sum to the
total and nothing is counted twice:

  codec       cqlpp::protocol (envelopes, segments, CRC, messages, Murmur3)
  transport   cqlpp::transport (connections, stream table, reader/writer)
  driver      cqlpp::driver (engine, plans, encoding, results, rows)
  asio        Asio: reactor, scheduler, coroutine resumption, timers
  c++ lib     the C++ standard library code not inlined into the above
  libc        glibc (memcpy/memset/memcmp, clock_gettime, malloc)
  kernel entry  syscall wrappers (send/recv/epoll as counted in user space)
  application the benchmark's own loop (binding values, its latency clock)

Callgrind names an inlined function after the function it was inlined into,
so a std::vector resize inlined into the frame reader counts as codec: the
groups say whose code ran. Per request = group / requests.

    bench/instr/breakdown.py DIR [--ops 20000] [--markdown]
"""
import argparse
import collections
import glob
import os
import re
import sys

GROUPS = ["codec", "transport", "driver", "asio", "c++ lib", "libc", "kernel entry", "application", "other"]

SYSCALL_WRAPPERS = re.compile(r"^(__libc_)?(send|sendmsg|recv|recvmsg|read|write|writev|readv|epoll_wait|epoll_ctl|"
                              r"__GI___(send|recv|read|write|writev|readv|epoll_wait)\w*|syscall|__poll)\b")


def group_of(fn, obj):
    name = fn.split("'")[0]
    # The outermost named scope decides; "(anonymous namespace)::" of the
    # benchmark and limit client sources is the application.
    for prefix, g in (("cqlpp::protocol::", "codec"), ("cqlpp::transport::", "transport"),
                      ("cqlpp::driver::", "driver"), ("cqlpp::", "driver")):
        if name.startswith(prefix) or re.match(r"^(void|bool|int|auto|[\w:<>,\s\*&]+)\s+" + re.escape(prefix), name):
            return g
    if re.search(r"\bcqlpp::protocol::", name) and not name.startswith(("std::", "asio::")):
        return "codec"
    if name.startswith("asio::") or re.match(r"^[\w:<>,\s\*&]*\basio::", name):
        return "asio"
    if "(anonymous namespace)::" in name or name.startswith("main") or "bench" in os.path.basename(obj or ""):
        if "libc.so" not in (obj or "") and "libstdc++" not in (obj or ""):
            return "application" if not name.startswith("std::") else "c++ lib"
    if "libc.so" in (obj or "") or "ld-linux" in (obj or ""):
        base = name.split("@")[0]
        if SYSCALL_WRAPPERS.match(base):
            return "kernel entry"
        return "libc"
    if "libstdc++" in (obj or "") or name.startswith("std::") or name.startswith("__gnu_cxx::"):
        return "c++ lib"
    return "other"


def self_costs(path):
    """{(function, object): exclusive Ir} and the file's total Ir."""
    names = {"fn": {}, "ob": {}}
    costs = collections.Counter()
    fn = ob = None
    skip_next = False
    total = summary = None
    name_re = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def resolve(kind, rest):
        m = name_re.match(rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), rest)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    costs[(fn, ob)] += int(parts[1])
                continue
            if line.startswith("fn="):
                fn = resolve("fn", line[3:])
            elif line.startswith("ob="):
                ob = resolve("ob", line[3:])
            elif line.startswith("cob="):
                resolve("ob", line[4:])
            elif line.startswith("cfn="):
                resolve("fn", line[4:])
            elif line.startswith("calls="):
                skip_next = True
            elif line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    return costs, total, summary


def breakdown(path, ops):
    costs, total, summary = self_costs(path)
    groups = collections.Counter()
    for (fn, ob), ir in costs.items():
        groups[group_of(fn or "", ob or "")] += ir
    counted = sum(groups.values())
    # The part's summary (what instr.py reports) can exceed the sum of the
    # per-function lines: callgrind does not attribute to any function the
    # cost of calls still open when counting starts (the clients zero the
    # counters mid-run). Shown as its own column so the row adds up.
    summary = summary or total or counted
    groups["unattributed"] = max(0, summary - counted)
    return {g: groups[g] / ops for g in GROUPS + ["unattributed"]}, counted / ops, (total or counted) / ops, summary / ops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="a directory instr.py --keep wrote")
    ap.add_argument("--ops", type=int, default=20000, help="requests per dump (instr.py --ops)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = []
    for path in sorted(glob.glob(os.path.join(args.dir, "callgrind.*.out.1"))):
        m = re.match(r"callgrind\.(cqlpp_bench(?:_limit)?)\.(\w+)\.out\.1$", os.path.basename(path))
        if not m:
            continue
        client = "limit" if m.group(1).endswith("_limit") else "cqlpp"
        groups, counted, total, summary = breakdown(path, args.ops)
        if abs(counted - total) > 0.01 * total:
            print(f"{path}: groups add up to {counted:.0f}, the file's totals line says {total:.0f}", file=sys.stderr)
            return 1
        rows.append((client, m.group(2), groups, summary))
    if not rows:
        print(f"no callgrind.*.out.1 files in {args.dir} (run instr.py --keep {args.dir})", file=sys.stderr)
        return 1
    rows.sort(key=lambda r: (r[1], r[0] != "cqlpp"))
    cols = GROUPS + ["unattributed"]
    head = ["client", "work"] + cols + ["total"]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
        for client, work, g, total in rows:
            print("| " + " | ".join([client, work] + [f"{g[x]:,.0f}" for x in cols] + [f"{total:,.0f}"]) + " |")
    else:
        print(" ".join(f"{h:>12}" for h in head))
        for client, work, g, total in rows:
            print(" ".join(f"{x:>12}" for x in [client, work] + [f"{g[x]:.0f}" for x in cols] + [f"{total:.0f}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
