#!/usr/bin/env python3
"""Ferry vs Apache Kafka Connect on the local broker: throughput, CPU,
memory and start-up of the FileStream source and sink, next to the broker's
own limit measured with Kafka's performance tools. See bench/README.md.

Standard library only. Every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chart  # noqa: E402
import kafkawire  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEPLOY = ROOT / "deploy" / "local"
LOG4J = DEPLOY / "kafka" / "log4j2.properties"
STATE = Path(os.environ.get("FERRY_STATE") or Path.home() / ".cache" / "ferry" / "state")
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache" / "ferry" / "target")
BROKER_HOST, BROKER_PORT = "127.0.0.1", 9092
BOOTSTRAP = f"{BROKER_HOST}:{BROKER_PORT}"
KAFKA_VERSION = "4.3.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

RECORD_BYTES = 100          # per input line, newline included
REST_POLL_S = 0.002         # start-up: GET / every 2 ms while nothing listens,
REST_POLL_BUSY_S = 0.005    # every 5 ms once the listener answers (not 200 yet)
STATUS_POLL_S = 0.010       # connector status until RUNNING
PROGRESS_POLL_S = 0.020     # end offset / output lines until done
SYSTEMS = ("ferry", "connect")
LABEL = {"ferry": "Ferry", "connect": "Kafka Connect",
         "ferry-plugin": "Ferry, file connectors as a plugin"}
WORKLOADS = ("source", "sink", "sink-lz4", "sink-zstd")
WORKLOAD_LABEL = {"source": "file source -> topic", "sink": "topic -> file sink",
                  "sink-lz4": "lz4 topic -> file sink", "sink-zstd": "zstd topic -> file sink"}
# The sink workloads' input topics: producer compression (ConsoleProducer's
# --compression-codec), batch.size and linger.ms. The uncompressed one is
# filled as it always was; the compressed ones in batches of up to 1 MiB, as
# production topics typically are.
SINK_INPUT = {"sink": (None, 1000000, 5), "sink-lz4": ("lz4", 1 << 20, 50), "sink-zstd": ("zstd", 1 << 20, 50)}

# Worker settings shared by both systems (listeners and the offsets file
# are filled in per worker).
WORKER_SETTINGS = {
    "bootstrap.servers": BOOTSTRAP,
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    "offset.flush.interval.ms": "10000",
}
# Java options of Kafka's own scripts (kafka-run-class.sh) for the tools.
TOOL_JVM = ["-Xmx512M", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true"]
PRODUCER_PROPS = [f"bootstrap.servers={BOOTSTRAP}", "acks=all", "linger.ms=5", "batch.size=1000000"]


class BenchError(Exception):
    pass


def now() -> float:
    """Seconds since boot: the clock /proc/<pid>/stat start times use."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def java() -> str:
    if os.environ.get("JAVA"):
        return os.environ["JAVA"]
    if os.environ.get("JAVA_HOME"):
        return str(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    return "java"


# ---------------------------------------------------------------- /proc

def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def proc_start(pid: int) -> float:
    """Start time of a process on the now() clock (10 ms resolution)."""
    return int(_stat_fields(pid)[19]) / CLK_TCK


def proc_cpu(pid: int) -> float:
    """utime + stime in seconds."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / CLK_TCK


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


def proc_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not running any more.
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def host_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


def broker_pid() -> int | None:
    pidfile = STATE / "kafka" / "kafka.pid"
    try:
        pid = int(pidfile.read_text().strip())
        if alive(pid) and " kafka.Kafka " in proc_cmdline(pid):
            return pid
    except (OSError, ValueError):
        pass
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and " kafka.Kafka " in proc_cmdline(int(d.name)):
            return int(d.name)
    return None


# ---------------------------------------------------------------- processes

class Reaper:
    """Remembers every process the benchmark starts and stops them on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.connect_workers: list[tuple[Path, Path, int | None]] = []
        self.stop_broker = False

    def spawn(self, args: list, **kw) -> subprocess.Popen:
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen([str(a) for a in args], start_new_session=True, **kw)
        self.procs.append(p)
        return p

    @staticmethod
    def kill(p: subprocess.Popen, grace: float = 5.0) -> None:
        if p.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                return
            try:
                p.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def forget(self, p: subprocess.Popen) -> None:
        if p in self.procs and p.poll() is not None:
            self.procs.remove(p)

    def stop_connect(self, worker_props: Path, pidfile: Path, pid: int | None) -> None:
        """connect.sh stop, then the java pid itself if it survived."""
        if pid is None:
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                pid = None
        try:
            subprocess.run([str(DEPLOY / "connect.sh"), "stop", str(worker_props)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)
        except subprocess.TimeoutExpired:
            pass
        if pid and alive(pid) and " org.apache.kafka.connect.cli.Connect" in proc_cmdline(pid):
            os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        # A second Ctrl-C must not cut the clean-up short.
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        for p in reversed(self.procs):
            self.kill(p, grace=3.0)
        self.procs.clear()
        for worker, pidfile, pid in self.connect_workers:
            self.stop_connect(worker, pidfile, pid)
        self.connect_workers.clear()
        if self.stop_broker:
            self.stop_broker = False
            log("stopping the broker this run started")
            subprocess.run([str(DEPLOY / "kafka.sh"), "stop"], stdin=subprocess.DEVNULL, timeout=120)


REAPER = Reaper()


def run_cmd(args: list, what: str, timeout: float, stdin=None, capture: bool = True,
            env: dict | None = None) -> str:
    """Runs a command to completion within a deadline; returns stdout."""
    p = REAPER.spawn(args, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                     stdout=subprocess.PIPE if capture else None,
                     stderr=subprocess.PIPE if capture else None, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        REAPER.kill(p)
        raise BenchError(f"{what} did not finish within {timeout:.0f} s")
    finally:
        REAPER.forget(p)
    if p.returncode != 0:
        tail = (err or b"").decode(errors="replace")[-3000:] if capture else ""
        raise BenchError(f"{what} failed (exit {p.returncode})\n{tail}")
    return (out or b"").decode(errors="replace")


def tool(cls: str, args: list, classpath: str, what: str, timeout: float, stdin=None) -> str:
    cmd = [java(), *TOOL_JVM, f"-Dlog4j2.configurationFile={LOG4J}", "-Dferry.log.level=WARN",
           "-Dferry.log.target=SYSTEM_ERR", "-cp", classpath, cls, *args]
    return run_cmd(cmd, what, timeout, stdin=stdin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 1.0) -> tuple[int, bytes] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def rest_root(port: int) -> int:
    """Status of GET /, 0 if nothing listens or no answer. A bare socket,
    cheap enough to call every few milliseconds (a refused connect costs
    ~10 us of CPU)."""
    s = socket.socket()
    try:
        s.settimeout(1.0)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            return 0
        s.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head and len(head) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        parts = head.split(b" ", 2)
        ok = len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit()
        return int(parts[1]) if ok else 0
    except OSError:
        return 0
    finally:
        s.close()


def write_props(path: Path, props: dict) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def tail(path: Path, n: int = 25) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


# ---------------------------------------------------------------- inputs

def make_input(path: Path, n: int) -> str:
    """N lines of RECORD_BYTES bytes (newline included): a 9-digit sequence
    number and text cut from a fixed pseudo-random pool. Returns sha256."""
    pool = "".join(random.Random(20240611).choices("abcdefghijklmnopqrstuvwxyz     ", k=1 << 16))
    width = RECORD_BYTES - 11
    span = len(pool) - width
    h = hashlib.sha256()
    with open(path, "w", encoding="ascii", newline="\n") as f:
        chunk = []
        for i in range(n):
            j = (i * 7919) % span
            chunk.append(f"{i:09d} {pool[j:j + width]}\n")
            if len(chunk) == 10000:
                s = "".join(chunk)
                f.write(s)
                h.update(s.encode())
                chunk = []
        if chunk:
            s = "".join(chunk)
            f.write(s)
            h.update(s.encode())
    return h.hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
            lines += b.count(b"\n")
    return h.hexdigest(), lines


# ---------------------------------------------------------------- progress

class TopicProgress:
    """Records in a 1-partition topic: its high watermark via ListOffsets."""

    def __init__(self, client: kafkawire.Client, topic: str):
        self.client, self.topic = client, topic
        self.requests = 0
        self.rtt = 0.0

    def count(self) -> int:
        t = time.perf_counter()
        err, offset = self.client.end_offset(self.topic)
        self.rtt += time.perf_counter() - t
        self.requests += 1
        if err in kafkawire.TRANSIENT:
            return 0
        if err != kafkawire.ERR_NONE:
            raise BenchError(f"ListOffsets {self.topic}: error {err}")
        return offset


class FileProgress:
    """Lines in a file being appended to: reads only the new bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.f = None
        self.lines = 0
        self.requests = 0
        self.rtt = 0.0

    def count(self) -> int:
        t = time.perf_counter()
        self.requests += 1
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except FileNotFoundError:
                return 0
        while b := self.f.read(1 << 20):
            self.lines += b.count(b"\n")
        self.rtt += time.perf_counter() - t
        return self.lines

    def close(self) -> None:
        if self.f:
            self.f.close()


def changes_only(samples: list[list[float]]) -> list[list[float]]:
    """The progress samples where the count changed (plus the first), which
    is all a timeline needs."""
    out: list[list[float]] = []
    for t, c in samples:
        if not out or c != out[-1][1]:
            out.append([t, c])
    return out


def first_record(samples: list[list[float]]) -> float | None:
    """Seconds from process start to the first delivered record seen."""
    return next((t for t, c in samples if c > 0), None)


def longest_pause(samples: list[list[float]], n: int) -> float:
    """Longest time the delivered count stood still between the first
    record and the last (from the progress samples)."""
    best, since, last = 0.0, None, None
    for t, c in samples:
        if c <= 0:
            continue
        if c != last:
            if since is not None:
                best = max(best, t - since)
            since, last = t, c
        if c >= n:
            break
    return round(best, 3)


def steady_window(samples: list[list[float]], n: int) -> tuple[int, int] | None:
    """Indexes (i, j) of the progress samples that bound the steady state:
    i the first sample that saw a record, j the first that saw all N. When
    one sample saw them all (a run too short for the polling), i is the last
    sample before it, which saw none."""
    j = next((k for k, sm in enumerate(samples) if sm[1] >= n), None)
    i = next((k for k, sm in enumerate(samples) if sm[1] > 0), None)
    if j is None or i is None:
        return None
    if i == j:
        i -= 1
    return (i, j) if i >= 0 and samples[j][0] > samples[i][0] else None


def steady_figures(samples: list[list[float]], cpus: list[float], n: int) -> dict:
    """records/s and CPU seconds per million records from the first record
    seen to the last, from progress samples [t, count] and the process's CPU
    seconds read at each sample."""
    w = steady_window(samples, n)
    if w is None:
        return {"records_per_s_steady": None, "cpu_s_per_million_steady": None, "steady_records": None,
                "steady_s": None}
    i, j = w
    recs = n - samples[i][1]
    secs = samples[j][0] - samples[i][0]
    return {"records_per_s_steady": round(recs / secs, 1),
            "cpu_s_per_million_steady": round((cpus[j] - cpus[i]) / recs * 1e6, 3),
            "steady_records": recs, "steady_s": round(secs, 3)}


def interpolate(points: list[tuple[float, float]], x: float) -> float:
    """y at x on the polyline through points (sorted by x), clamped."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return points[-1][1]


def tool_time(s: str) -> float:
    """ConsumerPerformance's start.time/end.time (local time, ms) as epoch seconds."""
    base, ms = s.strip().rsplit(":", 1)
    return time.mktime(time.strptime(base, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000


# ---------------------------------------------------------------- benchmark

class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.n = args.records
        self.id = dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.work = STATE / "bench" / self.id
        self.client = kafkawire.Client(BROKER_HOST, BROKER_PORT)
        self.ferry = Path(os.environ["FERRY_BIN"]) if os.environ.get("FERRY_BIN") else TARGET / "release" / "ferry"
        # Every system but "connect" is a Ferry binary, with worker properties
        # of its own on top of the shared ones (bench/plugin.py adds one).
        self.binaries: dict[str, Path] = {"ferry": self.ferry}
        self.worker_extra: dict[str, dict] = {}
        self.classpath = ""
        self.input = self.work / "input.txt"
        self.input_sha = ""
        self.topics: list[str] = []
        self.broker = None
        self.tool_runs = 0

    # -- setup --------------------------------------------------------------

    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.prune_old_work()
        was_running = subprocess.run([str(DEPLOY / "kafka.sh"), "status"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if not was_running:
            log("starting the local broker (deploy/local/up.sh)")
            REAPER.stop_broker = not self.args.keep_broker
            run_cmd([DEPLOY / "up.sh"], "deploy/local/up.sh", timeout=1200, capture=False)
        self.broker = broker_pid()
        if not os.environ.get("FERRY_BIN"):
            log("building ferry (release)")
            t = time.monotonic()
            env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET), CARGO_TERM_COLOR="never")
            run_cmd(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build --release",
                    timeout=3600, capture=False, env=env)
            log(f"build took {time.monotonic() - t:.0f} s")
        if not os.access(self.ferry, os.X_OK):
            raise BenchError(f"no ferry binary at {self.ferry}")
        self.classpath = run_cmd([DEPLOY / "kafka.sh", "classpath"], "kafka.sh classpath", timeout=1200).strip()
        t = time.monotonic()
        self.input_sha = make_input(self.input, self.n)
        log(f"input: {self.n:,} lines of {RECORD_BYTES} bytes in {self.input} ({time.monotonic() - t:.1f} s)")

    def prune_old_work(self) -> None:
        """Keeps the logs of the last few invocations, nothing older."""
        root = STATE / "bench"
        old = sorted((d for d in root.iterdir() if d.is_dir() and d != self.work), key=lambda d: d.name)
        for d in old[:-4]:
            shutil.rmtree(d, ignore_errors=True)

    def new_topic(self, name: str) -> str:
        self.client.create_topic(name, partitions=1, replication=1)
        self.topics.append(name)
        self.client.wait_topic_ready(name)
        return name

    def drop_topics(self) -> None:
        if self.args.keep or not self.topics:
            return
        try:
            self.client.delete_topics(self.topics)
        except (OSError, kafkawire.KafkaError) as e:
            log(f"could not delete topics {self.topics}: {e}")
        self.topics = []

    def deadline(self, rate_floor: float) -> float:
        """Seconds allowed for N records at no less than rate_floor/s."""
        return 60.0 + self.n / rate_floor

    # -- polling overhead -----------------------------------------------------

    def polling_overhead(self) -> dict:
        """What polling the end offset costs: broker and benchmark CPU per
        ListOffsets request (a burst of back-to-back requests, less the
        broker's idle CPU over the same time), scaled to the polling rate."""
        topic = self.new_topic(f"bench-{self.id}-poll")
        prog = TopicProgress(self.client, topic)
        n = 2000
        out: dict = {"interval_ms": PROGRESS_POLL_S * 1000, "burst_requests": n}
        idle_rate = 0.0
        if self.broker:
            c0, t0 = proc_cpu(self.broker), now()
            time.sleep(1.0)
            idle_rate = (proc_cpu(self.broker) - c0) / (now() - t0)
            out["broker_idle_cpu_ms_per_s"] = round(idle_rate * 1000, 1)
        c0 = proc_cpu(self.broker) if self.broker else 0.0
        s0, t0 = self_cpu(), now()
        for _ in range(n):
            prog.count()
        wall = now() - t0
        broker_req = max(0.0, (proc_cpu(self.broker) - c0) - idle_rate * wall) / n if self.broker else 0.0
        bench_req = (self_cpu() - s0) / n
        out["mean_round_trip_ms"] = round(wall / n * 1000, 3)
        out["broker_cpu_us_per_request"] = round(broker_req * 1e6, 1) if self.broker else None
        out["bench_cpu_us_per_request"] = round(bench_req * 1e6, 1)
        per_s = (broker_req + bench_req) / PROGRESS_POLL_S
        out["cpu_ms_per_s_of_polling"] = round(per_s * 1000, 2)
        out["share_of_one_core"] = round(per_s, 4)
        return out

    # -- broker limit ---------------------------------------------------------

    def sampled_tool(self, cls: str, args: list, what: str, timeout: float,
                     progress: TopicProgress | None = None) -> tuple[str, list[list[float]]]:
        """Runs a Kafka tool like tool(), reading its CPU time from /proc (and,
        given a progress counter, the records delivered) every PROGRESS_POLL_S
        until it exits. Returns its stdout and the samples
        [epoch seconds, seconds since boot, CPU seconds, records]."""
        self.tool_runs += 1
        base = self.work / f"tool-{self.tool_runs}-{cls.rsplit('.', 1)[-1]}"
        cmd = [java(), *TOOL_JVM, f"-Dlog4j2.configurationFile={LOG4J}", "-Dferry.log.level=WARN",
               "-Dferry.log.target=SYSTEM_ERR", "-cp", self.classpath, cls, *args]
        out_path, err_path = base.with_suffix(".out"), base.with_suffix(".err")
        with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
            p = REAPER.spawn(cmd, stdout=fo, stderr=fe)
        samples: list[list[float]] = []
        limit = now() + timeout
        try:
            next_tick = now()
            while True:
                try:
                    f = _stat_fields(p.pid)
                except OSError:
                    break
                # A zombie (not reaped yet: nothing here waits for it before
                # the loop ends) still reports the CPU time of all its threads.
                cpu = (int(f[11]) + int(f[12])) / CLK_TCK
                c = progress.count() if progress else 0
                samples.append([time.time(), now(), cpu, c])
                if f[0] in ("Z", "X"):
                    break
                if now() > limit:
                    REAPER.kill(p)
                    raise BenchError(f"{what} did not finish within {timeout:.0f} s")
                next_tick += PROGRESS_POLL_S
                time.sleep(max(0.0, next_tick - now()))
            p.wait(30)
        finally:
            REAPER.kill(p)
            REAPER.forget(p)
        if p.returncode != 0:
            raise BenchError(f"{what} failed (exit {p.returncode})\n{tail(err_path, 40)}")
        return out_path.read_text(errors="replace"), samples

    def consumer_performance(self, topic: str, run: int, what: str) -> dict:
        """ConsumerPerformance over a topic of N records: records/s over its
        fetch time (without the group join), and its CPU per million records
        over that same time, from the CPU samples by wall clock."""
        log(f"run {run + 1}: broker limit: ConsumerPerformance ({what})")
        out, samples = self.sampled_tool(
            "org.apache.kafka.tools.ConsumerPerformance",
            ["--bootstrap-server", BOOTSTRAP, "--topic", topic, "--num-records", self.n, "--timeout", 30000],
            f"ConsumerPerformance ({what})", timeout=self.deadline(5000))
        lines = [ln for ln in out.splitlines() if ln.count(",") >= 9]
        if len(lines) < 2 or not lines[0].startswith("start.time"):
            raise BenchError(f"cannot parse ConsumerPerformance output:\n{out}")
        row = dict(zip([h.strip() for h in lines[0].split(",")], [v.strip() for v in lines[-1].split(",")]))
        consumed = int(row["data.consumed.in.nMsg"])
        if consumed < self.n:
            raise BenchError(f"ConsumerPerformance consumed {consumed} records, expected {self.n}")
        fetch_ms = float(row["fetch.time.ms"])
        end = tool_time(row["end.time"])
        cpu_by_time = [(sm[0], sm[2]) for sm in samples]
        fetch_cpu = interpolate(cpu_by_time, end) - interpolate(cpu_by_time, end - fetch_ms / 1000)
        cpu = samples[-1][2] if samples else None
        return {"records_per_s": float(row["fetch.nMsg.sec"]),
                "records_per_s_incl_group_join": float(row["nMsg.sec"]),
                "rebalance_ms": float(row["rebalance.time.ms"]), "fetch_ms": fetch_ms,
                "mb_per_s": float(row["fetch.MB.sec"]),
                "cpu_s": cpu,
                "cpu_s_per_million": round(cpu / consumed * 1e6, 3) if cpu is not None else None,
                "cpu_s_per_million_steady": round(fetch_cpu / consumed * 1e6, 3) if fetch_ms > 0 else None}

    def broker_limit(self, run: int) -> dict:
        topic = self.new_topic(f"bench-{self.id}-r{run}-perf")
        log(f"run {run + 1}: broker limit: ProducerPerformance, {self.n:,} records")
        prog = TopicProgress(kafkawire.Client(BROKER_HOST, BROKER_PORT), topic)
        try:
            out, samples = self.sampled_tool(
                "org.apache.kafka.tools.ProducerPerformance",
                ["--topic", topic, "--num-records", self.n, "--record-size", RECORD_BYTES,
                 "--throughput", -1, "--command-property", *PRODUCER_PROPS],
                "ProducerPerformance", timeout=self.deadline(5000), progress=prog)
        finally:
            prog.client.close()
        m = None
        for m in re.finditer(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                             r"([\d.]+) ms avg latency", out):
            pass
        if not m:
            raise BenchError(f"cannot parse ProducerPerformance output:\n{out}")
        sent = int(m.group(1))
        if sent != self.n:
            raise BenchError(f"ProducerPerformance sent {sent} records, expected {self.n}")
        cpu = samples[-1][2] if samples else None
        # Records acknowledged (the end offset, acks=all) from the first seen
        # to the last: the same clock as the workers' steady state.
        progress = [[sm[1], sm[3]] for sm in samples]
        producer = {"records_per_s": float(m.group(2)), "mb_per_s": float(m.group(3)),
                    "avg_latency_ms": float(m.group(4)), "output": m.group(0),
                    "cpu_s": cpu, "cpu_s_per_million": round(cpu / self.n * 1e6, 3) if cpu is not None else None,
                    **steady_figures(progress, [sm[2] for sm in samples], self.n)}

        consumer = self.consumer_performance(topic, run, "uncompressed")
        log(f"run {run + 1}: producer {producer['records_per_s']:,.0f} rec/s "
            f"({producer['cpu_s_per_million_steady']} CPU s per million), "
            f"consumer {consumer['records_per_s']:,.0f} rec/s "
            f"({consumer['cpu_s_per_million_steady']} CPU s per million)")
        return {"producer": producer, "consumer": consumer}

    def fill_sink_topic(self, run: int, workload: str = "sink") -> str:
        """A sink workload's input: the input file's lines, in order,
        compressed as SINK_INPUT says."""
        codec, batch, linger = SINK_INPUT[workload]
        topic = self.new_topic(f"bench-{self.id}-r{run}-{workload}-input")
        t = time.monotonic()
        extra = ["--compression-codec", codec] if codec else []
        with open(self.input, "rb") as stdin:
            tool("org.apache.kafka.tools.ConsoleProducer",
                 ["--bootstrap-server", BOOTSTRAP, "--topic", topic, "--batch-size", batch, "--timeout", linger,
                  "--request-required-acks", "all", "--max-memory-bytes", 128 << 20, *extra],
                 self.classpath, "ConsoleProducer", timeout=self.deadline(2000), stdin=stdin)
        err, end = self.client.end_offset(topic)
        if err or end != self.n:
            raise BenchError(f"sink input topic {topic} holds {end} records (error {err}), expected {self.n}")
        log(f"run {run + 1}: sink input topic {topic} ({codec or 'uncompressed'}) filled with {end:,} records "
            f"in {time.monotonic() - t:.1f} s")
        return topic

    # -- one worker, one workload ----------------------------------------------

    def workload(self, system: str, workload: str, run: int, sink_topic: str) -> dict:
        tag = f"r{run}-{system}-{workload}"
        wdir = self.work / tag
        wdir.mkdir()
        port = free_port()
        worker = wdir / "worker.properties"
        write_props(worker, {**WORKER_SETTINGS, **self.worker_extra.get(system, {}),
                             "offset.storage.file.filename": wdir / "offsets",
                             "listeners": f"http://127.0.0.1:{port}"})
        name = f"bench-{self.id}-{tag}"
        conn = wdir / "connector.properties"
        if workload == "source":
            topic = self.new_topic(f"bench-{self.id}-{tag}")
            write_props(conn, {"name": name, "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                               "tasks.max": 1, "file": self.input, "topic": topic})
            progress: TopicProgress | FileProgress = TopicProgress(kafkawire.Client(BROKER_HOST, BROKER_PORT), topic)
            floor = 2000
        else:
            out = wdir / "sink.txt"
            write_props(conn, {"name": name, "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                               "tasks.max": 1, "file": out, "topics": sink_topic})
            progress = FileProgress(out)
            floor = 2000
        logf = wdir / f"{system}.log"
        log(f"run {run + 1}: {LABEL[system]}: {WORKLOAD_LABEL[workload]} ({self.n:,} records, REST :{port})")

        pid: int | None = None
        launcher = None
        pidfile = STATE / "connect" / str(port) / "connect.pid"
        bench_cpu0 = self_cpu()
        broker_cpu0 = proc_cpu(self.broker) if self.broker else None
        busy0 = host_busy_ticks()
        with open(logf, "wb") as lf:
            if system != "connect":
                t0 = now()
                proc = REAPER.spawn([self.binaries[system], "standalone", worker, conn], stdout=lf,
                                    stderr=subprocess.STDOUT)
                pid = proc.pid
            else:
                pidfile.unlink(missing_ok=True)
                t_launch = now()
                launcher = REAPER.spawn([DEPLOY / "connect.sh", "start", worker, conn], stdout=lf,
                                        stderr=subprocess.STDOUT)
                REAPER.connect_workers.append((worker, pidfile, None))
                proc = None
                t0 = t_launch
        connect_log = STATE / "connect" / str(port) / "connect.log"
        log_for_errors = logf if system != "connect" else connect_log

        def check_alive(phase: str) -> None:
            if system != "connect":
                if proc.poll() is not None:
                    raise BenchError(f"{tag}: ferry exited (code {proc.returncode}) {phase}; "
                                     f"last lines of {logf}:\n{tail(logf)}")
            else:
                if launcher.poll() not in (None, 0):
                    raise BenchError(f"{tag}: connect.sh start failed (exit {launcher.returncode}) {phase}:\n"
                                     f"{tail(logf)}\n--- {connect_log}:\n{tail(connect_log)}")
                if pid is not None and not alive(pid):
                    raise BenchError(f"{tag}: Kafka Connect (pid {pid}) exited {phase}; "
                                     f"last lines of {connect_log}:\n{tail(connect_log)}")

        def find_connect_pid() -> int | None:
            try:
                p = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                return None
            if not alive(p) or proc_start(p) < t_launch - 0.05:
                return None
            return p

        try:
            # 1. Start-up: GET / every 2 ms until it answers 200.
            limit = now() + 180
            while True:
                if system == "connect" and pid is None:
                    pid = find_connect_pid()
                    if pid is not None:
                        t0 = proc_start(pid)
                        REAPER.connect_workers[-1] = (worker, pidfile, pid)
                code = rest_root(port)
                if code == 200:
                    t_rest = now()
                    break
                check_alive("before its REST API answered")
                if now() > limit:
                    raise BenchError(f"{tag}: GET / did not answer 200 within 180 s; see {log_for_errors}")
                # Kafka Connect's listener answers 404 for a while before its
                # resources are up: do not hammer it meanwhile.
                time.sleep(REST_POLL_S if code == 0 else REST_POLL_BUSY_S)
            if system == "connect" and pid is None:
                deadline = now() + 10
                while (pid := find_connect_pid()) is None:
                    if now() > deadline:
                        raise BenchError(f"{tag}: REST answers but no live pid in {pidfile}")
                    time.sleep(0.01)
                t0 = proc_start(pid)
                REAPER.connect_workers[-1] = (worker, pidfile, pid)
            bench_cpu_startup = self_cpu() - bench_cpu0

            # 2. Connector and task RUNNING.
            limit = now() + 120
            while True:
                r = http_get(port, f"/connectors/{name}/status", timeout=2.0)
                if r and r[0] == 200:
                    st = json.loads(r[1])
                    states = [st["connector"]["state"]] + [t["state"] for t in st.get("tasks", [])]
                    if "FAILED" in states:
                        raise BenchError(f"{tag}: connector failed: {json.dumps(st)[:3000]}")
                    if len(states) > 1 and all(s == "RUNNING" for s in states):
                        t_running = now()
                        break
                check_alive("before the connector was RUNNING")
                if now() > limit:
                    raise BenchError(f"{tag}: connector {name} not RUNNING within 120 s "
                                     f"(last answer: {r!r:.300}); see {log_for_errors}")
                time.sleep(STATUS_POLL_S)

            # 3. Progress until every record is delivered.
            samples: list[list[float]] = []
            cpus: list[float] = []
            poll_cpu0 = self_cpu()
            limit_s = self.deadline(floor)
            limit = now() + limit_s
            last, t_last = -1, now()
            next_tick = now()
            while True:
                c = progress.count()
                t = now()
                samples.append([round(t - t0, 3), c])
                try:
                    cpus.append(proc_cpu(pid))
                except OSError:  # gone: check_alive() says so below
                    cpus.append(cpus[-1] if cpus else 0.0)
                if c >= self.n:
                    t_done = t
                    break
                if c != last:
                    last, t_last = c, t
                check_alive(f"with {c:,}/{self.n:,} records delivered")
                if t > limit:
                    raise BenchError(f"{tag}: only {c:,}/{self.n:,} records after {limit_s:.0f} s "
                                     f"(no progress for {t - t_last:.1f} s); see {log_for_errors}")
                next_tick += PROGRESS_POLL_S
                time.sleep(max(0.0, next_tick - now()))
            bench_cpu_polling = self_cpu() - poll_cpu0

            # 4. Worker CPU and memory, before stopping it.
            cpu = proc_cpu(pid)
            hwm = proc_status_kib(pid, "VmHWM")
            rss = proc_status_kib(pid, "VmRSS")
            threads = proc_status_kib(pid, "Threads")
            broker_cpu = (proc_cpu(self.broker) - broker_cpu0) if self.broker else None
            busy1 = host_busy_ticks()
            bench_cpu_total = self_cpu() - bench_cpu0
        finally:
            if isinstance(progress, FileProgress):
                progress.close()
            else:
                progress.client.close()
            # 5. Stop.
            t_stop = now()
            if system != "connect":
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        log(f"{tag}: ferry did not stop within 30 s of SIGTERM; killing it")
                        REAPER.kill(proc)
                REAPER.forget(proc)
            else:
                REAPER.stop_connect(worker, pidfile, pid)
                REAPER.connect_workers = [w for w in REAPER.connect_workers if w[0] != worker]
                if launcher.poll() is None:
                    try:
                        launcher.wait(10)
                    except subprocess.TimeoutExpired:
                        REAPER.kill(launcher)
                REAPER.forget(launcher)
                if connect_log.exists():
                    shutil.copy(connect_log, wdir / "connect.log")
            stop_s = now() - t_stop

        # 6. Everything arrived, exactly once and in order?
        if workload == "source":
            err, delivered = self.client.end_offset(topic)
            verified = err == 0 and delivered == self.n
            detail = f"topic end offset {delivered:,}"
        else:
            sha, delivered = sha256_file(out)
            verified = sha == self.input_sha
            detail = f"{delivered:,} lines, {'identical to' if verified else 'DIFFERENT from'} the input"
            if not self.args.keep:
                out.unlink()

        busy_cores = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * (os.cpu_count() or 1)
        elapsed = t_done - t0
        res = {
            "system": system, "workload": workload, "run": run, "records": self.n, "pid": pid,
            "rest_port": port,
            "startup_ms": round((t_rest - t0) * 1000, 1),
            "running_ms": round((t_running - t0) * 1000, 1),
            "done_s": round(elapsed, 3),
            "records_per_s": round(self.n / elapsed, 1),
            "records_per_s_from_running": round(self.n / max(1e-9, t_done - t_running), 1),
            "cpu_s": round(cpu, 2),
            "cpu_s_per_million": round(cpu / self.n * 1e6, 3),
            **steady_figures(samples, cpus, self.n),
            "rss_peak_mib": round(hwm / 1024, 1),
            "rss_end_mib": round(rss / 1024, 1),
            "threads": threads,
            "stop_s": round(stop_s, 3),
            "first_record_s": first_record(samples),
            "longest_pause_s": longest_pause(samples, self.n),
            "broker_cpu_s": round(broker_cpu, 2) if broker_cpu is not None else None,
            "host_busy_cores": round(busy_cores, 2),
            "bench_cpu_s": {"startup_polling": round(bench_cpu_startup, 3),
                            "progress_polling": round(bench_cpu_polling, 3),
                            "total": round(bench_cpu_total, 3)},
            "progress_polls": progress.requests,
            "delivered_after_stop": delivered,
            "verified": verified,
            "verification": detail,
            "progress": changes_only(samples),
        }
        if system == "connect":
            res["process_start_resolution_ms"] = 1000 / CLK_TCK
        log(f"run {run + 1}: {LABEL[system]} {workload}: {res['records_per_s']:,.0f} rec/s "
            f"({res['records_per_s_from_running']:,.0f} from RUNNING, {fmt_int(res['records_per_s_steady'])} "
            f"first to last record at {fmt(res['cpu_s_per_million_steady'], 3)} CPU s per million), "
            f"done {elapsed:.2f} s, "
            f"CPU {cpu:.2f} s, peak RSS {res['rss_peak_mib']} MiB, REST after {res['startup_ms']} ms; "
            f"{detail}")
        if not verified:
            msg = f"{tag}: delivery check failed: {detail}"
            if self.args.smoke:
                raise BenchError(msg)
            log("WARNING: " + msg)
        return res

    # -- one full run ---------------------------------------------------------

    def one_run(self, run: int) -> dict:
        result: dict = {"run": run}
        try:
            result["broker"] = self.broker_limit(run)
            sink_topics = {}
            for wl in self.args.workloads:
                if wl.startswith("sink"):
                    sink_topics[wl] = self.fill_sink_topic(run, wl)
                    if SINK_INPUT[wl][0]:
                        # The limit of a compressed row: the consumer tool on
                        # that very topic.
                        result["broker"][f"consumer-{wl}"] = self.consumer_performance(
                            sink_topics[wl], run, SINK_INPUT[wl][0])
            # Alternate who goes first so neither always gets the cooler machine.
            order = SYSTEMS if run % 2 == 0 else tuple(reversed(SYSTEMS))
            result["order"] = list(order)
            for wl in self.args.workloads:
                for system in order:
                    result.setdefault(system, {})[wl] = self.workload(system, wl, run, sink_topics.get(wl, ""))
        finally:
            self.drop_topics()
        return result


# ---------------------------------------------------------------- summary

def median(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


METRICS = ("records_per_s", "records_per_s_from_running", "records_per_s_steady", "cpu_s", "cpu_s_per_million",
           "cpu_s_per_million_steady", "rss_peak_mib", "startup_ms", "running_ms", "first_record_s", "done_s",
           "longest_pause_s", "stop_s", "broker_cpu_s")
RATIOS = ("records_per_s", "records_per_s_from_running", "records_per_s_steady", "cpu_s", "cpu_s_per_million",
          "cpu_s_per_million_steady", "rss_peak_mib", "startup_ms")
LIMIT_METRICS = ("records_per_s", "records_per_s_steady", "cpu_s_per_million", "cpu_s_per_million_steady")


def limit_key(wl: str) -> str:
    """Which broker tool run is the limit of a workload (a key of a run's "broker")."""
    return "producer" if wl == "source" else "consumer" if wl == "sink" else f"consumer-{wl}"


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def medians(runs: list[dict], workloads: tuple[str, ...] = WORKLOADS) -> dict:
    m: dict = {"broker": {
        "producer_records_per_s": median([r["broker"]["producer"]["records_per_s"] for r in runs]),
        "consumer_records_per_s": median([r["broker"]["consumer"]["records_per_s"] for r in runs]),
        "consumer_records_per_s_incl_group_join":
            median([r["broker"]["consumer"]["records_per_s_incl_group_join"] for r in runs]),
    }}
    for wl in workloads:
        tool_runs = [r["broker"][limit_key(wl)] for r in runs]
        lim = {k: median([t.get(k) for t in tool_runs]) for k in LIMIT_METRICS}
        # The consumer tool's records/s already leave out its group join:
        # they are its steady state.
        if lim["records_per_s_steady"] is None:
            lim["records_per_s_steady"] = lim["records_per_s"]
        m["broker"].setdefault("limits", {})[wl] = {"tool": limit_key(wl), **lim}
    for system in SYSTEMS:
        for wl in workloads:
            m.setdefault(system, {})[wl] = {k: median([r[system][wl].get(k) for r in runs]) for k in METRICS}
    for wl in workloads:
        lim = m["broker"]["limits"][wl]
        f, c = m["ferry"][wl], m["connect"][wl]
        m.setdefault("ratio_ferry_to_connect", {})[wl] = {k: ratio(f[k], c[k]) for k in RATIOS}
        m.setdefault("share_of_broker_limit", {})[wl] = {
            s: {"from_start": ratio(m[s][wl]["records_per_s"], lim["records_per_s"]),
                "from_running": ratio(m[s][wl]["records_per_s_from_running"], lim["records_per_s"]),
                "steady": ratio(m[s][wl]["records_per_s_steady"], lim["records_per_s_steady"]),
                "cpu_per_record_steady": ratio(m[s][wl]["cpu_s_per_million_steady"],
                                               lim["cpu_s_per_million_steady"])}
            for s in SYSTEMS}
    return m


def machine_info() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = proc_meminfo("MemTotal")
    try:
        jv = subprocess.run([java(), "-version"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=30).stderr.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        jv = []
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem_kib / 1024 ** 2, 1),
            "kernel": platform.release(), "os": platform.platform(), "java": jv[0] if jv else "",
            "python": platform.python_version(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def proc_meminfo(key: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, stdin=subprocess.DEVNULL).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates", "connectors",
                                "Cargo.lock"], capture_output=True, text=True, timeout=10,
                               stdin=subprocess.DEVNULL).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def fmt_int(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 10:
        return f"{x:.0f}x"
    if x >= 0.1:
        return f"{x:.2f}x"
    return f"{x:.2g}x"


def fmt_pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def table(doc: dict) -> str:
    m, mi, a = doc["medians"], doc["machine"], doc["args"]
    out = []
    out.append(f"Ferry vs Apache Kafka Connect {KAFKA_VERSION} standalone: {a['records']:,} records of "
               f"{RECORD_BYTES} B, StringConverter, median of {a['runs']} run(s)")
    out.append(f"machine: {mi['nproc']} CPUs ({mi['cpu_model']}), {mi['memory_gib']} GiB RAM, "
               f"Linux {mi['kernel']}, load average at start {mi['loadavg_at_start'][0]}")
    out.append(f"broker limit (Kafka's own tools, same jars): producer {fmt_int(m['broker']['producer_records_per_s'])}"
               f" rec/s, consumer {fmt_int(m['broker']['consumer_records_per_s'])} rec/s "
               f"({fmt_int(m['broker']['consumer_records_per_s_incl_group_join'])} incl. group join)")
    rows = [
        ("records/s, process start -> done", "records_per_s", fmt_int, True),
        ("records/s, connector RUNNING -> done", "records_per_s_from_running", fmt_int, True),
        ("records/s, first -> last record", "records_per_s_steady", fmt_int, True),
        ("CPU seconds (worker process)", "cpu_s", fmt, True),
        ("CPU s per 1M records, whole process", "cpu_s_per_million", fmt, True),
        ("CPU s per 1M records, first -> last", "cpu_s_per_million_steady", lambda x: fmt(x, 3), True),
        ("peak RSS, MiB (VmHWM)", "rss_peak_mib", lambda x: fmt(x, 1), True),
        ("start -> REST GET / answers, ms", "startup_ms", lambda x: fmt(x, 1), True),
        ("start -> connector RUNNING, ms", "running_ms", lambda x: fmt(x, 1), False),
        ("start -> first record delivered, s", "first_record_s", fmt, False),
        ("start -> last record delivered, s", "done_s", fmt, False),
        ("longest pause in delivery, s", "longest_pause_s", fmt, False),
    ]
    # The broker tool's figure beside the workers' where there is one.
    limit_rows = {"records_per_s_steady": "records_per_s_steady",
                  "cpu_s_per_million": "cpu_s_per_million", "cpu_s_per_million_steady": "cpu_s_per_million_steady"}
    w0, w = 38, 15
    for wl in a.get("workloads", WORKLOADS):
        lim = m["broker"]["limits"][wl]
        tool_name = "perf producer" if lim["tool"] == "producer" else "perf consumer"
        out.append("")
        out.append(f"{WORKLOAD_LABEL[wl]:<{w0}}{'Ferry':>{w}}{'Kafka Connect':>{w}}{'Ferry/KC':>{w}}{tool_name:>{w}}")
        for label, key, f, with_ratio in rows:
            fv, cv = m["ferry"][wl][key], m["connect"][wl][key]
            r = m["ratio_ferry_to_connect"][wl].get(key) if with_ratio else None
            lv = f(lim[limit_rows[key]]) if key in limit_rows else ""
            out.append(f"  {label:<{w0 - 2}}{f(fv):>{w}}{f(cv):>{w}}{(fmt_ratio(r) if with_ratio else ''):>{w}}"
                       f"{lv:>{w}}")
        sh = m["share_of_broker_limit"][wl]
        for basis, lab in (("from_start", "from start"), ("from_running", "from RUNNING"),
                           ("steady", "first -> last")):
            out.append(f"  {'share of limit, ' + lab:<{w0 - 2}}{fmt_pct(sh['ferry'][basis]):>{w}}"
                       f"{fmt_pct(sh['connect'][basis]):>{w}}")
        out.append(f"  {'CPU per record vs the tool, steady':<{w0 - 2}}"
                   f"{fmt_ratio(sh['ferry']['cpu_per_record_steady']):>{w}}"
                   f"{fmt_ratio(sh['connect']['cpu_per_record_steady']):>{w}}")
    po = doc.get("polling_overhead") or {}
    if po:
        out.append("")
        out.append(f"progress polling every {po['interval_ms']:.0f} ms: ListOffsets round trip "
                   f"{po['mean_round_trip_ms']} ms, CPU per request broker {po['broker_cpu_us_per_request']} us "
                   f"+ benchmark {po['bench_cpu_us_per_request']} us = {po['cpu_ms_per_s_of_polling']} ms CPU "
                   f"per second ({po['share_of_one_core'] * 100:.2f}% of one core)")
    return "\n".join(out)


def sanity(doc: dict) -> list[str]:
    problems = []
    for r in doc["runs"]:
        for k in ("producer", "consumer"):
            if not r["broker"][k]["records_per_s"] > 0:
                problems.append(f"run {r['run']}: broker {k} limit not positive")
        for s in SYSTEMS:
            for wl in doc["args"]["workloads"]:
                x = r[s][wl]
                if not x["verified"]:
                    problems.append(f"run {r['run']} {s} {wl}: {x['verification']}")
                for k in ("records_per_s", "records_per_s_from_running", "rss_peak_mib", "startup_ms",
                          "running_ms", "done_s"):
                    if not (isinstance(x[k], (int, float)) and x[k] > 0):
                        problems.append(f"run {r['run']} {s} {wl}: {k}={x[k]!r} is not positive")
                # CPU time is counted in clock ticks (10 ms): a short smoke run can honestly read 0.
                if not (isinstance(x["cpu_s"], (int, float)) and x["cpu_s"] >= 0):
                    problems.append(f"run {r['run']} {s} {wl}: cpu_s={x['cpu_s']!r} is not a CPU time")
                if x["startup_ms"] > x["running_ms"] + 1 or x["running_ms"] > x["done_s"] * 1000 + 1:
                    problems.append(f"run {r['run']} {s} {wl}: start-up, RUNNING, done out of order")
                # The steady state needs a progress sample that saw some records
                # but not all, or one that saw none right before the one that saw all.
                for k in ("records_per_s_steady", "cpu_s_per_million_steady"):
                    if x.get(k) is None:
                        if not doc["args"]["smoke"]:
                            problems.append(f"run {r['run']} {s} {wl}: no steady-state window ({k})")
                    elif not x[k] >= 0 or (k == "records_per_s_steady" and not x[k] > 0):
                        problems.append(f"run {r['run']} {s} {wl}: {k}={x[k]!r} is not positive")
        for k, t in r["broker"].items():
            if t.get("cpu_s") is None or not t["cpu_s"] > 0:
                problems.append(f"run {r['run']}: broker tool {k}: no CPU time read")
    return problems


# ---------------------------------------------------------------- main

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=10_000_000, help="records per workload (default 10,000,000)")
    p.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported (default 3)")
    p.add_argument("--smoke", action="store_true",
                   help="10,000 records, 1 run, sanity assertions; writes results/smoke.{json,svg}")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help=f"comma-separated subset of {','.join(WORKLOADS)} (default all)")
    p.add_argument("--output", help="results name under bench/results (default latest, or smoke with --smoke)")
    p.add_argument("--keep", action="store_true", help="keep topics and output files for inspection")
    p.add_argument("--keep-broker", action="store_true",
                   help="leave the broker running even if this run had to start it")
    a = p.parse_args(argv)
    if a.smoke:
        a.records, a.runs = 10_000, 1
    if a.records < 1 or a.runs < 1:
        p.error("--records and --runs must be positive")
    asked = {w.strip() for w in a.workloads.split(",") if w.strip()}
    if not asked or asked - set(WORKLOADS):
        p.error(f"--workloads: choose from {','.join(WORKLOADS)}")
    a.workloads = tuple(w for w in WORKLOADS if w in asked)
    a.output = a.output or ("smoke" if a.smoke else "latest")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", a.output):
        p.error("--output must be a plain file name")
    return a


def on_signal(signum, _frame):
    log(f"interrupted by {signal.Signals(signum).name}; stopping everything this run started")
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    t_start = time.monotonic()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    bench = Bench(args)
    ok = False
    try:
        machine = machine_info()
        bench.setup()
        overhead = bench.polling_overhead()
        bench.drop_topics()
        log(f"polling overhead: {overhead}")
        runs = []
        for r in range(args.runs):
            runs.append(bench.one_run(r))
        doc = {
            "benchmark": "ferry-vs-kafka-connect",
            "started": started,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t_start, 1),
            "args": {"records": args.records, "runs": args.runs, "smoke": args.smoke,
                     "workloads": list(args.workloads)},
            "machine": {**machine, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "versions": {"kafka": KAFKA_VERSION, "ferry_git": git_rev(), "ferry_binary": str(bench.ferry),
                         "ferry_binary_built": dt.datetime.fromtimestamp(bench.ferry.stat().st_mtime,
                                                                         dt.timezone.utc).isoformat(timespec="seconds"),
                         "ferry_binary_given": bool(os.environ.get("FERRY_BIN"))},
            "setup": {
                "record_bytes": RECORD_BYTES, "input_sha256": bench.input_sha,
                "worker_properties": {**WORKER_SETTINGS, "listeners": "http://127.0.0.1:<free port>",
                                      "offset.storage.file.filename": "<fresh file>"},
                "source_connector": "org.apache.kafka.connect.file.FileStreamSourceConnector, tasks.max=1, "
                                    "new 1-partition topic",
                "sink_connector": "org.apache.kafka.connect.file.FileStreamSinkConnector, tasks.max=1, "
                                  "1-partition topic pre-filled with the input lines (ConsoleProducer)",
                "sink_input": {wl: {"compression.type": c or "none", "batch.size": b, "linger.ms": lg}
                               for wl, (c, b, lg) in SINK_INPUT.items()},
                "producer_performance": f"--num-records N --record-size {RECORD_BYTES} --throughput -1 "
                                        f"--command-property {' '.join(PRODUCER_PROPS)}",
                "consumer_performance": "--num-records N (limit = fetch.nMsg.sec)",
                "tool_jvm": TOOL_JVM,
                "connect_heap": os.environ.get("FERRY_CONNECT_HEAP_OPTS", "-Xms256m -Xmx1g (connect.sh default)"),
                "poll_ms": {"rest": REST_POLL_S * 1000, "rest_once_listening": REST_POLL_BUSY_S * 1000,
                            "status": STATUS_POLL_S * 1000,
                            "progress": PROGRESS_POLL_S * 1000},
                "work_dir": str(bench.work),
            },
            "polling_overhead": overhead,
            "runs": runs,
        }
        doc["medians"] = medians(runs, args.workloads)
        problems = sanity(doc)
        doc["sane"] = not problems
        results = BENCH / "results"
        results.mkdir(exist_ok=True)
        jpath, spath = results / f"{args.output}.json", results / f"{args.output}.svg"
        text = json.dumps(doc, indent=1)
        # One line per [time, count] progress sample.
        text = re.sub(r"\[\n\s+(-?[\d.e+-]+),\n\s+(-?\d+)\n\s+\]", r"[\1, \2]", text)
        jpath.write_text(text + "\n")
        spath.write_text(chart.render(doc))
        print(table(doc), flush=True)
        log(f"wrote {jpath.relative_to(ROOT)} and {spath.relative_to(ROOT)} "
            f"in {time.monotonic() - t_start:.0f} s")
        if problems:
            for pr in problems:
                log("FAILED: " + pr)
            return 1
        if not args.keep:
            bench.input.unlink(missing_ok=True)
        ok = True
        return 0
    except (BenchError, kafkawire.KafkaError) as e:
        log(f"error: {e}")
        return 1
    except OSError as e:
        log(f"error: {e!r} (is the broker at {BOOTSTRAP} still up?)")
        return 1
    finally:
        bench.drop_topics()
        REAPER.cleanup()
        bench.client.close()
        if not ok:
            log(f"logs and configs kept in {bench.work}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
