"""How vendors write: labels in six languages, four decimal styles, ten date styles, currency
marks. Written for this eval from how real invoices read, not from any parser's label table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "note_date": "Delivery date",
        "invoice": "INVOICE",
        "number": "Invoice no.",
        "date": "Invoice date",
        "due": "Due date",
        "order": "Your order",
        "customer": "Bill to",
        "code": "Item",
        "description": "Description",
        "qty": "Qty",
        "unit": "Unit",
        "price": "Unit price",
        "amount": "Amount",
        "subtotal": "Net total",
        "vat": "VAT {rate} %",
        "total": "Total due",
        "iban": "IBAN",
        "page": "Page {n} of {m}",
        "carried": "Carried forward",
        "brought": "Brought forward",
        "terms": "Payment within 30 days net. Thank you for your business.",
        "delivery": "DELIVERY NOTE",
        "delivery_no": "Delivery note no.",
        "delivered": "Delivered",
        "greeting": "Dear Sir or Madam,",
        "attached": "please find our invoice below.",
        "regards": "Kind regards",
    },
    "de": {
        "note_date": "Lieferdatum",
        "invoice": "RECHNUNG",
        "number": "Rechnungsnummer",
        "date": "Rechnungsdatum",
        "due": "Zahlbar bis",
        "order": "Ihre Bestellung",
        "customer": "Rechnungsempfänger",
        "code": "Art.-Nr.",
        "description": "Bezeichnung",
        "qty": "Menge",
        "unit": "ME",
        "price": "Einzelpreis",
        "amount": "Gesamtpreis",
        "subtotal": "Nettobetrag",
        "vat": "zzgl. {rate} % USt.",
        "total": "Rechnungsbetrag",
        "iban": "IBAN",
        "page": "Seite {n} von {m}",
        "carried": "Übertrag",
        "brought": "Übertrag von Seite {p}",
        "terms": "Zahlbar innerhalb von 30 Tagen ohne Abzug.",
        "delivery": "LIEFERSCHEIN",
        "delivery_no": "Lieferschein-Nr.",
        "delivered": "Geliefert",
        "greeting": "Sehr geehrte Damen und Herren,",
        "attached": "anbei erhalten Sie unsere Rechnung.",
        "regards": "Mit freundlichen Grüßen",
    },
    "fr": {
        "note_date": "Date de livraison",
        "invoice": "FACTURE",
        "number": "Facture n°",
        "date": "Date de facture",
        "due": "Échéance",
        "order": "Votre commande",
        "customer": "Facturé à",
        "code": "Réf.",
        "description": "Désignation",
        "qty": "Qté",
        "unit": "Unité",
        "price": "Prix unitaire HT",
        "amount": "Montant HT",
        "subtotal": "Total HT",
        "vat": "TVA {rate} %",
        "total": "Total TTC",
        "iban": "IBAN",
        "page": "Page {n}/{m}",
        "carried": "À reporter",
        "brought": "Report",
        "terms": "Paiement à 30 jours net. Pas d'escompte pour paiement anticipé.",
        "delivery": "BON DE LIVRAISON",
        "delivery_no": "Bon de livraison n°",
        "delivered": "Livré",
        "greeting": "Madame, Monsieur,",
        "attached": "veuillez trouver ci-dessous notre facture.",
        "regards": "Cordialement",
    },
    "zh": {
        "note_date": "送货日期",
        "invoice": "商业发票",
        "number": "发票号码",
        "date": "开票日期",
        "due": "付款期限",
        "order": "采购订单号",
        "customer": "购买方",
        "code": "货号",
        "description": "货物名称",
        "qty": "数量",
        "unit": "单位",
        "price": "单价",
        "amount": "金额",
        "subtotal": "不含税金额",
        "vat": "税额 ({rate}%)",
        "total": "价税合计",
        "iban": "银行账户",
        "page": "第 {n} 页 共 {m} 页",
        "carried": "转下页",
        "brought": "承上页",
        "terms": "请于30天内付款。",
        "delivery": "送货单",
        "delivery_no": "送货单号",
        "delivered": "已送货",
        "greeting": "您好，",
        "attached": "以下是我们的发票。",
        "regards": "此致敬礼",
    },
    "es": {
        "note_date": "Fecha de entrega",
        "invoice": "FACTURA",
        "number": "Nº de factura",
        "date": "Fecha de emisión",
        "due": "Vencimiento",
        "order": "Su pedido",
        "customer": "Cliente",
        "code": "Código",
        "description": "Concepto",
        "qty": "Cantidad",
        "unit": "Ud.",
        "price": "Precio unit.",
        "amount": "Importe",
        "subtotal": "Base imponible",
        "vat": "IVA {rate} %",
        "total": "Total factura",
        "iban": "IBAN",
        "page": "Página {n} de {m}",
        "carried": "Suma y sigue",
        "brought": "Suma anterior",
        "terms": "Forma de pago: transferencia a 30 días.",
        "delivery": "ALBARÁN",
        "delivery_no": "Nº de albarán",
        "delivered": "Entregado",
        "greeting": "Estimados señores:",
        "attached": "les remitimos nuestra factura.",
        "regards": "Atentamente",
    },
    "it": {
        "note_date": "Data consegna",
        "invoice": "FATTURA",
        "number": "Fattura n.",
        "date": "Data fattura",
        "due": "Scadenza",
        "order": "Vs. ordine",
        "customer": "Spett.le",
        "code": "Codice",
        "description": "Descrizione",
        "qty": "Q.tà",
        "unit": "U.M.",
        "price": "Prezzo unit.",
        "amount": "Importo",
        "subtotal": "Imponibile",
        "vat": "IVA {rate}%",
        "total": "Totale documento",
        "iban": "IBAN",
        "page": "Pagina {n} di {m}",
        "carried": "A riportare",
        "brought": "Riporto",
        "terms": "Pagamento: bonifico bancario 30 gg d.f.",
        "delivery": "DOCUMENTO DI TRASPORTO",
        "delivery_no": "DDT n.",
        "delivered": "Consegnato",
        "greeting": "Gentili Signori,",
        "attached": "di seguito la nostra fattura.",
        "regards": "Cordiali saluti",
    },
}

UNITS = {
    "en": {"u": "pcs", "m": "m"},
    "de": {"u": "Stk", "m": "m"},
    "fr": {"u": "pce", "m": "m"},
    "zh": {"u": "个", "m": "米"},
    "es": {"u": "ud.", "m": "m"},
    "it": {"u": "pz", "m": "m"},
}

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
}

# Each style as a template: `d`, `m` the day and month numbers (`dd`, `mm` zero-padded), `y` the
# year, `month` the month's name in the style's language.
_DATE_TEMPLATES = {
    "iso": "{y}-{mm}-{dd}",
    "dmy_dot": "{dd}.{mm}.{y}",
    "dmy_slash": "{dd}/{mm}/{y}",
    "us": "{mm}/{dd}/{y}",
    "en_long": "{d} {month} {y}",
    "de_long": "{d}. {month} {y}",
    "fr_long": "{d} {month} {y}",
    "es_long": "{d} de {month} de {y}",
    "it_long": "{d} {month} {y}",
    "zh": "{y}年{m}月{d}日",
}
DATE_STYLES = tuple(_DATE_TEMPLATES)


def date_text(day: dt.date, style: str) -> str:
    """`day` as a vendor of this style writes it."""
    template = _DATE_TEMPLATES.get(style)
    if template is None:
        raise ValueError(f"unknown date style {style!r}")
    lang = style.removesuffix("_long")
    month = _MONTHS[lang].split()[day.month - 1] if lang in _MONTHS else ""
    # French writes the first of a month as an ordinal.
    d = "1er" if style == "fr_long" and day.day == 1 else str(day.day)
    return template.format(
        d=d,
        dd=f"{day.day:02d}",
        m=day.month,
        mm=f"{day.month:02d}",
        y=f"{day.year:04d}",
        month=month,
    )


_SEPARATORS = {"en": (",", "."), "de": (".", ","), "fr": (" ", ","), "ch": ("'", ".")}


def number_text(value: Decimal, style: str, places: int = 2) -> str:
    """`value` with `places` decimals, grouped and pointed in `style` (en, de, fr, ch)."""
    group, point = _SEPARATORS[style]
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{places}f}"  # 1,234.56
    whole, _, fraction = text.partition(".")
    whole = whole.replace(",", group)
    return sign + whole + (point + fraction if fraction else "")


def quantity_text(value: Decimal, style: str) -> str:
    """A quantity: whole numbers without decimals, others with as many as they need."""
    if value == value.to_integral_value():
        return number_text(value, style, 0)
    places = max(0, -int(value.normalize().as_tuple().exponent))
    return number_text(value, style, places)


def price_text(value: Decimal, style: str) -> str:
    """A unit price as printed: two decimals, or as many as it has beyond."""
    return number_text(value, style, max(2, -int(value.normalize().as_tuple().exponent)))


def money_text(value: Decimal, style: str, currency: str, mark: str) -> str:
    """An amount with its currency as the vendor marks it: `code`, `symbol` after, `symbol-first`."""
    number = number_text(value, style)
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency)
    if mark == "symbol":
        return f"{number} {symbol}"
    if mark == "symbol-first":
        return f"{symbol}{number}"
    return f"{currency} {number}"
