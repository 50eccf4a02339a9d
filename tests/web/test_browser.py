"""In a real browser (issue 11, item 5): an operator logs in and clears three review items by keyboard
alone; the items are real coupons: three whose QR code a pen destroyed, so the code is read off the picture,
and one that ticks both "call me" and "no more advertising".

With MAILING_SCREENSHOTS=DIR (`make screenshots`), the pages are saved there as PNG (docs/ holds them).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from browser import FLAGS, NO_BROWSER, chromium, chromium_or_skip, serving
from PIL import Image
from sqlalchemy import select

from layouts import geometry as g
from mailing import codes
from mailing.cli import main
from mailing.review import open_items
from mailing.store import Store, review_items
from mailing.testing.codes import misprinted
from mailing.users import add_user
from scanning import simulate as sim


def test_without_a_browser_the_browser_tests_skip_and_say_how_to_get_one(monkeypatch) -> None:
    monkeypatch.setenv("MAILING_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_or_skip()
    assert "make test" in NO_BROWSER

CAMPAIGN = "fruehjahr-2026"
PASSWORD = "richtig-geheim-42"
DPI = 150
SHOTS = os.environ.get("MAILING_SCREENSHOTS")


def cli(db: Path, *args: object) -> None:
    assert main(["--db", str(db), *map(str, args)]) == 0


def coupon(pdf: Path, page: int, ticks: list[int], out: Path, seed: int, spoil: bool = True) -> Path:
    """The coupon of a printed letter, ticked; `spoil`: with pen strokes across its QR code (no decoder
    survives them) and a line struck through half of the printed code (so OCR cannot read it either, while a
    person still can guess it with the manifest's help: the review station's case)."""
    rng = random.Random(seed)
    img = sim.render_pdf_page(pdf, page, DPI)
    for slot in ticks:
        sim.tick(img, sim.box_px(g.on_page(g.checkbox_box(slot)), DPI), rng, "cross")
    x0, y0, x1, y1 = sim.box_px(g.on_page(g.qr_box(4)), DPI)
    for i in range(14 if spoil else 0):  # a child's drawing over the code
        sim.scribble(img, (x0, y0, x1, y1), rng, strokes=2)
        img[y0 + i * (y1 - y0) // 14: y0 + i * (y1 - y0) // 14 + 3, x0:x1] = 0
    if spoil:
        cx0, cy0, cx1, cy1 = sim.box_px(g.on_page(g.code_text_box(4)), DPI)
        img[cy0:cy1, cx0:(cx0 + cx1) // 2] = 0
    Image.fromarray(img[sim.mm_to_px(g.COUPON_TOP_MM, DPI):]).save(out, dpi=(DPI, DPI))
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sync_playwright = chromium_or_skip()
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "m.db"
    cli(db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '# response_url = "https://gartenwelt-schneider.de/r"', 'response_url = "https://gartenwelt-schneider.de/r"'),
        encoding="utf-8")
    cli(db, "campaign", "add", toml)
    cli(db, "import", CAMPAIGN, tmp / "c" / "recipients.csv")
    cli(db, "produce", CAMPAIGN, "--out", tmp / "print", "--jobs", "1")
    manifest = next((tmp / "print").rglob("*manifest*.csv"))
    import csv
    with manifest.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    # three coupons with a spoiled code, and one whose sender ticked both "call me" and "no more advertising"
    pages = [coupon(manifest.parent / rows[i]["file"], int(rows[i]["page"]), [1, 2] if i == 1 else [0],
                    tmp / f"coupon-{i}.png", i, spoil=i != 1) for i in range(4)]
    cli(db, "scan", *pages, "--jobs", "1")
    store = Store.open(str(db))
    assert [i.kind for i in open_items(store)] == ["unreadable", "conflict", "unreadable", "unreadable"]
    add_user(store, "anna", "operator", PASSWORD)
    from mailing.web.app import create_app
    with serving(create_app(store)) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS, headless=True)
        try:
            yield {"url": url, "db": db, "store": store, "rows": rows, "browser": browser}
        finally:
            browser.close()
            store.dispose()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(700)  # a tap's highlight fades
        page.screenshot(path=str(Path(SHOTS) / name), full_page=False)


@pytest.mark.slow
def test_operator_logs_in_and_clears_four_items_by_keyboard(served, capsys) -> None:  # type: ignore[no-untyped-def]
    page = served["browser"].new_page(viewport={"width": 1280, "height": 860})
    page.goto(served["url"] + "/review")
    assert "/login" in page.url
    page.fill("#name", "anna")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    ready = "body[data-keys=ready]"  # the station's script has taken the keyboard
    page.wait_for_selector(ready)
    by_source = {f"coupon-{i}.png": row["code"] for i, row in enumerate(served["rows"][:4])}

    def code_of_item() -> str:
        caption = page.inner_text("figcaption")
        return next(code for name, code in by_source.items() if name in caption)

    # 1: the code typed as printed (grouped), with a slip first: the live check catches it before sending
    first = code_of_item()
    wrong = misprinted(codes.normalise(first))
    page.keyboard.type(codes.format_code(wrong))
    page.wait_for_selector("#code-state.bad")
    assert "Prüfzeichen falsch" in page.inner_text("#code-state")
    page.keyboard.press("Enter")  # refused in the page: nothing is sent
    page.fill("#code", "")
    page.keyboard.type(codes.format_code(first))
    page.wait_for_selector("#code-state.good >> text=fruehjahr-2026")
    assert page.is_checked("input[name=opt_info]") is False
    page.keyboard.press("1")  # tick 1: information
    assert page.is_checked("input[name=opt_info]")
    shot(page, "review-station.png")
    page.keyboard.press("Enter")
    page.wait_for_selector("#flash >> text=Antwort erfasst")
    page.wait_for_selector(ready)

    # 2: the conflict: both boxes read as ticked; the person decides "no call" (2 unticks it), the objection stays
    assert page.inner_text("h1") == "Kreuze widersprechen sich"
    assert page.is_checked("input[name=opt_call]") and page.is_checked("input[name=opt_optout]")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#flash >> text=Kreuze gesetzt")
    page.wait_for_selector(ready)

    # 3: void it (Esc leaves the code field, V voids)
    page.keyboard.press("Escape")
    page.keyboard.press("v")
    page.wait_for_selector("#flash >> text=verworfen")
    page.wait_for_selector(ready)

    # 4: lower case without hyphens, ticks 2 and 1, then 1 again (off): only "call" stays
    third = code_of_item()
    page.keyboard.type(third.lower())
    page.wait_for_selector("#code-state.good >> text=fruehjahr-2026")
    for key in "211":
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#done")

    with served["store"].connect() as conn:
        states = [r.status for r in conn.execute(select(review_items.c.status).order_by(review_items.c.id))]
    assert states == ["resolved", "resolved", "voided", "resolved"]
    assert open_items(served["store"]) == []
    status = status_json(served["db"], capsys)
    assert status["responses"] == 3 and status["options"]["info"] == 1 and status["options"]["call"] == 1
    assert status["options"]["optout"] == 1 and status["suppressed"] >= 1
    page.close()


def status_json(db: Path, capsys) -> dict:  # type: ignore[no-untyped-def]
    """What `mailing status CAMPAIGN --json` prints."""
    capsys.readouterr()
    cli(db, "status", CAMPAIGN, "--json")
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_recipient_answers_online_at_a_phones_width(served, capsys) -> None:  # type: ignore[no-untyped-def]
    """The code as a person types it from the letter (lower case, hyphens), on a 360 px wide phone."""
    before = status_json(served["db"], capsys)
    letter = served["rows"][5]
    phone = served["browser"].new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                          is_mobile=True, has_touch=True, locale="de-DE")
    page = phone.new_page()
    page.goto(f"{served['url']}/r/{codes.format_code(letter['code']).lower()}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "nothing sticks out sideways"
    page.get_by_text("Bitte rufen Sie mich an.").tap()
    assert page.is_checked("input[value=call]")
    shot(page, "answer-page.png")
    page.get_by_role("button", name="Antwort senden").tap()
    page.wait_for_selector("h1 >> text=Vielen Dank")
    assert "Bitte rufen Sie mich an." in page.inner_text("main")
    phone.close()
    after = status_json(served["db"], capsys)
    assert after["responses"] == before["responses"] + 1
    assert after["options"]["call"] == before["options"]["call"] + 1
    assert after["responses_by_channel"]["online"] == before["responses_by_channel"].get("online", 0) + 1


@pytest.mark.slow
def test_the_stations_check_symbol_agrees_with_codes_py(served) -> None:  # type: ignore[no-untyped-def]
    """The live check in review.js is a port of mailing/codes.py: both judge the same texts alike (new codes,
    every single-symbol change and neighbour swap of some, and sloppy typing)."""
    import random as rnd

    rng = rnd.Random(11)
    texts: list[str] = []
    for _ in range(20):
        code = codes.new_code()
        texts += [code, code.lower(), codes.format_code(code), code.replace("0", "O").replace("1", "l")]
        i = rng.randrange(codes.CODE_LENGTH - 1)
        texts.append(code[:i] + code[i + 1] + code[i] + code[i + 2:])
        texts += [code[:j] + rng.choice(codes.CHECK_ALPHABET) + code[j + 1:] for j in range(codes.CODE_LENGTH)]
    texts += ["", "12", "7K3M-9QXP-2W4", "ÄÖÜ" * 4, "UUUUUUUUUUUU"]
    page = served["browser"].new_page()
    page.goto(served["url"] + "/static/review.js")  # any page of the site; the script is loaded below
    page.add_script_tag(url="/static/review.js")
    verdicts = page.evaluate("texts => texts.map(t => mailingCodes.problem(mailingCodes.normalise(t)) === null)",
                             texts)
    assert verdicts == [codes.is_valid(t) for t in texts]
    page.close()
