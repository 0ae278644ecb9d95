"""``python -m petaport``: the CLI."""

from petaport.cli.main import app

app()
