#!/usr/bin/env python3
"""PostgreSQL change data capture, Ferry next to Debezium 3.6.1 on Apache
Kafka Connect 4.3.1 (its plugin tarball from Maven Central), on the same
PostgreSQL and broker, with the same connector configuration and
JsonConverter (schemas on), alternating which goes first:

- snapshot: a table of N rows read by a new connector (new slot, new
  topic prefix), process start -> N records in the topic;
- streaming: a running connector, caught up on an empty table, while a
  concurrent load makes N changes as fast as PostgreSQL takes them, half
  inserts, half updates (each transaction inserts 1,000 rows and updates
  the 1,000 the one before inserted); load start -> N records in the
  topic. The load's own time is printed too: no connector can stream
  faster than the changes are written.
- latency: a running connector, warmed up by a third as long a load and
  caught up, then a load of 10,000 rows/s in
  transactions of 10 rows paced inside PostgreSQL (a procedure, with
  synchronous_commit on: the local server runs with it off, which holds
  WAL back from the slot for up to wal_writer_delay) for
  --latency-seconds; each transaction's latency is its commit (the clock
  just before COMMIT, kept in an unlogged table) -> the topic's end offset
  covering its rows (ListOffsets polled every 2 ms; the time a poll
  returns, so an upper bound).

The first two report events/s, the worker's CPU seconds and peak RSS; the
third p50, p99 and the maximum; medians of the runs. Standard library only: topics through kafkawire, Kafka Connect
through connect.sh, shell and /proc helpers from jdbc.py.

    bench/cdc.sh [--records N] [--runs R] [--latency-seconds S]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jdbc
import kafkawire
from jdbc import proc_cpu, proc_hwm_mib, sh

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "local"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "ferry" / "target")
RESULTS = ROOT / "bench" / "results"
STATE = Path(os.environ.get("FERRY_STATE") or Path.home() / ".cache" / "ferry" / "state")
DEBEZIUM = "io.debezium:debezium-connector-postgres:3.6.1.Final"
SYSTEMS = ("ferry", "debezium")


def log(msg: str) -> None:
    print(f"cdc-bench: {msg}", file=sys.stderr, flush=True)


def psql(sql: str, timeout: float = 1200) -> str:
    return jdbc.psql(sql, timeout)


def create_table(table: str, rows: int) -> None:
    psql(f'DROP TABLE IF EXISTS "{table}"; CREATE TABLE "{table}" (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, '
         f'amount NUMERIC(12,2) NOT NULL, qty INT, created TIMESTAMP NOT NULL, note TEXT)')
    if rows:
        fill(table, 0, rows)


def fill(table: str, start: int, rows: int, per_tx: int = 10_000) -> None:
    for lo in range(start, start + rows, per_tx):
        hi = min(lo + per_tx, start + rows) - 1
        psql(f"INSERT INTO \"{table}\" SELECT g, 'c' || (g % 997), (g % 100000) / 100.0, "
             f"NULLIF(g % 50, 0), timestamp '2024-01-01' + g * interval '1 second', 'order ' || g "
             f"FROM generate_series({lo}, {hi}) g")


def drop_slot(slot: str) -> None:
    for _ in range(600):
        active = psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'")
        if active != "t":
            break
        time.sleep(0.1)
    psql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'")


def connector_props(name: str, prefix: str, table: str, slot: str, mode: str) -> str:
    return "\n".join([
        f"name={name}", "connector.class=io.debezium.connector.postgresql.PostgresConnector", "tasks.max=1",
        "database.hostname=127.0.0.1", "database.port=55432", "database.user=postgres",
        "database.password=postgres", "database.dbname=postgres", "database.sslmode=disable",
        f"topic.prefix={prefix}", "plugin.name=pgoutput", f"slot.name={slot}",
        f"publication.name={slot}_pub", "publication.autocreate.mode=filtered",
        f"table.include.list=public.{table}", f"snapshot.mode={mode}", ""])


LATENCY_RATE, LATENCY_PER_TX = 10_000, 10

# Inserts rate rows/s in transactions of per_tx rows, each transaction due
# at its place in the schedule, and logs the clock just before each COMMIT
# in log_tbl (unlogged, outside the publication).
LOAD_PROCEDURE = """
CREATE OR REPLACE PROCEDURE ferry_bench_load(tbl text, log_tbl text, rate int, seconds int, per_tx int,
                                             first_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
  start timestamptz := clock_timestamp();
BEGIN
  FOR i IN 0 .. rate * seconds / per_tx - 1 LOOP
    PERFORM pg_sleep(greatest(0, extract(epoch FROM
      start + make_interval(secs => i * per_tx::float8 / rate) - clock_timestamp())));
    EXECUTE format('INSERT INTO %I SELECT g, ''c'', 1.00, 1, now(), ''latency'' FROM generate_series($1, $2) g', tbl)
      USING first_id + i * per_tx, first_id + i * per_tx + per_tx - 1;
    EXECUTE format('INSERT INTO %I VALUES ($1, extract(epoch FROM clock_timestamp()))', log_tbl) USING i;
    COMMIT;
  END LOOP;
END $$;
"""


# Makes n changes in tbl (empty): transactions that each insert per_tx rows
# and update the per_tx rows the transaction before inserted; the last
# transaction only updates. Half inserts, half updates.
CHURN_PROCEDURE = """
CREATE OR REPLACE PROCEDURE ferry_bench_churn(tbl text, n bigint, per_tx int)
LANGUAGE plpgsql AS $$
DECLARE
  batches bigint := n / (2 * per_tx);
BEGIN
  FOR i IN 0 .. batches LOOP
    IF i < batches THEN
      EXECUTE format('INSERT INTO %I SELECT g, ''c'' || (g %% 997), (g %% 100000) / 100.0, NULLIF(g %% 50, 0), '
                     'timestamp ''2024-01-01'' + g * interval ''1 second'', ''order '' || g '
                     'FROM generate_series($1, $2) g', tbl)
        USING i * per_tx, i * per_tx + per_tx - 1;
    END IF;
    IF i > 0 THEN
      EXECUTE format('UPDATE %I SET qty = coalesce(qty, 0) + 1, note = ''updated '' || id '
                     'WHERE id BETWEEN $1 AND $2', tbl)
        USING (i - 1) * per_tx, i * per_tx - 1;
    END IF;
    COMMIT;
  END LOOP;
END $$;
"""
CHURN_PER_TX = 1_000


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Worker:
    """One Ferry or Kafka Connect worker process, standalone."""

    def __init__(self, system: str, work: Path, tag: str, ferry: Path, plugin_dir: str):
        self.system, self.work, self.ferry = system, work, ferry
        self.port = 18000 + (os.getpid() + hash(tag)) % 2000
        self.props = work / f"{tag}-worker.properties"
        lines = ["bootstrap.servers=127.0.0.1:9092", f"listeners=http://127.0.0.1:{self.port}",
                 f"offset.storage.file.filename={work / (tag + '.offsets')}", "offset.flush.interval.ms=10000",
                 "key.converter=org.apache.kafka.connect.json.JsonConverter",
                 "value.converter=org.apache.kafka.connect.json.JsonConverter"]
        if system == "debezium":
            lines.append(f"plugin.path={plugin_dir}")
        self.props.write_text("\n".join(lines) + "\n")
        self.proc = None
        self.starter = None
        self.pid = None

    def start(self, connector: Path) -> None:
        if self.system == "ferry":
            self.log = (self.work / f"{self.props.stem}.log").open("a")
            self.proc = subprocess.Popen([str(self.ferry), "standalone", str(self.props), str(connector)],
                                         stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                         env=dict(os.environ, RUST_LOG="warn"))
            self.pid = self.proc.pid
        else:
            self.starter = subprocess.Popen([str(DEPLOY / "connect.sh"), "start", str(self.props), str(connector)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, text=True)
            self.pid = None

    def check(self) -> None:
        if self.system == "ferry" and self.proc.poll() is not None:
            raise SystemExit(f"ferry exited with {self.proc.returncode}; see {self.log.name}")
        if self.system == "debezium":
            if self.starter.poll() not in (None, 0):
                raise SystemExit(f"connect.sh start failed: {self.starter.stderr.read()[-2000:]}")
            if self.pid is None:
                pid_file = STATE / "connect" / str(self.port) / "connect.pid"
                try:
                    self.pid = int(pid_file.read_text().strip())
                except (OSError, ValueError):
                    pass

    def usage(self) -> tuple[float, float]:
        """CPU seconds and peak RSS, once the process is known (Kafka
        Connect's pid file is written after its start)."""
        while self.pid is None:
            self.check()
            time.sleep(0.05)
        return proc_cpu(self.pid), proc_hwm_mib(self.pid)

    def stop(self) -> None:
        if self.system == "ferry":
            self.proc.terminate()
            self.proc.wait(timeout=120)
        else:
            self.starter.wait(timeout=300)
            sh([DEPLOY / "connect.sh", "stop", self.props], "connect.sh stop", 300)


def measure(worker: Worker, connector: Path, client, topic: str, n: int) -> dict:
    t0 = time.monotonic()
    worker.start(connector)
    deadline = t0 + 300 + n / 2000
    done = 0
    try:
        while done < n:
            worker.check()
            if time.monotonic() > deadline:
                raise SystemExit(f"{worker.system}: only {done} of {n} events after {deadline - t0:.0f} s")
            time.sleep(0.05)
            err, end = client.end_offset(topic)
            done = end if not err else 0
        elapsed = time.monotonic() - t0
        cpu, rss = worker.usage()
    finally:
        worker.stop()
        # A million change events are gigabytes of JSON: not kept.
        client.delete_topics([topic])
    return {"events_per_s": n / elapsed, "seconds": elapsed, "cpu_s": cpu, "peak_rss_mib": rss}


def streaming_started(worker: Worker, client, table: str, topic: str, slot: str) -> None:
    """Waits for a started connector's slot, then for one row written to
    `table` to reach `topic`: streaming runs and the topic exists."""
    wait_slot_active(worker, slot)
    psql(f"INSERT INTO \"{table}\" VALUES (-1, 'warm-up', 0, 0, now(), NULL)")
    deadline = time.monotonic() + 120
    while client.end_offset(topic)[1] < 1:
        worker.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"{worker.system}: the warm-up row did not arrive")
        time.sleep(0.05)


def streaming(worker: Worker, connector: Path, client, table: str, topic: str, slot: str, n: int) -> dict:
    """A caught-up connector streaming a concurrent load of n changes."""
    n = n // (2 * CHURN_PER_TX) * 2 * CHURN_PER_TX
    psql(CHURN_PROCEDURE)
    worker.start(connector)
    try:
        streaming_started(worker, client, table, topic, slot)
        cpu0, _ = worker.usage()
        t0 = time.monotonic()
        load = subprocess.Popen([str(DEPLOY / "postgres.sh"), "psql", "-XAtq",
                                 "-c", f"CALL ferry_bench_churn('{table}', {n}, {CHURN_PER_TX})"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        load_s = None
        deadline = t0 + 300 + n / 2000
        done = 0
        while done < n + 1:
            worker.check()
            if load_s is None and load.poll() is not None:
                if load.returncode != 0:
                    raise SystemExit(f"the load failed: {load.stderr.read()[-2000:]}")
                load_s = time.monotonic() - t0
            if time.monotonic() > deadline:
                raise SystemExit(f"{worker.system}: only {done - 1} of {n} events after {deadline - t0:.0f} s")
            time.sleep(0.02)
            err, end = client.end_offset(topic)
            done = end if not err else 0
        elapsed = time.monotonic() - t0
        if load_s is None:
            load.wait(timeout=600)
            load_s = time.monotonic() - t0
        cpu, rss = worker.usage()
    finally:
        worker.stop()
        client.delete_topics([topic])
    return {"events_per_s": n / elapsed, "seconds": elapsed, "cpu_s": cpu - cpu0, "peak_rss_mib": rss,
            "load_events_per_s": n / load_s}


def wait_slot_active(worker: Worker, slot: str) -> None:
    for _ in range(3000):
        worker.check()
        if psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' AND active") == "1":
            return
        time.sleep(0.1)
    raise SystemExit(f"{worker.system}: the slot {slot} was not created")


def load_and_poll(worker: Worker, client, table: str, log_tbl: str, topic: str, seconds: int, first_id: int,
                  base: int) -> tuple[list[tuple[float, int]], int]:
    """Runs the paced load for `seconds` while polling the topic's end
    offset every 2 ms, until the topic holds `base` records plus the load's
    rows; returns the (time, end offset) samples and the rows written."""
    rows = LATENCY_RATE * seconds // LATENCY_PER_TX * LATENCY_PER_TX
    expected = base + rows
    load = subprocess.Popen([str(DEPLOY / "postgres.sh"), "psql", "-XAtq",
                             "-c", "SET synchronous_commit = on",
                             "-c", f"CALL ferry_bench_load('{table}', '{log_tbl}', {LATENCY_RATE}, {seconds}, "
                                   f"{LATENCY_PER_TX}, {first_id})"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + seconds + 300
    while True:
        _, end = client.end_offset(topic)
        samples.append((time.time(), end))
        if load.poll() not in (None, 0):
            raise SystemExit(f"the load failed: {load.stderr.read()[-2000:]}")
        if end >= expected and load.poll() is not None:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{worker.system}: {end} of {expected} events after the load")
        worker.check()
        time.sleep(0.002)
    return samples, rows


def latency(worker: Worker, connector: Path, client, table: str, topic: str, slot: str, seconds: int) -> dict:
    """Commit -> in Kafka, per transaction, under a steady load."""
    log_tbl = f"{table}_commits"
    psql(f'DROP TABLE IF EXISTS "{log_tbl}"; CREATE UNLOGGED TABLE "{log_tbl}" (tx INT PRIMARY KEY, at FLOAT8)')
    psql(LOAD_PROCEDURE)
    worker.start(connector)
    try:
        streaming_started(worker, client, table, topic, slot)
        # A warm-up load first (a third of the measured time, at least
        # 3 s), caught up with before the measured load: steady state, not
        # a cold start, is what is measured.
        warm = max(3, seconds // 3)
        base = 1 + load_and_poll(worker, client, table, log_tbl, topic, warm, first_id=0, base=1)[1]
        psql(f'TRUNCATE "{log_tbl}"')
        samples, _ = load_and_poll(worker, client, table, log_tbl, topic, seconds, first_id=10_000_000, base=base)
    finally:
        worker.stop()
        client.delete_topics([topic])
    commits = [line.split("|") for line in psql(f'SELECT tx, at FROM "{log_tbl}" ORDER BY tx').splitlines()]
    psql(f'DROP TABLE IF EXISTS "{log_tbl}"')
    import bisect
    ends = [e for _, e in samples]
    latencies_ms = []
    for tx, at in commits:
        i = bisect.bisect_left(ends, base + (int(tx) + 1) * LATENCY_PER_TX)
        latencies_ms.append((samples[i][0] - float(at)) * 1000)
    return {"transactions": len(latencies_ms), "p50_ms": percentile(latencies_ms, 50),
            "p99_ms": percentile(latencies_ms, 99), "max_ms": max(latencies_ms)}


def one_run(run: int, n: int, work: Path, client, ferry: Path, plugin_dir: str, seconds: int) -> dict:
    base = f"cdcb_{os.getpid()}_{run}"
    snap_table, stream_table = f"{base}_snap", f"{base}_stream"
    create_table(snap_table, n)
    result = {}
    order = SYSTEMS if run % 2 == 0 else tuple(reversed(SYSTEMS))
    for system in order:
        tag = f"{base}_{system}"
        # (a) the snapshot.
        prefix, slot = f"{tag}_a", f"{tag}_a_slot"
        conn = work / f"{tag}_a.properties"
        conn.write_text(connector_props(f"{tag}-snapshot", prefix, snap_table, slot, "initial"))
        snapshot = measure(Worker(system, work, f"{tag}_a", ferry, plugin_dir), conn, client,
                           f"{prefix}.public.{snap_table}", n)
        drop_slot(slot)
        log(f"run {run + 1}: {system} snapshot: {snapshot['events_per_s']:,.0f} events/s, "
            f"{snapshot['cpu_s']:.1f} CPU s, {snapshot['peak_rss_mib']:.0f} MiB")
        # (b) streaming a concurrent load.
        table = f"{stream_table}_{system}"
        create_table(table, 0)
        prefix, slot = f"{tag}_b", f"{tag}_b_slot"
        conn = work / f"{tag}_b.properties"
        conn.write_text(connector_props(f"{tag}-stream", prefix, table, slot, "no_data"))
        stream = streaming(Worker(system, work, f"{tag}_b", ferry, plugin_dir), conn, client, table,
                           f"{prefix}.public.{table}", slot, n)
        drop_slot(slot)
        psql(f'DROP TABLE IF EXISTS "{table}"; DROP PUBLICATION IF EXISTS "{slot}_pub"; '
             f'DROP PUBLICATION IF EXISTS "{tag}_a_slot_pub"')
        log(f"run {run + 1}: {system} streaming: {stream['events_per_s']:,.0f} events/s "
            f"(the load wrote {stream['load_events_per_s']:,.0f} changes/s), "
            f"{stream['cpu_s']:.1f} CPU s, {stream['peak_rss_mib']:.0f} MiB")
        # (c) latency under a steady load.
        table = f"{stream_table}_{system}_lat"
        create_table(table, 0)
        prefix, slot = f"{tag}_c", f"{tag}_c_slot"
        conn = work / f"{tag}_c.properties"
        conn.write_text(connector_props(f"{tag}-latency", prefix, table, slot, "no_data"))
        lat = latency(Worker(system, work, f"{tag}_c", ferry, plugin_dir), conn, client, table,
                      f"{prefix}.public.{table}", slot, seconds)
        drop_slot(slot)
        psql(f'DROP TABLE IF EXISTS "{table}"; DROP PUBLICATION IF EXISTS "{slot}_pub"')
        log(f"run {run + 1}: {system} latency at {LATENCY_RATE:,} rows/s: p50 {lat['p50_ms']:.1f} ms, "
            f"p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms")
        result[system] = {"snapshot": snapshot, "streaming": stream, "latency": lat}
    psql(f'DROP TABLE IF EXISTS "{snap_table}"')
    result["order"] = list(order)
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-seconds", type=int, default=30)
    ap.add_argument("--smoke", action="store_true",
                    help="10,000 records, 1 run, 3 s of load; writes results/cdc-smoke.json")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.runs, args.latency_seconds = 10_000, 1, 3
    n = args.records
    sh([DEPLOY / "up.sh", "kafka", "postgres"], "deploy/local/up.sh", 1200)
    ferry = Path(os.environ.get("FERRY_BIN") or TARGET / "release" / "ferry")
    if not os.environ.get("FERRY_BIN"):
        log("building ferry (release)")
        sh(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build", 3600)
    plugin_dir = sh([DEPLOY / "connect-plugin.sh", DEBEZIUM], "connect-plugin.sh", 1200).strip()
    client = kafkawire.Client("127.0.0.1", 9092)
    runs = []
    with tempfile.TemporaryDirectory(prefix="cdc-bench-") as d:
        for r in range(args.runs):
            runs.append(one_run(r, n, Path(d), client, ferry, plugin_dir, args.latency_seconds))

    def med(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]
    summary = {}
    for phase in ("snapshot", "streaming"):
        for system in SYSTEMS:
            for k in ("events_per_s", "cpu_s", "peak_rss_mib"):
                summary[f"{system}_{phase}_{k}"] = med([r[system][phase][k] for r in runs])
        summary[f"{phase}_ferry_to_debezium"] = (summary[f"ferry_{phase}_events_per_s"]
                                                  / summary[f"debezium_{phase}_events_per_s"])
        summary[f"{phase}_ferry_rss_share"] = (summary[f"ferry_{phase}_peak_rss_mib"]
                                               / summary[f"debezium_{phase}_peak_rss_mib"])
    summary["load_changes_per_s"] = med([r[s]["streaming"]["load_events_per_s"] for r in runs for s in SYSTEMS])
    for system in SYSTEMS:
        for k in ("p50_ms", "p99_ms", "max_ms"):
            summary[f"{system}_latency_{k}"] = med([r[system]["latency"][k] for r in runs])
    doc = {"records": n, "runs": runs, "median": summary,
           "workload": "PostgreSQL 15 table (bigint key, text, numeric, int, timestamp, text); snapshot: "
                       "process start -> N records in the topic; streaming: a caught-up connector while a "
                       f"concurrent load makes N changes (half inserts, half updates, {CHURN_PER_TX} of each "
                       "per transaction) "
                       "as fast as PostgreSQL takes them, load start -> N records; latency: "
                       f"{LATENCY_RATE} rows/s in transactions of {LATENCY_PER_TX} for {args.latency_seconds} s, "
                       "commit -> topic end offset covering the transaction",
           "reference": f"Apache Kafka Connect 4.3.1 standalone with {DEBEZIUM}, the same connector settings"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("cdc-smoke.json" if args.smoke else "cdc.json")).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{n:,} rows, median of {len(runs)} run(s)")
    print(f"{'':32} {'events/s':>10} {'CPU s':>8} {'peak RSS MiB':>13}")
    for phase in ("snapshot", "streaming"):
        for system, label in (("ferry", "Ferry"), ("debezium", "Kafka Connect + Debezium")):
            print(f"{phase + ': ' + label:32} {summary[f'{system}_{phase}_events_per_s']:>10,.0f} "
                  f"{summary[f'{system}_{phase}_cpu_s']:>8.1f} {summary[f'{system}_{phase}_peak_rss_mib']:>13.0f}")
        print(f"{phase}: Ferry / Debezium {summary[f'{phase}_ferry_to_debezium']:.2f}x events/s, "
              f"RSS {summary[f'{phase}_ferry_rss_share']:.0%}")
        if phase == "streaming":
            print(f"streaming: the load wrote {summary['load_changes_per_s']:,.0f} changes/s (the limit)")
    print(f"latency at {LATENCY_RATE:,} rows/s {'':7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for system, label in (("ferry", "Ferry"), ("debezium", "Kafka Connect + Debezium")):
        print(f"{'latency: ' + label:32} {summary[f'{system}_latency_p50_ms']:>8.1f} "
              f"{summary[f'{system}_latency_p99_ms']:>8.1f} {summary[f'{system}_latency_max_ms']:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
