"""`python -m monitor` is the same as the `monitor` console script."""

from monitor.cli import main

if __name__ == "__main__":   # not when a worker process (workers.py, spawn) imports it
    raise SystemExit(main())
