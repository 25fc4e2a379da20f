"""Every reproduction entry: paper numbers as printed, a protocol, configs that compose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from experiments import registry
from experiments.entries.table_srgn import paper_numbers
from experiments.run import RunRequestError, command
from tests.helpers import CONF_DIR, PROJECT_ROOT, compose

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
ENTRIES = registry.all_entries()
PAPER_TABLES = ["table_dualgan", "table_gan_vs_cnn", "table_keras_deblurgan", "table_unet_patchgan"]


def test_every_seed_table_is_registered() -> None:
    assert sorted(n for n, e in ENTRIES.items() if e.kind == "paper") == PAPER_TABLES
    assert "learning" in ENTRIES
    assert ENTRIES["table_srgn"].kind == "srgn"
    with pytest.raises(registry.UnknownEntryError, match="table_dualgan"):
        registry.get("table_nope")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_entry_declares_what_runs_where_and_how(name: str) -> None:
    entry = ENTRIES[name]
    assert entry.runs and entry.data and entry.protocol and entry.title
    assert set(entry.configs) == {"smoke", "full"}
    for config in entry.configs.values():
        assert (CONF_DIR / "experiment" / f"{config}.yaml").is_file(), config
    if entry.kind in ("paper", "srgn"):
        assert entry.paper, "a seed table holds the paper's rows"
        assert all(r.psnr is not None or r.ssim is not None for r in entry.paper)


@pytest.mark.parametrize("name", [*PAPER_TABLES, "table_srgn"])
def test_paper_numbers_are_the_papers(name: str) -> None:
    """Every number an entry holds is printed in its seed paper's text."""
    entry = ENTRIES[name]
    files = sorted(SEEDS.glob(f"{entry.seed}_*.txt"))
    if not files:
        pytest.skip(f"seed papers not found under {SEEDS}")
    text = files[0].read_text()
    for row in entry.paper:
        for value, digits in (
            (row.psnr, 2),
            (row.ssim, 3 if name != "table_keras_deblurgan" else 2),
        ):
            if value is None:
                continue
            printed = f"{value:.{digits}f}"
            variants = {printed, printed.rstrip("0").rstrip("."), f"{value:.2f}"}
            assert any(re.search(rf"(?<![\d.]){re.escape(v)}(?!\d)", text) for v in variants), (
                f"{name}: {row.label} {value} not in {files[0].name}"
            )


@pytest.mark.parametrize(
    ("name", "scale"), [(n, s) for n in sorted(ENTRIES) for s in ("smoke", "full")]
)
def test_entry_configs_compose_into_its_plan(name: str, scale: str, tmp_path: Path) -> None:
    entry = ENTRIES[name]
    cfg = compose("train", [f"experiment={entry.configs[scale]}"], tmp_path)
    if entry.kind == "srgn":  # its own plan node; the table reads the paper's numbers there
        plan = OmegaConf.to_container(cfg.srgn_table, resolve=False)
        assert plan["scale"] == scale
        assert plan["paper"] == paper_numbers()
        assert set(plan["methods"]) == {r.method for r in entry.paper}
        return
    plan = OmegaConf.to_container(cfg.multistage, resolve=True)
    assert plan["table"] == name and plan["scale"] == scale
    assert plan["requires_gpu"] is (scale == "full" and entry.kind == "paper")
    methods = {k for k, v in plan["evaluation"]["methods"].items() if v is not None}
    # Something the paper reports is measured (at smoke scale too).
    assert not entry.paper or methods & {r.method for r in entry.paper}
    stages = {k for k, v in plan["stages"].items() if v is not None}
    for method in methods:
        spec = plan["evaluation"]["methods"][method]
        assert spec.get("baseline") or {spec.get("deblur"), spec.get("sr")} - {None} <= stages


def test_run_command_maps_scale_and_dataset_folders() -> None:
    smoke = command("table_keras_deblurgan", "smoke", ["GOPRO=/g"], ["seed=1"])
    assert smoke[1].endswith("src/train.py")
    assert smoke[2:] == ["experiment=table_keras_deblurgan_smoke", "seed=1"]  # no roots
    full = command("table_dualgan", "full", ["GOPRO=/g", "DIV2K=/d", "SR=/s"], [])
    assert full[2:] == ["experiment=dual_gan", "dual_gan.gopro_root=/g", "dual_gan.div2k_root=/d",
                        "dual_gan.sr_root=/s", "dual_gan.trainer=gpu"]  # fmt: skip
    assert command("table_gan_vs_cnn", "full", ["GOPRO=/g", "SR=/s"], [])[2:] == [
        "experiment=table_gan_vs_cnn", "tables.gopro_root=/g"]  # fmt: skip
    assert command("table_srgn", "full", ["GOPRO=/g"], [])[2:] == [
        "experiment=srgn_table1", "srgn_table.gopro_root=/g", "srgn_table.trainer=gpu"]  # fmt: skip
    with pytest.raises(RunRequestError, match="has no 'tiny' run"):
        command("table_srgn", "tiny", [], [])
