#!/usr/bin/env python3
"""bench/render.py: renders bench/run.sh's results (results.jsonl, one JSON object per line).

  render.py RESULTS.jsonl [--plans OUTDIR]     the run's summary as Markdown on stdout
  render.py RESULTS.jsonl --update RESULTS.md  keeps, in RESULTS.md, the latest run of each size
                                               (replacing that size's section) and one line per
                                               run in the history table (newest first, at most 30)

Records (field "kind"): run (machine, commit, settings), load, report (report query against the
bare count, same run), http (one wrk run), end. Standard library only.
"""
import json
import os
import re
import sys

HISTORY_MAX = 30


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def run_line(run, end):
    noisy = float(run.get("load_start", 0)) > int(run.get("nproc", 2)) / 2
    return (f"{run['stamp']}: dbos-drain {run['commit']}" + (f" (+{run['dirty']} uncommitted files)" if run.get("dirty") else "")
            + f", {run['nproc']} CPUs ({str(run.get('cpu', '')).replace('_', ' ')}), load average {run.get('load_start')} -> {end.get('load_end', '?')}"
            + (" (**shared machine: noisy**)" if noisy else "")
            + f"; PostgreSQL {run.get('pg')}, shared_buffers {run.get('shared_buffers')}; wrk -t{run.get('threads')} -d{run.get('duration')}"
            + f"; {run.get('runs')} timings per query" + (f"; intake {run['intake_rate']} workflows/s" if run.get("intake_rate") else ""))


def size_section(size, recs, run, end):
    reports = [r for r in recs if r["kind"] == "report" and r["size"] == size]
    https = [r for r in recs if r["kind"] == "http" and r["size"] == size]
    loads = [r for r in recs if r["kind"] == "load" and r["size"] == size]
    f, i, v = re.match(r"(\d+)f-(\d+)i-(\d+)v", size).groups()
    out = [f"### {int(f):,} finished + {int(i):,} in flight, {v} versions", "", f"Run {run_line(run, end)}.", ""]
    if loads:
        out += [table(["shape", "rows", "load s", "VACUUM (ANALYZE) s"],
                      [[l["shape"], f"{l['rows']:,}", l["load_s"], l["vacuum_s"]] for l in loads]), ""]
    if reports:
        out += ["Report query (the exact text and session settings dbos-drain uses) against the bare "
                "`count(*) ... WHERE status IN ('PENDING','ENQUEUED','DELAYED')` at PostgreSQL's defaults, same run, ms. "
                "\"Fresh report\" is what a refresh costs: the report query and the retire statement in one snapshot, "
                "as a refresh 2 s after the previous one reads the quiet period (its edge and the last 12 s); \"full\" "
                "reads the whole window, as a new connection, a standby or every 30 s does:", ""]
        out += [table(["shape", "report p50", "report p99", "count p50", "count p99", "ratio (p50)",
                       "fresh report p50", "fresh report p99", "full p50", "full p99", "settings", "plan"],
                      [[r["shape"] + (f" ({r['tag']})" if r.get("tag") else ""), r["report_p50"], r["report_p99"], r["count_p50"],
                        r["count_p99"], f"**{r['ratio']}x**" if r["ratio"] > 1.5 else f"{r['ratio']}x",
                        r.get("fresh_p50", "-"), r.get("fresh_p99", "-"), r.get("fresh_full_p50", "-"), r.get("fresh_full_p99", "-"),
                        str(r["settings"]).replace(",", ", "), str(r["plan"]).replace(",", ", ")] for r in reports]), ""]
    if https:
        out += ["Served `GET /v1/versions/v1` (`serve` defaults); CPU in % of one core; \"reports\" is the database time spent on "
                "report queries (pg_stat_statements) in % of one database core:", ""]
        out += [table(["service", "conns", "req/s", "p50 ms", "p99 ms", "errors", "report queries", "CPU svc", "CPU PostgreSQL",
                       "reports (db core %)", "peak RSS MiB", "fds"],
                      [[h["service"] + (" + intake" if h.get("intake") else ""), h["conns"], f"{h['rps']:,.0f}", h["p50_ms"], h["p99_ms"],
                        h["errors"], h["report_queries"], f"{h['svc_cpu_pct']}%", f"{h['pg_cpu_pct']}%", f"{h['report_db_pct']}%",
                        h["peak_rss_mib"], h["fds"]] for h in https]), ""]
    return "\n".join(out)


def sizes_of(recs):
    seen = []
    for r in recs:
        if r["kind"] in ("report", "http", "load") and r["size"] not in seen:
            seen.append(r["size"])
    return seen


def summary(recs, plans_dir=None):
    run = next(r for r in recs if r["kind"] == "run")
    end = next((r for r in recs if r["kind"] == "end"), {})
    out = [f"## Run {run['stamp']}", ""]
    for size in sizes_of(recs):
        out += [size_section(size, recs, run, end), ""]
    if plans_dir:
        out += ["### Plans (EXPLAIN (ANALYZE, BUFFERS))", ""]
        for name in sorted(os.listdir(plans_dir)):
            if name.startswith("explain-") and name.endswith(".txt"):
                with open(os.path.join(plans_dir, name)) as f:
                    out += [f"<details><summary>{name[8:-4]}</summary>", "", "```", f.read().rstrip(), "```", "", "</details>", ""]
    return "\n".join(out)


def history_line(recs):
    run = next(r for r in recs if r["kind"] == "run")
    end = next((r for r in recs if r["kind"] == "end"), {})
    parts = []
    for size in sizes_of(recs):
        rep = [r for r in recs if r["kind"] == "report" and r["size"] == size and r["shape"] == "newest" and not r.get("tag")]
        top = [h for h in recs if h["kind"] == "http" and h["size"] == size and h["service"] == "dbos-drain"]
        bit = size
        if rep:
            bit += f": report {rep[0]['report_p50']} ms = {rep[0]['ratio']}x count"
        if top:
            h = max(top, key=lambda h: h["conns"])
            bit += f", {h['rps']:,.0f} req/s @{h['conns']} p99 {h['p99_ms']} ms, reports {h['report_db_pct']}% db"
        parts.append(bit)
    return f"| {run['stamp']} | {run['commit']} | {run.get('load_start')} -> {end.get('load_end', '?')} | " + "; ".join(parts) + " |"


def update(recs, path):
    text = open(path).read() if os.path.exists(path) else ""
    run = next(r for r in recs if r["kind"] == "run")
    end = next((r for r in recs if r["kind"] == "end"), {})
    if "<!-- history -->" not in text:
        text += ("\n## History (newest first)\n\n<!-- history -->\n| run | commit | load average | newest shape per size |\n"
                 "|---|---|---|---|\n<!-- /history -->\n")
    for size in sizes_of(recs):
        block = f"<!-- latest:{size} -->\n{size_section(size, recs, run, end)}\n<!-- /latest:{size} -->"
        pat = re.compile(rf"<!-- latest:{re.escape(size)} -->.*?<!-- /latest:{re.escape(size)} -->", re.S)
        if pat.search(text):
            text = pat.sub(lambda _: block, text)
        else:
            text = text.replace("\n## History (newest first)", f"\n{block}\n\n## History (newest first)", 1)
    head, rest = text.split("<!-- history -->\n", 1)
    hist, tail = rest.split("<!-- /history -->", 1)
    lines = hist.strip("\n").split("\n")
    rows = [history_line(recs)] + [l for l in lines[2:] if l.startswith("| 2")]
    text = head + "<!-- history -->\n" + "\n".join(lines[:2] + rows[:HISTORY_MAX]) + "\n<!-- /history -->" + tail
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    recs = load(argv[1])
    if "--update" in argv:
        update(recs, argv[argv.index("--update") + 1])
    else:
        plans = argv[argv.index("--plans") + 1] if "--plans" in argv else None
        print(summary(recs, plans))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
