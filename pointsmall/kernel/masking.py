"""How a phone number or an e-mail address is shown to someone who must recognise it, not know it.

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
- Empty in, empty out: there is nothing to recognise.
"""

from __future__ import annotations

import re

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
# (characters kept at the start, at the end) for numbers of at least this length, longest first.
_PHONE_KEEP = ((11, 3, 4), (8, 0, 4), (6, 0, 2))
MASK = "*"


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
