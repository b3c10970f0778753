"""Personal identifiers masked before text leaves for an external model endpoint.

E-mail addresses, phone numbers (`phonenumbers`, international `+CC` form), IBANs (ISO 13616
mod-97 via `python-stdnum`), payment card numbers (Luhn via `python-stdnum`, plus a card network
prefix) and national ID numbers (Hong Kong HKID, China resident ID) become typed
placeholders, `[EMAIL_1]`, `[IBAN_1]`... Only checksum-valid IBANs, cards and IDs are masked, so
invoice numbers, amounts and references that merely look like them stay as they are. The same
value gets the same placeholder across one call's messages, and `restore` puts the values back
into the answer, so a step that asks the model to copy an IBAN still gets the IBAN.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import phonenumbers
from langchain_core.messages import AIMessage, BaseMessage
from stdnum import iban, luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

__all__ = ["PII_KINDS", "PiiKind", "Redaction"]

PiiKind = Literal["email", "phone", "iban", "card", "national_id"]
PII_KINDS: tuple[PiiKind, ...] = ("email", "phone", "iban", "card", "national_id")

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Groups of four with optional single spaces, as IBANs are printed; a trailing word after the
# last group is cut off by trying shorter candidates (see `_iban`).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_HKID = re.compile(r"\b([A-Z]{1,2})(\d{6}) ?\(?([0-9A])\)?(?![\w)])")
_CN_RIC = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
# Issuer prefixes of the major card networks (Visa, Mastercard, Amex, Diners, Discover, JCB,
# UnionPay): with Luhn alone one random digit string in ten would pass.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6011|64[4-9]|65|35|62)")


def hkid_valid(letters: str, digits: str, check: str) -> bool:
    """Check a Hong Kong identity card number's check digit (python-stdnum has no `hk` module).

    The published scheme: a lone prefix letter is preceded by a space worth 36; letters count
    A=10..Z=35, weighted 9 and 8; the six digits weighted 7..2; the check digit makes the sum
    divisible by 11, with 10 written `A`.
    """
    prefix = letters.rjust(2)
    values = [36 if c == " " else ord(c) - ord("A") + 10 for c in prefix] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


def _valid(check: object, value: str) -> bool:
    try:
        check(value)  # type: ignore[operator]
    except ValidationError:
        return False
    return True


@dataclass
class Redaction:
    """The masking of one call: which kinds it masks, and the placeholders it handed out."""

    kinds: frozenset[PiiKind]
    phone_region: str | None = None
    """the country whose numbers without a country code count as phone numbers"""
    values: dict[str, str] = field(default_factory=dict)
    """placeholder -> original value"""
    counts: Counter[str] = field(default_factory=Counter)
    """kind -> occurrences masked"""
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)

    def text(self, text: str) -> str:
        """Return `text` with every identifier of the configured kinds replaced."""
        # Numbers with checksums first, so a phone matcher never sees part of an IBAN or card.
        if "iban" in self.kinds:
            text = _IBAN.sub(lambda m: self._iban(m.group()), text)
        if "national_id" in self.kinds:
            text = _HKID.sub(
                lambda m: (
                    self._mask("national_id", m.group()) if hkid_valid(*m.groups()) else m.group()
                ),
                text,
            )
            text = self._checked(_CN_RIC, ric.validate, "national_id", text)
        if "card" in self.kinds:
            text = _CARD.sub(lambda m: self._card(m.group()), text)
        if "email" in self.kinds:
            text = _EMAIL.sub(lambda m: self._mask("email", m.group()), text)
        if "phone" in self.kinds:
            text = self._phones(text)
        return text

    def messages(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        """Return copies of `messages` with their text and earlier tool-call arguments masked."""
        masked = []
        for m in messages:
            update: dict[str, object] = {"content": self._content(m.content)}
            if isinstance(m, AIMessage) and m.tool_calls:
                # The endpoint is sent the arguments of earlier tool calls too.
                update["tool_calls"] = [
                    c | {"args": self._mask_value(c["args"])} for c in m.tool_calls
                ]
            masked.append(m.model_copy(update=update))
        return masked

    def restore(self, message: AIMessage) -> AIMessage:
        """Put the original values back into an answer's text and tool-call arguments."""
        if not self.values:
            return message
        calls = [c | {"args": self._restore_value(c["args"])} for c in message.tool_calls]
        return message.model_copy(
            update={"content": self._restore_value(message.content), "tool_calls": calls}
        )

    def summary(self) -> dict[str, int]:
        """Kinds and counts masked (never the values), for the decision log."""
        return dict(sorted(self.counts.items()))

    def _content(self, content: str | list[str | dict]) -> str | list[str | dict]:  # type: ignore[type-arg]
        if isinstance(content, str):
            return self.text(content)
        parts: list[str | dict] = []  # type: ignore[type-arg]
        for part in content:
            if isinstance(part, str):
                parts.append(self.text(part))
            elif part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part | {"text": self.text(part["text"])})
            else:
                parts.append(part)
        return parts

    def _mask_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask_value(v) for v in value]
        return value

    def _restore_value(self, value: object) -> object:
        if isinstance(value, str):
            for placeholder, original in self.values.items():
                value = value.replace(placeholder, original)
            return value
        if isinstance(value, dict):
            return {k: self._restore_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._restore_value(v) for v in value]
        return value

    def _mask(self, kind: PiiKind, value: str) -> str:
        self.counts[kind] += 1
        key = (kind, value)
        if key not in self._by_value:
            number = sum(1 for k, _ in self._by_value if k == kind) + 1
            placeholder = f"[{kind.upper()}_{number}]"
            self._by_value[key] = placeholder
            self.values[placeholder] = value
        return self._by_value[key]

    def _checked(self, pattern: re.Pattern[str], check: object, kind: PiiKind, text: str) -> str:
        return pattern.sub(
            lambda m: self._mask(kind, m.group()) if _valid(check, m.group()) else m.group(), text
        )

    def _iban(self, candidate: str) -> str:
        # The pattern may have taken a following word as a last group: try shorter, down to the
        # shortest IBAN (15 characters, Norway).
        for end in range(len(candidate), 14, -1):
            head = candidate[:end].rstrip()
            if len(head.replace(" ", "")) >= 15 and _valid(iban.validate, head):
                return self._mask("iban", head) + candidate[len(head) :]
        return candidate

    def _card(self, candidate: str) -> str:
        digits = re.sub(r"[ -]", "", candidate)
        if _CARD_PREFIX.match(digits) and _valid(luhn.validate, digits):
            return self._mask("card", candidate)
        return candidate

    def _phones(self, text: str) -> str:
        # Without a region only numbers written with their country code are found; VALID
        # leniency checks the number against the country's numbering plan.
        matches = list(
            phonenumbers.PhoneNumberMatcher(text, self.phone_region, phonenumbers.Leniency.VALID)
        )
        placeholders = [self._mask("phone", m.raw_string) for m in matches]
        for match, placeholder in reversed(list(zip(matches, placeholders, strict=True))):
            text = text[: match.start] + placeholder + text[match.end :]
        return text
