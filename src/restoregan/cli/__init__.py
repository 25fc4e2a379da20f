"""Glue the scripts in src/ share: a config becomes a restorer, errors become one line.

Training code (systems/, callbacks/) never imports from here.
"""
