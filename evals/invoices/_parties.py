"""Who bills and what is bought in the held-out set: vendors as they write themselves, the
buyer, and the catalogue the ERP buys from them.

Every vendor detail is realistic in form (VAT ids and IBANs carry valid check digits), and
none of it is the seeded demo's: the harness creates these vendors and products in Tryton.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from evals.invoices._locale import (
    UNITS,
    date_text,
    money_text,
    number_text,
    price_text,
    quantity_text,
)


@dataclass(frozen=True)
class Vendor:
    name: str  # legal name, as in the ERP and on the documents
    local_name: str | None  # the name in the vendor's own script, printed above the legal one
    street: str
    city: str  # postcode and city as the country writes them
    country: str
    tax_label: str  # how the vendor labels its tax id
    tax_id: str  # as printed (spaces and dots included)
    tax_type: str | None  # Tryton identifier type; None: a free-form identifier
    iban: str
    email: str
    display: str  # the display name of its From header
    lang: str  # label language: en, de, fr, zh, es, it
    numbers: str  # decimal style: en 1,234.56 | de 1.234,56 | fr 1 234,56 | ch 1'234.56
    dates: tuple[str, ...]  # date styles it uses (see _locale.DATE_STYLES)
    money: str  # code (EUR 12.00), symbol (12,00 €), symbol-first (€12.00)

    @property
    def tax_id_compact(self) -> str:
        return "".join(c for c in self.tax_id if c.isalnum()).upper()


VENDORS = (
    Vendor(
        "Hofmann Präzisionsteile GmbH",
        None,
        "Industriestraße 14",
        "73760 Ostfildern",
        "Deutschland",
        "USt-IdNr.",
        "DE294815734",
        "eu_vat",
        "DE89 3704 0044 0532 0130 00",
        "rechnung@hofmann-praezision.example",
        "Hofmann Präzisionsteile Buchhaltung",
        "de",
        "de",
        ("dmy_dot", "de_long"),
        "symbol",
    ),
    Vendor(
        "Atelier Mécanique Durand SARL",
        None,
        "27 rue des Forges",
        "69007 Lyon",
        "France",
        "N° TVA intracom.",
        "FR 43 432519874",
        "eu_vat",
        "FR76 3000 6000 0112 3456 7890 189",
        "facturation@durand-meca.example",
        "Durand Facturation",
        "fr",
        "fr",
        ("fr_long", "dmy_slash"),
        "symbol",
    ),
    Vendor(
        "Brightline Components Ltd",
        None,
        "Unit 4, Riverside Park",
        "Leeds LS11 5DN",
        "United Kingdom",
        "VAT Reg. No.",
        "GB 482 9175 14",
        None,
        "GB29 NWBK 6016 1331 9268 19",
        "accounts@brightline-components.example",
        "Brightline Accounts",
        "en",
        "en",
        ("en_long", "iso"),
        "code",
    ),
    Vendor(
        "Shenzhen Huaxin Electronics Co., Ltd.",
        "深圳华信电子有限公司",
        "Bao'an District, Xixiang Street, Block B 6F",
        "Shenzhen 518102",
        "China",
        "纳税人识别号",
        "91440300MA5F8K2Q3U",
        None,
        "Bank of China Shenzhen Branch, SWIFT BKCHCNBJ45A, 7459 2013 8846 0017",
        "finance@huaxin-elec.example",
        "华信电子 财务部",
        "zh",
        "en",
        ("zh",),
        "code",
    ),
    Vendor(
        "Suministros Industriales Ebro S.L.",
        None,
        "Calle del Ebro 112",
        "50014 Zaragoza",
        "España",
        "NIF/CIF",
        "ESB82746512",
        "eu_vat",
        "ES91 2100 0418 4502 0005 1332",
        "facturas@suministros-ebro.example",
        "Suministros Ebro - Facturación",
        "es",
        "de",
        ("dmy_slash", "es_long"),
        "symbol",
    ),
    Vendor(
        "Alpenland Technik AG",
        None,
        "Bahnhofstrasse 41",
        "8001 Zürich",
        "Schweiz",
        "MWST-Nr.",
        "CHE-418.293.571 MWST",
        None,
        "CH93 0076 2011 6238 5295 7",
        "debitoren@alpenland-technik.example",
        "Alpenland Technik AG, Debitoren",
        "de",
        "ch",
        ("dmy_dot", "iso"),
        "code",
    ),
    Vendor(
        "Ferramenta Lombarda S.r.l.",
        None,
        "Via Edison 8",
        "20099 Sesto San Giovanni (MI)",
        "Italia",
        "P.IVA",
        "IT07184930217",
        "eu_vat",
        "IT60 X054 2811 1010 0000 0123 456",
        "amministrazione@ferramenta-lombarda.example",
        "Ferramenta Lombarda - Amministrazione",
        "it",
        "de",
        ("dmy_slash", "it_long"),
        "symbol",
    ),
    Vendor(
        "Great Lakes Fastener Supply Inc.",
        None,
        "2200 W Fulton St",
        "Chicago, IL 60612",
        "USA",
        "EIN",
        "36-4821957",
        None,
        "SE45 5000 0000 0583 9825 7466",
        "ar@greatlakes-fastener.example",
        "Great Lakes AR Dept.",
        "en",
        "en",
        ("us",),
        "symbol-first",
    ),
)

# Vendors the ERP has never heard of (the unknown-vendor trap).
STRANGERS = (
    Vendor(
        "Nordic Valve Trading AB",
        None,
        "Hamngatan 9",
        "411 06 Göteborg",
        "Sverige",
        "Momsreg.nr",
        "SE556677889901",
        None,
        "SE45 5000 0000 0583 9825 7466",
        "invoice@nordicvalve.example",
        "Nordic Valve Invoicing",
        "en",
        "fr",
        ("iso",),
        "code",
    ),
    Vendor(
        "Obsidian Parts Ltd",
        None,
        "88 Harbour Road",
        "Dublin D02 X285",
        "Ireland",
        "VAT No.",
        "IE6388047V",
        None,
        "IE29 AIBK 9311 5212 3456 78",
        "billing@obsidian-parts.example",
        "Obsidian Parts Billing",
        "en",
        "en",
        ("en_long",),
        "symbol-first",
    ),
)


@dataclass(frozen=True)
class Buyer:
    name: str = "Acme Manufacturing GmbH"  # the demo company's party
    street: str = "Werkstraße 3"
    city: str = "70565 Stuttgart"
    country: str = "Germany"
    vat: str = "DE811907980"


BUYER = Buyer()


@dataclass(frozen=True)
class Product:
    code: str  # the vendor's article number, which the buyer keeps as the product code
    name: str
    unit: str  # Tryton product.uom symbol
    price: Decimal  # the agreed purchase price
    step: Decimal = Decimal(1)  # quantities come in multiples of this


CATALOGUE = (
    Product("HX-M10-50", "Hex bolt M10x50 A2 stainless", "u", Decimal("0.42"), Decimal(50)),
    Product("WSH-M10", "Washer DIN 125 M10", "u", Decimal("0.06"), Decimal(100)),
    Product("CBL-NYM3", "Installation cable NYM-J 3x1.5", "m", Decimal("0.89"), Decimal(25)),
    Product("TAPE-PVC19", "PVC insulating tape 19 mm", "u", Decimal("1.35"), Decimal(10)),
    Product("BRG-6204", "Ball bearing 6204-2RS", "u", Decimal("3.80")),
    Product("FLT-H13", "HEPA filter H13 610x610", "u", Decimal("74.50")),
    Product("LUB-EP2", "Grease cartridge EP2 400 g", "u", Decimal("4.95")),
    Product("PAL-EUR", "Euro pallet 1200x800", "u", Decimal("12.00")),
    Product("FILM-S23", "Stretch film 23 micron 500 mm", "u", Decimal("9.40")),
    Product("GLV-CUT5", "Cut-resistant gloves level 5", "u", Decimal("5.60"), Decimal(5)),
    Product("SENS-PT100", "Temperature sensor PT100", "u", Decimal("28.90")),
    Product("RLY-24V", "Relay 24 V DC two changeover", "u", Decimal("6.75")),
    Product("PIPE-CU15", "Copper pipe 15 mm", "m", Decimal("7.20"), Decimal("0.5")),
    Product("VLV-BV12", "Ball valve 1/2 inch brass", "u", Decimal("8.15")),
    Product("LBL-A4-24", "Labels A4 24 per sheet, 100 sheets", "u", Decimal("18.90")),
    Product("TNR-87A", "Toner cartridge 87A compatible", "u", Decimal("64.00")),
    Product("CHN-08B", "Roller chain 08B-1, 5 m", "u", Decimal("23.40")),
    Product("SCR-WD440", "Wood screw 4x40, box of 200", "u", Decimal("5.25")),
    Product("GEAR-M2Z40", "Spur gear module 2, 40 teeth", "u", Decimal("31.60")),
    Product("HOSE-PU8", "Polyurethane hose 8 mm", "m", Decimal("1.15"), Decimal(5)),
)

VAT_RATE = Decimal("0.20")  # the demo company's purchase VAT, on every product of the catalogue


def unit_text(vendor: Vendor, code: str | None) -> str:
    """The unit of catalogue product `code` as `vendor` writes it (`u`, a piece, when unknown)."""
    unit = next((p.unit for p in CATALOGUE if p.code == code), "u")
    return UNITS[vendor.lang].get(unit, unit)


@dataclass(frozen=True)
class Hand:
    """How `vendor` writes the values of one document: its numbers, money, dates and units."""

    vendor: Vendor
    currency: str
    date_style: str  # one of the vendor's `dates`, drawn per document

    def date(self, day: dt.date | None) -> str:
        return date_text(day, self.date_style) if day else ""

    def number(self, value: Decimal) -> str:
        return number_text(value, self.vendor.numbers)

    def money(self, value: Decimal) -> str:
        return money_text(value, self.vendor.numbers, self.currency, self.vendor.money)

    def quantity(self, value: Decimal) -> str:
        return quantity_text(value, self.vendor.numbers)

    def price(self, value: Decimal) -> str:
        return price_text(value, self.vendor.numbers)

    def unit(self, code: str | None) -> str:
        return unit_text(self.vendor, code)
