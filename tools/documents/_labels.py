"""The words invoices label their values with, in English, German, French, Chinese, Spanish,
Italian and Dutch: header fields, totals, table columns, and the titles that say what a document is.

Each label is a regular expression matched against the start of a cell, case-insensitively; when
several fields' labels match one cell the longest match wins, so `Total excl. VAT` is a subtotal,
`Total VAT` a tax and `Total` the total. Languages tell how the document writes dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = r"(?:\s*\(?\s*(?:[\d.,]+\s*%|[\d.,]+\s*％)\s*\)?)?"  # `VAT 20 %`, `MwSt. (19%)`
# The rate and a "plus"/"included" word may stand before the tax's name: `zzgl. 19 % USt.`,
# `plus 20% VAT`, `inkl. 7 % MwSt.`, `dont TVA 20 %`.
_PRE = r"(?:(?:zzgl\.?|inkl\.?|plus|incl\.?|dont|\+)\s*)?(?:[\d.,]+\s*[%％]\s*)?"

FIELD_LABELS: dict[str, dict[str, list[str]]] = {
    "invoice_number": {
        "en": [
            r"invoice\s*(?:no\.?|number|num\.?|#|id)",
            r"invoice(?=\s*[:#])",  # `Invoice: INV-7`
            r"inv\.?\s*(?:no\.?|#)",
            r"bill\s*no\.?",
        ],
        "de": [r"rechnungs-?\s*(?:nummer|nr\.?)", r"rechnung\s*(?:nr\.?|#)", r"beleg-?nr\.?"],
        "fr": [r"(?:n°|no\.?|numéro)\s*(?:de\s*)?facture", r"facture\s*(?:n°|no\.?|numéro)"],
        "zh": [r"发票号码", r"发票号", r"发票编号"],
        "es": [r"(?:n[º°o]\.?|número)\s*(?:de\s*)?factura", r"factura\s*(?:n[º°o]\.?|número)"],
        "it": [r"(?:n\.?|numero)\s*(?:di\s*)?fattura", r"fattura\s*(?:n\.?|numero)"],
        "nl": [r"factuur\s*(?:nummer|nr\.?)", r"factuurnummer"],
    },
    "issue_date": {
        "en": [r"invoice\s*date", r"date\s*of\s*issue", r"issue\s*date", r"date"],
        "de": [r"rechnungsdatum", r"datum"],
        "fr": [r"date\s*(?:de\s*(?:la\s*)?)?facture", r"date\s*d'émission", r"date"],
        "zh": [r"开票日期", r"发票日期", r"日期"],
        "es": [r"fecha\s*(?:de\s*(?:la\s*)?)?factura", r"fecha\s*de\s*emisión", r"fecha"],
        "it": [r"data\s*(?:della\s*)?fattura", r"data"],
        "nl": [r"factuurdatum", r"datum"],
    },
    "due_date": {
        "en": [r"due\s*date", r"payment\s*due(?:\s*date)?", r"pay\s*by", r"due"],
        "de": [r"fällig(?:keitsdatum|\s*am)?", r"zahlbar\s*bis", r"zahlungsziel"],
        "fr": [r"(?:date\s*d')?échéance", r"à\s*payer\s*avant\s*le", r"payable\s*le"],
        "zh": [r"到期日(?:期)?", r"付款期限", r"付款截止日(?:期)?"],
        "es": [r"(?:fecha\s*de\s*)?vencimiento"],
        "it": [r"(?:data\s*(?:di\s*)?)?scadenza"],
        "nl": [r"vervaldatum", r"te\s*betalen\s*voor"],
    },
    "po_number": {
        "en": [
            r"(?:purchase\s*order|p\.?o\.?)\s*(?:no\.?|number|#|ref(?:erence)?)?",
            r"your\s*(?:order|ref(?:erence)?)",
            r"order\s*(?:no\.?|number|ref(?:erence)?)",
        ],
        "de": [r"bestell(?:-?nummer|-?nr\.?|ung)", r"ihre\s*bestellung", r"auftrags-?nr\.?"],
        "fr": [r"(?:bon\s*de\s*)?commande(?:\s*n°)?", r"votre\s*commande", r"n°\s*de\s*commande"],
        "zh": [r"采购订单号?", r"订单号(?:码)?"],
        "es": [r"pedido(?:\s*n[º°o]\.?)?", r"orden\s*de\s*compra"],
        "it": [r"ordine(?:\s*n\.?)?", r"vs\.?\s*ordine"],
        "nl": [r"bestel(?:nummer|bon)", r"uw\s*order", r"inkooporder"],
    },
    "vendor_tax_id": {
        "en": [r"vat\s*(?:id|no\.?|number|reg(?:istration)?\.?\s*no\.?)", r"tax\s*id"],
        "de": [r"ust\.?-?\s*id(?:-?nr\.?)?", r"umsatzsteuer-?id(?:entifikationsnummer)?"],
        "fr": [r"n°\s*(?:de\s*)?tva(?:\s*intracommunautaire)?", r"tva\s*intracom(?:munautaire)?"],
        "zh": [r"纳税人识别号", r"税号"],
        "es": [r"nif", r"cif"],
        "it": [r"p\.?\s*iva", r"partita\s*iva"],
        "nl": [r"btw-?(?:nummer|nr\.?)"],
    },
    "subtotal": {
        "en": [
            r"sub-?\s*total",
            r"net\s*(?:total|amount)",
            r"total\s*(?:net|excl\.?(?:uding)?\s*(?:vat|tax))",
            r"total\s*before\s*tax",
        ],
        "de": [
            r"netto-?\s*(?:betrag|summe)",
            r"summe\s*netto",
            r"zwischensumme",
            r"gesamt\s*netto",
        ],
        "fr": [r"total\s*h\.?t\.?", r"sous-?\s*total", r"montant\s*h\.?t\.?"],
        # not `合计` alone: on a Chinese VAT invoice it is the net sum, on others the total
        "zh": [r"小计", r"不含税金额", r"金额合计", r"合计金额"],
        "es": [r"base\s*imponible", r"subtotal"],
        "it": [r"imponibile", r"totale\s*imponibile"],
        "nl": [r"subtotaal", r"totaal\s*excl\.?\s*btw"],
    },
    "tax": {
        "en": [rf"{_PRE}(?:vat|tax|sales\s*tax|gst){_RATE}", rf"total\s*(?:vat|tax){_RATE}"],
        "de": [rf"{_PRE}(?:mwst\.?|ust\.?|umsatzsteuer|mehrwertsteuer){_RATE}"],
        "fr": [rf"{_PRE}(?:tva|montant\s*tva|total\s*tva){_RATE}"],
        "zh": [rf"税额{_RATE}", rf"增值税(?:额)?{_RATE}", rf"税金{_RATE}"],
        "es": [rf"{_PRE}iva{_RATE}"],
        "it": [rf"iva{_RATE}", rf"imposta{_RATE}"],
        "nl": [rf"{_PRE}btw{_RATE}"],
    },
    "total": {
        "en": [
            r"total\s*(?:due|amount|incl\.?(?:uding)?\s*(?:vat|tax))?",
            r"amount\s*due",
            r"grand\s*total",
            r"balance\s*due",
            r"invoice\s*total",
        ],
        "de": [
            r"gesamt-?\s*(?:betrag|summe)",
            r"rechnungsbetrag",
            r"summe\s*brutto",
            r"brutto-?\s*betrag",
            r"zu\s*zahlen(?:der\s*betrag)?",
            r"endbetrag",
        ],
        "fr": [r"total\s*t\.?t\.?c\.?", r"net\s*à\s*payer", r"montant\s*(?:total|ttc)"],
        "zh": [r"价税合计", r"总计", r"应付(?:金额|总额)"],
        "es": [r"total(?:\s*factura|\s*a\s*pagar)?", r"importe\s*total"],
        "it": [r"totale(?:\s*(?:fattura|documento|da\s*pagare))?"],
        "nl": [r"totaal(?:\s*incl\.?\s*btw|\s*te\s*betalen)?", r"te\s*betalen"],
    },
    "currency": {
        "en": [r"currency"],
        "de": [r"währung"],
        "fr": [r"devise", r"monnaie"],
        "zh": [r"币种", r"货币"],
        "es": [r"moneda", r"divisa"],
        "it": [r"valuta"],
        "nl": [r"valuta", r"munteenheid"],
    },
}

COLUMN_LABELS: dict[str, list[str]] = {
    "quantity": [
        r"qty\.?",
        r"quantity",
        r"menge",
        r"anzahl",
        r"quantité",
        r"qté",
        r"数量",
        r"cantidad",
        r"cant\.?",
        r"quantità",
        r"q\.tà",
        r"aantal",
        r"units",  # not `unit`: a column of its own says the unit of measure (pcs, kg)
    ],
    "unit_price": [
        r"unit\s*price",
        r"price(?:\s*per\s*unit)?",
        r"rate",
        r"einzelpreis",
        r"preis(?:\s*/\s*einheit)?",
        r"e-?preis",
        r"prix\s*unitaire(?:\s*h\.?t\.?)?",
        r"p\.?u\.?(?:\s*h\.?t\.?)?",
        r"单价",
        r"precio(?:\s*unitario)?",
        r"prezzo(?:\s*unitario)?",
        r"stukprijs",
        r"prijs",
    ],
    "amount": [
        r"amount",
        r"line\s*total",
        r"(?:total|net|line|ext(?:ended|\.)?)\s*(?:price|amount|value)",
        r"total",
        r"net",
        r"betrag",
        r"gesamt(?:preis)?",
        r"summe",
        r"montant(?:\s*h\.?t\.?)?",
        r"total\s*h\.?t\.?",
        r"金额",
        r"importe",
        r"importo",
        r"bedrag",
        r"totaal",
    ],
}

INVOICE_TITLES = [
    r"invoice",
    r"tax\s*invoice",
    r"rechnung",
    r"facture",
    r"发票",
    r"factura",
    r"fattura",
    r"factuur",
]
# Documents that look like invoices (items, quantities, maybe prices) but bill nothing.
NOT_INVOICE_TITLES = {
    "delivery note": [
        r"delivery\s*note",
        r"packing\s*(?:slip|list)",
        r"lieferschein",
        r"bon\s*de\s*livraison",
        r"送货单",
        r"发货单",
        r"albarán",
        r"documento\s*di\s*trasporto",
        r"pakbon",
    ],
    "quotation": [r"quotation", r"quote", r"angebot", r"devis", r"报价单", r"presupuesto"],
    "credit note": [r"credit\s*note", r"gutschrift", r"avoir", r"nota\s*de\s*crédito"],
    "order confirmation": [r"order\s*confirmation", r"auftragsbestätigung"],
    "reminder": [r"payment\s*reminder", r"zahlungserinnerung", r"mahnung", r"relance"],
}
DAY_FIRST_LANGUAGES = frozenset({"de", "fr", "es", "it", "nl"})


@dataclass(frozen=True)
class LabelHit:
    field: str
    language: str
    end: int  # where the label ends in the cell's text


_SEPARATOR = r"\s*(?:[:：#]|\.(?=\s)|\s-\s)?\s*"
_COMPILED = {
    field: [
        (language, re.compile(rf"(?:{pattern}){_SEPARATOR}", re.IGNORECASE))
        for language, patterns in languages.items()
        for pattern in patterns
    ]
    for field, languages in FIELD_LABELS.items()
}
_COLUMNS = {
    field: re.compile(rf"(?:{'|'.join(patterns)})\s*(?:\([^)]*\))?\s*[:：]?", re.IGNORECASE)
    for field, patterns in COLUMN_LABELS.items()
}


def label_at(text: str) -> LabelHit | None:
    """The field whose label starts the text (the longest label wins), with where it ends.

    A label must end at a word boundary: `Datum` is a label, `Datumsformat` is not.
    """
    best: LabelHit | None = None
    best_length = -1
    for field, patterns in _COMPILED.items():
        for language, pattern in patterns:
            match = pattern.match(text)
            if match is None:
                continue
            core = match.group().rstrip(" :：#")
            after = text[len(core) : len(core) + 1]
            if core and core[-1].isalnum() and (after.isalnum() or after in ("-", "_", "/")):
                continue  # the start of a longer word (`Datumsformat`) or a code (`PO-00042`)
            if len(core) > best_length:
                best, best_length = LabelHit(field, language, match.end()), len(core)
    return best


def column_of(text: str) -> str | None:
    """The lines-table column a header cell names (quantity, unit_price, amount), if any."""
    text = unswap_letters(text)
    for field, pattern in _COLUMNS.items():
        if pattern.fullmatch(text.strip()):
            return field
    return None


_MENTIONS = {
    field: re.compile(
        "|".join(rf"(?<![^\W\d_])(?:{p})(?![^\W\d_])" for p in patterns), re.IGNORECASE
    )
    for field, patterns in COLUMN_LABELS.items()
}


def mentions_columns(text: str) -> bool:
    """Whether a cell names two columns (`price Qty`, `Unit price Amount`): a header whose cells
    were cut or run together."""
    text = unswap_letters(text)
    return sum(1 for pattern in _MENTIONS.values() if pattern.search(text)) >= 2


# A digit standing for the letter it looks like, inside a word (`Inv0ice`, `Y0ur`, `Tota1`):
# scanned and retyped documents have them. Replaced one for one, so positions stay; numbers and
# codes (`PO-00042`, `M10`, `2RS`) keep their digits.
_INSIDE = r"(?<=[^\W\d_])[015](?=[^\W\d_])|(?<=[a-z]{2})0(?![\w])"
_LOOKALIKE_INSIDE = re.compile(_INSIDE)
_LOOKALIKE_IN_WORD = re.compile(
    rf"{_INSIDE}|(?<=[^\W\d_]{{2}})[015](?![\w])|(?<=[^\W\d_])0(?![\w])"
    r"|(?<![\w-])[015](?=[^\W\d_]{3})"
)
_LETTER_FOR = {"0": "o", "1": "l", "5": "s"}


def unswap_letters(text: str, *, inside_only: bool = False) -> str:
    """`text` with digits inside words read as the letters they look like, same length.

    `inside_only`: only a digit between two letters (`T0ner`) or an o after small letters
    (`Eur0`), for text that may end or start with a size or code (`DN5`, `5x`), such as a
    line's description.
    """

    def letter(match: re.Match[str]) -> str:
        before = text[match.start() - 1 : match.start()]
        after = text[match.end() : match.end() + 1]
        upper = (before.isupper() or not before.isalpha()) and after.isupper()
        found = _LETTER_FOR[match.group()]
        return found.upper() if upper else found

    return (_LOOKALIKE_INSIDE if inside_only else _LOOKALIKE_IN_WORD).sub(letter, text)


def label_in(text: str) -> LabelHit | None:
    """`label_at` on the text with look-alike digits in words read as letters."""
    return label_at(unswap_letters(text))


def title_kind(text: str) -> str | None:
    """`invoice`, or the kind of non-invoice document a title cell names, or None.

    A title stands alone in its cell, maybe with its number (`Delivery note DN-7`); a label
    with a colon (`Delivery note: DN-7` on an invoice) is no title.
    """
    lowered = text.strip().casefold()
    if ":" in lowered or "：" in lowered:
        return None
    suffix = r"(?:\s+(?:no\.?|nr\.?|n°|#)?\s*[\w./-]*\d[\w./-]*)?"
    for kind, patterns in NOT_INVOICE_TITLES.items():
        if any(re.fullmatch(rf"(?:{p}){suffix}", lowered) for p in patterns):
            return kind
    if any(re.fullmatch(rf"(?:{p}){suffix}", lowered) for p in INVOICE_TITLES):
        return "invoice"
    return None
