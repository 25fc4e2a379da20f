"""Reproductions of the seed papers' tables (one entry per table, `experiments/entries/`).

`make reproduce-<entry> SCALE=smoke|full` runs one; see README "Reproducing the papers".
"""
