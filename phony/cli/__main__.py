"""``python -m phony.cli``: the ``phony`` command."""

from phony.cli import app

app()
