#!/usr/bin/env python3
"""Ferry's file connectors compiled in vs loaded as a native plugin: the
same FileStreamSource and FileStreamSink source code, once in the `ferry`
binary and once as `libferry_connector_file_plugin.so` under `plugin.path`
of a worker built without them (`--no-default-features --features
datagen,jdbc,postgres-cdc`), on the same broker and input, alternating which goes first.
See bench/README.md ("Plugins").

    bench/plugin.sh [--records N] [--runs N] [--smoke]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402

SYSTEMS = ("ferry", "ferry-plugin")
WORKLOADS = ("source", "sink")
PLUGIN_SO = "libferry_connector_file_plugin.so"


class PluginBench(B.Bench):
    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CARGO_TARGET_DIR=str(B.TARGET), CARGO_TERM_COLOR="never")
        release = B.TARGET / "release"
        if os.environ.get("FERRY_BIN"):
            # The build below replaces target/release/ferry: keep the given one.
            kept = self.work / "ferry"
            shutil.copy2(self.ferry, kept)
            self.ferry = self.binaries["ferry"] = kept
        B.log("building ferry without its file connectors, and the file connectors as a plugin (release)")
        B.run_cmd(["cargo", "build", "--release", "--locked", "-p", "ferry", "--no-default-features",
                   "--features", "datagen,jdbc,postgres-cdc"], "cargo build (ferry without file)", timeout=3600,
                  capture=False, env=env)
        host = self.work / "ferry-without-file"
        shutil.copy2(release / "ferry", host)
        B.run_cmd(["cargo", "build", "--release", "--locked", "-p", "ferry-connector-file-plugin"],
                  "cargo build (file plugin)", timeout=3600, capture=False, env=env)
        plugins = self.work / "plugins"
        (plugins / "file").mkdir(parents=True, exist_ok=True)
        shutil.copy2(release / PLUGIN_SO, plugins / "file" / PLUGIN_SO)
        self.binaries["ferry-plugin"] = host
        self.worker_extra["ferry-plugin"] = {"plugin.path": plugins}
        # Builds the standard binary back into target/release (unless given).
        super().setup()

    def one_run(self, run: int) -> dict:
        result: dict = {"run": run}
        try:
            sink_topic = self.fill_sink_topic(run, "sink") if "sink" in self.args.workloads else ""
            order = SYSTEMS if run % 2 == 0 else tuple(reversed(SYSTEMS))
            result["order"] = list(order)
            for wl in self.args.workloads:
                for system in order:
                    result.setdefault(system, {})[wl] = self.workload(
                        system, wl, run, sink_topic if wl == "sink" else "")
        finally:
            self.drop_topics()
        return result


def summary(runs: list[dict], workloads: tuple[str, ...]) -> dict:
    out: dict = {}
    for wl in workloads:
        row = {}
        for s in SYSTEMS:
            for key in ("records_per_s", "records_per_s_steady", "cpu_s_per_million_steady", "rss_peak_mib"):
                row.setdefault(s, {})[key] = B.median([r[s][wl].get(key) for r in runs])
        f, p = row["ferry"]["records_per_s_steady"], row["ferry-plugin"]["records_per_s_steady"]
        row["plugin_share_of_built_in"] = round(p / f, 3) if f and p else None
        out[wl] = row
    return out


def table(s: dict, records: int, runs: int) -> str:
    lines = [f"Ferry's file connectors built in vs as a native plugin: {records:,} records, "
             f"median of {runs} run(s)",
             f"{'':<34}{'built in':>14}{'plugin':>14}{'plugin/built-in':>17}"]
    for wl in s:
        r = s[wl]
        for key, name in (("records_per_s_steady", "records/s (steady)"),
                          ("records_per_s", "records/s (from start)"),
                          ("cpu_s_per_million_steady", "CPU s per million"),
                          ("rss_peak_mib", "peak RSS, MiB")):
            f, p = r["ferry"][key], r["ferry-plugin"][key]
            ratio = f"{p / f:.3f}" if f and p else "-"
            label = f"{B.WORKLOAD_LABEL[wl]}: {name}"
            lines.append(f"{label:<34}{B.fmt_int(f):>14}{B.fmt_int(p):>14}{ratio:>17}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/plugin.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=5_000_000, help="records per workload (default 5,000,000)")
    p.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported (default 3)")
    p.add_argument("--smoke", action="store_true", help="10,000 records, 1 run; writes results/plugin-smoke.json")
    p.add_argument("--only", choices=WORKLOADS, help="run one workload only (default: both)")
    p.add_argument("--keep", action="store_true", help="keep topics and output files")
    p.add_argument("--keep-broker", action="store_true", help="leave the broker running if this run started it")
    args = p.parse_args(argv)
    if args.smoke:
        args.records, args.runs = 10_000, 1
    args.workloads = (args.only,) if args.only else WORKLOADS
    args.output = "plugin-smoke" if args.smoke else f"plugin-{args.only}-latest" if args.only else "plugin-latest"
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, B.on_signal)
    t_start = time.monotonic()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    bench = PluginBench(args)
    try:
        machine = B.machine_info()
        bench.setup()
        runs = [bench.one_run(r) for r in range(args.runs)]
        s = summary(runs, args.workloads)
        doc = {
            "benchmark": "ferry-file-connectors-built-in-vs-plugin",
            "started": started,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t_start, 1),
            "args": {"records": args.records, "runs": args.runs, "smoke": args.smoke},
            "machine": {**machine, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "versions": {"ferry_git": B.git_rev(), "built_in": str(bench.ferry),
                         "plugin_host": str(bench.binaries["ferry-plugin"]), "plugin": PLUGIN_SO},
            "summary": s,
            "runs": runs,
        }
        out = B.BENCH / "results" / f"{args.output}.json"
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(table(s, args.records, args.runs))
        B.log(f"wrote {out.relative_to(B.ROOT)} in {doc['duration_s']:.0f} s")
        if args.smoke:
            bad = [f"{s_} {wl}" for r in runs for s_ in SYSTEMS for wl in WORKLOADS if not r[s_][wl]["verified"]]
            if bad:
                raise B.BenchError(f"delivery check failed: {', '.join(bad)}")
        return 0
    except B.BenchError as e:
        B.log(f"error: {e}")
        return 1
    finally:
        bench.drop_topics()
        B.REAPER.cleanup()
        bench.client.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
