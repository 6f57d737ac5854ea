"""bench/run's report: results.md (tables with ratios to the limit and to the
best peer) and gnuplot plots (PNG + SVG) from the records of one run.

Usable on its own to redo the report of a finished run, and to write the
repository's BENCHMARKS.md from it:
    /usr/bin/python3 bench/report.py bench/results/<date> [--benchmarks-md BENCHMARKS.md]
"""
import json
import os
import shutil
import subprocess
import sys

PEER_NAMES = ("python", "node", "gocql")  # "best peer" is the best of these; limit and cqlpp are not peers


def is_peer(r):
    """A peer driver's record: python/cqlpp (this repository's package) is not one."""
    return r["contender"] in PEER_NAMES and r["mode"] != "cqlpp"
ORDER = ["limit", "cqlpp", "python", "node", "gocql"]


def key(r):
    return "%s/%s" % (r["contender"], r["mode"])


def sort_keys(keys):
    return sorted(keys, key=lambda k: (ORDER.index(k.split("/")[0]) if k.split("/")[0] in ORDER else 99, k))


def fmt(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) and digits:
        return "{:,.{d}f}".format(v, d=digits)
    return "{:,.0f}".format(v)


def ratio(v, ref):
    if v is None or not ref:
        return "–"
    r = v / ref
    return "%.2f" % r if r < 10 else "%.0f" % r


# Figures of a table row: (title, field, digits, higher is better)
FIGURES = [
    ("ops/s", "ops_per_s", 0, True),
    ("p50 µs", "p50_us", 0, False),
    ("p99 µs", "p99_us", 0, False),
    ("p99.9 µs", "p999_us", 0, False),
    ("client CPU s", "cpu_s", 2, False),
    ("ops/CPU-s", "ops_per_cpu_s", 0, True),
    ("peak RSS MiB", "rss_mib", 1, False),
    ("threads", "threads", 0, False),
]


def by_contender(rows):
    """The report's contender order (limit, cqlpp, then the peers), then by mode."""
    return sorted(rows, key=lambda r: (ORDER.index(r["contender"]), r["mode"]))


def md_table(head, rows):
    """A Markdown table: the header cells, the rule, then one line per row of cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def section(title, *parts):
    """The lines of a '### title' section: the title, then each part (a paragraph,
    a table), each after a blank line."""
    lines = []
    for part in ("### " + title,) + parts:
        lines += ["", part]
    return lines


def enrich(results):
    for r in results:
        r["rss_mib"] = r["peak_rss_kib"] / 1024.0
    return results


def point_table(rows):
    """Markdown table of one (workload, concurrency) point: each figure, then x limit and x best peer."""
    limit = next((r for r in rows if r["contender"] == "limit"), None)
    peers = [r for r in rows if is_peer(r)]
    head = ["contender"]
    for title, _, _, _ in FIGURES:
        head += [title, "×L", "×P"]
    body = []
    for r in by_contender(rows):
        cells = [key(r)]
        for _, field, digits, higher in FIGURES:
            v = r.get(field)
            vals = [p.get(field) for p in peers if p.get(field) is not None]
            best = (max(vals) if higher else min(vals)) if vals else None
            cells += [fmt(v, digits), ratio(v, limit.get(field) if limit else None), ratio(v, best)]
        body.append(cells)
    return md_table(head, body)


def summary_table(results, workload, field, digits=0):
    """Contenders x concurrency for one figure of one workload."""
    rs = [r for r in results if r["workload"] == workload]
    levels = sorted({r["concurrency"] for r in rs})
    keys = sort_keys({key(r) for r in rs})
    by = {(key(r), r["concurrency"]): r for r in rs}
    return md_table(["contender"] + ["c=%d" % c for c in levels],
                    [[k] + [fmt(by[(k, c)].get(field), digits) if (k, c) in by else "–" for c in levels]
                     for k in keys])


def fixed_table(fixed):
    """Contender x target rate: achieved rate and corrected/service latency, with x limit."""
    limit = {r["rate"]: r for r in fixed if r["contender"] == "limit"}
    head = ["contender", "target ops/s", "achieved ops/s", "×L", "p50 µs", "×L", "p99 µs", "×L", "p99.9 µs", "×L",
            "service p99 µs", "×L", "late starts", "unissued"]
    body = []
    for r in sorted(fixed, key=lambda r: (ORDER.index(r["contender"]) if r["contender"] in ORDER else 99,
                                          r["mode"], r["rate"])):
        lr = limit.get(r["rate"]) or {}
        cells = [key(r), fmt(r["rate"])]
        for field in ("achieved_rate", "p50_us", "p99_us", "p999_us", "service_p99_us"):
            cells += [fmt(r.get(field)), ratio(r.get(field), lr.get(field))]
        cells += [fmt(r.get("late_starts")), fmt(r.get("unissued"))]
        body.append(cells)
    return md_table(head, body)


def memory_per_request(results):
    """(rss(c) - rss(1)) / (c - 1) in KiB, from the read workload."""
    rs = [r for r in results if r["workload"] == "read"]
    out = {}
    for k in {key(r) for r in rs}:
        by = {r["concurrency"]: r["peak_rss_kib"] for r in rs if key(r) == k}
        if 1 not in by:
            continue
        out[k] = {c: (by[c] - by[1]) / (c - 1) for c in sorted(by) if c > 1}
        out[k]["base"] = by[1]
    return out


def stream_trend(r):
    """Streaming memory: RSS over the scan (first vs last quarter of the samples)."""
    s = [kib for _, kib in r.get("rss_samples", [])]
    if len(s) < 8:
        return None, None, "–"
    q = max(1, len(s) // 4)
    first, last = max(s[q:2 * q]), max(s[-q:])
    grow = (last - first) / first if first else 0
    return first, last, "flat" if grow < 0.10 else "growing (+%.0f%%)" % (100 * grow)


def markdown(results, meta, plots_prefix=""):
    m = meta["machine"]
    out = []
    out.append("Run of %s: %s, %s, %d cores, %.1f GiB RAM, Linux %s. Command: `%s`." %
               (meta["date"], "quick mode" if meta.get("quick") else "full matrix", m["cpu"], m["nproc"],
                m["mem_gib"], m["kernel"], meta["command"]))
    if meta.get("rounds", 1) > 1:
        out.append("")
        out.append("The matrix ran %d times, round after round on the same sim; each figure below is its point's "
                   "median over the rounds (results.jsonl has every round's record)." % meta["rounds"])
    cfg = meta["config"]
    out.append("")
    out.append("Table `bench.kv (k int PRIMARY KEY, v blob)`, %s rows of 100-byte blobs on a 3-node `cqlpp sim` "
               "(SimpleStrategy RF 1, one I/O thread); %.1f s measured per point after %.1f s of warm-up; "
               "closed loop (N requests in flight) except the fixed-rate section. Versions: %s." %
               ("{:,}".format(cfg["rows"]), cfg["seconds"], cfg["warmup"],
                ", ".join("%s %s" % kv for kv in sorted(meta.get("versions", {}).items())) or "–"))
    for n in meta.get("notes", []):
        out.append("")
        out.append("Note: " + n)
    if meta.get("failures"):
        out.append("")
        out.append("Failed points: " + ", ".join("%s/%s %s c=%d (exit %d)" % (f["contender"], f["mode"], f["workload"],
                                                                                f["concurrency"], f["exit"])
                                                  for f in meta["failures"]))
    out.append("")
    out.append("×L: ratio to the limit client (pre-encoded requests, no driver logic); ×P: ratio to the best "
               "peer driver (Python, Node.js, gocql) at that point, best meaning highest for ops/s and ops/CPU-s, "
               "lowest otherwise. Client CPU s is the contender's own CPU over the measured window; peak RSS is "
               "the whole process's (VmHWM, sampled); threads the most seen in /proc during the run.")
    workloads = [w for w in ("read", "write", "mix") if any(r["workload"] == w for r in results)]
    if workloads:
        for title, field in (("Throughput (ops/s)", "ops_per_s"), ("p99 latency (µs)", "p99_us")):
            out.append("")
            out.append("### %s by concurrency" % title)
            for w in workloads:
                out.append("")
                out.append("**%s**" % w)
                out.append("")
                out.append(summary_table(results, w, field))
    scans = [r for r in results if r["workload"] == "scan"]
    if scans:
        limit = next((r for r in scans if r["contender"] == "limit"), None)
        peers = [r["rows_per_s"] for r in scans if is_peer(r)]
        best = max(peers) if peers else None
        body = []
        for r in by_contender(scans):
            first, last, trend = stream_trend(r)
            body.append([key(r), fmt(r.get("rows")), fmt(r.get("rows_per_s")),
                         ratio(r.get("rows_per_s"), limit and limit["rows_per_s"]), ratio(r.get("rows_per_s"), best),
                         fmt(r["p50_us"]), fmt(r["p99_us"]), fmt(r["cpu_s"], 2), fmt(r["rss_mib"], 1),
                         fmt(first and first / 1024, 1), fmt(last and last / 1024, 1), trend])
        out += section("Full-table paged scan (page size 5,000)",
                       "Latency is per page. Streaming memory: RSS over the scan, max of the second quarter of the "
                       "samples vs the last quarter.",
                       md_table(["contender", "rows", "rows/s", "×L", "×P", "page p50 µs", "page p99 µs", "CPU s",
                                 "peak RSS MiB", "RSS early MiB", "RSS late MiB", "memory"], body))
    stalls = [r for r in results if r["workload"] == "stall"]
    if stalls:
        out += section(
            "Event-loop stalls",
            "A 1 ms ticker on the application's own event loop (asyncio loop for Python, the Node.js loop, "
            "a goroutine for gocql, the io_context for the limit client and cqlpp) while a full-table paged "
            "scan loops and %d reads are in flight. Lateness = how much later than 1 ms each tick ran." %
            stalls[0]["concurrency"],
            "The client shares the cores with the simulated cluster, so a tick can also be late because the OS "
            "ran another process: *loop* figures take off each tick's lateness the time its thread spent "
            "runnable but waiting for a CPU over that tick (the run-queue wait, field 2 of "
            "`/proc/thread-self/schedstat`), leaving what the event loop itself is to blame for. "
            "gocql's ticker goroutine is locked to its OS thread for this.",
            md_table(["contender", "ticker max ms", "loop max ms", "ticker p99 ms", "loop p99 ms", "ticks > 2 ms",
                      "loop ticks > 2 ms", "ticks", "reads/s", "read p99 µs", "scan rows/s"],
                     [[key(r), fmt(r.get("ticker_max_delay_ms"), 2), fmt(r.get("ticker_loop_max_ms"), 2),
                       fmt(r.get("ticker_p99_delay_ms"), 2), fmt(r.get("ticker_loop_p99_ms"), 2),
                       fmt(r.get("ticks_over_2ms")), fmt(r.get("loop_ticks_over_2ms")), fmt(r.get("ticks")),
                       fmt(r["ops_per_s"]), fmt(r["p99_us"]), fmt(r.get("rows_per_s"))]
                      for r in by_contender(stalls)]))
    fixed = [r for r in results if r["workload"] == "fixed"]
    if fixed:
        out += section(
            "Fixed rate (open loop)",
            "The read workload at a target rate: request i is due at start + i/rate, at most %d in flight. "
            "Latency counts from each request's due time, not from when it was sent, so time spent waiting "
            "for a free slot or a busy loop is included (coordinated omission corrected); *service* p99 "
            "counts from the send. A contender that cannot keep up shows an achieved rate below the target "
            "and a corrected latency that grows with the backlog. Late starts: measured requests sent more than 1 ms "
            "after their due time; unissued: slots due before the end that were never sent (the backlog "
            "left). Measured: requests answered within the window, whenever due. ×L: ratio to the limit client at the same rate." % fixed[0]["concurrency"],
            fixed_table(fixed))

    mem = memory_per_request(results)
    if mem and any(len(v) > 1 for v in mem.values()):
        levels = sorted({c for v in mem.values() for c in v if c != "base"})
        out += section("Memory per in-flight request (read)",
                       "(peak RSS at concurrency c − peak RSS at c=1) / (c − 1), KiB. Noisy at small c: RSS moves in "
                       "pages and with allocator and GC behaviour.",
                       md_table(["contender", "RSS at c=1 MiB"] + ["c=%d" % c for c in levels],
                                [[k, "%.1f" % (mem[k]["base"] / 1024)] + ["%.1f" % mem[k][c] if c in mem[k] else "–"
                                                                       for c in levels]
                                 for k in sort_keys(mem)]))
    points = sorted({(r["workload"], r["concurrency"]) for r in results if r["workload"] in ("read", "write", "mix")},
                    key=lambda p: (["read", "write", "mix"].index(p[0]), p[1]))
    if points:
        out.append("")
        out.append("### Every figure, per point")
        for w, c in points:
            out.append("")
            out.append("**%s, %d in flight**" % (w, c))
            out.append("")
            out.append(point_table([r for r in results if r["workload"] == w and r["concurrency"] == c]))
    if os.path.exists(os.path.join(meta.get("_dir", ""), "throughput.png")) or plots_prefix:
        out.append("")
        out.append("### Plots")
        out.append("")
        for name, title in (("throughput", "Throughput vs concurrency"), ("latency", "Latency percentiles (read)"),
                            ("memory", "Memory vs concurrency (read)"), ("stalls", "Ticker stalls"),
                            ("fixed_rate", "Corrected p99 vs target rate (fixed rate, read)")):
            if os.path.exists(os.path.join(meta.get("_dir", ""), name + ".png")):
                out.append("![%s](%s%s.png) ([SVG](%s%s.svg))" % (title, plots_prefix, name, plots_prefix, name))
                out.append("")
    return "\n".join(out) + "\n"


# ---- gnuplot ---------------------------------------------------------------------

def _block(name, header, rows):
    lines = ["$%s << EOD" % name, "# " + " ".join(header)]
    for row in rows:
        lines.append(" ".join("NaN" if v is None else str(v) for v in row))
    lines.append("EOD")
    return "\n".join(lines)


def plots(out_dir, results):
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    keys = sort_keys({key(r) for r in results if r["workload"] in ("read", "write", "mix")})
    by = {(key(r), r["workload"], r["concurrency"]): r for r in results}
    levels = sorted({r["concurrency"] for r in results if r["workload"] in ("read", "write", "mix")})
    blocks = []
    workloads = [w for w in ("read", "write", "mix") if any(r["workload"] == w for r in results)]

    def table(name, workload, field, scale=1.0):
        rows = []
        for c in levels:
            row = [c]
            for k in keys:
                r = by.get((k, workload, c))
                row.append(None if r is None or r.get(field) is None else r[field] * scale)
            rows.append(row)
        blocks.append(_block(name, ["c"] + keys, rows))

    for w in workloads:
        table("tp_" + w, w, "ops_per_s")
    for f in ("p50_us", "p99_us", "p999_us"):
        table("lat_" + f, "read", f)
    table("rss", "read", "peak_rss_kib", 1 / 1024.0)
    mem = memory_per_request(results)
    mrows = []
    for c in [c for c in levels if c > 1]:
        mrows.append([c] + [mem.get(k, {}).get(c) for k in keys])
    blocks.append(_block("mpr", ["c"] + keys, mrows))
    stalls = by_contender([r for r in results if r["workload"] == "stall"])
    blocks.append(_block("stall", ["i", "max", "loop_max", "p99"],
                         [[i, r.get("ticker_max_delay_ms", 0), r.get("ticker_loop_max_ms"), r.get("ticker_p99_delay_ms", 0)]
                          for i, r in enumerate(stalls)]))
    fixed = [r for r in results if r["workload"] == "fixed"]
    fkeys = sort_keys({key(r) for r in fixed})
    frates = sorted({r["rate"] for r in fixed})
    fby = {(key(r), r["rate"]): r for r in fixed}
    blocks.append(_block("fixed", ["rate"] + fkeys,
                         [[rt] + [fby[(k, rt)]["p99_us"] / 1000.0 if (k, rt) in fby else None for k in fkeys]
                          for rt in frates]))

    def series(block):
        parts = []
        for i, k in enumerate(keys):
            parts.append("$%s using 1:%d with linespoints title '%s'" % (block, i + 2, k.replace("_", "\\_")))
        return "plot " + ", ".join(parts)

    written = []
    for term, ext, size in (("pngcairo", "png", "size %d,%d font 'sans,10'"), ("svg", "svg", "size %d,%d dynamic")):
        s = ["set datafile missing 'NaN'", "set grid", "set key outside right top", "set logscale x 2",
             "set xlabel 'requests in flight'"]
        s += blocks
        if workloads and levels:
            s += ["set terminal %s %s" % (term, size % (1500, 450)), "set output '%s/throughput.%s'" % (out_dir, ext),
                  "set multiplot layout 1,%d title 'Throughput vs concurrency'" % len(workloads),
                  "set logscale y", "set ylabel 'ops/s'"]
            for w in workloads:
                s += ["set title '%s'" % w, series("tp_" + w)]
            s += ["unset multiplot", "set output"]
            s += ["set terminal %s %s" % (term, size % (1500, 450)), "set output '%s/latency.%s'" % (out_dir, ext),
                  "set multiplot layout 1,3 title 'Read latency percentiles vs concurrency'", "set ylabel 'µs'"]
            for f, t in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
                s += ["set title '%s'" % t, series("lat_" + f)]
            s += ["unset multiplot", "set output"]
            s += ["set terminal %s %s" % (term, size % (1200, 450)), "set output '%s/memory.%s'" % (out_dir, ext),
                  "set multiplot layout 1,2 title 'Client memory (read workload)'",
                  "set title 'peak RSS'", "set ylabel 'MiB'", series("rss"),
                  "unset logscale y", "set title 'per in-flight request: (RSS(c)-RSS(1))/(c-1)'", "set ylabel 'KiB'",
                  series("mpr") if mrows else "plot 0 notitle",
                  "unset multiplot", "set output"]
        if stalls:
            labels = ", ".join("'%s' %d" % (key(r), i) for i, r in enumerate(stalls))
            s += ["set terminal %s %s" % (term, size % (900, 450)), "set output '%s/stalls.%s'" % (out_dir, ext),
                  "unset logscale", "set title 'Longest delay of a 1 ms ticker during scan + reads'",
                  "set style data histograms", "set style histogram clustered", "set style fill solid 0.8",
                  "set boxwidth 0.9", "set ylabel 'ms late'", "unset xlabel", "set xtics (%s) rotate by -30" % labels,
                  "set logscale y", "set yrange [0.01:*]",
                  "plot $stall using 2 title 'max', $stall using 3 title 'max, loop (run-queue wait taken off)', "
                  "$stall using 4 title 'p99'", "set output"]
        if fixed:
            fseries = ", ".join("$fixed using 1:%d with linespoints title '%s'" % (i + 2, k.replace("_", "\\_"))
                                for i, k in enumerate(fkeys))
            s += ["set terminal %s %s" % (term, size % (900, 450)), "set output '%s/fixed_rate.%s'" % (out_dir, ext),
                  "set style data linespoints", "set xtics autofreq norotate", "set xrange [*:*]", "set yrange [*:*]",
                  "set logscale x 10", "set logscale y 10", "set xlabel 'target rate, ops/s'",
                  "set ylabel 'corrected p99, ms'", "set key outside right top",
                  "set title 'Read p99 from the due time vs target rate (open loop)'",
                  "plot " + fseries, "set output"]
        script = os.path.join(out_dir, "plots.%s.gp" % ext)
        with open(script, "w") as f:
            f.write("\n".join(s) + "\n")
        res = subprocess.run([gp, script], capture_output=True, text=True)
        if res.returncode != 0:
            print("bench: gnuplot failed: %s" % res.stderr.strip()[-1000:], file=sys.stderr)
        else:
            written.append(script)
    return written


# ---- rounds (bench/run --rounds N) -----------------------------------------------------

def point_key(r):
    return (r["contender"], r["mode"], r["workload"], r["concurrency"], r.get("rate") or 0)


def _median(vals):
    vals = sorted(vals)
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def median_records(results):
    """One record per point: each numeric figure's median over the rounds that
    produced it (lists, such as rss_samples, from the round of median ops/s).
    `rounds` says how many; a single-round run comes back as it was."""
    groups = {}
    for r in results:
        groups.setdefault(point_key(r), []).append(r)
    out = []
    for rs in groups.values():
        if len(rs) == 1:
            out.append(rs[0])
            continue
        rs = sorted(rs, key=lambda r: r.get("ops_per_s") or 0)
        m = dict(rs[len(rs) // 2])
        for k, v in m.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("concurrency", "rate", "round"):
                vals = [r[k] for r in rs if isinstance(r.get(k), (int, float))]
                if vals:
                    m[k] = _median(vals)
        m["rounds"] = len(rs)
        m.pop("round", None)
        out.append(m)
    return out


def cpu_us_per_op(r):
    return 1e6 * r["cpu_s"] / r["ops"] if r.get("ops") and r.get("cpu_s") is not None else None


def python_rounds(raw):
    """python/cqlpp against the best DataStax driver mode (issue 14), round by
    round at each read concurrency both ran: (concurrency, round, cqlpp record,
    best DataStax record by reads/s, DataStax record of least CPU per request)."""
    rows = []
    for c in sorted({r["concurrency"] for r in raw if r["workload"] == "read"}):
        for rd in sorted({r.get("round", 1) for r in raw}):
            pts = [r for r in raw if r["workload"] == "read" and r["concurrency"] == c and r.get("round", 1) == rd
                   and r["contender"] == "python"]
            cq = next((r for r in pts if r["mode"] == "cqlpp"), None)
            ds = [r for r in pts if r["mode"] != "cqlpp" and r.get("ops")]
            if not cq or not ds:
                continue
            rows.append((c, rd, cq, max(ds, key=lambda r: r["ops_per_s"]), min(ds, key=cpu_us_per_op)))
    return rows


def python_section(raw):
    """The Markdown of the issue 14 comparison (empty without both contenders)."""
    rows = python_rounds(raw)
    if not rows:
        return []
    body = []
    per_c = {}
    for c, rd, cq, best, lean in rows:
        rr = cq["ops_per_s"] / best["ops_per_s"] if best["ops_per_s"] else None
        cr = cpu_us_per_op(lean) / cpu_us_per_op(cq) if cpu_us_per_op(cq) else None
        per_c.setdefault(c, []).append((rr, cr))
        body.append(["%d" % c, "%d" % rd, fmt(cq["ops_per_s"]), fmt(cpu_us_per_op(cq), 1),
                     "%s %s" % (key(best), fmt(best["ops_per_s"])),
                     "%s %s" % (key(lean), fmt(cpu_us_per_op(lean), 1)),
                     "%.1f×" % rr if rr else "–", "%.1f×" % cr if cr else "–"])
    for c, v in sorted(per_c.items()):
        rrs = [a for a, _ in v if a]
        crs = [b for _, b in v if b]
        body.append(["%d" % c, "**median**", "", "", "", "", "**%.1f×**" % _median(rrs) if rrs else "–",
                     "**%.1f×**" % _median(crs) if crs else "–"])
    table = md_table(["c", "round", "python/cqlpp reads/s", "its CPU µs/req", "best DataStax mode, reads/s",
                      "least-CPU DataStax mode, CPU µs/req", "reads/s ratio", "CPU/req ratio"], body)
    text = ("Each round runs every contender at the point one after the other on the same sim, so each ratio "
            "compares runs made under the same load of the machine; the median is over the rounds. CPU: the "
            "contender's own (user + system, every thread) over its measured window, per request. "
            "Targets: at c=256, both ratios at least 20.")
    out = section("python/cqlpp against the DataStax Python driver (issue 14)", text, table)
    st = [r for r in raw if r["workload"] == "stall" and key(r) == "python/cqlpp"]
    if st:
        out += ["", "python/cqlpp stall workload, per round: " + "; ".join(
            "round %d: loop max %s ms, %s loop ticks > 2 ms" % (
                r.get("round", 1), fmt(r.get("ticker_loop_max_ms"), 1), fmt(r.get("loop_ticks_over_2ms")))
            for r in sorted(st, key=lambda r: r.get("round", 1))) + "."]
    return out


def instr_section(out_dir, results):
    """Issue 16: client instructions per request (callgrind, bench/instr) and
    requests per client CPU-second of this run, cqlpp beside the limit."""
    path = os.path.join(out_dir, "instr.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        ins = json.load(f)
    res = ins["results"]
    out = ["", "## Client CPU per request (issue 16)", "",
           "Instructions and heap allocations per request counted under callgrind "
           "(`bench/instr/instr.py`: %d prepared requests at %d in flight, client only), and requests per "
           "client CPU-second from this run at c=256. Goal: within 2x of the limit, at least 1,000,000 per CPU-second." %
           (ins["ops"], ins["concurrency"]), "",
           "| workload | cqlpp instr/request | limit instr/request | x limit | cqlpp allocs/request | "
           "cqlpp requests per CPU-s (c=256) | limit requests per CPU-s | x limit |",
           "|---|---|---|---|---|---|---|---|"]
    for w in ("read", "write"):
        c, l = res.get("cqlpp/" + w), res.get("limit/" + w)
        if not c or not l:
            continue
        rc, rl = _point(results, "cqlpp/1thread", w, 256), _point(results, "limit/pipelined", w, 256)
        cps = lambda r: "{:,.0f}".format(r["ops_per_cpu_s"]) if r and r.get("ops_per_cpu_s") else "-"
        rat = "%.2f" % (rl["ops_per_cpu_s"] / rc["ops_per_cpu_s"]) if rc and rl and rc.get("ops_per_cpu_s") else "-"
        out.append("| %s | {:,.0f} | {:,.0f} | %.2f | %.2f | %s | %s | %s |".format(
            c["instructions_per_request"], l["instructions_per_request"]) % (
            w, c["instructions_per_request"] / l["instructions_per_request"], c["allocations_per_request"],
            cps(rc), cps(rl), rat))
    return out + marginal_table(ins, results)


def marginal_table(ins, results):
    """Issue 16: every contender's instructions per request by the marginal
    method (bench/instr/peers_instr.py), beside its requests per client
    CPU-second in this run."""
    mg = ins.get("marginal")
    if not mg or not mg.get("results"):
        return []
    exact = ins.get("results", {})
    text = ("Every contender, the peers included, by the marginal method (`bench/instr/peers_instr.py`): under "
            "callgrind each issues W + N and then W + 3N prepared requests at %d in flight against a 3-node sim in "
            "another process, and one request costs (I(W+3N) − I(W+N)) / 2N instructions of the whole client process "
            "(every thread: event loop, driver I/O threads, JIT compiler, garbage collector), start-up and warm-up "
            "cancelled; user-space instructions only (the kernel's share of a syscall is not counted). Pairs per figure: %d; spread is the largest distance of a repeat from their mean. x limit: "
            "over the limit client's exactly counted instructions per request (table above). mallocs: calls into "
            "the C heap per request (every allocation for C++; CPython, V8 and Go allocate most objects from heaps "
            "of their own, which this does not see). Requests per client CPU-second are this run's, at c=64 (the "
            "same in flight as the count) and c=256; their product with the instruction count (G instr per CPU-s) should be a plausible rate for one core, a few billion instructions per second, less where the kernel takes much of the CPU (the limit spends most of its CPU in syscalls): a figure far above that means the count under callgrind does not describe the native run. Node.js runs with valgrind's `--smc-check=all` (its JIT on), "
            "gocql with `GODEBUG=asyncpreemptoff=1` (callgrind 3.19 asserts on Go's preemption signal); the "
            "DataStax Python driver is 3.25 with its Cython modules and the libev reactor in every mode."
            % (mg.get("concurrency", 64), mg.get("repeat", 1)))
    if mg.get("note"):
        text += " " + mg["note"].rstrip(".") + "."
    rows = []
    for w in ("read", "write"):
        lim = exact.get("limit/" + w, {}).get("instructions_per_request")
        keys = sort_keys({k.rsplit("/", 1)[0] for k in mg["results"] if k.endswith("/" + w)})
        for ck in keys:
            r = mg["results"]["%s/%s" % (ck, w)]
            ipr = r["instructions_per_request"]
            ex = exact.get("%s/%s" % (ck.split("/")[0], w), {}).get("instructions_per_request") \
                if ck in ("cqlpp/1thread", "limit/pipelined") else None
            p64, p256 = _point(results, ck, w, 64), _point(results, ck, w, 256)
            cps = lambda p: fmt(p.get("ops_per_cpu_s")) if p else "–"  # noqa: E731
            rows.append([ck, w, fmt(ipr), ratio(ipr, lim),
                         "%.1f%%" % (100 * r["spread"]) if r.get("spread") is not None else "–",
                         "%.2f" % r["allocations_per_request"],
                         "%s (%+.1f%%)" % (fmt(ex), 100 * (ipr / ex - 1)) if ex else "",
                         cps(p64), cps(p256),
                         "%.1f" % (ipr * p64["ops_per_cpu_s"] / 1e9) if p64 and p64.get("ops_per_cpu_s") else "–",
                         "{:,}".format(r["n"])])
    out = ["", "### Instructions per request of every contender (marginal method)", "", text, "",
           md_table(["contender", "workload", "instr/request", "x limit", "spread", "mallocs/request",
                     "exact count (instr.py): marginal vs it", "requests per CPU-s c=64", "c=256",
                     "G instr per CPU-s (c=64)", "N"], rows)]
    for k, e in sorted(mg.get("failures", {}).items()):
        out += ["", "%s: no figure: %s" % (k, e.strip().splitlines()[-1] if e.strip() else "failed")]
    for k, e in sorted(mg.get("skipped", {}).items()):
        out += ["", "%s: not measured: %s" % (k, e)]
    return out


def write_all(out_dir, results, meta):
    raw = results
    results = median_records(results)
    enrich(results)
    plots(out_dir, results)
    meta = dict(meta, _dir=out_dir)
    py = python_section(raw) + instr_section(out_dir, results)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("# cqlpp benchmark results\n\n" + markdown(results, meta) + ("\n".join(py) + "\n" if py else ""))


BENCHMARKS_HEAD = """# Benchmarks

cqlpp against the peer drivers and against the limit (a client that sends
pre-encoded requests as fast as the server answers, with no driver logic): the
same simulated cluster, the same workloads, the same machine, one run of
`bench/run` (issue 6). How it is measured, and the contenders' common CLI and
JSON output: [bench/README.md](bench/README.md). Raw records of this run:
[{dir}/results.jsonl]({dir}/results.jsonl).

{summary}
Read the absolute figures with the machine in mind: 2 shared cores, the
simulated cluster (one I/O thread) on the same cores as the client, other
builds running at the same time. The ratios within one run are the point.

## Machine and command

- {cpu}, {nproc} cores (`nproc`), {mem} GiB RAM, Linux {kernel}
- `{command}` (build tree: RelWithDebInfo), {date}, {wall:.0f} s wall time
- {versions}

## Results

"""


def _point(results, key, workload, conc):
    for r in results:
        if "%s/%s" % (r["contender"], r["mode"]) == key and r["workload"] == workload and r["concurrency"] == conc:
            return r
    return None


def summary(results):
    """The issue's targets against this run (cqlpp one thread)."""
    cq = "cqlpp/1thread"
    rows = []
    r256, l256 = _point(results, cq, "read", 256), _point(results, "limit/pipelined", "read", 256)
    peers256 = [r for r in results if r["workload"] == "read" and r["concurrency"] == 256
                and is_peer(r)]
    if not r256:
        return ("**cqlpp contender missing**: `bench/run` runs `$BUILD_DIR/bench/cqlpp_bench`; it was not built "
                "for this run.\n")
    best_py = max((r["ops_per_s"] for r in peers256 if r["contender"] == "python"), default=0)
    node = max((r["ops_per_s"] for r in peers256 if r["contender"] == "node"), default=0)
    if best_py:
        rows.append(("read throughput at c=256 vs the best Python mode", ">= 10x", "%.0fx" % (r256["ops_per_s"] / best_py)))
    if node:
        rows.append(("read throughput at c=256 vs Node.js", ">= 2x", "%.1fx" % (r256["ops_per_s"] / node)))
    if l256:
        rows.append(("read throughput at c=256 vs the limit", ">= 80%", "%.0f%%" % (100 * r256["ops_per_s"] / l256["ops_per_s"])))
    rows.append(("requests per client CPU-second, read c=256", ">= 400,000", "{:,.0f}".format(r256.get("ops_per_cpu_s", 0))))
    r1, l1 = _point(results, cq, "read", 1), _point(results, "limit/pipelined", "read", 1)
    if r1 and l1:
        rows.append(("read p50 at c=1 vs the limit's", "within 10%", "%+.0f%% (%.0f vs %.0f us)" % (
            100 * (r1["p50_us"] / l1["p50_us"] - 1), r1["p50_us"], l1["p50_us"])))
    st = _point(results, cq, "stall", 64)
    if st:
        def stall_txt(r):
            loop = r.get("ticker_loop_max_ms")
            return "%.1f ms raw, %s loop, %s ticks > 2 ms (%s loop)" % (
                r.get("ticker_max_delay_ms", 0), "?" if loop is None else "%.1f ms" % loop,
                fmt(r.get("ticks_over_2ms")), fmt(r.get("loop_ticks_over_2ms")))
        pys = [r for r in results if r["workload"] == "stall" and r["contender"] in ("python", "limit")]
        others = "; ".join("%s: %s" % (key(r), stall_txt(r)) for r in sorted(pys, key=lambda r: (ORDER.index(r["contender"]), r["mode"])))
        rows.append(("longest 1 ms-ticker delay during scan + reads (raw; loop = minus the thread's run-queue wait)",
                     "< 2 ms (Python: whole round trips)", "%s (%s)" % (stall_txt(st), others or "no Python run")))
    f20 = [r for r in results if r["workload"] == "fixed" and r.get("rate") == 20000]
    fx = next((r for r in f20 if key(r) == cq), None)
    lfx = next((r for r in f20 if r["contender"] == "limit"), None)
    if fx and lfx:
        rows.append(("read p99 at 20,000 ops/s fixed rate, corrected (from the due time), vs limit", "–",
                     "%.0f vs %.0f us (%s); achieved %.0f ops/s" % (fx["p99_us"], lfx["p99_us"],
                                                                    ratio(fx["p99_us"], lfx["p99_us"]) + "x",
                                                                    fx.get("achieved_rate", 0))))
    c1, c1024 = _point(results, cq, "read", 1), _point(results, cq, "read", 1024)
    if c1 and c1024:
        per = (c1024["peak_rss_kib"] - c1["peak_rss_kib"]) / 1023.0
        lim1, lim1024 = _point(results, "limit/pipelined", "read", 1), _point(results, "limit/pipelined", "read", 1024)
        lim = ", limit %.1f KiB" % ((lim1024["peak_rss_kib"] - lim1["peak_rss_kib"]) / 1023.0) if lim1 and lim1024 else ""
        rows.append(("client memory per in-flight request (read, c=1 -> 1024)", "< 1 KiB",
                     "%.1f KiB whole process%s: the benchmark's own coroutine per request and I/O buffers "
                     "included; the driver's share alone is asserted under 1 KiB by tests/driver/test_memory.cpp"
                     % (per, lim)))
    out = "### cqlpp against the targets of issue 6 (this run)\n\n| target | aim | measured |\n|---|---|---|\n"
    out += "".join("| %s | %s | %s |\n" % r for r in rows)
    return out


def write_benchmarks_md(path, out_dir, results, meta):
    rel = os.path.relpath(out_dir, os.path.dirname(os.path.abspath(path)))
    m = meta["machine"]
    raw = results
    results = median_records(results)
    enrich(results)
    head = BENCHMARKS_HEAD.format(dir=rel, summary=summary(results), cpu=m["cpu"], nproc=m["nproc"], mem=m["mem_gib"], kernel=m["kernel"],
                                  command=meta["command"], date=meta["date"], wall=meta.get("wall_s", 0),
                                  versions=", ".join("%s %s" % kv for kv in sorted(meta.get("versions", {}).items())))
    body = markdown(enrich(results), dict(meta, _dir=out_dir), plots_prefix=rel + "/")
    py = python_section(raw) + instr_section(out_dir, results)
    with open(path, "w") as f:
        f.write(head + body + ("\n".join(py) + "\n" if py else ""))


if __name__ == "__main__":
    d = sys.argv[1]
    with open(os.path.join(d, "results.jsonl")) as f:
        rs = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(d, "meta.json")) as f:
        mt = json.load(f)
    write_all(d, rs, mt)
    print(os.path.join(d, "results.md"))
    if len(sys.argv) > 3 and sys.argv[2] == "--benchmarks-md":
        write_benchmarks_md(sys.argv[3], d, rs, mt)
        print(sys.argv[3])
