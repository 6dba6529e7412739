#!/usr/bin/env python3
"""Kafka -> S3 with Ferry's S3 sink, on the local S3 server (s3s-fs) and
broker: N records of about 1 KB (JSON with schemas, 100 partitions) written
as JSON lines with gzip and as Parquet with snappy, flush.size records per
file, 100 files open at once. For each: records/s and MB/s (the bytes that
land in S3), CPU seconds and peak RSS of the worker, process start -> every
complete file in S3. The limit beside it: the same objects (same sizes,
same bytes) uploaded again by boto3 with as many uploads at once as the
sink runs, on the same server; for JSON with gzip also the rate at which
one thread of zlib compresses the same JSON lines. Each run's buckets are
removed once measured.

The Java reference, for Parquet with snappy (not with --no-java, and not
with --smoke unless --java): Apache Iceberg's Kafka Connect sink (1.12.0,
assembled from Maven Central by deploy/local/iceberg-plugin.sh) on Apache
Kafka Connect 4.3.1 standalone (deploy/local/connect.sh), with as many
tasks as Ferry's run, reading the same topic into a new table (JDBC
catalog in the local PostgreSQL, S3FileIO on the same S3 server) with a
new bucket, control topic and consumer group per run: process start ->
all N records in the table's current snapshot, and connector RUNNING ->
the same (the JVM's start-up left out). Not the same layout: Iceberg
commits a table (data files, then a manifest, a manifest list and a
metadata JSON, every commit interval); Ferry writes Confluent's layout
(topics/<topic>/partition=<p>/<topic>+<p>+<offset>.parquet), no table.
The data, Parquet with snappy, is the same.

    bench/s3.sh [--records N] [--runs R] [--flush-size F] [--smoke] [--java | --no-java]

Writes bench/results/s3.json; details in bench/README.md ("S3 sink").
"""

import argparse
import base64
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kafkawire
from jdbc import decimal_b64, proc_cpu, proc_hwm_mib, sh

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "local"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "ferry" / "target")
RESULTS = ROOT / "bench" / "results"
STATE = Path(os.environ.get("FERRY_STATE") or Path.home() / ".cache" / "ferry" / "state")
PARTITIONS = 100
# tasks.max of every sink run: Ferry's and the Java reference's.
TASKS = 1
PART_SIZE = 5 * 1024 * 1024
# The sink uploads at most this many parts of a task at once.
UPLOADS = 4
FORMATS = {
    "json_gzip": {"format.class": "io.confluent.connect.s3.format.json.JsonFormat", "s3.compression.type": "gzip"},
    "parquet_snappy": {"format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
                       "parquet.codec": "snappy"},
}

SCHEMA = {"type": "struct", "optional": False, "name": "com.example.Order", "fields": [
    {"type": "int64", "optional": False, "field": "id"},
    {"type": "string", "optional": False, "field": "customer"},
    {"type": "bytes", "optional": False, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
     "parameters": {"scale": "2"}, "field": "amount"},
    {"type": "int32", "optional": True, "field": "qty"},
    {"type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,
     "field": "created"},
    {"type": "array", "items": {"type": "string", "optional": False}, "optional": False, "field": "tags"},
    {"type": "string", "optional": True, "field": "note"},
]}
# The Java reference: Apache Iceberg's Kafka Connect sink on Kafka Connect.
ICEBERG = "1.12.0"
ICEBERG_DB = "ferry_bench_iceberg"
ICEBERG_COMMIT_MS = 2000
WORDS = ("order shipped delayed customer warehouse parcel invoice refund express standard priority "
         "returned damaged signed carrier route depot scanned label weight volume fragile").split()


def log(msg: str) -> None:
    print(f"s3-bench: {msg}", file=sys.stderr, flush=True)


def make_records(path: Path, n: int) -> int:
    """n records of about 1 KB of payload each; returns the payload bytes."""
    rng = random.Random(42)
    schema = json.dumps(SCHEMA, separators=(",", ":"))
    total = 0
    with path.open("w") as f:
        for i in range(n):
            note = " ".join(rng.choice(WORDS) for _ in range(120))[:880]
            payload = json.dumps({"id": i, "customer": f"c{i % 997:05d}",
                                  "amount": decimal_b64((i * 7919) % 1_000_000),
                                  "qty": None if i % 10 == 0 else i % 50, "created": 1_700_000_000_000 + i * 17,
                                  "tags": [rng.choice(WORDS) for _ in range(3)], "note": note},
                                 separators=(",", ":"))
            total += len(payload)
            f.write('{"schema":' + schema + ',"payload":' + payload + "}\n")
    return total


def s3_env() -> dict:
    out = sh([DEPLOY / "s3.sh", "env"], "s3.sh env", 60)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def boto(env: dict):
    import boto3
    return boto3.client("s3", endpoint_url=env["FERRY_S3_URL"], region_name="us-east-1",
                        aws_access_key_id=env["FERRY_S3_ACCESS_KEY"],
                        aws_secret_access_key=env["FERRY_S3_SECRET_KEY"])


def objects(data: Path, bucket: str) -> list[Path]:
    """Complete objects, from the server's directory (a cheap progress probe)."""
    root = data / bucket
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and "+" in p.name]


def run_ferry(work: Path, topic: str, fmt: str, expected_files: int, flush: int, ferry: Path, env: dict,
              tag: str) -> dict:
    bucket = f"s3b-{fmt.replace('_', '-')}-{tag}"
    boto(env).create_bucket(Bucket=bucket)
    port = 18500 + os.getpid() % 1000
    worker = work / "worker.properties"
    worker.write_text("\n".join([
        "bootstrap.servers=127.0.0.1:9092", f"listeners=http://127.0.0.1:{port}",
        f"offset.storage.file.filename={work / 'offsets'}", "offset.flush.interval.ms=10000",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter", ""]))
    conn = work / f"s3-{fmt}.properties"
    settings = {"name": f"s3-bench-{fmt}-{tag}", "connector.class": "io.confluent.connect.s3.S3SinkConnector",
                "topics": topic, "s3.bucket.name": bucket, "s3.region": "us-east-1", "store.url": env["FERRY_S3_URL"],
                "aws.access.key.id": env["FERRY_S3_ACCESS_KEY"], "aws.secret.access.key": env["FERRY_S3_SECRET_KEY"],
                "tasks.max": str(TASKS), "flush.size": str(flush), "s3.part.size": str(PART_SIZE),
                "consumer.override.auto.offset.reset": "earliest", **FORMATS[fmt]}
    conn.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    data = Path(env["FERRY_S3_DATA"])
    log_file = (work / f"ferry-{fmt}.log").open("w")
    t0 = time.monotonic()
    p = subprocess.Popen([str(ferry), "standalone", str(worker), str(conn)], stdout=log_file, stderr=log_file,
                         stdin=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    try:
        deadline = t0 + 600
        done = 0
        while done < expected_files:
            if p.poll() is not None:
                raise SystemExit(f"ferry exited with {p.returncode}; see {work / f'ferry-{fmt}.log'}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{fmt}: only {done} of {expected_files} files after {deadline - t0:.0f} s")
            time.sleep(0.05)
            done = len(objects(data, bucket))
        elapsed = time.monotonic() - t0
        cpu, rss = proc_cpu(p.pid), proc_hwm_mib(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=60)
    files = objects(data, bucket)
    size = sum(f.stat().st_size for f in files)
    records = expected_files * flush
    return {"bucket": bucket, "records": records, "records_per_s": records / elapsed,
            "mb_per_s": size / elapsed / 1e6, "s3_bytes": size, "files": len(files), "seconds": elapsed,
            "cpu_s": cpu, "peak_rss_mib": rss}


def run_plain_client(env: dict, data: Path, bucket: str, tag: str) -> dict:
    """The same objects uploaded again by boto3, UPLOADS at a time."""
    s3 = boto(env)
    target = f"{bucket}-plain"
    s3.create_bucket(Bucket=target)
    files = objects(data, bucket)
    bodies = [(f"o{i}", f.read_bytes()) for i, f in enumerate(files)]
    size = sum(len(b) for _, b in bodies)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=UPLOADS) as ex:
        list(ex.map(lambda kb: s3.put_object(Bucket=target, Key=kb[0], Body=kb[1]), bodies))
    elapsed = time.monotonic() - t0
    return {"bucket": target, "mb_per_s": size / elapsed / 1e6, "seconds": elapsed, "objects": len(bodies)}


def gzip_rate(data: Path, bucket: str, records: int) -> float:
    """Records/s at which one thread of zlib (level 6, Confluent's default)
    compresses the JSON lines the sink wrote: JSON with gzip cannot go
    faster on one core."""
    raw = [gzip.decompress(f.read_bytes()) for f in objects(data, bucket)]
    t0 = time.process_time()
    for body in raw:
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        c.compress(body)
        c.flush()
    return records / (time.process_time() - t0)


def drop_bucket(data: Path, bucket: str) -> None:
    """Removes a measured bucket (s3s-fs keeps a bucket as a directory):
    a run leaves about a gigabyte otherwise. s3s-fs keeps each object's
    attributes beside the buckets, in .bucket-<base64 of the
    bucket>.object-<base64 of the key>...json files: those go too."""
    shutil.rmtree(data / bucket, ignore_errors=True)
    prefix = ".bucket-" + base64.urlsafe_b64encode(bucket.encode()).decode().rstrip("=") + "."
    with os.scandir(data) as entries:
        for e in entries:
            if e.name.startswith(prefix):
                Path(e.path).unlink(missing_ok=True)


def boottime() -> float:
    """Seconds since boot: the clock /proc/<pid>/stat start times use."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def proc_start(pid: int) -> float:
    """Start time of a process on the boottime() clock (10 ms resolution)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(f[19]) / os.sysconf("SC_CLK_TCK")


def pg(db: str, sql: str) -> str:
    return sh([DEPLOY / "postgres.sh", "psql", "-d", db, "-XAtqc", sql], "psql", 120).strip()


def iceberg_database() -> None:
    """The database of the Iceberg sink's JDBC catalog (its tables are made
    by the catalog; each run has a catalog name of its own)."""
    if pg("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{ICEBERG_DB}'") != "1":
        pg("postgres", f"CREATE DATABASE {ICEBERG_DB}")


def drop_iceberg(catalog: str) -> None:
    """Removes a measured run's rows from the JDBC catalog (its table and
    namespace)."""
    for table in ("iceberg_tables", "iceberg_namespace_properties"):
        if pg(ICEBERG_DB, f"SELECT to_regclass('{table}') IS NOT NULL") == "t":
            pg(ICEBERG_DB, f"DELETE FROM {table} WHERE catalog_name = '{catalog}'")


def s3_file(data: Path, uri: str) -> Path:
    """An s3://bucket/key as the S3 server's file."""
    return data / uri.removeprefix("s3://")


class IcebergTable:
    """What the Iceberg sink has committed: the JDBC catalog's pointer ->
    the metadata JSON (read from the S3 server's directory) -> the current
    snapshot. The catalog is read (every 0.1 s at most) only while a
    metadata file newer than the pointer's is in the bucket: a cheap
    probe, as the catalog swaps its pointer just after writing the file."""

    def __init__(self, data: Path, bucket: str, catalog: str, namespace: str, table: str):
        self.data, self.bucket = data, bucket
        self.query = (f"SELECT metadata_location FROM iceberg_tables WHERE catalog_name = '{catalog}' "
                      f"AND table_namespace = '{namespace}' AND table_name = '{table}'")
        self.location, self.version, self.metadata, self.read_at = "", -1, {}, 0.0

    @staticmethod
    def file_version(name: str) -> int:
        """00003-<uuid>.metadata.json -> 3."""
        head = name.split("-", 1)[0]
        return int(head) if head.isdigit() else -1

    def poll(self) -> int:
        """Records in the current snapshot: its summary's total-records (a
        commit may hold only part of what was read so far)."""
        newest = max((self.file_version(p.name) for p in (self.data / self.bucket).rglob("*.metadata.json")),
                     default=-1)
        if newest > self.version and time.monotonic() - self.read_at >= 0.1:
            self.read_at = time.monotonic()
            location = pg(ICEBERG_DB, self.query)
            if location and location != self.location:
                self.metadata = json.loads(s3_file(self.data, location).read_text())
                self.location, self.version = location, self.file_version(Path(location).name)
        return int(self.summary().get("total-records", 0))

    def summary(self) -> dict:
        # Snapshot ids are 64-bit: compared as Python ints, never as floats.
        sid = self.metadata.get("current-snapshot-id")
        snap = next((s for s in self.metadata.get("snapshots", []) if s["snapshot-id"] == sid), {})
        return snap.get("summary", {})


def connector_running(port: int, name: str) -> bool:
    """The connector and its TASKS tasks RUNNING, from the worker's REST
    API; a FAILED one ends the benchmark."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/connectors/{name}/status", timeout=2) as r:
            st = json.load(r)
    except (OSError, ValueError):
        return False
    states = [st["connector"]["state"]] + [t["state"] for t in st.get("tasks", [])]
    if "FAILED" in states:
        raise SystemExit(f"{name} failed: {json.dumps(st)[:3000]}")
    return len(states) == 1 + TASKS and all(s == "RUNNING" for s in states)


def iceberg_props(work: Path, tag: str, port: int, plugin_dir: str, topic: str, control: str, bucket: str,
                  catalog: str, table: str) -> tuple[Path, Path, str]:
    """Worker and connector properties of the Java reference, and the
    connector's name (a new one per run: a new consumer group)."""
    worker = work / f"iceberg-{tag}-worker.properties"
    worker.write_text("\n".join([
        "bootstrap.servers=127.0.0.1:9092", f"listeners=http://127.0.0.1:{port}", f"plugin.path={plugin_dir}",
        "plugin.discovery=service_load",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable=true",
        f"offset.storage.file.filename={work / f'iceberg-{tag}.offsets'}",
        # The sink commits only inside put(), when the worker asks it to:
        # at 10 s (Ferry's setting) a commit would wait up to 10 s.
        "offset.flush.interval.ms=1000", ""]))
    name = f"s3-bench-iceberg-{tag}"
    settings = {
        "name": name, "connector.class": "org.apache.iceberg.connect.IcebergSinkConnector",
        "tasks.max": str(TASKS), "topics": topic, "iceberg.tables": table,
        "iceberg.tables.auto-create-enabled": "true", "iceberg.tables.evolve-schema-enabled": "true",
        "iceberg.tables.auto-create-props.write.format.default": "parquet",
        "iceberg.tables.auto-create-props.write.parquet.compression-codec": "snappy",
        "iceberg.control.topic": control, "iceberg.control.commit.interval-ms": str(ICEBERG_COMMIT_MS),
        "iceberg.control.commit.timeout-ms": "30000", "iceberg.kafka.bootstrap.servers": "127.0.0.1:9092",
        "iceberg.catalog": catalog, "iceberg.catalog.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "iceberg.catalog.uri": f"jdbc:postgresql://127.0.0.1:55432/{ICEBERG_DB}",
        "iceberg.catalog.jdbc.user": "postgres", "iceberg.catalog.jdbc.password": "postgres",
        "iceberg.catalog.warehouse": f"s3://{bucket}/warehouse",
        "iceberg.catalog.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "iceberg.catalog.s3.endpoint": "http://127.0.0.1:19000", "iceberg.catalog.s3.path-style-access": "true",
        "iceberg.catalog.s3.access-key-id": "ferry-access", "iceberg.catalog.s3.secret-access-key": "ferry-secret",
        "iceberg.catalog.client.region": "us-east-1"}
    conn = work / f"iceberg-{tag}.properties"
    conn.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    return worker, conn, name


def run_iceberg(work: Path, client, topic: str, n: int, env: dict, plugin_dir: str, tag: str) -> dict:
    """The Java reference for Parquet with snappy: Iceberg's sink on Kafka
    Connect reads the same n records into a new table. Records/s over the
    JVM's start -> all n records in the current snapshot, and over
    connector RUNNING -> the same; MB/s of the snapshot's data files over
    the former; CPU seconds and peak RSS of the JVM. The run's bucket,
    control topic and catalog rows are removed once measured."""
    ident = tag.replace("-", "_")
    bucket, catalog, namespace, table = f"s3b-iceberg-{tag}", f"s3_bench_{ident}", "s3_bench", f"orders_{ident}"
    control = f"s3-bench-control-{tag}"
    data = Path(env["FERRY_S3_DATA"])
    port = 17500 + os.getpid() % 1000
    worker, conn, name = iceberg_props(work, tag, port, plugin_dir, topic, control, bucket, catalog,
                                       f"{namespace}.{table}")
    state = subprocess.run([str(DEPLOY / "connect.sh"), "status", str(worker)], capture_output=True, text=True,
                           timeout=60)
    if state.stdout.strip() != "stopped":
        raise SystemExit(f"a Kafka Connect worker is already on port {port}: {state.stdout.strip()}")
    pid_file = STATE / "connect" / str(port) / "connect.pid"
    pid_file.unlink(missing_ok=True)
    boto(env).create_bucket(Bucket=bucket)
    client.create_topic(control, partitions=1, replication=1)
    client.wait_topic_ready(control)
    progress = IcebergTable(data, bucket, catalog, namespace, table)
    launched = boottime()
    starter = subprocess.Popen([str(DEPLOY / "connect.sh"), "start", str(worker), str(conn)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pid = running = None
    try:
        deadline = launched + 600 + n / 1000
        done = 0
        while done < n:
            if starter.poll() not in (None, 0):
                raise SystemExit(f"connect.sh start failed: {starter.stderr.read()[-2000:]}")
            if boottime() > deadline:
                raise SystemExit(f"iceberg: {done} of {n} records committed after {deadline - launched:.0f} s; "
                                 f"see {pid_file.parent / 'connect.log'}")
            if pid is None and pid_file.exists():
                pid = int(pid_file.read_text().strip() or 0) or None
            if pid is not None and not Path(f"/proc/{pid}").exists():
                raise SystemExit(f"the Kafka Connect worker exited; see {pid_file.parent / 'connect.log'}")
            if running is None and pid is not None and connector_running(port, name):
                running = boottime()
            time.sleep(0.05)
            done = progress.poll()
        finished = boottime()
        if pid is None or running is None:
            raise SystemExit(f"iceberg: all records committed before the worker's pid and RUNNING were seen "
                             f"(pid {pid}, RUNNING at {running})")
        cpu, rss, started = proc_cpu(pid), proc_hwm_mib(pid), proc_start(pid)
        summary, snapshots = progress.summary(), len(progress.metadata.get("snapshots", []))
        metadata_dir = s3_file(data, progress.metadata["location"]) / "metadata"
        metadata_bytes = sum(f.stat().st_size for f in metadata_dir.rglob("*") if f.is_file())
    finally:
        if starter.poll() is None:
            starter.terminate()
            starter.wait(timeout=60)
        sh([DEPLOY / "connect.sh", "stop", worker], "connect.sh stop", 300)
        client.delete_topics([control])
        drop_bucket(data, bucket)
        drop_iceberg(catalog)
    elapsed, steady = finished - started, finished - running
    size = int(summary["total-files-size"])
    return {"table": f"{namespace}.{table}", "records": done, "records_per_s": done / elapsed,
            "steady_records_per_s": done / steady, "mb_per_s": size / elapsed / 1e6, "data_bytes": size,
            "data_files": int(summary["total-data-files"]), "commits": snapshots, "metadata_bytes": metadata_bytes,
            "seconds": elapsed, "startup_s": running - started, "steady_seconds": steady, "cpu_s": cpu,
            "peak_rss_mib": rss}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--flush-size", type=int, default=2000)
    ap.add_argument("--smoke", action="store_true",
                    help="20,000 records, flush.size 50, 1 run, no Java reference; writes results/s3-smoke.json")
    ap.add_argument("--java", action=argparse.BooleanOptionalAction, default=None,
                    help="run the Java reference for Parquet with snappy (Iceberg's sink on Kafka Connect): "
                         "on by default, off with --smoke")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.runs, args.flush_size = 20_000, 1, 50
    java = not args.smoke if args.java is None else args.java
    n = args.records
    sh([DEPLOY / "up.sh", "kafka", "s3", *(["postgres"] if java else [])], "deploy/local/up.sh", 1800)
    python = sh([ROOT / "tests" / "readers" / "python.sh"], "readers venv", 1200).strip()
    if Path(sys.executable).resolve() != Path(python).resolve():
        # boto3 lives in the readers' virtualenv.
        os.execv(python, [python, "-u", __file__, *sys.argv[1:]])
    ferry = Path(os.environ.get("FERRY_BIN") or TARGET / "release" / "ferry")
    if not os.environ.get("FERRY_BIN"):
        log("building ferry (release)")
        sh(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build", 3600)
    env = s3_env()
    plugin_dir = ""
    if java:
        log(f"assembling Apache Iceberg {ICEBERG}'s Kafka Connect sink (Maven Central, once)")
        plugin_dir = sh([DEPLOY / "iceberg-plugin.sh", ICEBERG], "iceberg-plugin.sh", 3600).strip()
        iceberg_database()
    client = kafkawire.Client("127.0.0.1", 9092)
    runs = []
    with tempfile.TemporaryDirectory(prefix="s3-bench-") as d:
        work = Path(d)
        records = work / "records.json"
        payload_bytes = make_records(records, n)
        topic = f"s3-bench-{os.getpid()}-{int(time.time())}"
        client.create_topic(topic, partitions=PARTITIONS, replication=1)
        client.wait_topic_ready(topic)
        classpath = sh([DEPLOY / "kafka.sh", "classpath"], "kafka.sh classpath", 1200).strip()
        with records.open() as f:
            sh(["java", "-cp", classpath, "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server",
                "127.0.0.1:9092", "--topic", topic, "--batch-size", "100000", "--request-required-acks", "all"],
               "ConsoleProducer", 3600, stdin=f)
        per_partition = [client.end_offset(topic, p)[1] for p in range(PARTITIONS)]
        if sum(per_partition) != n:
            raise SystemExit(f"the topic holds {sum(per_partition)} records, not {n}")
        expected = sum(c // args.flush_size for c in per_partition)
        if expected == 0:
            raise SystemExit(f"no partition reaches flush.size {args.flush_size}: more records, please")
        log(f"topic {topic}: {n:,} records ({payload_bytes / n:.0f} payload bytes each), "
            f"{expected} complete files expected per format")
        for r in range(args.runs):
            run = {}
            tag = f"{os.getpid()}-{r}"
            for fmt in FORMATS:
                f = run_ferry(work, topic, fmt, expected, args.flush_size, ferry, env, tag)
                plain = run_plain_client(env, Path(env["FERRY_S3_DATA"]), f["bucket"], tag)
                f["plain_client_mb_per_s"] = plain["mb_per_s"]
                f["share_of_plain_client"] = f["mb_per_s"] / plain["mb_per_s"]
                data = Path(env["FERRY_S3_DATA"])
                gz = ""
                if FORMATS[fmt].get("s3.compression.type") == "gzip":
                    f["gzip_one_core_records_per_s"] = gzip_rate(data, f["bucket"], f["records"])
                    gz = f", zlib on one core {f['gzip_one_core_records_per_s']:,.0f} records/s"
                drop_bucket(data, f["bucket"])
                drop_bucket(data, plain["bucket"])
                run[fmt] = f
                log(f"run {r + 1}: {fmt}: {f['records_per_s']:,.0f} records/s, {f['mb_per_s']:.1f} MB/s to S3 "
                    f"({f['share_of_plain_client']:.0%} of boto3's {plain['mb_per_s']:.1f} MB/s{gz}), "
                    f"{f['cpu_s']:.1f} CPU s, {f['peak_rss_mib']:.0f} MiB")
            if java:
                ice = run_iceberg(work, client, topic, n, env, plugin_dir, tag)
                run["iceberg_parquet_snappy"] = ice
                ferry_pq = run["parquet_snappy"]
                run["parquet_ferry_to_iceberg_records_per_s"] = ferry_pq["records_per_s"] / ice["records_per_s"]
                run["parquet_ferry_to_iceberg_rss"] = ferry_pq["peak_rss_mib"] / ice["peak_rss_mib"]
                log(f"run {r + 1}: iceberg parquet_snappy: {ice['records_per_s']:,.0f} records/s from process "
                    f"start ({ice['startup_s']:.1f} s to RUNNING, then {ice['steady_records_per_s']:,.0f} "
                    f"records/s), {ice['mb_per_s']:.1f} MB/s of data files, {ice['commits']} commits, "
                    f"{ice['cpu_s']:.1f} CPU s, {ice['peak_rss_mib']:.0f} MiB; Ferry / Iceberg "
                    f"{run['parquet_ferry_to_iceberg_records_per_s']:.1f}x records/s")
            runs.append(run)
        client.delete_topics([topic])

    def med(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]
    summary = {}
    for fmt in FORMATS:
        for k in ("records_per_s", "mb_per_s", "cpu_s", "peak_rss_mib", "plain_client_mb_per_s",
                  "share_of_plain_client"):
            summary[f"{fmt}_{k}"] = med([r[fmt][k] for r in runs])
    summary["json_gzip_gzip_one_core_records_per_s"] = med([r["json_gzip"]["gzip_one_core_records_per_s"]
                                                            for r in runs])
    if java:
        for k in ("records_per_s", "steady_records_per_s", "mb_per_s", "cpu_s", "peak_rss_mib", "seconds",
                  "startup_s", "steady_seconds", "data_bytes", "commits"):
            summary[f"iceberg_parquet_snappy_{k}"] = med([r["iceberg_parquet_snappy"][k] for r in runs])
        summary["parquet_ferry_to_iceberg_records_per_s"] = (summary["parquet_snappy_records_per_s"]
                                                             / summary["iceberg_parquet_snappy_records_per_s"])
        summary["parquet_ferry_to_iceberg_steady_records_per_s"] = (
            summary["parquet_snappy_records_per_s"] / summary["iceberg_parquet_snappy_steady_records_per_s"])
        summary["parquet_ferry_to_iceberg_rss"] = (summary["parquet_snappy_peak_rss_mib"]
                                                   / summary["iceberg_parquet_snappy_peak_rss_mib"])
    doc = {"records": n, "partitions": PARTITIONS, "flush_size": args.flush_size, "part_size": PART_SIZE,
           "tasks": TASKS, "runs": runs, "median": summary,
           "workload": f"{n:,} JSON records with schemas (~1 KB payload) in {PARTITIONS} partitions -> S3 "
                       f"(s3s-fs on loopback), flush.size={args.flush_size}, process start -> every complete file",
           "limit": f"boto3 put_object of the same objects, {UPLOADS} at a time"}
    if java:
        doc["java_reference"] = (
            f"parquet_snappy only: Apache Iceberg {ICEBERG} Kafka Connect sink (IcebergSinkConnector) on Apache "
            f"Kafka Connect 4.3.1 standalone, tasks.max={TASKS}, the same topic into a new table (JDBC catalog "
            f"in PostgreSQL, S3FileIO on the same S3 server), Parquet with snappy, a commit every "
            f"{ICEBERG_COMMIT_MS} ms; records/s: JVM start -> all records in the current snapshot "
            f"(total-records), steady: connector RUNNING -> the same; MB/s: the snapshot's data files "
            f"(total-files-size). Iceberg commits a table (manifests, metadata JSON) each interval; Ferry "
            f"writes Confluent-layout objects: different layouts, the same Parquet with snappy data")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / ("s3-smoke.json" if args.smoke else "s3.json")).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{n:,} records, {PARTITIONS} partitions, median of {len(runs)} run(s)")
    print(f"{'':24} {'records/s':>10} {'MB/s':>7} {'limit MB/s':>11} {'share':>6} {'CPU s':>7} {'RSS MiB':>8}")
    for fmt in FORMATS:
        print(f"{fmt:24} {summary[f'{fmt}_records_per_s']:>10,.0f} {summary[f'{fmt}_mb_per_s']:>7.1f} "
              f"{summary[f'{fmt}_plain_client_mb_per_s']:>11.1f} {summary[f'{fmt}_share_of_plain_client']:>6.0%} "
              f"{summary[f'{fmt}_cpu_s']:>7.1f} {summary[f'{fmt}_peak_rss_mib']:>8.0f}")
    print(f"json_gzip: zlib (level 6) compresses the same JSON lines on one core at "
          f"{summary['json_gzip_gzip_one_core_records_per_s']:,.0f} records/s")
    if java:
        print_iceberg(summary, n)
    return 0


def print_iceberg(summary: dict, n: int) -> None:
    """The Java reference's medians, its ratios to Ferry, and what differs."""
    ice = {k.removeprefix("iceberg_parquet_snappy_"): v for k, v in summary.items()
           if k.startswith("iceberg_parquet_snappy_")}
    print(f"{'iceberg_parquet_snappy':24} {ice['records_per_s']:>10,.0f} {ice['mb_per_s']:>7.1f} {'':>11} {'':>6} "
          f"{ice['cpu_s']:>7.1f} {ice['peak_rss_mib']:>8.0f}")
    print(f"iceberg_parquet_snappy: Apache Iceberg {ICEBERG}'s sink on Apache Kafka Connect 4.3.1, "
          f"tasks.max={TASKS}, all {n:,} records committed {ice['seconds']:.1f} s after the JVM's start: "
          f"{ice['startup_s']:.1f} s to connector RUNNING, then {ice['steady_seconds']:.1f} s "
          f"({ice['steady_records_per_s']:,.0f} records/s without the start-up)")
    print(f"Ferry / Iceberg, Parquet with snappy: {summary['parquet_ferry_to_iceberg_records_per_s']:.1f}x records/s "
          f"({summary['parquet_ferry_to_iceberg_steady_records_per_s']:.1f}x against Iceberg's steady state), "
          f"peak RSS {summary['parquet_ferry_to_iceberg_rss']:.2f}x "
          f"({summary['parquet_snappy_peak_rss_mib']:.0f} MiB against {ice['peak_rss_mib']:.0f} MiB)")
    print(f"Not the same layout: Iceberg commits a table every {ICEBERG_COMMIT_MS / 1000:g} s ({ice['commits']:.0f} "
          f"snapshots: data files, then a manifest, a manifest list and a metadata JSON, in a JDBC catalog); "
          f"Ferry writes Confluent-layout objects (topics/<topic>/partition=<p>/...), no table. The data is "
          f"Parquet with snappy in both; Ferry's records/s counts the records in complete files, Iceberg's all "
          f"{n:,}.")


if __name__ == "__main__":
    sys.exit(main())
