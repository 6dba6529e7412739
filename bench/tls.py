#!/usr/bin/env python3
"""The cost of TLS and SASL to Kafka: Ferry's file pipeline (FileStreamSource
-> topic -> FileStreamSink, one standalone worker) over the local broker's
PLAINTEXT listener and over its SASL_SSL listener (SCRAM-SHA-512, a JKS trust
store, host name verified), configured as a Java worker's properties would
be, in the same run, alternating which goes first. For each: records/s from
process start to every line in the output file, CPU seconds and peak RSS of
the worker; then the ratio.

    bench/tls.sh [--records N] [--runs R]

Writes bench/results/tls.json; details in bench/README.md ("TLS to Kafka").
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jdbc import proc_cpu, proc_hwm_mib

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "local"
RESULTS = ROOT / "bench" / "results"
TLS_DIR = Path(os.environ.get("FERRY_CACHE") or Path.home() / ".cache" / "ferry") / "tls"
LINE = 100  # bytes per input line, newline included
JAAS = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
        'username="ferry" password="ferry-secret";')


def log(msg: str) -> None:
    print(f"tls-bench: {msg}", file=sys.stderr, flush=True)


def security(mode: str) -> dict:
    """Worker properties for `mode`, at worker level and for the
    connectors' clients, as Kafka Connect needs them."""
    if mode == "plaintext":
        return {"bootstrap.servers": "127.0.0.1:9092"}
    keys = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": JAAS,
        "ssl.truststore.location": str(TLS_DIR / "truststore.jks"),
        "ssl.truststore.password": "ferry-store",
    }
    props = {"bootstrap.servers": "localhost:9096"}
    for prefix in ("", "producer.", "consumer.", "admin."):
        props.update({prefix + k: v for k, v in keys.items()})
    return props


def write(path: Path, props: dict) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def one(mode: str, n: int, work: Path, ferry: Path, tag: str) -> dict:
    d = work / f"{mode}-{tag}"
    d.mkdir()
    source, sink = d / "in.txt", d / "out.txt"
    with source.open("w") as f:
        for i in range(n):
            f.write(f"{i:010d} ".ljust(LINE - 1, "x") + "\n")
    topic = f"tls-bench-{mode}-{tag}-{os.getpid()}"
    props = security(mode) | {
        "listeners": "http://127.0.0.1:0",
        "offset.storage.file.filename": str(d / "offsets"),
        "offset.flush.interval.ms": "1000",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }
    write(d / "worker.properties", props)
    write(d / "source.properties", {"name": f"src-{tag}", "connector.class": "FileStreamSource",
                                     "file": str(source), "topic": topic, "batch.size": "5000"})
    write(d / "sink.properties", {"name": f"sink-{tag}", "connector.class": "FileStreamSink",
                                   "file": str(sink), "topics": topic})
    start = time.monotonic()
    p = subprocess.Popen([str(ferry), "standalone", str(d / "worker.properties"),
                          str(d / "source.properties"), str(d / "sink.properties")],
                         stdout=subprocess.DEVNULL, stderr=(d / "ferry.log").open("w"),
                         env=os.environ | {"RUST_LOG": "warn"})
    try:
        deadline = start + max(120.0, n / 5_000)
        size = n * LINE
        while not (sink.exists() and sink.stat().st_size >= size):
            if p.poll() is not None:
                raise SystemExit(f"{mode}: ferry exited with {p.returncode}: {(d / 'ferry.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{mode}: not done within {deadline - start:.0f} s")
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        cpu, rss = proc_cpu(p.pid), proc_hwm_mib(p.pid)
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if sink.read_bytes() != source.read_bytes():
        raise SystemExit(f"{mode}: the output differs from the input")
    r = {"records_per_s": n / elapsed, "seconds": elapsed, "cpu_s": cpu, "rss_mib": rss}
    log(f"{tag}: {mode}: {r['records_per_s']:,.0f} records/s, {cpu:.1f} CPU s, {rss:.0f} MiB")
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ferry = Path(os.environ.get("FERRY_BIN") or "")
    if not ferry.is_file():
        raise SystemExit("set FERRY_BIN to a release build of ferry")
    subprocess.run([str(DEPLOY / "up.sh"), "kafka"], check=True, stdout=subprocess.DEVNULL)
    runs = []
    with tempfile.TemporaryDirectory(prefix="ferry-tls-bench-") as tmp:
        for run in range(args.runs):
            order = ("plaintext", "sasl_ssl") if run % 2 == 0 else ("sasl_ssl", "plaintext")
            runs.append({m: one(m, args.records, Path(tmp), ferry, f"r{run}") for m in order})
    med = {m: {k: statistics.median(r[m][k] for r in runs) for k in runs[0][m]}
           for m in ("plaintext", "sasl_ssl")}
    cost = {
        "throughput_ratio": med["sasl_ssl"]["records_per_s"] / med["plaintext"]["records_per_s"],
        "cpu_ratio": med["sasl_ssl"]["cpu_s"] / med["plaintext"]["cpu_s"],
    }
    print(f"{args.records:,} records of {LINE} bytes, file -> topic -> file, median of {args.runs} run(s)")
    print(f"{'':12}{'records/s':>12}{'CPU s':>9}{'RSS MiB':>9}")
    for m in ("plaintext", "sasl_ssl"):
        print(f"{m:12}{med[m]['records_per_s']:>12,.0f}{med[m]['cpu_s']:>9.1f}{med[m]['rss_mib']:>9.0f}")
    print(f"SASL_SSL / PLAINTEXT: {cost['throughput_ratio']:.2f}x records/s, {cost['cpu_ratio']:.2f}x CPU seconds")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tls.json").write_text(json.dumps(
        {"records": args.records, "runs": runs, "medians": med, "cost": cost}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
