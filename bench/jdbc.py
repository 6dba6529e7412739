#!/usr/bin/env python3
"""Ferry's JDBC sink into PostgreSQL: rows/s from a pre-filled topic of
JSON records (with schemas) into a table, upserting by primary key, next to
Apache Kafka Connect 4.3 running Debezium's JDBC sink connector
(`io.debezium:debezium-connector-jdbc`, its plugin tarball from Maven
Central) on the same topic and table shape, and PostgreSQL's own limit for
the same rows (COPY from a file).

    bench/jdbc.sh [--records N] [--runs R]

Standard library only; Kafka topics through kafkawire, the broker tools
through kafka.sh, Kafka Connect through connect.sh.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kafkawire

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "local"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "ferry" / "target")
RESULTS = ROOT / "bench" / "results"
PG = "postgresql://postgres@127.0.0.1:55432/postgres"
DEBEZIUM_JDBC = "io.debezium:debezium-connector-jdbc:3.5.0.Final"


def log(msg: str) -> None:
    print(f"jdbc-bench: {msg}", file=sys.stderr, flush=True)


def sh(args, what: str, timeout: float, stdin=None) -> str:
    r = subprocess.run([str(a) for a in args], stdin=stdin or subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"{what} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def psql(sql: str, timeout: float = 600) -> str:
    return sh([DEPLOY / "postgres.sh", "psql", "-XAtqc", sql], "psql", timeout).strip()


SCHEMA = {"type": "struct", "optional": False, "name": "order", "fields": [
    {"type": "int64", "optional": False, "field": "id"},
    {"type": "string", "optional": False, "field": "customer"},
    {"type": "bytes", "optional": False, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
     "parameters": {"scale": "2"}, "field": "amount"},
    {"type": "int32", "optional": True, "field": "qty"},
    {"type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
     "field": "created"},
    {"type": "string", "optional": True, "field": "note"},
]}


def decimal_b64(unscaled: int) -> str:
    import base64
    n = (unscaled.bit_length() + 8) // 8
    return base64.b64encode(unscaled.to_bytes(n, "big", signed=True)).decode()


def make_inputs(work: Path, n: int) -> tuple[Path, Path]:
    """The same n rows as JSON records (for Kafka) and as CSV (for COPY)."""
    records, csv = work / "records.json", work / "rows.csv"
    schema = json.dumps(SCHEMA, separators=(",", ":"))
    with records.open("w") as rj, csv.open("w") as rc:
        for i in range(n):
            amount = (i * 7919) % 1_000_000
            created = 1_700_000_000_000 + i * 17
            qty = None if i % 10 == 0 else i % 50
            note = f"order {i} for customer {i % 997}"
            payload = {"id": i, "customer": f"c{i % 997:05d}", "amount": decimal_b64(amount), "qty": qty,
                       "created": created, "note": note}
            rj.write('{"schema":' + schema + ',"payload":' + json.dumps(payload, separators=(",", ":")) + "}\n")
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created // 1000)) + f".{created % 1000:03d}"
            rc.write(f"{i},c{i % 997:05d},{amount // 100}.{amount % 100:02d},{'' if qty is None else qty},{ts},{note}\n")
    return records, csv


def proc_cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def count(table: str) -> int:
    out = psql(f'SELECT count(*) FROM "{table}"')
    return int(out or 0)


def create_table(table: str) -> None:
    psql(f'DROP TABLE IF EXISTS "{table}"')
    psql(f'CREATE TABLE "{table}" (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(12,2) NOT NULL, '
         f'qty INT, created TIMESTAMP NOT NULL, note TEXT)')


def run_ferry(work: Path, topic: str, table: str, n: int, ferry: Path) -> dict:
    create_table(table)
    port = 18000 + os.getpid() % 1000
    worker = work / "worker.properties"
    worker.write_text("\n".join([
        "bootstrap.servers=127.0.0.1:9092", f"listeners=http://127.0.0.1:{port}",
        f"offset.storage.file.filename={work / 'offsets'}", "offset.flush.interval.ms=10000",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter", ""]))
    conn = work / "sink.properties"
    conn.write_text("\n".join([
        f"name=jdbc-bench-{table}", "connector.class=io.confluent.connect.jdbc.JdbcSinkConnector",
        f"topics={topic}", f"connection.url=jdbc:postgresql://127.0.0.1:55432/postgres?user=postgres",
        f"table.name.format={table}", "insert.mode=upsert", "pk.mode=record_value", "pk.fields=id",
        "batch.size=3000", "consumer.override.max.poll.records=3000", ""]))
    log_file = (work / "ferry.log").open("w")
    t0 = time.monotonic()
    p = subprocess.Popen([str(ferry), "standalone", str(worker), str(conn)], stdout=log_file, stderr=log_file,
                         stdin=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    try:
        deadline = t0 + 60 + n / 500
        done = 0
        while done < n:
            if p.poll() is not None:
                raise SystemExit(f"ferry exited with {p.returncode}; see {work / 'ferry.log'}")
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {n} rows after {deadline - t0:.0f} s")
            time.sleep(0.05)
            done = count(table)
        elapsed = time.monotonic() - t0
        cpu, rss = proc_cpu(p.pid), proc_hwm_mib(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=60)
    return {"rows_per_s": n / elapsed, "seconds": elapsed, "cpu_s": cpu, "peak_rss_mib": rss}


def run_connect(work: Path, topic: str, table: str, n: int, plugin_dir: str) -> dict:
    """Kafka Connect standalone with Debezium's JDBC sink: same topic, same
    converters, same upsert by primary key, same batch size."""
    create_table(table)
    port = 19000 + os.getpid() % 1000
    worker = work / "connect.properties"
    worker.write_text("\n".join([
        "bootstrap.servers=127.0.0.1:9092", f"listeners=http://127.0.0.1:{port}",
        f"offset.storage.file.filename={work / 'connect.offsets'}", "offset.flush.interval.ms=10000",
        f"plugin.path={plugin_dir}",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter", ""]))
    conn = work / "debezium-sink.properties"
    conn.write_text("\n".join([
        f"name=jdbc-bench-dbz-{table}", "connector.class=io.debezium.connector.jdbc.JdbcSinkConnector",
        f"topics={topic}", "connection.url=jdbc:postgresql://127.0.0.1:55432/postgres",
        "connection.username=postgres", "connection.password=postgres", f"table.name.format={table}",
        "insert.mode=upsert", "primary.key.mode=record_value", "primary.key.fields=id", "schema.evolution=none",
        "batch.size=3000", "consumer.override.max.poll.records=3000", ""]))
    t0 = time.monotonic()
    starter = subprocess.Popen([str(DEPLOY / "connect.sh"), "start", str(worker), str(conn)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pid_file = Path(os.environ.get("FERRY_STATE") or Path.home() / ".cache" / "ferry" / "state") / "connect" / str(port) / "connect.pid"
    try:
        deadline = t0 + 180 + n / 500
        done = 0
        while done < n:
            if starter.poll() not in (None, 0):
                raise SystemExit(f"connect.sh start failed: {starter.stderr.read()[-2000:] if starter.stderr else ''}")
            if time.monotonic() > deadline:
                raise SystemExit(f"Kafka Connect: only {done} of {n} rows after {deadline - t0:.0f} s")
            time.sleep(0.05)
            done = count(table)
        elapsed = time.monotonic() - t0
        pid = int(pid_file.read_text().strip())
        cpu, rss = proc_cpu(pid), proc_hwm_mib(pid)
    finally:
        starter.wait(timeout=300)
        sh([DEPLOY / "connect.sh", "stop", worker], "connect.sh stop", 300)
    return {"rows_per_s": n / elapsed, "seconds": elapsed, "cpu_s": cpu, "peak_rss_mib": rss}


def run_copy(csv: Path, table: str, n: int) -> dict:
    create_table(table)
    t0 = time.monotonic()
    with csv.open() as f:
        sh([DEPLOY / "postgres.sh", "psql", "-XAtqc", f'COPY "{table}" FROM STDIN WITH (FORMAT csv)'], "COPY",
           600, stdin=f)
    elapsed = time.monotonic() - t0
    if count(table) != n:
        raise SystemExit("COPY did not load every row")
    return {"rows_per_s": n / elapsed, "seconds": elapsed}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true",
                    help="10,000 records, 1 run: proves the row still works; writes results/jdbc-smoke.json")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.runs = 10_000, 1
    n = args.records
    sh([DEPLOY / "up.sh", "kafka", "postgres"], "deploy/local/up.sh", 1200)
    ferry = Path(os.environ.get("FERRY_BIN") or TARGET / "release" / "ferry")
    if not os.environ.get("FERRY_BIN"):
        log("building ferry (release)")
        sh(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build", 3600)
    client = kafkawire.Client("127.0.0.1", 9092)
    runs = []
    with tempfile.TemporaryDirectory(prefix="jdbc-bench-") as d:
        work = Path(d)
        records, csv = make_inputs(work, n)
        topic = f"jdbc-bench-{os.getpid()}-{int(time.time())}"
        client.create_topic(topic, partitions=1, replication=1)
        client.wait_topic_ready(topic)
        classpath = sh([DEPLOY / "kafka.sh", "classpath"], "kafka.sh classpath", 1200).strip()
        plugin_dir = sh([DEPLOY / "connect-plugin.sh", DEBEZIUM_JDBC], "connect-plugin.sh", 1200).strip()
        with records.open() as f:
            sh(["java", "-cp", classpath, "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server",
                "127.0.0.1:9092", "--topic", topic, "--batch-size", "1000000", "--request-required-acks", "all"],
               "ConsoleProducer", 1200, stdin=f)
        log(f"topic {topic} filled with {n:,} records")
        for r in range(args.runs):
            table = f"jdbc_bench_{os.getpid()}_{r}"
            ferry_run = run_ferry(work, topic, table, n, ferry)
            connect_run = run_connect(work, topic, table + "_dbz", n, plugin_dir)
            copy_run = run_copy(csv, table + "_copy", n)
            psql(f'DROP TABLE IF EXISTS "{table}"; DROP TABLE IF EXISTS "{table}_dbz"; '
                 f'DROP TABLE IF EXISTS "{table}_copy"')
            log(f"run {r + 1}: ferry {ferry_run['rows_per_s']:,.0f} rows/s, Kafka Connect + Debezium "
                f"{connect_run['rows_per_s']:,.0f} rows/s, COPY {copy_run['rows_per_s']:,.0f} rows/s")
            runs.append({"ferry": ferry_run, "connect_debezium": connect_run, "copy": copy_run})
        client.delete_topics([topic])

    def med(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]
    summary = {
        "ferry_rows_per_s": med([r["ferry"]["rows_per_s"] for r in runs]),
        "ferry_cpu_s": med([r["ferry"]["cpu_s"] for r in runs]),
        "ferry_peak_rss_mib": med([r["ferry"]["peak_rss_mib"] for r in runs]),
        "connect_debezium_rows_per_s": med([r["connect_debezium"]["rows_per_s"] for r in runs]),
        "connect_debezium_cpu_s": med([r["connect_debezium"]["cpu_s"] for r in runs]),
        "connect_debezium_peak_rss_mib": med([r["connect_debezium"]["peak_rss_mib"] for r in runs]),
        "copy_rows_per_s": med([r["copy"]["rows_per_s"] for r in runs]),
    }
    summary["ferry_share_of_copy"] = summary["ferry_rows_per_s"] / summary["copy_rows_per_s"]
    summary["ferry_to_connect_debezium"] = summary["ferry_rows_per_s"] / summary["connect_debezium_rows_per_s"]
    doc = {"records": n, "runs": runs, "median": summary,
           "workload": "topic of JSON records with schemas (1 partition) -> PostgreSQL 15 table, "
                       "insert.mode=upsert, pk.mode=record_value, process start -> all rows counted",
           "kafka_connect_jdbc_sink": f"Apache Kafka Connect 4.3.1 standalone with {DEBEZIUM_JDBC}, same settings"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("jdbc-smoke.json" if args.smoke else "jdbc.json")).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{'':36} {'rows/s':>10} {'CPU s':>8} {'peak RSS MiB':>13}")
    print(f"{'Ferry JDBC sink (upsert)':36} {summary['ferry_rows_per_s']:>10,.0f} {summary['ferry_cpu_s']:>8.2f} "
          f"{summary['ferry_peak_rss_mib']:>13.1f}")
    print(f"{'Kafka Connect + Debezium JDBC sink':36} {summary['connect_debezium_rows_per_s']:>10,.0f} "
          f"{summary['connect_debezium_cpu_s']:>8.2f} {summary['connect_debezium_peak_rss_mib']:>13.1f}")
    print(f"{'PostgreSQL COPY (limit)':36} {summary['copy_rows_per_s']:>10,.0f}")
    print(f"Ferry / Kafka Connect: {summary['ferry_to_connect_debezium']:.2f}x rows/s; "
          f"Ferry at {summary['ferry_share_of_copy']:.0%} of COPY")
    return 0


if __name__ == "__main__":
    sys.exit(main())
