"""Build the demo Tryton database: modules, company, chart, VAT, fiscal year, suppliers, purchases.

Runs inside a process that has loaded trytond's configuration (see `_process.py`); proteus drives
trytond in-process so every record is created the way the Tryton client would create it
(on_change rules and workflows included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from agent_ops.errors import InvalidInput

MODULES = ("purchase", "account_invoice", "account_payment", "stock", "account_invoice_stock")
CHART_TEMPLATE = "account.account_template_root_en"
TAX_ACCOUNT_TYPE = "account.account_type_template_current_tax_en"
PAYMENT_TERM = "Net 30"


@dataclass(frozen=True)
class Supplier:
    name: str
    code: str
    vat: str | None = None  # EU VAT number (a party identifier of type eu_vat), valid checksum
    email: str | None = None  # where its invoices come from (a contact mechanism)


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    unit: str  # product.uom symbol
    cost: Decimal
    kind: str = "goods"
    vat: bool = False  # bought with the supplier VAT (SUPPLIER_VAT_RATE) on top


@dataclass(frozen=True)
class OrderLine:
    product: str  # Product.code
    quantity: float
    unit_price: Decimal
    received: float  # quantity delivered and checked in


# Tryton's invoice methods: `order` drafts the supplier invoice as the order is confirmed (the
# default of Tryton's purchase configuration), `fulfillment` drafts one for what each receipt
# brings in (called `shipment` before Tryton 7.8), `manual` drafts none.
InvoiceMethod = Literal["order", "fulfillment", "manual"]


@dataclass(frozen=True)
class Order:
    supplier: str  # Supplier.code
    reference: str  # the supplier's quotation number, as a buyer would note it
    lines: tuple[OrderLine, ...]
    invoice_method: InvoiceMethod | None = None  # None: the purchase configuration's default


SUPPLIERS = (
    Supplier("Northwind Metals", "SUP-NWM", "DE123456704", "billing@northwind-metals.example"),
    Supplier(
        "Blue Harbor Packaging",
        "SUP-BHP",
        "FR40303265045",
        "invoices@blueharbor-packaging.example",
    ),
    Supplier(
        "Keller Industrial Services", "SUP-KIS", "ATU12345675", "accounts@keller-industrial.example"
    ),
)

PRODUCTS = (
    Product("BOLT-M8", "Steel bolt M8x40", "u", Decimal("0.25")),
    Product("WIRE-CU25", "Copper wire 2.5 mm²", "m", Decimal("1.20")),
    Product("GLOVE-NIT", "Nitrile safety gloves (box)", "u", Decimal("6.50")),
    Product("BOX-60", "Shipping carton 60 cm", "u", Decimal("1.10")),
    Product("MAINT-H", "Maintenance technician hour", "h", Decimal("68.00"), kind="service"),
    Product("DRILL-HSS", "HSS drill bit set (19 pcs)", "u", Decimal("24.00"), vat=True),
    Product("CUT-DISC", "Cutting disc 125 mm", "u", Decimal("1.80"), vat=True),
)

# Input VAT charged by suppliers on the VAT products, deductible: booked on its own balance account.
SUPPLIER_VAT_RATE = Decimal("0.20")

ORDERS = (
    Order(
        "SUP-NWM",
        "Q-NWM-1001",
        (
            OrderLine("BOLT-M8", 400, Decimal("0.2500"), received=400),
            OrderLine("WIRE-CU25", 500, Decimal("1.2000"), received=300),
        ),
    ),
    Order(
        "SUP-BHP",
        "Q-BHP-2207",
        (
            OrderLine("BOX-60", 1000, Decimal("1.0500"), received=1000),
            OrderLine("GLOVE-NIT", 20, Decimal("6.5000"), received=20),
        ),
    ),
    Order("SUP-KIS", "Q-KIS-0042", (OrderLine("MAINT-H", 12, Decimal("68.0000"), received=0),)),
    Order("SUP-NWM", "Q-NWM-1002", (OrderLine("BOLT-M8", 200, Decimal("0.2400"), received=0),)),
    # The first order whose lines carry VAT (the four above carry none, so their amounts stay).
    Order(
        "SUP-NWM",
        "Q-NWM-1003",
        (
            OrderLine("DRILL-HSS", 40, Decimal("24.0000"), received=40),
            OrderLine("CUT-DISC", 500, Decimal("1.8000"), received=500),
        ),
    ),
    # The orders above take Tryton's default invoice method (`order`); these two the others.
    Order(
        "SUP-BHP",
        "Q-BHP-2301",
        (
            OrderLine("BOX-60", 300, Decimal("1.0500"), received=200),
            OrderLine("GLOVE-NIT", 10, Decimal("6.5000"), received=10),
        ),
        invoice_method="fulfillment",
    ),
    Order(
        "SUP-BHP",
        "Q-BHP-2302",
        (OrderLine("BOX-60", 100, Decimal("1.0500"), received=100),),
        invoice_method="manual",
    ),
)


def seed(database: str, today: dt.date) -> dict[str, Any]:
    """Create and fill `database` (already created and initialised); return what was made."""
    from proteus import Model, Wizard
    from proteus import config as pconfig

    config = pconfig.set_trytond(database)
    module_model = Model.get("ir.module")
    modules = module_model.find([("name", "in", list(MODULES))])
    module_model.click(modules, "activate")
    Wizard("ir.module.activate_upgrade").execute("upgrade")

    company = _company(Model, Wizard, config)
    accounts = _chart(Model, Wizard, company, config)
    vat = _supplier_vat(Model, company, accounts, config)
    _fiscal_year(Model, company, today)
    payment_term = _payment_term(Model)
    journal = _payment_journal(Model, company)
    suppliers = _suppliers(Model, payment_term)
    products = _products(Model, accounts, vat)
    _number_purchases(Model)
    orders = [_order(Model, o, suppliers, products, payment_term, today) for o in ORDERS]
    key = _rest_key(Model, company)
    return {
        "company": company.id,
        "payment_journal": journal.id,
        "supplier_vat": vat.id,
        "suppliers": {code: party.id for code, party in suppliers.items()},
        "purchases": [purchase.number for purchase in orders],
        "invoice_methods": {purchase.number: purchase.invoice_method for purchase in orders},
        "rest_key": key,
    }


def add_orders(database: str, orders: Sequence[Order], today: dt.date) -> list[tuple[str, str]]:
    """Confirm (and receive, as each line says) more purchase orders in a seeded `database`,
    each with its invoice method (the purchase configuration's default where it has none).

    Suppliers and products are the seed's, by code; returns the new orders' numbers and
    invoice methods.
    """
    from proteus import Model
    from proteus import config as pconfig

    pconfig.set_trytond(database)
    supplier_codes = sorted({order.supplier for order in orders})
    product_codes = sorted({line.product for order in orders for line in order.lines})
    suppliers = {
        party.code: party
        for party in Model.get("party.party").find([("code", "in", supplier_codes)])
    }
    products = {
        product.code: product
        for product in Model.get("product.product").find([("code", "in", product_codes)])
    }
    missing = sorted(set(supplier_codes) - set(suppliers)) + sorted(
        set(product_codes) - set(products)
    )
    if missing:
        raise InvalidInput(f"the demo has no supplier or product with code {', '.join(missing)}")
    (payment_term,) = Model.get("account.invoice.payment_term").find([("name", "=", PAYMENT_TERM)])
    made = [_order(Model, o, suppliers, products, payment_term, today) for o in orders]
    return [(purchase.number, purchase.invoice_method) for purchase in made]


def add_payment_journal(database: str, name: str) -> int:
    """Add another manual payment journal in the company's currency; return its id."""
    from proteus import Model
    from proteus import config as pconfig

    pconfig.set_trytond(database)
    (company,) = Model.get("company.company").find()
    return int(_payment_journal(Model, company, name).id)


def _company(Model: Any, Wizard: Any, config: Any) -> Any:
    currency = Model.get("currency.currency")(
        name="Euro", code="EUR", symbol="€", rounding=Decimal("0.01"), digits=2
    )
    currency.save()
    party = Model.get("party.party")(name="Acme Manufacturing GmbH")
    party.save()
    wizard = Wizard("company.company.config")
    wizard.execute("company")
    wizard.form.party = party
    wizard.form.currency = currency
    wizard.execute("add")
    # The admin's preferences now carry the company: later records default to it.
    config._context = Model.get("res.user").get_preferences(True, {})
    (company,) = Model.get("company.company").find()
    return company


def _chart(Model: Any, Wizard: Any, company: Any, config: Any) -> dict[str, Any]:
    template_id = Model.get("ir.model.data").get_id(*CHART_TEMPLATE.split("."), config.context)
    wizard = Wizard("account.create_chart")
    wizard.execute("account")
    wizard.form.account_template = Model.get("account.account.template")(template_id)
    wizard.form.company = company
    wizard.execute("create_account")
    account = Model.get("account.account")
    accounts = {}
    for kind in ("receivable", "payable", "revenue", "expense"):
        accounts[kind], *_ = account.find(
            [(f"type.{kind}", "=", True), ("company", "=", company.id), ("closed", "!=", True)]
        )
    wizard.form.account_receivable = accounts["receivable"]
    wizard.form.account_payable = accounts["payable"]
    wizard.form.category_account_expense = accounts["expense"]
    wizard.form.category_account_revenue = accounts["revenue"]
    wizard.execute("create_properties")
    return accounts


def _supplier_vat(Model: Any, company: Any, accounts: dict[str, Any], config: Any) -> Any:
    """A 20 % input VAT on an account of its own: the chart has none for deductible VAT."""
    template = Model.get("ir.model.data").get_id(*TAX_ACCOUNT_TYPE.split("."), config.context)
    (current_tax,) = Model.get("account.account.type").find(
        [("template", "=", template), ("company", "=", company.id)]
    )
    receivables = accounts["receivable"].parent
    input_vat = Model.get("account.account")(
        name="Input VAT (deductible)",
        code="1.2.4",
        type=current_tax,
        parent=receivables,
        company=company,
    )
    input_vat.save()
    percent = f"{SUPPLIER_VAT_RATE * 100:.0f}%"
    tax = Model.get("account.tax")(
        name=f"VAT {percent} (purchases)",
        description=f"Input VAT {percent}",
        type="percentage",
        rate=SUPPLIER_VAT_RATE,
        invoice_account=input_vat,
        credit_note_account=input_vat,
        company=company,
    )
    tax.save()
    return tax


def _fiscal_year(Model: Any, company: Any, today: dt.date) -> None:
    sequence_type = Model.get("ir.sequence.type")
    strict = Model.get("ir.sequence.strict")
    (move_type,) = sequence_type.find([("name", "=", "Account Move")], limit=1)
    (invoice_type,) = sequence_type.find([("name", "=", "Invoice")], limit=1)
    name = str(today.year)
    move_sequence = strict(name=name, sequence_type=move_type, company=company)
    move_sequence.save()
    invoice_sequence = strict(
        name=f"{name} invoices", sequence_type=invoice_type, company=company, prefix=f"INV/{name}/"
    )
    invoice_sequence.save()
    year = Model.get("account.fiscalyear")(
        name=name,
        start_date=dt.date(today.year, 1, 1),
        end_date=dt.date(today.year, 12, 31),
        company=company,
        move_sequence=move_sequence,
    )
    (sequences,) = year.invoice_sequences
    sequences.in_invoice_sequence = invoice_sequence
    sequences.in_credit_note_sequence = invoice_sequence
    sequences.out_invoice_sequence = invoice_sequence
    sequences.out_credit_note_sequence = invoice_sequence
    year.save()
    year.click("create_period")


def _payment_term(Model: Any) -> Any:
    term = Model.get("account.invoice.payment_term")(name=PAYMENT_TERM)
    line = term.lines.new(type="remainder")
    line.relativedeltas.new(days=30)
    term.save()
    return term


def _payment_journal(Model: Any, company: Any, name: str = "Bank transfers") -> Any:
    journal = Model.get("account.payment.journal")(
        name=name, process_method="manual", currency=company.currency, company=company
    )
    journal.save()
    return journal


def _suppliers(Model: Any, payment_term: Any) -> dict[str, Any]:
    party_model = Model.get("party.party")
    made = {}
    for supplier in SUPPLIERS:
        party = party_model(name=supplier.name, code=supplier.code)
        party.supplier_payment_term = payment_term
        if supplier.vat:
            party.identifiers.new(type="eu_vat", code=supplier.vat)
        if supplier.email:
            party.contact_mechanisms.new(type="email", value=supplier.email)
        party.save()
        made[supplier.code] = party
    return made


def _products(Model: Any, accounts: dict[str, Any], vat: Any) -> dict[str, Any]:
    categories = {}
    for taxed, name in ((False, "Purchased goods and services"), (True, "Purchased goods, VAT")):
        category = Model.get("product.category")(name=name, accounting=True)
        category.account_expense = accounts["expense"]
        category.account_revenue = accounts["revenue"]
        if taxed:
            category.supplier_taxes.append(Model.get("account.tax")(vat.id))
        category.save()
        categories[taxed] = category
    uom = Model.get("product.uom")
    template_model = Model.get("product.template")
    made = {}
    for product in PRODUCTS:
        (unit,) = uom.find([("symbol", "=", product.unit)], limit=1)
        template = template_model(
            name=product.name,
            code=product.code,
            type=product.kind,
            default_uom=unit,
            purchasable=True,
            purchase_uom=unit,
            list_price=product.cost * 2,
            cost_price_method="fixed",
            account_category=categories[product.vat],
        )
        template.save()
        (made[product.code],) = template.products
    return made


def _number_purchases(Model: Any) -> None:
    (configuration,) = Model.get("purchase.configuration").find()
    sequence = configuration.purchase_sequence
    sequence.prefix = "PO-"
    sequence.padding = 5
    sequence.save()


def _order(
    Model: Any,
    order: Order,
    suppliers: dict[str, Any],
    products: dict[str, Any],
    payment_term: Any,
    today: dt.date,
) -> Any:
    purchase = Model.get("purchase.purchase")()
    purchase.party = suppliers[order.supplier]
    purchase.reference = order.reference
    purchase.purchase_date = today
    purchase.payment_term = payment_term
    if order.invoice_method is not None:
        purchase.invoice_method = order.invoice_method
    for spec in order.lines:
        line = purchase.lines.new()
        line.product = products[spec.product]
        line.quantity = spec.quantity
        line.unit_price = spec.unit_price
    purchase.click("quote")
    purchase.click("confirm")
    received = {spec.product: spec.received for spec in order.lines}
    receive_goods(Model, purchase, suppliers[order.supplier], received, today)
    purchase.reload()
    return purchase


def receive_goods(
    Model: Any, purchase: Any, supplier: Any, received: Mapping[str, float], today: dt.date
) -> None:
    """Receive `received` (product code -> quantity) of a confirmed `purchase` in one supplier
    shipment, done, as a warehouse clerk would; products not named stay unreceived."""
    moves = [m for m in purchase.moves if received.get(m.product.code)]
    if not moves:
        return
    move_model = Model.get("stock.move")
    shipment = Model.get("stock.shipment.in")(supplier=supplier, effective_date=today)
    for move in moves:
        incoming = move_model(move.id)
        shipment.incoming_moves.append(incoming)
    shipment.save()
    for incoming in shipment.incoming_moves:
        incoming.quantity = received[incoming.product.code]
    shipment.save()
    shipment.click("receive")
    shipment.click("do")


# What agent-ops may do in the ERP: read purchases, book and post supplier invoices, create and
# submit payments. Approving payments ("Payment Approval") and administration stay with people.
SERVICE_GROUPS = ("Accounting", "Purchase", "Payment")
SERVICE_LOGIN = "agent-ops"


def _rest_key(Model: Any, company: Any) -> str:
    """A REST key for a service user holding only SERVICE_GROUPS, not for the admin."""
    groups = Model.get("res.group").find([("name", "in", list(SERVICE_GROUPS))])
    if len(groups) != len(SERVICE_GROUPS):
        raise RuntimeError(f"Tryton lacks one of the groups {SERVICE_GROUPS}")
    user = Model.get("res.user")(name="agent-ops service", login=SERVICE_LOGIN)
    user.groups.extend(groups)
    user.companies.append(Model.get("company.company")(company.id))
    user.company = Model.get("company.company")(company.id)
    user.save()
    application = Model.get("res.user.application")(user=user, application="rest")
    application.save()
    return str(application.key)
