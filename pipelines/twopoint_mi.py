"""The old name of ``python -m pipelines.two_point_mi``, kept for one release; use the new one."""

from pipelines.two_point_mi import main

if __name__ == "__main__":
    raise SystemExit(main())
