"""Where the CLI prints: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import typer
from rich.console import Console

out_console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line saying what to fix; raise the returned Exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
