"""One module per reproduced table; each defines `ENTRY` (experiments.entry.Entry)."""
