"""Real processes for end-to-end tests: the web server and the worker, on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMARCHE_")}
    env.update(
        DEMARCHE_ENV="test",
        DEMARCHE_DATABASE_URL=database_url,
        DEMARCHE_DATA_DIR=str(data_dir),
        DEMARCHE_SECRET_KEY="live-test-secret-key-0123456789abcdef",
        **extra,
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"demarche {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@contextmanager
def process(
    args: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def live_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with process(args, env, log_path) as proc:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not start: {log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield base


@contextmanager
def live_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    args = [sys.executable, "-m", "app.cli", "worker", "--workers", "1"]
    with process(args, env, log_path) as proc:
        yield proc
