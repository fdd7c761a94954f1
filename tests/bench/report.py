"""Write BENCHMARKS.md and its plots from the TSV files of tests/bench/run.sh.

usage: report.py --results DIR --output FILE [--command TEXT]

DIR contains host.tsv and, for each variant ("plain" and "cached"), the files
VARIANT-small.tsv, -sweep.tsv, -throughput.tsv, -api.tsv, -fanout.tsv and
-footprint.tsv.  The plots are written to DIR as PNG files with gnuplot.
The hand-written notes in analysis.md beside this script are copied into
the report under "Causes of the misses".
"""
import argparse
import csv
import datetime
import os
import statistics
import subprocess
import sys

VARIANTS = ("plain", "cached")
VARIANT_TITLES = {
    "plain": "no kdat cache (host /run)",
    "cached": "kdat cache (tmpfs /run)",
}
SMALL_METHODS = (
    ("ctrd", "ctrd, submit to `restored` (warm pool)"),
    ("ctrd-tmpfs", "ctrd with its state dir on tmpfs"),
    ("cli", "`criu restore -d` (CLI)"),
    ("swrk-fresh", "fresh `criu swrk` per restore (as runc)"),
    ("swrk-warm", "pre-warmed `criu swrk`, RESTORE to reply"),
    ("swrk-refill", "pre-warmed `criu swrk` while a second one starts"),
)


def read_tsv(path):
    """Return the rows of a TSV file with a header line as dicts."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_pairs(path):
    """Return a KEY<TAB>VALUE file as a dict of strings."""
    pairs = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                pairs[key] = value
    return pairs


def median(values):
    """Return the median of `values`, or None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, p):
    """Return the nearest-rank `p`-th percentile, or None."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))
    return values[int(rank) - 1]


def fmt(value, digits=1, unit=""):
    """Format a number for a table cell, with an en dash for None."""
    if value is None:
        return "–"
    return "%.*f%s" % (digits, value, unit)


def ratio(a, b):
    """Return a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


class Variant:
    """The parsed results of one variant."""

    def __init__(self, results, name):
        self.name = name
        prefix = os.path.join(results, name)
        self.small = read_tsv(prefix + "-small.tsv")
        self.sweep = read_tsv(prefix + "-sweep.tsv")
        self.throughput = read_tsv(prefix + "-throughput.tsv")
        self.api = read_tsv(prefix + "-api.tsv")
        self.fanout = read_tsv(prefix + "-fanout.tsv")
        self.footprint = read_pairs(prefix + "-footprint.tsv")

    def small_values(self, method, column):
        """Return `column` of every counted run of `method` (run 0 is a
        warm-up), leaving out the -1 that marks a missing CRIU time."""
        values = []
        for row in self.small:
            if row["method"] != method or int(row["run"]) == 0:
                continue
            value = float(row[column])
            if value >= 0:
                values.append(value)
        return values

    def small_median(self, method, column="wall_ms"):
        """Return the median of `column` over the counted runs of `method`."""
        return median(self.small_values(method, column))

    def outside_criu(self, method, column="criu_log_ms"):
        """Return the median over runs of wall time minus CRIU's own time,
        which is its log span, or its restore_time for "criu_stats_ms"."""
        values = []
        for row in self.small:
            if row["method"] != method or int(row["run"]) == 0:
                continue
            criu_ms = float(row[column])
            if criu_ms >= 0:
                values.append(float(row["wall_ms"]) - criu_ms)
        return median(values)

    def sweep_median(self, size, mode, column):
        """Return the median of `column` for one size and mode, leaving out
        run 0, which warms caches as in `small_values`."""
        return median([float(r[column]) for r in self.sweep
                       if int(r["size_mib"]) == size and r["mode"] == mode
                       and int(r["run"]) > 0])

    def sweep_sizes(self):
        """Return the sizes of the sweep, smallest first."""
        return sorted({int(r["size_mib"]) for r in self.sweep})

    def throughput_rounds(self, kind):
        """Return per-repetition summaries of the rounds of `kind`.

        `kind` is "cli" or a max_running value as a string.  Each summary
        contains the jobs that reached `exited` (ok), those that failed or got
        no end event (failed, lost), jobs/s over the whole round and the
        per-job queue waits and restore durations.
        """
        labels = {}
        for row in self.throughput:
            parts = row["label"].split("-")
            if (kind == "cli" and parts[0] == "cli") or \
                    (parts[0] == "ctrd" and parts[1] == kind):
                labels.setdefault(row["label"], []).append(row)
        rounds = []
        for label, rows in labels.items():
            ok = sum(1 for r in rows if r["end"] == "exited")
            lost = sum(1 for r in rows if r["end"] == "lost")
            start = min(float(r["submitted_ms"]) for r in rows)
            end = max(float(r["restored_ms"]) for r in rows)
            cpu_ms = self.footprint_kb("throughput_cpu_ms_" + label)
            rounds.append({
                "jobs": len(rows), "ok": ok, "lost": lost,
                "cpu_per_job": cpu_ms / len(rows) if cpu_ms else None,
                "failed": len(rows) - ok - lost,
                "jobs_per_s": ok / (end - start) * 1000 if end > start else None,
                "waits": [float(r["started_ms"]) - float(r["submitted_ms"])
                          for r in rows if float(r["started_ms"]) >= 0],
                "durations": [float(r["restored_ms"]) - float(r["started_ms"])
                              for r in rows if float(r["restored_ms"]) >= 0],
            })
        return rounds

    def throughput_summary(self, kind):
        """Return the medians over the repetitions of the rounds of `kind`."""
        rounds = self.throughput_rounds(kind)
        if not rounds:
            return None
        waits = [w for r in rounds for w in r["waits"]]
        durations = [d for r in rounds for d in r["durations"]]
        return {
            "reps": len(rounds),
            "jobs": rounds[0]["jobs"],
            "jobs_per_s": median([r["jobs_per_s"] for r in rounds]),
            "ok": sum(r["ok"] for r in rounds),
            "failed": sum(r["failed"] for r in rounds),
            "lost": sum(r["lost"] for r in rounds),
            "wait_p50": percentile(waits, 50),
            "wait_p99": percentile(waits, 99),
            "duration_p50": percentile(durations, 50),
            "cpu_per_job": median([r["cpu_per_job"] for r in rounds]),
        }

    def api_row(self, method, clients):
        """Return the load result for `method` with `clients` clients."""
        for row in self.api:
            if row["method"] == method and int(row["clients"]) == clients:
                return row
        return None

    def best_status_rate(self):
        """Return the highest status requests/s over the client counts."""
        rates = [float(r["requests_per_s"]) for r in self.api
                 if r["method"] == "status"]
        return max(rates) if rates else None

    def fanout_summary(self):
        """Return the fan-out medians over the rounds after the first."""
        rounds = self.fanout[1:] if len(self.fanout) > 1 else self.fanout
        if not rounds:
            return None
        return {
            "watchers": int(rounds[0]["watchers"]),
            "rounds": len(self.fanout),
            "min_delivered": min(int(r["delivered"]) for r in self.fanout),
            "attach_ms": median([float(r["attach_ms"]) for r in rounds]),
            "p50": median([float(r["p50_ms"]) for r in rounds]),
            "p99": median([float(r["p99_ms"]) for r in rounds]),
            "max": median([float(r["max_ms"]) for r in rounds]),
        }

    def footprint_kb(self, key):
        """Return a footprint value as a number, or None."""
        value = self.footprint.get(key)
        return float(value) if value not in (None, "") else None

    def peak_rss_kb(self):
        """Return the highest RSS sampled under any load."""
        peaks = [float(v) for k, v in self.footprint.items()
                 if "peak_rss_kb" in k and v]
        return max(peaks) if peaks else None

    def idle_runs_per_minute(self):
        """Return how often the idle ctrd ran, per minute."""
        runs = self.footprint_kb("idle_runs")
        seconds = self.footprint_kb("idle_seconds")
        if runs is None or not seconds:
            return None
        return runs * 60 / seconds


def section_small(variants):
    """Return the small-restore section."""
    lines = [
        "## 1. Small process: ctrd against the CLI and swrk",
        "",
        "Restore of one %s MiB workload image, interleaved: each run restores "
        "the image once by every method, starting with a different method "
        "each time. Times are wall times seen by the client, as medians of "
        "the counted runs. The first run of each method warms caches and is "
        "left out. The ratio is the method's median over ctrd's."
        % variants[0].small_mib,
        "",
        "| method | %s | p10–p90 | ratio | %s | p10–p90 | ratio |" % tuple(
            VARIANT_TITLES[v.name] for v in variants),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method, title in SMALL_METHODS:
        cells = []
        for v in variants:
            m = v.small_median(method)
            walls = v.small_values(method, "wall_ms")
            cells += [fmt(m, 1, " ms"), "%s–%s" % (
                fmt(percentile(walls, 10)), fmt(percentile(walls, 90))),
                fmt(ratio(m, v.small_median("ctrd")), 2, "×")]
        lines.append("| %s | %s |" % (title, " | ".join(cells)))
    lines += [
        "",
        "CRIU's own share, medians in ms. The log span runs from CRIU "
        "setting up its log for the request to its \"Restore finished "
        "successfully\" line, kernel probes and the round trips of its "
        "notifications included. `restore_time` is CRIU's own timer from "
        "its stats-restore file, which leaves out option set-up and the "
        "kernel probes.",
        "",
        "| method | %s: log span | restore_time | wall − log span "
        "| %s: log span | restore_time | wall − log span |" % tuple(
            VARIANT_TITLES[v.name] for v in variants),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method, _ in SMALL_METHODS:
        cells = []
        for v in variants:
            cells += [fmt(v.small_median(method, "criu_log_ms")),
                      fmt(v.small_median(method, "criu_stats_ms")),
                      fmt(v.outside_criu(method))]
        lines.append("| %s | %s |" % (method, " | ".join(cells)))
    lines.append("")
    lines += ["ctrd's overhead, in ms:", "",
              "| measure | %s | %s |" % tuple(
                  VARIANT_TITLES[v.name] for v in variants),
              "| --- | ---: | ---: |"]
    rows = [
        ("median ctrd − median pre-warmed swrk",
         lambda v: diff(v.small_median("ctrd"), v.small_median("swrk-warm"))),
        ("median of (ctrd wall − CRIU restore_time) − same for pre-warmed swrk",
         lambda v: diff(v.outside_criu("ctrd", "criu_stats_ms"),
                        v.outside_criu("swrk-warm", "criu_stats_ms"))),
        ("median of (ctrd wall − CRIU log span) − same for pre-warmed swrk",
         lambda v: diff(v.outside_criu("ctrd"), v.outside_criu("swrk-warm"))),
        ("median ctrd − median CRIU restore_time in ctrd's jobs",
         lambda v: diff(v.small_median("ctrd"),
                        v.small_median("ctrd", "criu_stats_ms"))),
        ("median ctrd − median ctrd with state dir on tmpfs",
         lambda v: diff(v.small_median("ctrd"),
                        v.small_median("ctrd-tmpfs"))),
        ("median swrk-refill − median swrk-warm",
         lambda v: diff(v.small_median("swrk-refill"),
                        v.small_median("swrk-warm"))),
    ]
    for title, fn in rows:
        lines.append("| %s | %s |" % (title, " | ".join(
            fmt(fn(v), 2) for v in variants)))
    lines.append("")
    return lines


def diff(a, b):
    """Return a − b, or None when either is missing."""
    return None if a is None or b is None else a - b


def section_sweep(variants, plot):
    """Return the size-sweep section."""
    lines = [
        "## 2. Memory size: full against lazy restore through ctrd",
        "",
        "Time from submitting the job to the `restored` event, and for lazy "
        "restores to `pages-complete` (every page copied in), medians in ms "
        "of the runs after the first of each size and mode, which warms "
        "caches. The images were synced to disk after the dump and are in "
        "the page cache.",
        "",
    ]
    for v in variants:
        lines += [
            "%s:" % VARIANT_TITLES[v.name], "",
            "| size | full: restored | lazy: restored | lazy: pages-complete "
            "| lazy restored / full | pages-complete / full |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for size in v.sweep_sizes():
            full = v.sweep_median(size, "full", "restored_ms")
            lazy = v.sweep_median(size, "lazy", "restored_ms")
            pages = v.sweep_median(size, "lazy", "pages_complete_ms")
            lines.append("| %d MiB | %s | %s | %s | %s | %s |" % (
                size, fmt(full), fmt(lazy), fmt(pages),
                fmt(ratio(lazy, full), 3), fmt(ratio(pages, full), 2)))
        lines.append("")
    lines += ["![restore time against memory size](%s)" % plot, ""]
    return lines


def section_throughput(variants, plot):
    """Return the throughput section."""
    lines = [
        "## 3. Throughput: many small restores",
        "",
        "All %s jobs are submitted at once, each from its own connection, to a "
        "ctrd with `max_running` and `workers` set to the concurrency. Each "
        "job restores a different image with its own pids, and the client "
        "kills each tree when it is `restored`. The CLI row restores the "
        "same images with `criu restore -d` one after the other. jobs/s is "
        "the median over the repetitions. Queue wait (submit to `started`) "
        "and restore time (`started` to `restored`) pool all jobs of all "
        "repetitions. CPU per job is the CPU time, over the round, of ctrd "
        "and everything it started and reaped (CRIU workers, restored "
        "trees), or of the CLI runs and their trees, divided by the jobs. "
        "ctrd's includes its start-up." % (
            variants[0].throughput_summary("1") or {}).get("jobs", "the"),
        "",
    ]
    for v in variants:
        cli = v.throughput_summary("cli")
        lines += [
            "%s:" % VARIANT_TITLES[v.name], "",
            "| run | jobs/s | × CLI | queue wait p50 | queue wait p99 "
            "| restore p50 | CPU per job | exited / failed / lost |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for kind in ("1", "2", "4", "cli"):
            s = v.throughput_summary(kind)
            if s is None:
                continue
            title = ("CLI, back to back" if kind == "cli"
                     else "ctrd, max_running %s" % kind)
            waits = ("–", "–") if kind == "cli" else (
                fmt(s["wait_p50"], 0, " ms"), fmt(s["wait_p99"], 0, " ms"))
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %d / %d / %d |"
                         % (title, fmt(s["jobs_per_s"]),
                            fmt(ratio(s["jobs_per_s"],
                                      cli and cli["jobs_per_s"]), 2, "×"),
                            waits[0], waits[1],
                            fmt(s["duration_p50"], 1, " ms"),
                            fmt(s["cpu_per_job"], 1, " ms"),
                            s["ok"], s["failed"], s["lost"]))
        lines.append("")
    lines += ["![jobs per second against max_running](%s)" % plot, ""]
    return lines


def section_api(variants):
    """Return the API section."""
    lines = [
        "## 4. API",
        "",
        "Each client keeps one request outstanding and sends the next as "
        "soon as the reply arrives. The load generator runs in one thread "
        "on the same 2 cores as ctrd. Latency is per request, from send to "
        "reply.",
        "",
        "| request | clients | %s req/s | p50 | p99 | %s req/s | p50 | p99 |"
        % tuple(VARIANT_TITLES[v.name] for v in variants),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    clients = sorted({int(r["clients"]) for v in variants for r in v.api})
    for method in ("status", "info"):
        for n in clients:
            cells = []
            for v in variants:
                row = v.api_row(method, n)
                if row is None:
                    cells += ["–"] * 3
                    continue
                cells += [fmt(float(row["requests_per_s"]), 0),
                          fmt(float(row["p50_us"]) / 1000, 2, " ms"),
                          fmt(float(row["p99_us"]) / 1000, 2, " ms")]
            lines.append("| `%s` | %d | %s |" % (method, n, " | ".join(cells)))
    lines += [
        "",
        "Event fan-out: each watcher sends `watch` for one restored job. "
        "Then the client kills the job's root, and each watcher's `exited` "
        "event is timed from the kill. The table gives medians over the "
        "rounds after the first.",
        "",
        "| variant | watchers | rounds | fewest delivered | attach all | "
        "p50 | p99 | last |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in variants:
        f = v.fanout_summary()
        if f is None:
            continue
        lines.append("| %s | %d | %d | %d | %s | %s | %s | %s |" % (
            VARIANT_TITLES[v.name], f["watchers"], f["rounds"],
            f["min_delivered"], fmt(f["attach_ms"], 1, " ms"),
            fmt(f["p50"], 2, " ms"), fmt(f["p99"], 2, " ms"),
            fmt(f["max"], 2, " ms")))
    lines.append("")
    return lines


def section_footprint(variants):
    """Return the footprint section."""
    def mib(kb):
        return None if kb is None else kb / 1024

    lines = [
        "## 5. Footprint",
        "",
        "The numbers cover ctrd's own process only, because its CRIU "
        "workers are separate processes. RSS is from /proc/PID/status, and "
        "the peak is the highest VmRSS sampled every 100 ms during the "
        "throughput and API runs. Idle wake-ups count how often the "
        "scheduler put ctrd on a CPU (third field of /proc/PID/schedstat) "
        "during %s s with no client, after 2 s of settling. The voluntary "
        "context switches of /proc/PID/status count the same from the other "
        "side. No systemd watchdog is configured in these runs."
        % variants[0].footprint.get("idle_seconds", "?"),
        "",
        "| measure | %s | %s |" % tuple(VARIANT_TITLES[v.name]
                                      for v in variants),
        "| --- | ---: | ---: |",
    ]
    rows = [
        ("RSS idle after start", lambda v: fmt(mib(v.footprint_kb(
            "idle_rss_kb")), 2, " MiB")),
        ("of which anonymous / file", lambda v: "%s / %s" % (
            fmt(mib(v.footprint_kb("idle_rss_anon_kb")), 2),
            fmt(mib(v.footprint_kb("idle_rss_file_kb")), 2))),
        ("RSS peak under load", lambda v: fmt(mib(v.peak_rss_kb()), 2,
                                              " MiB")),
        ("RSS idle after the API load", lambda v: fmt(mib(v.footprint_kb(
            "after_load_rss_kb")), 2, " MiB")),
        ("threads", lambda v: v.footprint.get("threads", "–")),
        ("idle wake-ups per minute", lambda v: fmt(
            v.idle_runs_per_minute(), 1)),
        ("idle voluntary / involuntary switches", lambda v: "%s / %s" % (
            v.footprint.get("idle_voluntary_switches", "–"),
            v.footprint.get("idle_involuntary_switches", "–"))),
    ]
    for title, fn in rows:
        lines.append("| %s | %s |" % (title, " | ".join(
            fn(v) for v in variants)))
    lines.append("")
    return lines


def targets(v):
    """Return (target, value text, met) rows for one variant."""
    ctrd = v.small_median("ctrd")
    cli = v.small_median("cli")
    fresh = v.small_median("swrk-fresh")
    overhead = diff(ctrd, v.small_median("swrk-warm"))
    # ctrd's own overhead is wall time less CRIU's restore_time, compared
    # here with the same measure for a bare pre-warmed swrk.
    paired = diff(v.outside_criu("ctrd", "criu_stats_ms"),
                  v.outside_criu("swrk-warm", "criu_stats_ms"))
    full = v.sweep_median(1024, "full", "restored_ms")
    lazy = v.sweep_median(1024, "lazy", "restored_ms")
    pages = v.sweep_median(1024, "lazy", "pages_complete_ms")
    k2 = v.throughput_summary("2")
    seq = v.throughput_summary("cli")
    k2_ratio = ratio(k2 and k2["jobs_per_s"], seq and seq["jobs_per_s"])
    status = v.best_status_rate()
    fan = v.fanout_summary()
    idle_kb = v.footprint_kb("idle_rss_kb")
    wakeups = v.idle_runs_per_minute()

    def check(value, limit, le=True):
        if value is None:
            return None
        return value <= limit if le else value >= limit

    return [
        ("small restore via ctrd ≤ 0.6× CLI",
         fmt(ratio(ctrd, cli), 2, "×"), check(ratio(ctrd, cli), 0.6)),
        ("small restore via ctrd ≤ 0.8× per-call swrk",
         fmt(ratio(ctrd, fresh), 2, "×"), check(ratio(ctrd, fresh), 0.8)),
        ("ctrd overhead over a bare pre-warmed swrk RESTORE ≤ 0.5 ms median "
         "(difference of medians, and of wall time less CRIU's restore_time)",
         "%s, %s" % (fmt(overhead, 2, " ms"), fmt(paired, 2, " ms")),
         None if overhead is None or paired is None else
         overhead <= 0.5 and paired <= 0.5),
        ("lazy 1 GiB: time to `restored` ≤ 0.05× full restore",
         fmt(ratio(lazy, full), 3, "×"), check(ratio(lazy, full), 0.05)),
        ("lazy 1 GiB: `pages-complete` ≤ 0.7× full restore",
         fmt(ratio(pages, full), 2, "×"), check(ratio(pages, full), 0.7)),
        ("throughput at concurrency 2 ≥ 1.5× sequential CLI, no job lost",
         "%s, %s lost, %s failed" % (
             fmt(k2_ratio, 2, "×"), k2["lost"] if k2 else "–",
             k2["failed"] if k2 else "–"),
         None if k2_ratio is None else
         k2_ratio >= 1.5 and k2["lost"] == 0 and k2["failed"] == 0),
        ("≥ 50,000 `status` requests/s", fmt(status, 0, "/s"),
         check(status, 50000, le=False)),
        ("1,000 watchers of one job get its event",
         "%s of %s" % (fan["min_delivered"], fan["watchers"]) if fan else "–",
         None if fan is None else
         fan["watchers"] >= 1000 and fan["min_delivered"] == fan["watchers"]),
        ("idle RSS ≤ 4 MiB", fmt(idle_kb and idle_kb / 1024, 2, " MiB"),
         check(idle_kb, 4096)),
        ("no idle wake-ups besides the watchdog",
         "%s per minute" % fmt(wakeups, 1), check(wakeups, 0)),
    ]


def section_targets(variants):
    """Return the targets table."""
    lines = [
        "## Targets",
        "",
        "| target | %s | met | %s | met |" % tuple(
            VARIANT_TITLES[v.name] for v in variants),
        "| --- | ---: | --- | ---: | --- |",
    ]
    tables = [targets(v) for v in variants]
    for i, (title, _, _) in enumerate(tables[0]):
        cells = []
        for table in tables:
            _, value, met = table[i]
            cells += [value, "–" if met is None else
                      ("met" if met else "**missed**")]
        lines.append("| %s | %s |" % (title, " | ".join(cells)))
    lines.append("")
    return lines


def write_plot(results, name, script):
    """Run gnuplot on `script` in the results dir and return the PNG name."""
    path = os.path.join(results, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", name + ".gp"], cwd=results, check=True)
    return name + ".png"


def plot_sweep(results, variants):
    """Plot restore times against memory size and return the PNG name."""
    series = []
    for v in variants:
        path = os.path.join(results, "sweep-%s.dat" % v.name)
        with open(path, "w") as f:
            f.write("# size_mib full_restored lazy_restored "
                    "lazy_pages_complete (ms, medians)\n")
            for size in v.sweep_sizes():
                f.write("%d %s %s %s\n" % (size, *(
                    "%.3f" % (v.sweep_median(size, mode, col) or 0)
                    for mode, col in (("full", "restored_ms"),
                                      ("lazy", "restored_ms"),
                                      ("lazy", "pages_complete_ms")))))
        series.append((v, os.path.basename(path)))
    plots = []
    for v, data in series:
        dash = 1 if v.name == "plain" else 2
        for col, title, color in ((2, "full: restored", "#c0392b"),
                                  (3, "lazy: restored", "#2471a3"),
                                  (4, "lazy: pages-complete", "#229954")):
            plots.append("'%s' using 1:%d with linespoints dt %d lw 2 "
                         "lc rgb '%s' title '%s, %s'" % (
                             data, col, dash, color, title,
                             VARIANT_TITLES[v.name]))
    script = "\n".join([
        "set terminal pngcairo size 900,560 font 'sans,10'",
        "set output 'sweep.png'",
        "set title 'Restore through ctrd: time against memory size'",
        "set xlabel 'workload memory (MiB)'",
        "set ylabel 'ms from submit (median)'",
        "set logscale xy 2",
        "set key top left",
        "set grid",
        "plot " + ", \\\n     ".join(plots),
        "",
    ])
    return write_plot(results, "sweep", script)


def plot_throughput(results, variants):
    """Plot jobs/s against max_running and return the PNG name."""
    plots = []
    for v in variants:
        path = os.path.join(results, "throughput-%s.dat" % v.name)
        with open(path, "w") as f:
            f.write("# max_running ctrd_jobs_per_s cli_jobs_per_s\n")
            cli = v.throughput_summary("cli")
            for kind in ("1", "2", "4"):
                s = v.throughput_summary(kind)
                if s is not None:
                    f.write("%s %.3f %.3f\n" % (
                        kind, s["jobs_per_s"] or 0,
                        cli["jobs_per_s"] if cli else 0))
        dash = 1 if v.name == "plain" else 2
        data = os.path.basename(path)
        plots.append("'%s' using 1:2 with linespoints dt %d lw 2 "
                     "lc rgb '#2471a3' title 'ctrd, %s'" % (
                         data, dash, VARIANT_TITLES[v.name]))
        plots.append("'%s' using 1:3 with lines dt %d lw 2 "
                     "lc rgb '#c0392b' title 'CLI back to back, %s'" % (
                         data, dash, VARIANT_TITLES[v.name]))
    script = "\n".join([
        "set terminal pngcairo size 900,560 font 'sans,10'",
        "set output 'throughput.png'",
        "set title 'Small restores: jobs per second'",
        "set xlabel 'max\\_running (= workers)'",
        "set ylabel 'restores per second (median)'",
        "set logscale x 2",
        "set xrange [0.9:4.4]",
        "set xtics (1, 2, 4)",
        "set yrange [0:*]",
        "set key top left",
        "set grid",
        "plot " + ", \\\n     ".join(plots),
        "",
    ])
    return write_plot(results, "throughput", script)


def run_minutes(host):
    """Return how many minutes the run took, rounded, or None."""
    try:
        start, end = (datetime.datetime.strptime(host[k], "%Y-%m-%dT%H:%M:%SZ")
                      for k in ("started", "finished"))
    except (KeyError, ValueError):
        return None
    return round((end - start).total_seconds() / 60)


def section_header(host, command, shared):
    """Return the title, machine and method sections."""
    lines = [
        "# Benchmarks",
        "",
        "How fast ctrd restores processes compared with running CRIU "
        "directly, how its API and events scale, and what it costs at rest. "
        "Regenerate this page, its plots and the raw results in "
        "`tests/bench/results/` with:",
        "",
        "```sh",
        command,
        "```",
        "",
        "It needs root and CRIU, installs gnuplot-nox if missing, builds "
        "ctrd and the benchmark programs, and takes about %s minutes on 2 "
        "cores." % (run_minutes(host) or "?"),
        "",
        "## Machine and run",
        "",
        "| | |",
        "| --- | --- |",
        "| machine | VM, %s vCPUs, %s MiB RAM, root file system ext4 |" % (
            host.get("cpus", "?"), host.get("memory_mib", "?")),
        "| kernel | %s |" % host.get("kernel", "?"),
        "| CRIU | %s (Debian unstable build, run through its own loader) |"
        % host.get("criu", "?"),
        "| /run on the host | %s, `/run/criu.kdat.tmp` %s |" % (
            host.get("run_fs", "?"),
            "present" if host.get("kdat_tmp_present") == "yes" else "absent"),
        "| ctrd | commit %s%s, built RelWithDebInfo |" % (
            host.get("commit", "?"),
            " plus %s uncommitted changes in the work tree" % host["dirty"]
            if host.get("dirty", "0") != "0" else ""),
        "| run | %s to %s (UTC) |" % (host.get("started", "?"),
                                     host.get("finished", "?")),
        "| load average (1, 5, 15 min) | %s at the start, %s at the end |"
        % (host.get("loadavg_start", "?"), host.get("loadavg_end", "?")),
        "",
    ]
    if shared:
        lines += [
            "**Load.** The 1-minute load average passed 1.0 during this "
            "run (above). The suite itself keeps both cores busy in its "
            "throughput and API parts, and any other work on the machine "
            "adds to that, so times include waiting for a CPU now and "
            "then. Ratios between interleaved runs hold up better than "
            "absolute times, and tails (p99) suffer most.",
            "",
        ]
    lines += [
        "## Method",
        "",
        "- Same images, same machine: every workload (`tests/workload.c`, "
        "memory filled with a seeded pattern) is dumped once with "
        "`criu dump`, and both variants restore those images.",
        "- Each restore recreates the dumped pids, so each restored tree "
        "is killed and reaped before its image is restored again. The suite "
        "runs as PID 1 of a private pid namespace and gives the workloads "
        "pids below 300, which the kernel does not hand out again once its "
        "counter has passed 300. Other processes of the machine, which has "
        "pid_max 32768, therefore never take those pids. The suite was not "
        "run outside such a namespace for comparison.",
        "- Two variants. *%s*: the host's /run, which is not a tmpfs, so "
        "CRIU cannot keep its kernel-feature cache and probes the kernel in "
        "every run. *%s*: a private mount namespace with a tmpfs on /run, "
        "where CRIU caches the probes in /run/criu.kdat after the first "
        "run." % (VARIANT_TITLES["plain"], VARIANT_TITLES["cached"]),
        "- ctrd runs with its defaults (log level info to a file, job "
        "history in its state dir on ext4) unless a section says otherwise.",
        "- CRIU options match between methods. The swrk drivers send "
        "ctrd's RESTORE options (`rst_sibling`, `notify_scripts` with every "
        "notification acknowledged, log level 4). The CLI runs "
        "`criu --no-default-config restore -d -v4` under a child subreaper "
        "that reaps the restored tree.",
        "",
    ]
    return lines


def main():
    """Read the results, write the plots and the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--command", default="bash scripts/bench.sh")
    args = parser.parse_args()

    host = read_pairs(os.path.join(args.results, "host.tsv"))
    variants = [Variant(args.results, name) for name in VARIANTS]
    for v in variants:
        v.small_mib = host.get("small_mib", "4")
        if not v.small:
            sys.exit("report.py: no results for variant '%s' in %s"
                     % (v.name, args.results))
    loads = [float(x.split()[0]) for x in (host.get("loadavg_start", "0"),
                                           host.get("loadavg_end", "0"))]
    plot_dir = os.path.relpath(args.results,
                               os.path.dirname(os.path.abspath(args.output)))
    sweep_png = os.path.join(plot_dir, plot_sweep(args.results, variants))
    throughput_png = os.path.join(plot_dir,
                                  plot_throughput(args.results, variants))

    lines = section_header(host, args.command, max(loads) > 1.0)
    lines += section_targets(variants)
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            lines += [f.read().rstrip("\n"), ""]
    lines += section_small(variants)
    lines += section_sweep(variants, sweep_png)
    lines += section_throughput(variants, throughput_png)
    lines += section_api(variants)
    lines += section_footprint(variants)
    with open(args.output, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
