"""Transfer records: the typed shape of what integrators report.

A record is validated against ``schemas/transfer.v1.json`` (see
:mod:`services.core.validation`) before it becomes a :class:`Transfer`;
:func:`parse_transfer` assumes a schema-valid mapping and never re-checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class PartyRole(StrEnum):
    EXPORTER = "exporter"
    IMPORTER = "importer"
    CONSIGNEE = "consignee"
    END_USER = "end_user"
    BROKER = "broker"
    CARRIER = "carrier"
    FREIGHT_FORWARDER = "freight_forwarder"
    NOTIFY_PARTY = "notify_party"
    MANUFACTURER = "manufacturer"
    FINANCIER = "financier"


#: Roles that take possession of the goods: a designated party here is a violation.
RECEIVING_ROLES = frozenset(
    {PartyRole.CONSIGNEE, PartyRole.END_USER, PartyRole.IMPORTER, PartyRole.NOTIFY_PARTY}
)


class PartyType(StrEnum):
    GOVERNMENT = "government"
    UN_MISSION = "un_mission"
    COMPANY = "company"
    INDIVIDUAL = "individual"
    ARMED_GROUP = "armed_group"
    PRIVATE_SECURITY = "private_security"
    UNKNOWN = "unknown"


class TransferStatus(StrEnum):
    AUTHORISED = "authorised"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    SEIZED = "seized"
    ATTEMPTED = "attempted"


@dataclass(frozen=True, slots=True)
class Party:
    role: PartyRole
    name: str
    country: str | None = None
    type: PartyType = PartyType.UNKNOWN
    identifiers: tuple[tuple[str, str], ...] = ()
    date_of_birth: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    category: str | None
    description: str
    quantity: float
    hs_code: str | None = None
    ml_code: str | None = None
    calibre: str | None = None
    value: float | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    origin: str
    destination: str
    transit: tuple[str, ...] = ()
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    vessel_imo: str | None = None
    aircraft_registration: str | None = None


@dataclass(frozen=True, slots=True)
class Documents:
    export_licence: str | None = None
    end_user_certificate: str | None = None
    end_user_certificate_expiry: date | None = None
    committee_reference: str | None = None
    exemption_claimed: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    record_id: str
    transfer_date: date
    route: Route
    parties: tuple[Party, ...]
    items: tuple[Item, ...]
    status: TransferStatus | None = None
    documents: Documents = field(default_factory=Documents)
    declared_end_use: str | None = None


#: Who the goods are for, by precedence: the first of these roles a record names.
_RECEIVER_PRECEDENCE = (PartyRole.END_USER, PartyRole.CONSIGNEE, PartyRole.IMPORTER)


def receiving_parties(transfer: Transfer) -> tuple[Party, ...]:
    """Who the goods are for: every end user; failing those every consignee, then
    every importer. Each one is screened: an exempt end user beside one that is not
    leaves the other's share of the goods under the embargo."""
    for role in _RECEIVER_PRECEDENCE:
        parties = tuple(p for p in transfer.parties if p.role is role)
        if parties:
            return parties
    return ()


# Building a Transfer is on every record's path (about a quarter of screening's time when
# written field by field): enum members come from dicts rather than ``EnumMeta.__call__``,
# and items and routes, which a feed repeats, are built once and shared (they are frozen).

_ROLES: dict[str, PartyRole] = {m.value: m for m in PartyRole}
_TYPES: dict[str, PartyType] = {m.value: m for m in PartyType}
_STATUSES: dict[str, TransferStatus] = {m.value: m for m in TransferStatus}
_NO_DOCUMENTS = Documents()
#: Items and routes already built, keyed by their mapping's (key, value) pairs; emptied
#: when full, so memory stays bounded whatever the feed.
_SHARED_MAX = 1 << 14
_items: dict[tuple[tuple[str, Any], ...], Item] = {}
_routes: dict[tuple[tuple[str, Any], ...], Route] = {}


def _opt_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _opt_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _party(p: Mapping[str, Any]) -> Party:
    role, kind, ids = p["role"], p.get("type"), p.get("identifiers")
    return Party(
        _ROLES.get(role) or PartyRole(role),
        p["name"],
        p.get("country"),
        (_TYPES.get(kind) or PartyType(kind)) if kind else PartyType.UNKNOWN,
        tuple([(i["type"], i["value"]) for i in ids]) if ids else (),
        p.get("date_of_birth"),
    )


def _new_item(i: Mapping[str, Any]) -> Item:
    return Item(
        i.get("category"),
        i.get("description", ""),
        float(i.get("quantity", 0)),
        i.get("hs_code"),
        i.get("ml_code"),
        i.get("calibre"),
        _opt_float(i.get("value")),
        i.get("currency"),
    )


def _new_route(r: Mapping[str, Any]) -> Route:
    return Route(
        r["origin"],
        r["destination"],
        tuple(r.get("transit") or ()),
        r.get("port_of_loading"),
        r.get("port_of_discharge"),
        r.get("vessel_imo"),
        r.get("aircraft_registration"),
    )


def _shared(
    cache: dict[tuple[tuple[str, Any], ...], Any], value: Mapping[str, Any], build: Any
) -> Any:
    """``build(value)``, or the equal object already built from an equal mapping."""
    try:
        key = tuple(value.items())
        found = cache.get(key)
    except TypeError:  # a list inside (serial numbers, a transit): not worth a key
        return build(value)
    if found is None:
        if len(cache) >= _SHARED_MAX:
            cache.clear()
        found = cache[key] = build(value)
    return found


def _documents(docs: Mapping[str, Any] | None) -> Documents:
    if not docs:
        return _NO_DOCUMENTS
    return Documents(
        docs.get("export_licence"),
        docs.get("end_user_certificate"),
        _opt_date(docs.get("end_user_certificate_expiry")),
        docs.get("committee_reference"),
        docs.get("exemption_claimed"),
    )


def parse_transfer(data: Mapping[str, Any]) -> Transfer:
    """Build a :class:`Transfer` from a mapping that passed the v1 schema."""
    status = data.get("status")
    return Transfer(
        data["record_id"],
        date.fromisoformat(data["transfer_date"]),
        _shared(_routes, data["route"], _new_route),
        tuple([_party(p) for p in data["parties"]]),
        tuple([_shared(_items, i, _new_item) for i in data["items"]]),
        (_STATUSES.get(status) or TransferStatus(status)) if status else None,
        _documents(data.get("documents")),
        data.get("declared_end_use"),
    )
