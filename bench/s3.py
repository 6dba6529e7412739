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

    bench/s3.sh [--records N] [--runs R] [--flush-size F] [--smoke]

Writes bench/results/s3.json; details in bench/README.md ("S3 sink").
"""

import argparse
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
PARTITIONS = 100
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
                "flush.size": str(flush), "s3.part.size": str(PART_SIZE),
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
    a run leaves about a gigabyte otherwise."""
    shutil.rmtree(data / bucket, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--flush-size", type=int, default=2000)
    ap.add_argument("--smoke", action="store_true",
                    help="20,000 records, flush.size 50, 1 run; writes results/s3-smoke.json")
    args = ap.parse_args()
    if args.smoke:
        args.records, args.runs, args.flush_size = 20_000, 1, 50
    n = args.records
    sh([DEPLOY / "up.sh", "kafka", "s3"], "deploy/local/up.sh", 1800)
    python = sh([ROOT / "tests" / "readers" / "python.sh"], "readers venv", 1200).strip()
    if Path(sys.executable).resolve() != Path(python).resolve():
        # boto3 lives in the readers' virtualenv.
        os.execv(python, [python, "-u", __file__, *sys.argv[1:]])
    ferry = Path(os.environ.get("FERRY_BIN") or TARGET / "release" / "ferry")
    if not os.environ.get("FERRY_BIN"):
        log("building ferry (release)")
        sh(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build", 3600)
    env = s3_env()
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
            for fmt in FORMATS:
                tag = f"{os.getpid()}-{r}"
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
    doc = {"records": n, "partitions": PARTITIONS, "flush_size": args.flush_size, "part_size": PART_SIZE,
           "runs": runs, "median": summary,
           "workload": f"{n:,} JSON records with schemas (~1 KB payload) in {PARTITIONS} partitions -> S3 "
                       f"(s3s-fs on loopback), flush.size={args.flush_size}, process start -> every complete file",
           "limit": f"boto3 put_object of the same objects, {UPLOADS} at a time"}
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
