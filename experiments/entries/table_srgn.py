"""Seed 004 (SR-GN, partially blurred images), Table 1: TODO, not wired yet.

model=srgn and experiment=srgn_table1 are being built on branch `srgn` with their own
table code; the coordinator wires this entry (paper rows, configs) after that merge.
`done=False` keeps it out of `registry.all_entries()` and of the README's list of tables.
"""

from experiments.entry import Entry

ENTRY = Entry(
    name="table_srgn",
    seed="004",
    title="SR-GN, Table 1 (TODO: wired after the srgn branch merges)",
    runs="TODO: experiment=srgn_table1 (branch srgn)",
    data="GoPro (1,800 images) with synthetic partial blur (Gaussian, motion)",
    protocol="TODO: per-region PSNR / SSIM (reference part, complete image)",
    paper=(),
    configs={},
    done=False,
)
