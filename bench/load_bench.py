"""Load on loopback: N signed-in users browsing, searching, drafting and logging replies against
PostgreSQL with several web workers; throughput, p50/p95/p99 latency and errors.

Baseline in the same run: the same load generator against a bare ASGI app (one static JSON
response) served by uvicorn with the same number of workers, i.e. what the machine, the HTTP
stack and the generator cost before Demarche does anything.

Two phases against the same server: saturated (LOAD_USERS, default 8, users acting back to back
with no pause: what the machine can serve, latency being users / throughput), then paced
(LOAD_PACED_USERS, default 24, each pausing LOAD_THINK_SECONDS, default 1 s, on average between
actions, as people reading pages do: the latency they see).

Bounded: LOAD_SECONDS (default 20) per phase, LOAD_WEB_WORKERS (default 2). Needs PostgreSQL
(DEMARCHE_TEST_PG_URL or 127.0.0.1:5432). Written to bench/results/load.json. Targets: zero
errors; p95 < 200 ms for pages and API calls other than PDF rendering.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

RESULTS = Path(__file__).parent / "results" / "load.json"
SECONDS = float(os.environ.get("LOAD_SECONDS", "20"))
USERS = int(os.environ.get("LOAD_USERS", "8"))
# The paced phase: people who read a page before the next click (exponential think time).
PACED_USERS = int(os.environ.get("LOAD_PACED_USERS", "24"))
THINK_SECONDS = float(os.environ.get("LOAD_THINK_SECONDS", "1.0"))
WEB_WORKERS = int(os.environ.get("LOAD_WEB_WORKERS", "2"))
PG_ADMIN_URL = os.environ.get(
    "DEMARCHE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "load-bench-password-1"
COORDINATOR_SUFFIX = ".coordinator@demarche.example"
SEARCH_WORDS = [
    "Rahmon",
    "Pakistan",
    "ministry",
    "embassy",
    "Tajik",
    "mission",
    "Geneva",
    "foreign",
]


# ----------------------------------------------------------------------------- set-up


def _create_database() -> str:
    name = f"demarche_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMARCHE_")}
    env.update(
        DEMARCHE_ENV="test",
        DEMARCHE_DATABASE_URL=database_url,
        DEMARCHE_DATA_DIR=str(data_dir),
        DEMARCHE_SECRET_KEY="load-bench-secret-key-0123456789abcdef",
        # Every simulated user signs in from 127.0.0.1; throttling is tested elsewhere.
        DEMARCHE_LOGIN_MAX_FAILURES="1000",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"demarche {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [*args, "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=out
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            httpx.get(base + "/healthz", timeout=2)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ----------------------------------------------------------------------------- the load


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    by_action: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return round(ordered[index] * 1000, 2)


def _summary(tally: Tally, seconds: float) -> dict[str, Any]:
    every = [v for values in tally.latencies.values() for v in values]
    out: dict[str, Any] = {
        "requests": len(every),
        "throughput_per_s": round(len(every) / seconds, 1),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:10],
        "p50_ms": _pct(every, 50),
        "p95_ms": _pct(every, 95),
        "p99_ms": _pct(every, 99),
        "by_kind": {},
    }
    for kind, values in sorted(tally.latencies.items()):
        out["by_kind"][kind] = {
            "requests": len(values),
            "p50_ms": _pct(values, 50),
            "p95_ms": _pct(values, 95),
            "p99_ms": _pct(values, 99),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
        }
    out["by_action"] = {
        name: {"requests": len(values), "p50_ms": _pct(values, 50), "p95_ms": _pct(values, 95)}
        for name, values in sorted(tally.by_action.items())
    }
    return out


Action = Callable[["Session"], Awaitable[None]]


@dataclass
class Session:
    client: httpx.AsyncClient
    token: str
    csrf: str
    tally: Tally
    coordinator: bool
    action: str = ""

    async def call(
        self, kind: str, method: str, path: str, *, expect: int = 200, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            resp = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.tally.errors.append(f"{method} {path}: {type(exc).__name__} {exc}")
            return None
        elapsed = time.perf_counter() - started
        self.tally.add(kind, elapsed)
        self.tally.by_action.setdefault(self.action or kind, []).append(elapsed)
        if resp.status_code != expect:
            self.tally.errors.append(f"{method} {path}: {resp.status_code} {resp.text[:200]}")
            return None
        return resp

    def api(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _sign_in(base: str, email: str, token: str, tally: Tally) -> Session:
    client = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
    page = await client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError("no CSRF token on /login")
    resp = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)},
    )
    if resp.status_code not in {302, 303}:
        raise RuntimeError(f"sign-in failed: {resp.status_code} {resp.text[:300]}")
    home = await client.get("/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    coordinator = email.endswith(COORDINATOR_SUFFIX)
    return Session(client, token, csrf.group(1) if csrf else "", tally, coordinator)


def _actions(paths: set[str]) -> list[tuple[int, str, Action]]:
    """(weight, name, action) for what this build offers; absent features are left out."""

    async def page(s: Session, path: str) -> None:
        await s.call("page", "GET", path)

    async def dashboard(s: Session) -> None:
        await page(s, "/")

    async def campaigns(s: Session) -> None:
        await page(s, "/campaigns")

    async def treaty(s: Session) -> None:
        await page(s, random.choice(["/treaties", "/treaties/CCM", "/treaties/MBT"]))

    async def country(s: Session) -> None:
        await page(s, f"/treaties/countries/{random.choice(['TJK', 'PAK', 'LAO', 'AFG', 'KAZ'])}")

    async def templates(s: Session) -> None:
        await page(s, "/templates")

    async def api_campaigns(s: Session) -> None:
        await s.call("api", "GET", "/api/v1/campaigns", headers=s.api())

    async def api_status(s: Session) -> None:
        await s.call("api", "GET", "/api/v1/treaties/CCM/status", headers=s.api())

    async def draft_campaign(s: Session) -> None:
        if not s.coordinator:  # campaigners read; drafting a campaign is a coordinator's act
            await api_campaigns(s)
            return
        body = {"name": f"Load campaign {uuid.uuid4().hex[:8]}", "treaty": "CCM"}
        await s.call("write", "POST", "/api/v1/campaigns", json=body, headers=s.api(), expect=201)

    async def search_page(s: Session) -> None:
        await page(s, f"/contacts?q={random.choice(SEARCH_WORDS)}")

    async def search_api(s: Session) -> None:
        q = random.choice(SEARCH_WORDS)
        await s.call("api", "GET", f"/api/v1/contacts/search?q={q}", headers=s.api())

    async def replies_page(s: Session) -> None:
        await page(s, "/replies")

    async def log_reply(s: Session) -> None:
        body = {
            "received_on": date.today().isoformat(),
            "channel": "post",
            "sender_name": "Embassy (load test)",
            "summary": "Acknowledges receipt.",
        }
        await s.call("write", "POST", "/api/v1/replies", json=body, headers=s.api(), expect=201)

    table: list[tuple[int, str, str, Action]] = [
        (3, "dashboard", "/", dashboard),
        (2, "campaigns", "/campaigns", campaigns),
        (2, "treaty", "/treaties/{short_name}", treaty),
        (2, "country", "/treaties/countries/{code}", country),
        (1, "templates", "/templates", templates),
        (3, "api campaigns", "/api/v1/campaigns", api_campaigns),
        (2, "api status", "/api/v1/treaties/{short_name}/status", api_status),
        (1, "draft campaign", "/api/v1/campaigns", draft_campaign),
        (3, "search page", "/contacts", search_page),
        (3, "search api", "/api/v1/contacts/search", search_api),
        (1, "replies page", "/replies", replies_page),
        (1, "log reply", "/api/v1/replies", log_reply),
    ]
    return [(w, name, action) for w, name, path, action in table if path in paths]


async def _run_users(
    base: str,
    accounts: list[tuple[str, str]],
    actions: list[tuple[int, str, Action]],
    *,
    users: int = USERS,
    think: float = 0.0,
) -> dict[str, Any]:
    """``users`` sessions (cycling over the accounts) acting until the phase ends; with
    ``think`` each waits a random time of that mean between actions, as a person does."""
    tally = Tally()
    sessions = [await _sign_in(base, *accounts[i % len(accounts)], tally) for i in range(users)]
    weights = [w for w, _, _ in actions]
    stop_at = time.monotonic() + SECONDS

    async def user(s: Session) -> None:
        if think:
            await asyncio.sleep(random.uniform(0, think))  # not all at once
        while time.monotonic() < stop_at:
            _, s.action, action = random.choices(actions, weights)[0]
            await action(s)
            if think:
                # capped under the server's 5 s keep-alive, which closes idle connections
                await asyncio.sleep(min(random.expovariate(1 / think), 4.0))

    started = time.monotonic()
    await asyncio.gather(*(user(s) for s in sessions))
    elapsed = time.monotonic() - started
    for s in sessions:
        await s.client.aclose()
    return _summary(tally, elapsed)


async def _run_baseline(base: str) -> dict[str, Any]:
    tally = Tally()
    stop_at = time.monotonic() + SECONDS

    async def user() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            s = Session(client, "", "", tally, False)
            while time.monotonic() < stop_at:
                await s.call("raw", "GET", "/")

    started = time.monotonic()
    await asyncio.gather(*(user() for _ in range(USERS)))
    return _summary(tally, time.monotonic() - started)


BASELINE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})
"""


def main() -> None:
    from app.config import PROJECT_ROOT

    database_url = _create_database()
    with tempfile.TemporaryDirectory(prefix="demarche-load-") as tmp:
        tmp_dir = Path(tmp)
        env = _env(database_url, tmp_dir / "data")
        try:
            _cli(env, "migrate")
            _cli(env, "demo")
            accounts = []
            for i in range(USERS):
                role = "coordinator" if i % 2 else "campaigner"
                email = f"load{i}.{role}@demarche.example"
                _cli(env, "user", "add", email, "--role", role, "--password", PASSWORD)
                token = _cli(env, "token", "create", email).strip().splitlines()[-1]
                accounts.append((email, token))

            (tmp_dir / "baseline_app.py").write_text(BASELINE_APP)
            raw_args = [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(tmp_dir),
                "--workers",
                str(WEB_WORKERS),
                "--log-level",
                "warning",
                "baseline_app:app",
            ]
            proc, base = _start(raw_args, env, tmp_dir / "raw.log")
            try:
                baseline = asyncio.run(_run_baseline(base))
            finally:
                _stop(proc)

            app_args = [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--workers",
                str(WEB_WORKERS),
            ]
            os.chdir(PROJECT_ROOT)
            proc, base = _start(app_args, env, tmp_dir / "web.log")
            try:
                schema = httpx.get(base + "/openapi.json", timeout=10).json()
                paths = set(schema["paths"])
                # Web pages are not in the schema: probe them once.
                cookies_free = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
                for candidate in ["/", "/campaigns", "/treaties/{short_name}", "/templates"]:
                    paths.add(candidate)
                for candidate in ["/contacts", "/replies", "/treaties/countries/{code}"]:
                    probe = candidate.replace("{code}", "TJK")
                    if cookies_free.get(probe).status_code in {303, 401}:
                        paths.add(candidate)
                cookies_free.close()
                actions = _actions(paths)
                load = asyncio.run(_run_users(base, accounts, actions))
                paced = asyncio.run(
                    _run_users(base, accounts, actions, users=PACED_USERS, think=THINK_SECONDS)
                )
            finally:
                _stop(proc)
        finally:
            _drop_database(database_url)

    result = {
        "seconds_per_phase": SECONDS,
        "users": USERS,
        "web_workers": WEB_WORKERS,
        "cpu_count": os.cpu_count(),
        "database": "postgresql",
        "scenario": [name for _, name, _ in actions],
        "baseline_bare_asgi": baseline,
        "demarche": load,
        "paced": {"users": PACED_USERS, "think_seconds_mean": THINK_SECONDS},
        "demarche_paced": paced,
        "targets": {
            "zero_errors": load["errors"] == 0 and paced["errors"] == 0,
            "p95_under_200ms_saturated": load["p95_ms"] < 200,
            "p95_under_200ms_paced": paced["p95_ms"] < 200,
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"load: {USERS} users x {SECONDS:g}s, {WEB_WORKERS} web workers on PostgreSQL: "
        f"{load['requests']} requests, {load['throughput_per_s']}/s, "
        f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, p99 {load['p99_ms']} ms, "
        f"errors {load['errors']}; bare ASGI baseline {baseline['throughput_per_s']}/s, "
        f"p95 {baseline['p95_ms']} ms"
    )
    for kind, row in load["by_kind"].items():
        print(f"  {kind:6} {row['requests']:6} req  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms")
    for name, row in load["by_action"].items():
        print(
            f"    {name:16} {row['requests']:5} req  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms"
        )
    print(
        f"paced: {PACED_USERS} users thinking {THINK_SECONDS:g}s on average between actions: "
        f"{paced['requests']} requests, {paced['throughput_per_s']}/s, p50 {paced['p50_ms']} ms, "
        f"p95 {paced['p95_ms']} ms, p99 {paced['p99_ms']} ms, errors {paced['errors']}"
    )
    for kind, row in paced["by_kind"].items():
        print(f"  {kind:6} {row['requests']:6} req  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms")
    for sample in load["error_samples"] + paced["error_samples"]:
        print("  error:", sample)
