"""Text that addresses instructions to whoever (or whatever) reads the document: a prompt
injection. An invoice states what is owed; it has no reason to tell its reader to skip checks,
forget rules or approve a payment, so a document that does goes to a person, whichever reader
read it, and says why.

Matched per language (English, German, French, Spanish, Italian, Dutch, Chinese): a verb of
overriding (ignore, disregard, bypass ...) followed within a few words by what it would override
(instructions, checks, rules, review ...); approval or payment "without review" or "immediately";
a chat-role marker (`SYSTEM:`) opening a line with such a verb; and the stock phrases of
prompts (`you are an AI`, `system prompt`). A plain "please pay within 30 days" is no
instruction to the reader: it names neither a check nor a reader.
"""

from __future__ import annotations

import re

__all__ = ["instructions_in", "instructions_problem"]

_GAP = r"[^\n.!?]{0,60}?"  # a few words, within one sentence

_OVERRIDE = {
    "en": r"ignore|disregard|override|bypass|skip|forget|circumvent",
    "de": r"ignorier(?:e|en|t)?|missachte(?:n)?|übergeh(?:e|en)|vergiss|vergessen\s+sie|umgeh(?:e|en)",
    "fr": r"ignore[rz]?|oublie[rz]?|contourne[rz]?|ne\s+tenez\s+pas\s+compte",
    "es": r"ignora[rd]?|ignore(?:n)?|olvida[rd]?|omit[ae]n?|omitir",
    "it": r"ignora(?:re|te)?|ignori|dimentica(?:re|te)?|salta(?:re|te)?",
    "nl": r"negeer|negeren|vergeet|sla\s+over",
}
_RULES = {
    "en": r"instructions?|rules|checks?|validations?|verification|review|controls?|prompt|guidelines|policy",
    "de": r"anweisungen|anweisung|regeln|prüfung(?:en)?|kontrollen?|richtlinien|vorgaben",
    "fr": r"instructions?|consignes|règles|vérifications?|contrôles?",
    "es": r"instrucciones|instrucción|reglas|comprobaciones|verificaci(?:ón|ones)|controles|revisión",
    "it": r"istruzioni|regole|verifiche|controlli|revisione",
    "nl": r"instructies|regels|controles?|verificatie",
}
# Approving is a buyer's act, so a vendor asking for it "immediately" is addressing the reader;
# paying is not (`please pay immediately` is a vendor's wish), only paying unchecked is.
_APPROVE = {
    "en": r"approve|authori[sz]e|release\s+(?:the\s+)?payment",
    "de": r"genehmige[n]?|freigeben|gib\s+frei",
    "fr": r"approuve[rz]?|valide[rz]?",
    "es": r"aprueb[ae]n?|aprobar",
    "it": r"approva(?:re|te)?",
    "nl": r"keur\b[^\n.]{0,40}goed|goedkeuren",
}
_PAY = r"pay|bezahle[n]?|zahle[n]?|überweise[n]?|paye[rz]?|réglez|paga[rd]?|pague(?:n)?|pagate|betaal|betalen"
_UNCHECKED = {
    "en": r"without\s+(?:any\s+)?(?:review|checks?|checking|verification|approval)",
    "de": r"ohne\s+(?:jede\s+)?(?:prüfung|kontrolle|freigabe)",
    "fr": r"sans\s+(?:aucune?\s+)?(?:vérification|contrôle|validation)",
    "es": r"sin\s+(?:ninguna\s+)?(?:revisión|verificación|comprobación|control)",
    "it": r"senza\s+(?:alcun[ao]?\s+)?(?:verifica|controllo|revisione)",
    "nl": r"zonder\s+(?:enige\s+)?(?:controle|verificatie)",
}
_AT_ONCE = r"immediately|automatically|sofort|umgehend|automatisch|immédiatement|automatiquement"
_AT_ONCE += r"|inmediatamente|automáticamente|immediatamente|subito|automaticamente|onmiddellijk"
_ZH = (
    r"(?:忽略|无视|忽视|跳过|绕过)[^\n。]{0,20}?(?:指令|指示|规则|检查|校验|审核|审查|提示)"
    r"|(?:直接|立即|自动)(?:批准|付款|支付|审批通过)"
    r"|(?:无需|不用|不要)(?:审核|检查|校验)"
)
_STOCK = (
    r"(?:you\s+are|act\s+as)\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|(?:large\s+)?language\s+model|chatbot)\b"
    r"|system\s+prompt|new\s+instructions\s*:|<\|im_start\|>|\[/?INST\]"
    r"|(?:note|message|instruction)s?\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|model|llm|bot)\b"
)
_ROLE = r"^[ \t>*#-]*(?:system|assistant|ai|llm|user)\s*[:：]"

_verbs = "|".join(_OVERRIDE.values())
_rules = "|".join(_RULES.values())
_approve = "|".join(_APPROVE.values())
_unchecked = "|".join(_UNCHECKED.values())
_PATTERN = re.compile(
    rf"\b(?:{_verbs})\b{_GAP}\b(?:{_rules})\b"
    rf"|\b(?:{_approve}|{_PAY})\b{_GAP}(?:{_unchecked})\b"
    rf"|\b(?:{_approve})\b{_GAP}\b(?:{_AT_ONCE})\b"
    rf"|{_ZH}|{_STOCK}"
    rf"|{_ROLE}{_GAP}\b(?:{_verbs}|{_approve}|{_PAY})\b",
    re.IGNORECASE | re.MULTILINE,
)


def instructions_in(text: str) -> str | None:
    """The line of `text` that instructs its reader (at most 160 characters), or None."""
    match = _PATTERN.search(text)
    if match is None:
        return None
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = " ".join(text[start : end if end >= 0 else len(text)].split())
    return line if len(line) <= 160 else line[:157] + "..."


def instructions_problem(said: str) -> str:
    """The problem that sends a document with instructions to a person."""
    return (
        f"document: it addresses instructions to whoever reads it ({said!r}); an invoice has "
        "no reason to, so a person reads this one"
    )
