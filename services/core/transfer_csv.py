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

Rows of one transfer are adjacent, as in a file sorted or exported record by record:
the file is read one transfer at a time, so memory does not grow with its length. A
``record_id`` that comes back after other records' rows is rejected, never merged.

The result is plain record dictionaries, validated like any other input.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from services.core.transfers import PartyRole
from services.core.validation import BodyError, Decoded, Rejection

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


def _text_lines(lines: Iterable[bytes]) -> Iterator[str]:
    """``lines`` as text; the first may start with the byte-order mark spreadsheets write."""
    for number, line in enumerate(lines):
        try:
            yield line.decode("utf-8-sig" if number == 0 else "utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"line {number + 1} is not UTF-8 (byte {exc.start})") from exc


def _decoded(
    index: int, record: dict[str, Any], lines: tuple[int, int], repeated: bool
) -> Decoded | Rejection:
    raw = orjson.dumps(record).decode()
    if not repeated:
        return Decoded(index, record, raw)
    where = f"line {lines[0]}" if lines[0] == lines[1] else f"lines {lines[0]}-{lines[1]}"
    reason = (
        f"{where}: record_id {record['record_id']!r} came earlier in the "
        "file, with other records between; the rows of one transfer must be next to each "
        "other (sort the file by record_id)"
    )
    return Rejection(index, record["record_id"], (reason,), raw)


def csv_records(lines: Iterable[bytes]) -> Iterator[Decoded | Rejection]:
    """Transfers from CSV ``lines`` (as a binary file iterates), one pulled per transfer.

    ``index`` counts transfers from 0. Raises :class:`BodyError` when the file has no
    header, a line is not UTF-8 or the CSV itself is broken (a field over the size limit).
    Of the rows already read it keeps only the ``record_id`` values seen.
    """
    reader = csv.reader(_text_lines(lines))
    seen: set[str] = set()
    index = 0
    record: dict[str, Any] | None = None
    span = (0, 0)  # physical lines of the current transfer's rows, from 1
    repeated = False
    try:
        header = next(reader, None)
        if header is None:
            raise BodyError("the input is empty: no header row")
        columns = [name.strip().lower() for name in header]
        last = reader.line_num  # where the previous row ended
        for values in reader:
            start, last = last + 1, reader.line_num
            if not values:
                continue
            row = dict(zip(columns, (v.strip() for v in values), strict=False))
            key = row.get("record_id", "")
            if record is None or key != record["record_id"]:
                if record is not None:
                    yield _decoded(index, record, span, repeated)
                    index += 1
                repeated = key in seen and key != ""  # no id at all: the schema says so
                seen.add(key)
                record, span = _record(row), (start, last)
            record["items"].append(_item(row))
            span = (span[0], last)
    except csv.Error as exc:
        raise BodyError(f"line {reader.line_num}: {exc}") from exc
    if record is not None:
        yield _decoded(index, record, span, repeated)
