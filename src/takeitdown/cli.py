"""The `takeitdown` command: wires each role's commands into one Typer app."""

from __future__ import annotations

import typer

from takeitdown.device.cli import case_app, hash_command, submit_command
from takeitdown.hma.cli import hma_reporter_command
from takeitdown.node.cli import app as node_app
from takeitdown.registry.cli import app as registry_app
from takeitdown.registry.cli import serve

app = typer.Typer(
    name="takeitdown",
    help="Take It Down: hash photos and videos on this device, run the registry, run a platform node.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        import takeitdown

        typer.echo(f"takeitdown {takeitdown.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Take It Down: hash photos and videos on this device, run the registry, run a platform node."""


app.command("hash")(hash_command)
app.command("serve")(serve)
app.command("submit")(submit_command)
app.add_typer(case_app, name="case")
app.command("hma-reporter")(hma_reporter_command)
app.add_typer(registry_app, name="registry")
app.add_typer(node_app, name="node")

if __name__ == "__main__":
    app()
