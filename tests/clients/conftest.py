"""A Ferry standalone worker against the local Kafka broker, for client tests."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

BOOTSTRAP = os.environ.get("FERRY_TEST_BOOTSTRAP", "127.0.0.1:9092")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, timeout, check):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def ferry():
    """Yields (base_url, work_dir) of a running worker."""
    work = tempfile.mkdtemp(prefix="ferry-clients-")
    port = free_port()
    props = os.path.join(work, "worker.properties")
    with open(props, "w") as f:
        f.write(
            f"bootstrap.servers={BOOTSTRAP}\n"
            f"listeners=http://127.0.0.1:{port}\n"
            f"offset.storage.file.filename={work}/offsets\n"
            "offset.flush.interval.ms=1000\n"
        )
    log = open(os.path.join(work, "ferry.log"), "w")
    proc = subprocess.Popen(
        [os.environ["FERRY_BIN"], "standalone", props],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        assert proc.poll() is None, f"ferry exited: {open(log.name).read()}"
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for("ferry's REST API", 60, up)
    yield url, work
    proc.terminate()
    proc.wait(timeout=60)
    log.close()
