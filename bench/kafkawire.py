"""A tiny Kafka wire-protocol client (standard library only).

Just what the benchmark needs, without starting a JVM per call: create and
delete topics, and read a partition's end offset (high watermark) cheaply
enough to poll it every few tens of milliseconds. Only non-flexible request
versions that Kafka 4.x still serves are used (KIP-896 removed the oldest):
CreateTopics v4, DeleteTopics v3, ListOffsets v2.
"""

from __future__ import annotations

import socket
import struct
import time

API_LIST_OFFSETS = 2
API_CREATE_TOPICS = 19
API_DELETE_TOPICS = 20

ERR_NONE = 0
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_LEADER_NOT_AVAILABLE = 5
ERR_NOT_LEADER_OR_FOLLOWER = 6
ERR_TOPIC_ALREADY_EXISTS = 36
ERR_NOT_CONTROLLER = 41

# Errors a freshly created topic reports until its leader is known.
TRANSIENT = {ERR_UNKNOWN_TOPIC_OR_PARTITION, ERR_LEADER_NOT_AVAILABLE, ERR_NOT_LEADER_OR_FOLLOWER}


class KafkaError(Exception):
    pass


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class _Reader:
    def __init__(self, data: bytes):
        self.d = data
        self.i = 0

    def take(self, fmt: str):
        v = struct.unpack_from(fmt, self.d, self.i)
        self.i += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.i:self.i + n].decode()
        self.i += n
        return s


class Client:
    """One connection to one broker (the local single-node cluster)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, timeout: float = 10.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.correlation = 0

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _recv(self, n: int) -> bytes:
        assert self.sock is not None
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return bytes(buf)

    def request(self, api_key: int, version: int, body: bytes) -> _Reader:
        """Sends one request and returns a reader positioned after the
        response header. Reconnects once if the connection was lost."""
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.addr, timeout=self.timeout)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.correlation = (self.correlation + 1) & 0x7FFFFFFF
                header = struct.pack(">hhi", api_key, version, self.correlation) + _str("ferry-bench")
                msg = header + body
                self.sock.sendall(struct.pack(">i", len(msg)) + msg)
                size = struct.unpack(">i", self._recv(4))[0]
                data = self._recv(size)
                r = _Reader(data)
                if r.take(">i") != self.correlation:
                    raise KafkaError("correlation id mismatch")
                return r
            except (OSError, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # -- topics ---------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1, replication: int = 1,
                     timeout_ms: int = 30000) -> None:
        body = (struct.pack(">i", 1) + _str(name) + struct.pack(">ihii", partitions, replication, 0, 0)
                + struct.pack(">ib", timeout_ms, 0))
        r = self.request(API_CREATE_TOPICS, 4, body)
        r.take(">i")  # throttle_time_ms
        for _ in range(r.take(">i")):
            topic = r.string()
            err = r.take(">h")
            msg = r.string()
            if err not in (ERR_NONE, ERR_TOPIC_ALREADY_EXISTS):
                raise KafkaError(f"CreateTopics {topic}: error {err} {msg or ''}".strip())

    def delete_topics(self, names: list[str], timeout_ms: int = 30000) -> dict[str, int]:
        if not names:
            return {}
        body = struct.pack(">i", len(names)) + b"".join(_str(n) for n in names) + struct.pack(">i", timeout_ms)
        r = self.request(API_DELETE_TOPICS, 3, body)
        r.take(">i")
        out = {}
        for _ in range(r.take(">i")):
            topic = r.string()
            out[topic] = r.take(">h")
        return out

    # -- offsets --------------------------------------------------------

    def end_offset(self, topic: str, partition: int = 0) -> tuple[int, int]:
        """(error code, high watermark) of one partition."""
        body = (struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + _str(topic)
                + struct.pack(">i", 1) + struct.pack(">iq", partition, -1))
        r = self.request(API_LIST_OFFSETS, 2, body)
        r.take(">i")
        for _ in range(r.take(">i")):
            r.string()
            for _ in range(r.take(">i")):
                p, err, _ts, offset = r.take(">ihqq")
                if p == partition:
                    return err, offset
        return ERR_UNKNOWN_TOPIC_OR_PARTITION, -1

    def wait_topic_ready(self, topic: str, deadline_s: float = 30.0) -> int:
        """Polls until the partition has a leader; returns its end offset."""
        t_end = time.monotonic() + deadline_s
        while True:
            err, offset = self.end_offset(topic)
            if err == ERR_NONE:
                return offset
            if err not in TRANSIENT:
                raise KafkaError(f"ListOffsets {topic}: error {err}")
            if time.monotonic() > t_end:
                raise KafkaError(f"topic {topic} has no leader after {deadline_s:.0f} s (error {err})")
            time.sleep(0.05)
