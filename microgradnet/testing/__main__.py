"""``python -m microgradnet.testing check mypkg.engine:Value``: see :mod:`._cli`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
