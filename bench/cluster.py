#!/usr/bin/env python3
"""A distributed cluster under many connectors: Ferry and Apache Kafka
Connect 4.3.1 side by side, in one run, on the same broker. Three workers
each; N FileStreamSource connectors created one after another through
random workers (a 409 is retried by the client and counted); then the
workers' CPU, threads and memory, status reads, a fourth worker joining and
a worker killed with SIGKILL. See bench/README.md ("Cluster").

    bench/cluster.sh [--connectors N] [--smoke] [--systems ferry,connect]

Standard library only; reuses bench.py's process and /proc helpers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402
import kafkawire  # noqa: E402

from bench import (  # noqa: E402
    BenchError, DEPLOY, REAPER, ROOT, STATE, TARGET, alive, fmt, fmt_int, fmt_ratio, free_port, git_rev,
    log, machine_info, now, proc_cpu, proc_start, proc_status_kib, rest_root, run_cmd, tail, write_props,
)

SYSTEMS = ("ferry", "connect")
LABEL = {"ferry": "Ferry", "connect": "Kafka Connect"}
WORKERS = 3
SEED = 20240611
SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
# Worker settings both systems get (listeners, group and topic names are
# filled in per cluster and worker). The group timings are Kafka Connect's
# defaults, written out because failover time follows from them:
# session.timeout.ms to notice the dead worker, then
# scheduled.rebalance.max.delay.ms before its work is reassigned.
WORKER_SETTINGS = {
    "bootstrap.servers": B.BOOTSTRAP,
    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    "config.storage.replication.factor": "1",
    "offset.storage.replication.factor": "1",
    "status.storage.replication.factor": "1",
    "offset.flush.interval.ms": "10000",
    "session.timeout.ms": "10000",
    "heartbeat.interval.ms": "3000",
    "rebalance.timeout.ms": "60000",
    "scheduled.rebalance.max.delay.ms": "10000",
}
RETRY_409_S = 0.1           # the client's pause before retrying a 409
STATUS_POLL_S = 0.25        # GET /connectors?expand=status while waiting
IDLE_WINDOW_S = 10.0        # CPU of the idle cluster, measured over this
HTTP_TIMEOUT_S = 120.0


def request(port: int, method: str, path: str, body: dict | None = None,
            timeout: float = HTTP_TIMEOUT_S) -> tuple[int, bytes]:
    """One HTTP request; (0, b"") when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def get_json(port: int, path: str, timeout: float = 30.0):
    code, body = request(port, "GET", path, timeout=timeout)
    if code != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def pct(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, -(-len(s) * p // 100))
    return s[int(k) - 1]


def mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.mean(xs) if xs else None


class Worker:
    """One worker process of either system."""

    def __init__(self, system: str, index: int, props: Path, port: int, logf: Path):
        self.system, self.index, self.props, self.port, self.logf = system, index, props, port, logf
        self.proc: subprocess.Popen | None = None      # ferry, or connect.sh start
        self.pid: int | None = None                    # ferry, or the JVM
        self.t_spawn = 0.0
        self.t_process = 0.0                           # process start (the JVM's for Kafka Connect)
        self.dead = False

    @property
    def worker_id(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return STATE / "connect" / str(self.port) / "connect.pid"

    @property
    def connect_log(self) -> Path:
        return STATE / "connect" / str(self.port) / "connect.log"

    def spawn(self, ferry_bin: Path) -> None:
        self.t_spawn = now()
        with open(self.logf, "wb") as lf:
            if self.system == "ferry":
                env = dict(os.environ, RUST_LOG=os.environ.get("FERRY_BENCH_LOG", "info"))
                self.proc = REAPER.spawn([ferry_bin, "distributed", self.props], stdout=lf,
                                         stderr=subprocess.STDOUT, env=env)
                self.pid = self.proc.pid
                self.t_process = self.t_spawn
            else:
                self.pidfile.unlink(missing_ok=True)
                self.proc = REAPER.spawn([DEPLOY / "connect.sh", "start", self.props], stdout=lf,
                                         stderr=subprocess.STDOUT)
                REAPER.connect_workers.append((self.props, self.pidfile, None))

    def find_pid(self) -> int | None:
        """The JVM's pid once connect.sh has started it."""
        if self.pid is not None:
            return self.pid
        try:
            p = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if not alive(p) or proc_start(p) < self.t_spawn - 0.05:
            return None
        self.pid = p
        self.t_process = proc_start(p)
        REAPER.connect_workers = [(w, f, p if w == self.props else q) for w, f, q in REAPER.connect_workers]
        return p

    def check_alive(self, phase: str) -> None:
        if self.dead:
            return
        if self.system == "ferry":
            if self.proc.poll() is not None:
                raise BenchError(f"ferry worker {self.index} exited (code {self.proc.returncode}) {phase}; "
                                 f"last lines of {self.logf}:\n{tail(self.logf)}")
        else:
            if self.proc.poll() not in (None, 0):
                raise BenchError(f"connect.sh start of worker {self.index} failed {phase}:\n{tail(self.logf)}\n"
                                 f"--- {self.connect_log}:\n{tail(self.connect_log)}")
            if self.pid is not None and not alive(self.pid):
                raise BenchError(f"Kafka Connect worker {self.index} exited {phase}; "
                                 f"last lines of {self.connect_log}:\n{tail(self.connect_log)}")

    def wait_rest(self, timeout: float = 180.0) -> float:
        """Waits until GET / answers 200; returns when (now() clock)."""
        limit = now() + timeout
        while True:
            if self.system == "connect":
                self.find_pid()
            if rest_root(self.port) == 200:
                t = now()
                break
            self.check_alive("before its REST API answered")
            if now() > limit:
                raise BenchError(f"{self.system} worker {self.index}: GET / not 200 within {timeout:.0f} s")
            time.sleep(0.01)
        if self.system == "connect":
            limit = now() + 10
            while self.find_pid() is None:
                if now() > limit:
                    raise BenchError(f"Kafka Connect worker {self.index}: REST answers but no pid in {self.pidfile}")
                time.sleep(0.01)
        return t

    def wait_healthy(self, timeout: float = 180.0) -> float:
        """Waits until GET /health answers 200 (the worker joined its group)."""
        limit = now() + timeout
        while True:
            code, _ = request(self.port, "GET", "/health", timeout=5.0)
            if code == 200:
                return now()
            self.check_alive("before it joined its group")
            if now() > limit:
                raise BenchError(f"{self.system} worker {self.index}: /health not 200 within {timeout:.0f} s")
            time.sleep(0.05)

    def usage(self) -> dict:
        """CPU seconds, threads and memory of the process now."""
        pid = self.pid
        return {"cpu_s": round(proc_cpu(pid), 2), "threads": proc_status_kib(pid, "Threads"),
                "rss_mib": round(proc_status_kib(pid, "VmRSS") / 1024, 1),
                "rss_peak_mib": round(proc_status_kib(pid, "VmHWM") / 1024, 1)}

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.dead = True

    def stop(self) -> None:
        """Not measured: SIGKILL for speed, then connect.sh's own clean-up."""
        if self.system == "ferry":
            if self.proc is not None:
                REAPER.kill(self.proc, grace=10.0)
                REAPER.forget(self.proc)
        else:
            if self.pid and alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
            REAPER.stop_connect(self.props, self.pidfile, self.pid)
            REAPER.connect_workers = [w for w in REAPER.connect_workers if w[0] != self.props]
            if self.proc is not None:
                REAPER.kill(self.proc)
                REAPER.forget(self.proc)
            if self.connect_log.exists():
                self.logf.with_suffix(".connect.log").write_bytes(self.connect_log.read_bytes())


class ClusterBench:
    """One system's cluster through every phase."""

    def __init__(self, system: str, ctx: "Run"):
        self.system, self.ctx = system, ctx
        self.n = ctx.args.connectors
        self.name = f"bench-cluster-{ctx.id}-{system}"
        self.dir = ctx.work / system
        self.dir.mkdir(parents=True)
        self.topic = f"{self.name}-data"
        self.workers: list[Worker] = []
        self.res: dict = {"system": system}

    def internal_topics(self) -> list[str]:
        return [f"{self.name}-{t}" for t in ("configs", "offsets", "status")]

    def new_worker(self) -> Worker:
        i = len(self.workers)
        port = free_port()
        props = self.dir / f"w{i}.properties"
        write_props(props, {**WORKER_SETTINGS, "listeners": f"http://127.0.0.1:{port}", "group.id": self.name,
                            "config.storage.topic": f"{self.name}-configs",
                            "offset.storage.topic": f"{self.name}-offsets",
                            "status.storage.topic": f"{self.name}-status"})
        w = Worker(self.system, i, props, port, self.dir / f"w{i}.log")
        self.workers.append(w)
        return w

    def live(self) -> list[Worker]:
        return [w for w in self.workers if not w.dead]

    def check_alive(self, phase: str) -> None:
        for w in self.live():
            w.check_alive(phase)

    def statuses(self, via: Worker) -> dict | None:
        return get_json(via.port, "/connectors?expand=status", timeout=60.0)

    def summary(self, st: dict) -> dict:
        """Connectors, how many of them and of their tasks are RUNNING, and
        the work (connectors + tasks) per worker id."""
        running, total, per_worker = 0, 0, {}
        for v in st.values():
            s = v.get("status") or {}
            items = [s.get("connector") or {}] + list(s.get("tasks") or [])
            if len(items) < 2:      # no task yet
                total += 1
            for it in items:
                total += 1
                running += it.get("state") == "RUNNING"
                wid = it.get("worker_id")
                per_worker[wid] = per_worker.get(wid, 0) + 1
        return {"connectors": len(st), "items": total, "running": running, "per_worker": per_worker}

    def wait_states(self, what: str, done, timeout: float) -> tuple[float, dict]:
        """Polls every connector's status through a live worker until
        done(summary) holds; returns (when, summary)."""
        limit = now() + timeout
        last = None
        while True:
            via = self.live()[0]
            st = self.statuses(via)
            if st is not None:
                last = self.summary(st)
                if done(last):
                    return now(), last
            self.check_alive(f"while waiting for {what}")
            if now() > limit:
                raise BenchError(f"{self.system}: {what} not reached within {timeout:.0f} s (last: {last})")
            time.sleep(STATUS_POLL_S)

    def all_running(self, s: dict) -> bool:
        return s["connectors"] == self.n and s["items"] == 2 * self.n and s["running"] == 2 * self.n

    # -- phases -----------------------------------------------------------------

    def start(self) -> None:
        log(f"{LABEL[self.system]}: starting {WORKERS} workers")
        for _ in range(WORKERS):
            self.new_worker().spawn(self.ctx.ferry)
        t0 = min(w.t_spawn for w in self.workers)
        for w in self.workers:
            w.wait_rest()
        healthy = max(w.wait_healthy() for w in self.workers)
        self.res["startup"] = {"all_healthy_s": round(healthy - t0, 2),
                               "process_to_rest_s": [round(w.t_process - w.t_spawn, 2) for w in self.workers]}
        self.res["usage_at_start"] = [w.usage() for w in self.workers]
        log(f"{LABEL[self.system]}: {WORKERS} workers in the group after {healthy - t0:.1f} s")

    def create_all(self) -> None:
        rng = random.Random(SEED)
        latencies, first_attempts, conflicts, per_create = [], [], 0, []
        cpu0 = [proc_cpu(w.pid) for w in self.workers]
        log(f"{LABEL[self.system]}: creating {self.n} connectors through random workers")
        t_begin = now()
        for k in range(self.n):
            name = f"{self.name}-{k:04d}"
            src = self.dir / f"{k:04d}.in"
            src.write_text("one\ntwo\nthree\n")
            body = {"name": name, "config": {"connector.class": SOURCE, "tasks.max": "1", "file": str(src),
                                              "topic": self.topic}}
            w = self.workers[rng.randrange(WORKERS)]
            t0 = now()
            tries = 0
            while True:
                tries += 1
                ta = now()
                code, text = request(w.port, "POST", "/connectors", body)
                if tries == 1:
                    first_attempts.append(now() - ta)
                if code == 201:
                    break
                if code == 409 and now() - t0 < HTTP_TIMEOUT_S:
                    conflicts += 1
                    time.sleep(RETRY_409_S)
                    continue
                w.check_alive("during the creates")
                raise BenchError(f"{self.system}: creating {name} through worker {w.index}: {code} "
                                 f"{text[:500]!r}")
            lat = now() - t0
            latencies.append(lat)
            per_create.append([round(t0 - t_begin, 3), w.index, round(lat * 1000, 1), tries - 1])
            if (k + 1) % 50 == 0:
                log(f"{LABEL[self.system]}: {k + 1} created, {conflicts} 409s so far, last took {lat * 1000:.0f} ms")
        t_created = now()
        t_running, s = self.wait_states("every connector and task RUNNING", self.all_running, 600)
        cpu1 = [proc_cpu(w.pid) for w in self.workers]
        self.res["creates"] = {
            "connectors": self.n, "seed": SEED,
            "time_to_create_s": round(t_created - t_begin, 2),
            "created_to_all_running_s": round(t_running - t_created, 2),
            "latency_ms_p50": round(pct(latencies, 50) * 1000, 1),
            "latency_ms_p99": round(pct(latencies, 99) * 1000, 1),
            "latency_ms_max": round(max(latencies) * 1000, 1),
            "first_attempt_ms_p50": round(pct(first_attempts, 50) * 1000, 1),
            "conflicts_409": conflicts,
            "creates_that_saw_409": sum(1 for c in per_create if c[3]),
            "worker_cpu_s_during_creates": [round(b - a, 2) for a, b in zip(cpu0, cpu1)],
            "per_create": per_create,
            "work_per_worker": s["per_worker"],
        }
        log(f"{LABEL[self.system]}: {self.n} created in {t_created - t_begin:.1f} s "
            f"(p50 {self.res['creates']['latency_ms_p50']} ms, {conflicts} 409s), all RUNNING "
            f"{t_running - t_created:.1f} s later")

    def idle_and_reads(self) -> None:
        cpu0, t0 = [proc_cpu(w.pid) for w in self.workers], now()
        time.sleep(IDLE_WINDOW_S)
        cpu1, t1 = [proc_cpu(w.pid) for w in self.workers], now()
        self.res["usage_after_creates"] = [w.usage() for w in self.workers]
        self.res["idle_cpu_share_of_core"] = [round((b - a) / (t1 - t0), 3) for a, b in zip(cpu0, cpu1)]
        rng = random.Random(SEED + 1)
        lat = []
        for _ in range(max(100, self.n)):
            k = rng.randrange(self.n)
            w = self.workers[rng.randrange(WORKERS)]
            t = now()
            code, _ = request(w.port, "GET", f"/connectors/{self.name}-{k:04d}/status")
            lat.append(now() - t)
            if code != 200:
                raise BenchError(f"{self.system}: status of connector {k} through worker {w.index}: {code}")
        expand = []
        for i in range(20):
            w = self.workers[i % WORKERS]
            t = now()
            if self.statuses(w) is None:
                raise BenchError(f"{self.system}: GET /connectors?expand=status through worker {w.index} failed")
            expand.append(now() - t)
        self.res["reads"] = {"status_get_ms_p50": round(pct(lat, 50) * 1000, 2),
                             "status_get_ms_p99": round(pct(lat, 99) * 1000, 2),
                             "status_gets": len(lat),
                             "expand_status_ms_p50": round(pct(expand, 50) * 1000, 1),
                             "expand_status_ms_max": round(max(expand) * 1000, 1)}

    def join(self) -> None:
        log(f"{LABEL[self.system]}: a fourth worker joins")
        w = self.new_worker()
        w.spawn(self.ctx.ferry)
        t_rest = w.wait_rest()
        wid = w.worker_id

        def done(s: dict) -> bool:
            return self.all_running(s) and s["per_worker"].get(wid, 0) > 0

        t_done, s = self.wait_states("work RUNNING on the fourth worker, everything RUNNING", done, 300)
        # Then until the distribution stops changing (3 s unchanged).
        settled_at, last, t_last_change = t_done, s["per_worker"], t_done
        limit = now() + 60
        while now() < limit and now() - t_last_change < 3.0:
            time.sleep(0.5)
            st = self.statuses(self.workers[0])
            if st is None:
                continue
            cur = self.summary(st)
            if cur["per_worker"] != last or not self.all_running(cur):
                last, t_last_change = cur["per_worker"], now()
                settled_at = now()
        self.res["join"] = {
            "process_to_rest_s": round(t_rest - w.t_process, 2),
            "process_to_running_with_work_s": round(t_done - w.t_process, 2),
            "rest_to_running_with_work_s": round(t_done - t_rest, 2),
            "process_to_settled_s": round(settled_at - w.t_process, 2),
            "new_worker_share": s["per_worker"].get(wid, 0),
            "settled_work_per_worker": last,
        }
        log(f"{LABEL[self.system]}: fourth worker runs {s['per_worker'].get(wid, 0)} of {2 * self.n} "
            f"connectors+tasks, {t_done - w.t_process:.1f} s after its process started")

    def failover(self) -> None:
        victim = self.workers[1]
        st = self.statuses(self.workers[0]) or {}
        had = self.summary(st)["per_worker"].get(victim.worker_id, 0)
        log(f"{LABEL[self.system]}: SIGKILL of worker 1 (running {had} connectors+tasks)")
        t_kill = now()
        victim.kill9()
        vid = victim.worker_id

        def done(s: dict) -> bool:
            return self.all_running(s) and s["per_worker"].get(vid, 0) == 0

        t_done, s = self.wait_states("the killed worker's work RUNNING elsewhere", done, 300)
        self.res["failover"] = {"killed_worker_work": had, "kill_to_all_running_elsewhere_s": round(t_done - t_kill, 2),
                                "work_per_worker": s["per_worker"]}
        log(f"{LABEL[self.system]}: its work RUNNING elsewhere {t_done - t_kill:.1f} s after the SIGKILL")

    def stop(self) -> None:
        for w in self.workers:
            try:
                w.stop()
            except (OSError, BenchError) as e:
                log(f"{self.system} worker {w.index}: stop: {e}")

    def run(self) -> dict:
        self.ctx.client.create_topic(self.topic, partitions=3, replication=1)
        self.ctx.topics.append(self.topic)
        self.ctx.topics.extend(self.internal_topics())
        try:
            self.start()
            self.create_all()
            self.idle_and_reads()
            self.join()
            self.failover()
        finally:
            self.stop()
        return self.res


class Run:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.id = dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.work = STATE / "bench" / f"cluster-{self.id}"
        self.client = kafkawire.Client(B.BROKER_HOST, B.BROKER_PORT)
        self.ferry = Path(os.environ["FERRY_BIN"]) if os.environ.get("FERRY_BIN") else TARGET / "release" / "ferry"
        self.topics: list[str] = []

    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        was_running = subprocess.run([str(DEPLOY / "kafka.sh"), "status"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if not was_running:
            log("starting the local broker (deploy/local/up.sh)")
            REAPER.stop_broker = not self.args.keep_broker
            run_cmd([DEPLOY / "up.sh"], "deploy/local/up.sh", timeout=1200, capture=False)
        if "ferry" in self.args.systems and not os.environ.get("FERRY_BIN"):
            log("building ferry (release)")
            env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET), CARGO_TERM_COLOR="never")
            run_cmd(["cargo", "build", "--release", "--locked", "-p", "ferry"], "cargo build --release",
                    timeout=3600, capture=False, env=env)
        if "ferry" in self.args.systems and not os.access(self.ferry, os.X_OK):
            raise BenchError(f"no ferry binary at {self.ferry}")
        if "connect" in self.args.systems:
            # Resolves (and caches) Kafka Connect's jars before any clock starts.
            run_cmd([DEPLOY / "kafka.sh", "classpath"], "kafka.sh classpath", timeout=1200)

    def drop_topics(self) -> None:
        if self.args.keep or not self.topics:
            return
        try:
            self.client.delete_topics(self.topics)
        except (OSError, kafkawire.KafkaError) as e:
            log(f"could not delete topics {self.topics}: {e}")
        self.topics = []


# ---------------------------------------------------------------- report

ROWS = [
    # label, getter, format, ratio?
    ("3 workers: first spawn -> all in the group, s", lambda r: r["startup"]["all_healthy_s"], fmt, True),
    ("time to create all connectors, s", lambda r: r["creates"]["time_to_create_s"], fmt, True),
    ("create latency p50, ms (incl. retries)", lambda r: r["creates"]["latency_ms_p50"], lambda x: fmt(x, 1), True),
    ("create latency p99, ms (incl. retries)", lambda r: r["creates"]["latency_ms_p99"], lambda x: fmt(x, 1), True),
    ("create latency max, ms", lambda r: r["creates"]["latency_ms_max"], lambda x: fmt(x, 1), True),
    ("409 answers (retried)", lambda r: r["creates"]["conflicts_409"], fmt_int, False),
    ("last create -> all RUNNING, s", lambda r: r["creates"]["created_to_all_running_s"], fmt, True),
    ("CPU s per worker during creates (mean)", lambda r: mean(r["creates"]["worker_cpu_s_during_creates"]), fmt,
     True),
    ("CPU s per worker since start (mean)", lambda r: mean([u["cpu_s"] for u in r["usage_after_creates"]]), fmt,
     True),
    ("idle CPU per worker, % of a core", lambda r: mean([c * 100 for c in r["idle_cpu_share_of_core"]]), fmt,
     True),
    ("threads per worker (mean)", lambda r: mean([u["threads"] for u in r["usage_after_creates"]]), fmt_int,
     True),
    ("threads per worker (max)", lambda r: max(u["threads"] for u in r["usage_after_creates"]), fmt_int, True),
    ("RSS per worker, MiB (mean)", lambda r: mean([u["rss_mib"] for u in r["usage_after_creates"]]),
     lambda x: fmt(x, 1), True),
    ("RSS per worker, MiB (max)", lambda r: max(u["rss_mib"] for u in r["usage_after_creates"]),
     lambda x: fmt(x, 1), True),
    ("status GET p50, ms", lambda r: r["reads"]["status_get_ms_p50"], fmt, True),
    ("status GET p99, ms", lambda r: r["reads"]["status_get_ms_p99"], fmt, True),
    ("GET /connectors?expand=status p50, ms", lambda r: r["reads"]["expand_status_ms_p50"], lambda x: fmt(x, 1),
     True),
    ("4th worker: process start -> REST up, s", lambda r: r["join"]["process_to_rest_s"], fmt, True),
    ("4th worker: start -> runs work, all RUNNING, s", lambda r: r["join"]["process_to_running_with_work_s"], fmt,
     True),
    ("4th worker: REST up -> runs work, s", lambda r: r["join"]["rest_to_running_with_work_s"], fmt, True),
    ("4th worker's share (connectors + tasks)", lambda r: r["join"]["new_worker_share"], fmt_int, False),
    ("SIGKILL of a worker -> its work RUNNING, s", lambda r: r["failover"]["kill_to_all_running_elsewhere_s"], fmt,
     True),
]


def value(res: dict | None, getter):
    if not res:
        return None
    try:
        return getter(res)
    except (KeyError, TypeError, ValueError):
        return None


def table(doc: dict) -> str:
    r = doc["results"]
    n = doc["args"]["connectors"]
    mi = doc["machine"]
    out = [f"Ferry vs Apache Kafka Connect {B.KAFKA_VERSION}, distributed: {WORKERS} workers, {n} FileStreamSource "
           f"connectors (1 task each) created one after another through random workers",
           f"machine: {mi['nproc']} CPUs ({mi['cpu_model']}), {mi['memory_gib']} GiB RAM, load average at start "
           f"{mi['loadavg_at_start'][0]}; session.timeout.ms=10000, heartbeat.interval.ms=3000, "
           f"scheduled.rebalance.max.delay.ms=10000 for both"]
    w0, w = 48, 15
    out.append(f"{'':<{w0}}{'Ferry':>{w}}{'Kafka Connect':>{w}}{'Ferry/KC':>{w}}")
    for label, getter, f, with_ratio in ROWS:
        fv, cv = value(r.get("ferry"), getter), value(r.get("connect"), getter)
        rt = fmt_ratio(fv / cv) if with_ratio and fv is not None and cv else ""
        out.append(f"{label:<{w0}}{f(fv):>{w}}{f(cv):>{w}}{rt:>{w}}")
    return "\n".join(out)


def sanity(doc: dict) -> list[str]:
    problems = []
    for s in doc["args"]["systems"]:
        r = doc["results"].get(s)
        if not r or "error" in r:
            problems.append(f"{s}: {r.get('error') if r else 'no result'}")
            continue
        for label, getter, _f, _ in ROWS:
            v = value(r, getter)
            if v is None or v < 0:
                problems.append(f"{s}: {label} = {v!r}")
        if not r["join"]["new_worker_share"] > 0:
            problems.append(f"{s}: the fourth worker got no work")
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/cluster.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--connectors", type=int, default=300, help="connectors to create (default 300)")
    p.add_argument("--smoke", action="store_true", help="20 connectors; writes results/cluster-smoke.json")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="ferry,connect (default both)")
    p.add_argument("--output", help="results name under bench/results (default cluster-latest, or cluster-smoke)")
    p.add_argument("--keep", action="store_true", help="keep topics for inspection")
    p.add_argument("--keep-broker", action="store_true", help="leave the broker running if this run started it")
    a = p.parse_args(argv)
    if a.smoke:
        a.connectors = 20
    if a.connectors < 1:
        p.error("--connectors must be positive")
    asked = {s.strip() for s in a.systems.split(",") if s.strip()}
    if not asked or asked - set(SYSTEMS):
        p.error(f"--systems: choose from {','.join(SYSTEMS)}")
    a.systems = tuple(s for s in SYSTEMS if s in asked)
    a.output = a.output or ("cluster-smoke" if a.smoke else "cluster-latest")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", a.output):
        p.error("--output must be a plain file name")
    return a


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, B.on_signal)
    t_start = time.monotonic()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    run = Run(args)
    results: dict = {}
    try:
        machine = machine_info()
        run.setup()
        for system in args.systems:
            try:
                results[system] = ClusterBench(system, run).run()
            except BenchError as e:
                log(f"{LABEL[system]}: error: {e}")
                results[system] = {"system": system, "error": str(e)}
            finally:
                run.drop_topics()
        doc = {
            "benchmark": "ferry-vs-kafka-connect-cluster",
            "started": started,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t_start, 1),
            "args": {"connectors": args.connectors, "smoke": args.smoke, "systems": list(args.systems)},
            "machine": {**machine, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "versions": {"kafka": B.KAFKA_VERSION, "ferry_git": git_rev(), "ferry_binary": str(run.ferry),
                         "ferry_binary_given": bool(os.environ.get("FERRY_BIN"))},
            "setup": {
                "workers": WORKERS, "worker_properties": {**WORKER_SETTINGS, "listeners": "http://127.0.0.1:<free port>",
                                                          "group.id": "<per cluster>",
                                                          "*.storage.topic": "<group>-configs|offsets|status"},
                "connector": f"{SOURCE}, tasks.max=1, a 3-line file each, one 3-partition topic per cluster",
                "create_client": f"POST /connectors through a random worker (seed {SEED}); on 409 wait "
                                 f"{RETRY_409_S * 1000:.0f} ms and retry; latency includes the retries",
                "connect_heap": os.environ.get("FERRY_CONNECT_HEAP_OPTS", "-Xms256m -Xmx1g (connect.sh default)"),
                "order": list(args.systems),
                "work_dir": str(run.work),
            },
            "results": results,
        }
        problems = sanity(doc)
        doc["sane"] = not problems
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        path = out / f"{args.output}.json"
        text = json.dumps(doc, indent=1)
        # Lists of plain values (one per create, for instance) on one line each.
        text = re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s+\]", lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text)
        path.write_text(text + "\n")
        print(table(doc), flush=True)
        log(f"wrote {path.relative_to(ROOT)} in {time.monotonic() - t_start:.0f} s")
        for pr in problems:
            log("FAILED: " + pr)
        return 1 if problems else 0
    except (BenchError, kafkawire.KafkaError) as e:
        log(f"error: {e}")
        return 1
    except OSError as e:
        log(f"error: {e!r} (is the broker at {B.BOOTSTRAP} still up?)")
        return 1
    finally:
        run.drop_topics()
        REAPER.cleanup()
        run.client.close()
        log(f"logs and configs in {run.work}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
