"""How a phone number, an e-mail address or a member's name is shown to someone who must
recognise it, not know it.

One rule for every list, till and message (accounts, catalog):

- A phone number (separators and spaces dropped first) keeps at most its first 3 and last 4
  characters, and always hides at least 4: ``13812345678`` → ``138****5678``,
  ``+4915123456789`` → ``+49*******6789``. Shorter numbers show less: 8 to 10 characters keep
  only the last 4, 6 or 7 characters only the last 2, and 5 or fewer show nothing but stars.
  A stored number is 11 digits or ``+`` and 8 to 15 digits, so the short cases are typos and
  imports, never a reason to show a whole number.
- An e-mail address keeps the domain and at most the first 2 characters of the local part,
  and always hides at least one of them: ``alice@example.com`` → ``al***@example.com``,
  ``bob@…`` → ``bo***@…``, ``ab@…`` → ``a***@…``, ``a@…`` → ``***@…``. Text without ``@`` is
  masked like a local part (``no-at-sign`` → ``no***``).
- A member's name on a public list (the leaderboard) keeps one or two characters and hides
  the length of the rest behind a fixed number of stars. Surrounding spaces are dropped first.
  A name whose first character is CJK (Han, kana, Hangul) keeps that character and shows
  ``**``: ``张三`` → ``张**``, ``张三丰`` → ``张**``, ``欧阳娜娜`` → ``欧**``. Any other name
  keeps its first and last character around ``***``: ``alice`` → ``a***e``,
  ``Alexander`` → ``A***r``; 2 characters keep the first (``al`` → ``a*``). A name of one
  character shows ``*``. Only a letter or a digit is ever kept: an emoji or a symbol at
  either end is a star too, so half of an emoji sequence is never shown (``😀bob`` → ``****b``).
- Empty in, empty out: there is nothing to recognise.
"""

from __future__ import annotations

import re
import unicodedata

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
# (characters kept at the start, at the end) for numbers of at least this length, longest first.
_PHONE_KEEP = ((11, 3, 4), (8, 0, 4), (6, 0, 2))
MASK = "*"
# Han (with extensions and compatibility ideographs), kana, Hangul.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")


def mask_phone(phone: str) -> str:
    """``phone`` with its middle hidden (see the module's rule); the length of the number is kept."""
    compact = _PHONE_SEPARATORS.sub("", phone)
    for length, head, tail in _PHONE_KEEP:
        if len(compact) >= length:
            return compact[:head] + MASK * (len(compact) - head - tail) + compact[-tail:]
    return MASK * len(compact)


def mask_email(email: str) -> str:
    """``email`` with its local part hidden but for up to 2 leading characters: al***@example.com."""
    if not email:
        return ""
    local, _at, domain = email.strip().partition("@")
    kept = local[: min(2, len(local) - 1)] if local else ""
    return f"{kept}{MASK * 3}@{domain}" if domain else f"{kept}{MASK * 3}"


def _kept(character: str) -> str:
    """``character`` when it may be shown (a letter or a digit), else a star."""
    return character if unicodedata.category(character)[0] in "LN" else MASK


def mask_name(name: str) -> str:
    """``name`` as a public list shows it: ``张**``, ``a***e`` (see the module's rule)."""
    name = name.strip()
    if not name:
        return ""
    if len(name) == 1:
        return MASK
    if _CJK.match(name):
        return _kept(name[0]) + MASK * 2
    if len(name) == 2:
        return _kept(name[0]) + MASK
    return _kept(name[0]) + MASK * 3 + _kept(name[-1])


# An e-mail address, and a phone number standing alone (an optional +, 2 to 4 digits, then 2 or 3
# groups of 3 or 4 digits, maybe after a space or a dash, at least 10 digits in all: a date or a
# time, with its 2-digit parts, is not one), as mail servers and SMS providers quote them in errors.
# (No apostrophe in the local part, which RFC 5322 allows: messages quote addresses with it.)
_EMAIL_IN_TEXT = re.compile(r"[\w.!#$%&*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_MIN_DIGITS = 10
_PHONE_IN_TEXT = re.compile(r"(?<![\w+-])\+?\d{2,4}(?:[ -]?\d{3,4}){2,3}(?![\w-])")


def mask_contacts_in(text: str) -> str:
    """``text`` (an error message for a log line) with every e-mail address and phone number in
    it masked (mask_email, mask_phone): ``550 5.1.1 <alice@example.com>: no such user`` →
    ``550 5.1.1 <al***@example.com>: no such user``. SMTP codes (``550``, ``5.1.1``) are kept."""
    text = _EMAIL_IN_TEXT.sub(lambda match: mask_email(match.group(0)), text)
    return _PHONE_IN_TEXT.sub(_mask_phone_match, text)


def _mask_phone_match(match: re.Match[str]) -> str:
    found = match.group(0)
    return mask_phone(found) if sum(character.isdigit() for character in found) >= _PHONE_MIN_DIGITS else found


def mask_address(detail: str) -> str:
    """The street part of a shipping address (``detail``: road, building, room) as staff see it
    by default: its first 3 characters and a fixed ``****`` that hides the length of the rest:
    ``幸福路88号3栋502`` → ``幸福路****``. Province, city and district are shown as they are (they
    locate a warehouse's route, not a door). 3 characters or fewer show only the stars."""
    detail = detail.strip()
    if not detail:
        return ""
    return (detail[:3] if len(detail) > 3 else "") + MASK * 4
