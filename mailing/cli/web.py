"""`serve`: the web front end (answer page, phone desk, campaign page, review station) under uvicorn."""

from __future__ import annotations

import logging

import click

from mailing.cli.common import example, open_store


@click.command("serve", epilog=example("mailing serve", "mailing --db postgresql+psycopg://mailing@db/mailing serve "
                                       "--host 0.0.0.0 --port 8080 --forwarded-allow-ips 10.0.0.5"))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True, metavar="IPS",
              help="Reverse proxies (comma-separated addresses) whose X-Forwarded-For/-Proto headers are "
                   "trusted: the client's address for throttling, https for Secure cookies.")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str, port: int, forwarded_allow_ips: str) -> None:
    """Serve the answer page, the phone desk, the campaign page and the review station."""
    import uvicorn

    from mailing.web.app import create_app

    app = create_app(open_store(ctx))
    access = logging.getLogger("mailing.web.access")
    access.setLevel(logging.INFO)
    click.echo(f"serving on http://{host}:{port}/ (stop with Ctrl+C)", err=True)
    # uvicorn's access log shows full paths (codes) and client addresses: off; mailing.web.access logs instead
    uvicorn.run(app, host=host, port=port, access_log=False, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, server_header=False, log_level="warning")


COMMANDS: list[click.Command] = [serve_cmd]
