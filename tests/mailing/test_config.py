import pytest

from mailing.config import example_campaign_path, parse_campaign
from mailing.errors import ConfigError

EXAMPLE = example_campaign_path().read_text(encoding="utf-8")


def test_example_is_valid_and_has_the_contract_options():
    c = parse_campaign(EXAMPLE)
    assert c.option_keys == ["info", "call", "optout"]
    assert {r.action for r in c.rules} == {"letter", "call", "suppress"}
    assert any(r.when == "no_response" and r.days == 21 for r in c.rules)
    assert any(r.when == "responded" and r.action == "letter" and r.letter == "thankyou" for r in c.rules)


@pytest.mark.parametrize("old,new,needle,on_line", [
    ('form = "B"', 'form = "C"', "layout.form: 'C' is not allowed; use one of A, B", "form ="),
    ("seed = 2026", "seed = 2026\ncolour = 1", "production.colour: unknown key", "colour ="),
    ("in {ort}", "in {stadt}", "unknown merge field {stadt}", "body ="),
    ('option = "info"\naction', 'option = "brochure"\naction', "'brochure' is not a coupon option", "option ="),
    ("batch_size = 5000", "batch_size = 0", "out of range", "batch_size ="),
    ('when = "responded"             # every counted response, opt-outs excluded; once per person\naction = "letter"',
     'when = "responded"\naction = "call"', "a responded rule can only send a letter", "action ="),
])
def test_errors_name_the_line_and_what_is_allowed(old, new, needle, on_line):
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    with pytest.raises(ConfigError) as exc:
        parse_campaign(text, "c.toml")
    msg = str(exc.value)
    assert needle in msg and msg.startswith("c.toml, line ")
    line = int(msg.split("line ")[1].split(":")[0])
    assert on_line in text.splitlines()[line - 1]
