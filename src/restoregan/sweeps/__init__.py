"""Sweeps (`python src/train.py -m ...`): each job records how it ended, one failing job
fails alone, and a report (table + plots) summarises every run when the sweep ends."""
