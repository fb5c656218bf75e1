"""The ``musewave`` command line: generate, serve, and operator commands."""

from __future__ import annotations

import typer

from musewave import __version__
from musewave.cli.console import out_console
from musewave.cli.generate import generate_command
from musewave.cli.keys import keys_app
from musewave.cli.ops import db_app, jobs_app, queue_app
from musewave.cli.serve import serve_command
from musewave.cli.worker import worker_command
from musewave.engine.version import ENGINE_VERSION

app = typer.Typer(
    help="MuseWave: a text prompt becomes a finished, mastered track.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("generate")(generate_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(jobs_app, name="jobs")
app.add_typer(queue_app, name="queue")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@app.command()
def version() -> None:
    """Print the package and engine versions."""
    out_console.print(f"musewave {__version__} (engine {ENGINE_VERSION})")


__all__ = ["app"]
