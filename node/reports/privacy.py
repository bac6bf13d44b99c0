"""What of a report may be shown: e-mail addresses and phone numbers in free text are masked.

People write "ruft mich an: 0171 2345678" or "info@example.org" into the description; the
public view, the open dataset and every event that leaves the node carry the masked text.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# a run of digits with the separators people type (+49 (0)4671/123-45, 0171 2345678)
PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\(?\d[\d\s()/.\-]{5,}\d(?![\w])")
DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})$|^\d{4}-\d{2}-\d{2}$|^\d{1,2}:\d{2}$")
EMAIL_MASK = "[E-Mail-Adresse entfernt]"
PHONE_MASK = "[Telefonnummer entfernt]"


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if digits < 7 or DATE.match(text.strip()):
        return text
    return PHONE_MASK


def mask(text: str) -> str:
    """`text` with e-mail addresses and phone numbers replaced by a plain marker."""
    return PHONE.sub(_phone, EMAIL.sub(EMAIL_MASK, text))
