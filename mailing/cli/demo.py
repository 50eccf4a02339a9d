"""`demo`: the whole cycle on bundled sample data."""

from __future__ import annotations

import json

import click

from mailing.cli.common import example
from mailing.demo import run_demo


@click.command("demo", epilog=example("mailing demo --out demo-output"))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="demo-output", show_default=True,
              help="Folder for everything the demo writes (an earlier demo's output there is replaced).")
@click.pass_context
def demo_cmd(ctx: click.Context, out_dir: str) -> None:
    """Run the whole cycle on sample data: produce, simulated returns, scan, review, follow-up, report."""
    db = ctx.find_root().obj.get("db")
    result = run_demo(out_dir, db=db, say=click.echo)
    st = result.status
    click.echo("")
    click.echo(f"Summary (the same as `mailing --db {result.db} status {result.campaign} --json`):")
    click.echo(f"  recipients {st['recipients']}, suppressed {st['suppressed']}, sent {st['sent']}, "
               f"responses {st['responses']}, duplicates {st['duplicates']}, undeliverable {st['undeliverable']}, "
               f"review open {st['review_open']}")
    click.echo("  options: " + ", ".join(f"{k} {v}" for k, v in st["options"].items()))
    click.echo("  waves: " + "; ".join(f"{w['wave']} {w['kind']} {w['pieces']} {w['status']}" for w in st["waves"]))
    click.echo(json.dumps(st, ensure_ascii=False))


COMMANDS: list[click.Command] = [demo_cmd]
