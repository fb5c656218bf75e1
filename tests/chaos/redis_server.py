"""A private ``redis-server`` a test owns: it can stop and restart it, which the shared test
Redis must never be."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.service.support import free_port

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0


@dataclass
class PrivateRedis:
    """A queue-grade Redis (AOF fsynced every second, no eviction) on a loopback port, with its
    data in ``directory``. :meth:`stop` and :meth:`start` again keep the port and the data."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def _socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def _log(self) -> Path:
        return self.directory / "redis.log"

    def start(self) -> None:
        """Start the server and return once it answers on its own unix socket (a TCP probe
        could reach whatever else listens on the port)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--unixsocket", str(self._socket)),
                *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
                *("--maxmemory-policy", "noeviction", "--daemonize", "no"),
                *("--logfile", str(self._log)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        probe = redis.Redis(unix_socket_path=str(self._socket), socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited at start:\n{self.log_tail()}")
                try:
                    if probe.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.05)
        finally:
            probe.close()
        raise RuntimeError(f"redis-server not ready after {START_TIMEOUT_S} s:\n{self.log_tail()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Stop with ``sig`` (SIGTERM: Redis fsyncs the AOF and exits) and wait; SIGKILL if it
        is still running after a deadline. Returns the exit status."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self._log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
