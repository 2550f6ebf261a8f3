"""Run `python -m daemon serve` as a real subprocess for process-level tests."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORT", "HOST")}
    env.update({"LOG_FORMAT": "json", "LOG_LEVEL": "info", "RECONCILE_INTERVAL_SECONDS": "0",
                "PYTHONPATH": str(ROOT)})
    env.update(overrides)
    return env


async def start_daemon(
    env: dict[str, str], *, descriptor_limit: int | None = None,
) -> asyncio.subprocess.Process:
    """`serve` as a subprocess; `descriptor_limit` sets its soft and hard RLIMIT_NOFILE."""

    def limit_descriptors() -> None:
        if descriptor_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (descriptor_limit, descriptor_limit))

    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "serve", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=limit_descriptors,
    )


async def wait_ready(port: int, proc: asyncio.subprocess.Process, *, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.returncode is not None:
                raise AssertionError(f"daemon exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise AssertionError("daemon not ready in time")
            await asyncio.sleep(0.05)


async def run_cli(*args: str, env: dict[str, str], cwd: Path = ROOT, stdin: str = ""
                  ) -> tuple[int, str, str]:
    """`python -m daemon ARGS` to completion (`stdin` written to it): exit code, stdout,
    stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode, out.decode(), err.decode()
