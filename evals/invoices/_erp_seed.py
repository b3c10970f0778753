"""Inside a process that loaded a demo Tryton's configuration: create the eval's vendors and
products and confirm its purchase orders, as a Tryton user would (proteus drives the same
on_change rules and workflows as the client), with the invoice method asked for.

`python -m evals.invoices._erp_seed DIR` reads the plan as JSON on stdin and prints the order
numbers, one `reference number` pair a line. Records are left on Tryton's defaults where a user
would leave them: the party code comes from its sequence, the unit from the product.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from tools.tryton_demo import receive_goods

CONFIG_FILE = "trytond.conf"  # written by tools.tryton_demo.copy_demo
DATABASE = "demo"
VAT_CATEGORY = "Purchased goods, VAT"  # the demo's product category carrying the 20 % input VAT
PAYMENT_TERM = "Net 30"


def _vendors(Model: Any, vendors: list[dict[str, Any]]) -> dict[str, Any]:
    party_model = Model.get("party.party")
    (term,) = Model.get("account.invoice.payment_term").find([("name", "=", PAYMENT_TERM)])
    made = {}
    for spec in vendors:
        party = party_model(name=spec["name"])
        party.supplier_payment_term = term
        identifier = party.identifiers.new()
        identifier.type = spec["tax_type"]
        identifier.code = spec["tax_id"]
        mechanism = party.contact_mechanisms.new()
        mechanism.type = "email"
        mechanism.value = spec["email"]
        address = party.addresses[0] if party.addresses else party.addresses.new()
        address.street = spec["street"]
        address.city = spec["city"]
        party.save()
        made[spec["name"]] = party
    return made


def _products(Model: Any, products: list[dict[str, Any]]) -> dict[str, Any]:
    (category,) = Model.get("product.category").find([("name", "=", VAT_CATEGORY)])
    uom = Model.get("product.uom")
    template_model = Model.get("product.template")
    made = {}
    for spec in products:
        (unit,) = uom.find([("symbol", "=", spec["unit"])], limit=1)
        template = template_model(
            name=spec["name"],
            code=spec["code"],
            type="goods",
            default_uom=unit,
            purchasable=True,
            purchase_uom=unit,
            list_price=Decimal(spec["price"]) * 2,
            account_category=category,
        )
        template.save()
        (made[spec["code"]],) = template.products
    return made


def _order(
    Model: Any,
    spec: dict[str, Any],
    party: Any,
    products: dict[str, Any],
    method: str,
    today: dt.date,
) -> Any:
    purchase = Model.get("purchase.purchase")()
    purchase.party = party
    purchase.reference = spec["reference"]
    purchase.purchase_date = today
    if method != "default":
        purchase.invoice_method = method
    for line_spec in spec["lines"]:
        line = purchase.lines.new()
        line.product = products[line_spec["product"]]
        line.quantity = float(line_spec["quantity"])
        line.unit_price = Decimal(line_spec["unit_price"])
    purchase.click("quote")
    purchase.click("confirm")
    received = {line["product"]: float(line["received"]) for line in spec["lines"]}
    receive_goods(Model, purchase, party, received, today)
    purchase.reload()
    return purchase


def seed(directory: Path, plan: dict[str, Any], today: dt.date) -> dict[str, str]:
    """Create the plan's vendors, products and orders; return order reference -> number."""
    from trytond.config import config

    config.update_etc(str(directory / CONFIG_FILE))
    from proteus import Model
    from proteus import config as pconfig

    pconfig.set_trytond(DATABASE)
    parties = _vendors(Model, plan["vendors"])
    products = _products(Model, plan["products"])
    numbers = {}
    for spec in plan["orders"]:
        purchase = _order(Model, spec, parties[spec["vendor"]], products, plan["method"], today)
        numbers[spec["reference"]] = purchase.number
    return numbers


def main() -> None:
    directory = Path(sys.argv[1]).resolve()
    today = dt.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else dt.date.today()
    numbers = seed(directory, json.loads(sys.stdin.read()), today)
    print(json.dumps(numbers), flush=True)


if __name__ == "__main__":
    main()
