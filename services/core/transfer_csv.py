"""Transfer records from a flat CSV file, as panels and customs often hold them.

One row per item line; rows sharing a ``record_id`` are one transfer (parties
and route are read from its first row). Columns (header names, any order,
unknown columns ignored):

- ``record_id``, ``transfer_date``, ``status``, ``origin``, ``destination``,
  ``transit`` (alpha-2 codes separated by ``;`` or spaces), ``vessel_imo``,
  ``declared_end_use``
- per party role (exporter, importer, consignee, end_user, broker, carrier,
  freight_forwarder, notify_party, manufacturer, financier):
  ``<role>_name``, ``<role>_country``, ``<role>_type``
- item: ``category``, ``hs_code``, ``ml_code``, ``description``, ``quantity``,
  ``calibre``, ``value``, ``currency``
- documents: ``export_licence``, ``end_user_certificate``,
  ``end_user_certificate_expiry``, ``committee_reference``, ``exemption_claimed``

The result is plain record dictionaries, validated like any other input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from services.core.transfers import PartyRole

ITEM_FIELDS = ("category", "hs_code", "ml_code", "description", "calibre", "currency")
DOCUMENT_FIELDS = (
    "export_licence",
    "end_user_certificate",
    "end_user_certificate_expiry",
    "committee_reference",
    "exemption_claimed",
)


def _number(value: str) -> float | str:
    try:
        return float(value.replace(",", ""))
    except ValueError:
        return value  # left as text: validation names the column and the value


def _item(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {k: row[k] for k in ITEM_FIELDS if row.get(k)}
    item.setdefault("description", "")
    item["quantity"] = _number(row.get("quantity") or "")
    if row.get("value"):
        item["value"] = _number(row["value"])
    return item


def _record(row: dict[str, str]) -> dict[str, Any]:
    route: dict[str, Any] = {
        "origin": row.get("origin", ""),
        "destination": row.get("destination", ""),
    }
    if row.get("transit"):
        route["transit"] = row["transit"].replace(";", " ").split()
    if row.get("vessel_imo"):
        route["vessel_imo"] = row["vessel_imo"]
    parties = []
    for role in PartyRole:
        name = row.get(f"{role.value}_name")
        if name:
            party = {"role": role.value, "name": name}
            for key in ("country", "type"):
                if row.get(f"{role.value}_{key}"):
                    party[key] = row[f"{role.value}_{key}"]
            parties.append(party)
    record: dict[str, Any] = {
        "record_id": row.get("record_id", ""),
        "transfer_date": row.get("transfer_date", ""),
        "route": route,
        "parties": parties,
        "items": [],
    }
    for key in ("status", "declared_end_use"):
        if row.get(key):
            record[key] = row[key]
    documents = {k: row[k] for k in DOCUMENT_FIELDS if row.get(k)}
    if documents:
        record["documents"] = documents
    return record


def read_csv(text: str) -> Iterator[dict[str, Any]]:
    """Records from CSV ``text``, in order of first appearance."""
    records: dict[str, dict[str, Any]] = {}
    reader = csv.DictReader(io.StringIO(text))
    for raw in reader:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        key = row.get("record_id", "")
        if key not in records:
            records[key] = _record(row)
        records[key]["items"].append(_item(row))
    yield from records.values()
