"""`mailing demo`: the whole cycle on bundled sample data, a new user's first command.

sample campaign → produce → simulated returns (coupons rasterised from the real PDFs, ticked with pen-like
strokes, degraded like a scanner; a few unreadable, one duplicate, some returned letters, a light tick lost
in a black-and-white scan and that page scanned again in grey) → scan → review →
follow-up → produce the follow-up waves → Excel report. Each step reports what happened and where the
files are through `say`; the library itself never prints.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from layouts import geometry as g
from mailing.campaigns import init_example, register_campaign
from mailing.codes import format_code
from mailing.errors import MailingError
from mailing.store import Store

MARKER = ".mailing-demo"  # only a folder holding this is replaced by the next demo run
DPI = 200
RESPONSE_SHARE = 0.4  # of the first wave's letters come back
SEED = 20261123
RESCAN_DIR = "nachscan-grau"  # the pages `mailing scan` asked to scan again in grey


@dataclass
class Truth:
    code: str
    ticks: dict[str, bool]
    kind: str = "coupon"  # coupon | unreadable | duplicate | returned | faint (a tick that vanishes in black and white)


@dataclass
class DemoResult:
    out: Path
    db: str
    campaign: str
    status: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)


def run_demo(out_dir: str | Path, db: str | None = None, say: Callable[[str], None] = lambda _m: None) -> DemoResult:
    from mailing.followup import run_followups
    from mailing.production import produce
    from mailing.recipients import import_recipients
    from mailing.review import open_items, resolve_code, set_boxes, void
    from mailing.scanrun import scan
    from mailing.status import campaign_status
    from reports.response import write_response_report

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise MailingError(f"{out} is not empty and was not written by `mailing demo`; "
                               "choose an empty or new folder with --out")
        import shutil

        shutil.rmtree(out)  # an earlier demo's output: replaced
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `mailing demo`; the next demo run replaces this folder\n",
                              encoding="utf-8")
    db_url = db or str(out / "demo.db")
    store = Store.open(db_url)
    today = date.today()
    drop = today - timedelta(days=30)
    rng = random.Random(SEED)

    say(f"1. Sample campaign and 50 recipients → {out / 'kampagne'}")
    init_example(out / "kampagne")
    campaign, _ = register_campaign(store, out / "kampagne" / "campaign.toml")
    summary = import_recipients(store, campaign.name, out / "kampagne" / "recipients.csv")
    say(f"   imported {summary.imported} recipients ({summary.duplicates} likely duplicate(s) reported)")

    say(f"2. Print files for wave 1 (drop date {drop.isoformat()}) → {out / 'druck-welle-1'}")
    produced = produce(store, campaign.name, out / "druck-welle-1", jobs=1, drop_date=drop)
    say(f"   {produced.pieces} letters in {len(produced.files)} PDF batch(es); manifest and job ticket beside them")

    say(f"3. Simulated returns from the real PDFs → {out / 'scans'}")
    where = _simulate_returns(out / "druck-welle-1", out / "scans", campaign.option_keys, rng)
    kinds = Counter(t.kind for t in where.values())
    say(f"   {kinds['coupon'] + kinds['unreadable'] + kinds['duplicate']} coupons ({kinds['duplicate']} a photocopy "
        f"of another, {kinds['unreadable']} scribbled over the QR code), {kinds['returned']} returned letters, "
        f"a blank sheet, {kinds['faint']} coupon ticked lightly and scanned black and white")

    say("4. Scanning the returns")
    counts: Counter[str] = Counter()
    rescan: list[str] = []
    for batch, received in (("post-1", drop + timedelta(days=4)), ("post-2", drop + timedelta(days=7)),
                            ("post-3", drop + timedelta(days=12))):
        paths = sorted(str(p) for p in (out / "scans").glob(f"{batch}*"))
        for o in scan(store, paths, received_on=received):
            counts[o.status] += 1
            if o.bitonal_doubt:
                rescan.append(Path(o.source).name)
    for o in scan(store, [str(out / "scans" / "unzustellbar.pdf")], returned_mail=True, received_on=drop + timedelta(days=5)):
        counts[o.status] += 1
    say("   " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if rescan:
        say(f"   doubtful boxes on pages scanned black and white ({', '.join(rescan)}): scanned again in grey")
        for o in scan(store, [str(out / "scans" / RESCAN_DIR)], received_on=drop + timedelta(days=7)):
            say(f"   {Path(o.source).name}: {o.status}, {o.reason}")

    say("5. Review queue: what the machine was not sure about")
    for item in open_items(store):
        t = where.get((Path(item.source).name, item.page))
        if item.kind in ("unreadable", "invalid", "unknown"):
            if t is None:
                void(store, item.id, "not a coupon")
                say(f"   #{item.id} {item.kind} ({Path(item.source).name} p.{item.page}): voided, not a coupon")
                continue
            # The operator reads the human-readable code off the coupon; the demo knows the truth.
            outcome = resolve_code(store, item.id, format_code(t.code), t.ticks, received_on=drop + timedelta(days=12))
            say(f"   #{item.id} {item.kind}: code {format_code(t.code)} typed from the coupon → {outcome}")
        else:
            values = t.ticks if t else dict.fromkeys(item.options, False)
            after = set_boxes(store, item.id, values)
            say(f"   #{item.id} {item.kind} boxes set by the operator: "
                + ", ".join(f"{k}={'ja' if v else 'nein'}" for k, v in after.items()))

    say(f"6. Follow-up rules as of {today.isoformat()}")
    result = run_followups(store, campaign.name, as_of=today, out_dir=out / "nachfass")
    for r in result.rules:
        detail = f"wave {r.wave}, {r.count} letter(s)" if r.wave else f"{r.count}"
        say(f"   {r.rule}: {detail}" + (f" → {', '.join(r.files)}" if r.files else ""))

    letters = {rule.id: campaign.letters.get(rule.letter) for rule in campaign.rules}
    for r in result.rules:
        if r.wave:
            folder = out / f"druck-welle-{r.wave}"
            res = produce(store, campaign.name, folder, wave=r.wave, jobs=1, drop_date=today)
            lt = letters.get(r.rule)
            what = "postcards (DIN A6)" if lt is not None and lt.postcard else "letters"
            say(f"7. Wave {r.wave} ({r.rule}) printed: {res.pieces} {what} → {folder}")

    from mailing.draw import draw

    drawn = draw(store, campaign.name, 3, seed=SEED, deadline=today, letter="gewinn")
    say(f"8. Prize draw among {drawn.eligible} respondents (seed {drawn.seed}, list SHA-256 {drawn.sha256[:12]}…): "
        + ", ".join(f"{format_code(w.code)} {w.name}" for w in drawn.winners))
    if drawn.wave is not None:
        folder = out / f"druck-welle-{drawn.wave}"
        res = produce(store, campaign.name, folder, wave=drawn.wave, jobs=1, drop_date=today)
        say(f"   wave {drawn.wave} (winners' letter) printed: {res.pieces} letter(s) → {folder}"
            + (f"; {drawn.left_out} winner(s) objected: tell them another way" if drawn.left_out else ""))

    report = out / "antwortbericht.xlsx"
    write_response_report(store, campaign.name, report)
    say(f"9. Excel response report → {report}")
    status = campaign_status(store, campaign.name)
    store.dispose()
    return DemoResult(out, db_url, campaign.name, status, {"report": str(report)})


# ------------------------------------------------------------------------------ simulated returns
def _manifest(folder: Path) -> list[dict[str, str]]:
    manifest = next(p for p in folder.glob("*.csv") if "manifest" in p.name)
    with manifest.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _simulate_returns(print_dir: Path, scans: Path, options: list[str],
                      rng: random.Random) -> dict[tuple[str, int], Truth]:
    """Write the simulated post; returns the truth for each (file name, page) written."""
    from scanning import simulate as sim

    scans.mkdir(parents=True, exist_ok=True)
    rows = _manifest(print_dir)
    rng.shuffle(rows)
    n_resp = max(6, int(len(rows) * RESPONSE_SHARE))
    responders, returned, faint = rows[:n_resp], rows[n_resp:n_resp + 3], rows[n_resp + 3]
    coupons: list[tuple[Truth, np.ndarray]] = []
    top = sim.mm_to_px(g.COUPON_TOP_MM, DPI)
    for i, row in enumerate(responders):
        page = sim.render_pdf_page(print_dir / row["file"], int(row["page"]), DPI)
        ticks = dict.fromkeys(options, False)
        if "optout" in ticks and rng.random() < 0.12:
            ticks["optout"] = True
        else:
            ticks[options[0]] = True
            if len(options) > 1 and rng.random() < 0.4:
                ticks[options[1]] = True
        for slot, key in enumerate(options):
            if ticks[key]:
                sim.tick(page, sim.box_px(g.on_page(g.checkbox_box(slot)), DPI), rng)
        kind = "coupon"
        if i in (3, 11):  # a pen scribble across the code: the one damage no decoder survives
            sim.scribble(page, sim.box_px(g.on_page(g.qr_box(1)), DPI), rng, strokes=14)
            kind = "unreadable"
        coupon = page[top:] if i % 4 else page  # most torn off, some sent back as the whole letter
        coupon, _ = sim.scanner(coupon, rng, None if kind == "coupon" else "clean")
        coupons.append((Truth(row["code"], ticks, kind), coupon))
    first, img = coupons[0]
    coupons.append((Truth(first.code, first.ticks, "duplicate"), sim.photocopy(img, rng)))  # sent in twice

    # three post deliveries: a scanner PDF, a multi-page G4 TIFF, single JPEG/PNG files
    where: dict[tuple[str, int], Truth] = {}
    thirds = np.array_split(np.arange(len(coupons)), 3)
    _save_pdf([coupons[i][1] for i in thirds[0]], scans / "post-1.pdf")
    where.update({("post-1.pdf", n + 1): coupons[i][0] for n, i in enumerate(thirds[0])})
    _save_tiff_g4([coupons[i][1] for i in thirds[1]], scans / "post-2.tif")
    where.update({("post-2.tif", n + 1): coupons[i][0] for n, i in enumerate(thirds[1])})
    for n, i in enumerate(thirds[2]):
        name = f"post-3-{n:03d}.{'png' if n % 2 else 'jpg'}"
        if n % 2:
            Image.fromarray(coupons[i][1]).save(scans / name, dpi=(DPI, DPI))
        else:
            Image.fromarray(coupons[i][1]).save(scans / name, dpi=(DPI, DPI), quality=40)
        where[(name, 1)] = coupons[i][0]
    Image.new("L", (1654, 780), 255).save(scans / "post-3-leer.png", dpi=(DPI, DPI))  # a blank sheet
    # a light blue ballpoint tick, scanned black and white: it vanishes, and the page is scanned again in grey
    from scanning import pens

    page = sim.render_pdf_page(print_dir / faint["file"], int(faint["page"]), DPI)[top:]
    faint_pen = pens.Pen(width_mm=0.25, grey=120, pressure=0.5, skips=0.0, colour="blue")
    pens.mark(page, DPI, g.checkbox_box(0), 0.0, rng, "check_over", faint_pen)
    page = sim.rotate(page, rng.uniform(-1.5, 1.5))
    _save_tiff_g4([page], scans / "post-2-sw.tif")
    (scans / RESCAN_DIR).mkdir(exist_ok=True)
    Image.fromarray(page).save(scans / RESCAN_DIR / "post-2-sw.png", dpi=(DPI, DPI))
    where[("post-2-sw.tif", 1)] = Truth(faint["code"], {k: k == options[0] for k in options}, "faint")
    pages = [sim.scanner(sim.render_pdf_page(print_dir / r["file"], int(r["page"])), rng, "skew")[0] for r in returned]
    _save_pdf(pages, scans / "unzustellbar.pdf")
    where.update({("unzustellbar.pdf", n + 1): Truth(r["code"], {}, "returned") for n, r in enumerate(returned)})
    return where


def _save_pdf(images: list[np.ndarray], path: Path) -> None:
    pil = [Image.fromarray(i).convert("L") for i in images]
    pil[0].save(path, save_all=True, append_images=pil[1:], resolution=DPI)


def _save_tiff_g4(images: list[np.ndarray], path: Path) -> None:
    pil = [Image.fromarray(i).convert("L").point(lambda v: 255 if v > 140 else 0).convert("1") for i in images]
    pil[0].save(path, save_all=True, append_images=pil[1:], compression="group4", dpi=(DPI, DPI))
