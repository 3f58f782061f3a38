"""nfs: configuration only for now; the parser comes later (see config.py)."""
