"""Lightning plugins: how the Trainer does I/O (atomic checkpoint writes)."""
