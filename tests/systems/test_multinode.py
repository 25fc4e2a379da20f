"""Two "nodes" x one process each, started by hand as a cluster scheduler would.

Lightning's environment-variable cluster settings (its LightningEnvironment): every
process gets MASTER_ADDR / MASTER_PORT of the rendezvous, its NODE_RANK, LOCAL_RANK 0 and
the WORLD_SIZE; the Trainer gets `num_nodes=2`, `devices=1`. This is the shape of a
multi-node job (SLURM via submitit sets the SLURM_* equivalents instead), here on one
machine on CPU (Lightning picks gloo for CPU processes). Each node has its own data copy, as nodes with local disks
would; they share the run folder, as nodes on a shared filesystem do.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, TINY_RECIPES, ddp_check_overrides


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two training processes and a gloo rendezvous: ~1 min on 2 CPU cores
def test_two_nodes_end_with_identical_networks(tmp_path: Path) -> None:
    report = tmp_path / "ddp_check.json"
    run_dir = tmp_path / "run"
    port = _free_port()
    procs = []
    for node in (0, 1):
        cmd = [
            sys.executable,
            str(PROJECT_ROOT / "src" / "train.py"),
            *TINY_RECIPES["deblurgan"],
            f"data.root={tmp_path / f'node{node}' / 'demo'}",
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=1",
            "trainer.num_nodes=2",
            *ddp_check_overrides(report),
            f"hydra.run.dir={run_dir}",
        ]
        env = {
            **os.environ,
            "RESTOREGAN_ROOT": str(tmp_path / f"node{node}"),
            "OMP_NUM_THREADS": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "NODE_RANK": str(node),
            "LOCAL_RANK": "0",
            "WORLD_SIZE": "2",
            # The consistency callback lives with the tests: put the project root on the path.
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        log = open(tmp_path / f"node{node}.log", "w")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=log), log))
    try:
        codes = [p.wait(timeout=900) for p, _ in procs]
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.kill()
            log.close()
    logs = "\n".join((tmp_path / f"node{n}.log").read_text()[-3000:] for n in (0, 1))
    assert codes == [0, 0], logs

    result = json.loads(report.read_text())
    assert result["world_size"] == 2, "the two processes did not form one job"
    assert result["parameters_identical"], (
        "generator/discriminator parameters diverged across nodes"
    )
    ranks = result["ranks"]
    for net in ("generator", "discriminator"):
        assert len(ranks[0][net]["parameters"]) > 5
        assert ranks[0][net]["parameters"] == ranks[1][net]["parameters"]
    # The run belongs to global rank 0 alone: one status, one checkpoint set.
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "GLOBAL_RANK: 1" in (tmp_path / "node1.log").read_text()
