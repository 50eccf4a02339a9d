// The review station's keyboard (no framework, no build step). Typing goes into the code field, whose check
// symbol is checked at every key (a port of mailing/codes.py); once the code is whole and right, the server
// names the coupon's options. Outside the code field (or once the code is right): 1-5 toggle the ticks,
// Enter confirms, V voids, N skips, C goes back into the code field, Esc leaves it.
"use strict";
(function () {
  const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const CHECK_ALPHABET = ALPHABET + "*%$+U";
  const LENGTH = 12;

  // codes.normalise: upper case, separators out, O→0 and I/L→1 (not in the check symbol U)
  function normalise(text) {
    const t = text.trim().toUpperCase().replace(/[\s\-_.]+/g, "");
    if (!t) return t;
    const alias = (s) => s.replace(/O/g, "0").replace(/[IL]/g, "1");
    const last = t[t.length - 1];
    return alias(t.slice(0, -1)) + (last === "U" ? last : alias(last));
  }

  // codes.parse without the exception: null when right, else the reason. The check symbol is Damm's over
  // x∘y = 2·x ⊕ y in GF(32) (x^5 + x^2 + 1); codes printed before it carry a mod-37 symbol, still accepted.
  const times2 = (x) => ((x << 1) & 32 ? (x << 1) ^ 0b100101 : x << 1);
  function problem(code) {
    if (code.length < LENGTH) return "noch " + (LENGTH - code.length) + " Zeichen";
    if (code.length > LENGTH) return (code.length - LENGTH) + " Zeichen zu viel";
    let value = 0;
    let interim = 0;
    for (const ch of code.slice(0, -1)) {
      const v = ALPHABET.indexOf(ch);
      if (v < 0) return "„" + ch + "“ kommt in Codes nicht vor";
      value = (value * 32 + v) % 37;  // the code's value mod 37, without big numbers
      interim = times2(interim) ^ v;
    }
    const last = code[LENGTH - 1];
    const c = ALPHABET.indexOf(last);
    if (c >= 0 && (times2(interim) ^ c) === 0) return null;
    if (CHECK_ALPHABET.indexOf(last) < 0) return "„" + last + "“ ist kein Prüfzeichen";
    return CHECK_ALPHABET[value] === last ? null : "Prüfzeichen falsch: bitte Code prüfen";
  }

  window.mailingCodes = {normalise, problem};  // for the browser test that checks the port against codes.py
  const form = document.getElementById("decide");
  if (!form) return;
  const code = document.getElementById("code");
  const state = document.getElementById("code-state");
  const ticks = document.getElementById("ticks");
  let valid = !code;  // items without a code field are decided by their ticks alone
  let lookedUp = "";

  function press(id) {
    const button = document.getElementById(id);
    if (button) form.requestSubmit(button);
  }

  function say(text, good) {
    state.textContent = text;
    state.className = "code-state " + (good ? "good" : "bad");
  }

  function showOptions(options, marks) {
    const keys = Object.keys(options);
    const before = {};
    ticks.querySelectorAll("label.tick").forEach((l) => { before[l.dataset.key] = l.querySelector("input").checked; });
    ticks.querySelectorAll("label.tick").forEach((l) => l.remove());
    keys.forEach((key, i) => {
      const label = document.createElement("label");
      label.className = "tick";
      label.dataset.key = key;
      const num = document.createElement("span");
      num.className = "num";
      num.textContent = String(i + 1);
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "opt_" + key;
      box.checked = key in before ? before[key] : marks[key] === "ticked";
      const text = document.createElement("span");
      text.className = "label";
      text.textContent = options[key];
      label.append(num, box, text);
      ticks.append(label);
    });
  }

  async function lookUp(normal) {
    lookedUp = normal;
    const response = await fetch("/review/check?code=" + encodeURIComponent(normal), {credentials: "same-origin"});
    if (!response.ok || lookedUp !== normal) return;
    const found = await response.json();
    if (found.campaign) {
      valid = true;
      say("✓ Code stimmt – " + found.campaign, true);
      showOptions(found.options, JSON.parse(form.dataset.marks || "{}"));
      code.blur();
    } else {
      valid = false;
      say("Prüfzeichen stimmt, aber diesen Code gibt es nicht", false);
    }
  }

  function onCode() {
    const normal = normalise(code.value);
    const why = problem(normal);
    valid = false;
    if (why) {
      lookedUp = "";
      say(normal ? why : "", false);
      return;
    }
    say("Prüfzeichen stimmt …", true);
    if (normal !== lookedUp) lookUp(normal);
  }

  if (code) {
    code.addEventListener("input", onCode);
    code.focus();
    code.select();  // a misread code is there to be corrected or typed over
    if (code.value) onCode();
  }

  function toggle(n) {
    const boxes = ticks.querySelectorAll("input[type=checkbox]");
    if (n >= 1 && n <= boxes.length) boxes[n - 1].checked = !boxes[n - 1].checked;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const inCode = code && document.activeElement === code;
    if (inCode) {
      if (event.key === "Escape") { code.blur(); event.preventDefault(); }
      else if (event.key === "Enter") {
        event.preventDefault();
        if (valid) press("confirm"); else say(problem(normalise(code.value)) || "Code noch nicht geprüft", false);
      }
      return;  // every other key types into the code (V and N are code symbols)
    }
    const key = event.key.toUpperCase();
    if (/^[1-5]$/.test(key)) { toggle(Number(key)); event.preventDefault(); }
    else if (key === "ENTER") {
      event.preventDefault();
      if (valid) press("confirm"); else if (code) { say("Erst den Code eingeben", false); code.focus(); }
    }
    else if (key === "V") { event.preventDefault(); press("void"); }
    else if (key === "N") { event.preventDefault(); press("skip"); }
    else if (key === "C" && code) { event.preventDefault(); code.focus(); code.select(); }
  });
  document.body.dataset.keys = "ready";  // the keyboard works from now on (tests wait for this)
})();
