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


def _opt_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _opt_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def parse_transfer(data: Mapping[str, Any]) -> Transfer:
    """Build a :class:`Transfer` from a mapping that passed the v1 schema."""
    route = data["route"]
    docs = data.get("documents") or {}
    status = data.get("status")
    return Transfer(
        record_id=data["record_id"],
        transfer_date=date.fromisoformat(data["transfer_date"]),
        status=TransferStatus(status) if status else None,
        route=Route(
            origin=route["origin"],
            destination=route["destination"],
            transit=tuple(route.get("transit") or ()),
            port_of_loading=route.get("port_of_loading"),
            port_of_discharge=route.get("port_of_discharge"),
            vessel_imo=route.get("vessel_imo"),
            aircraft_registration=route.get("aircraft_registration"),
        ),
        parties=tuple(
            Party(
                role=PartyRole(p["role"]),
                name=p["name"],
                country=p.get("country"),
                type=PartyType(p.get("type") or "unknown"),
                identifiers=tuple((i["type"], i["value"]) for i in p.get("identifiers") or ()),
                date_of_birth=p.get("date_of_birth"),
            )
            for p in data["parties"]
        ),
        items=tuple(
            Item(
                category=i.get("category"),
                description=i.get("description", ""),
                quantity=float(i.get("quantity", 0)),
                hs_code=i.get("hs_code"),
                ml_code=i.get("ml_code"),
                calibre=i.get("calibre"),
                value=_opt_float(i.get("value")),
                currency=i.get("currency"),
            )
            for i in data["items"]
        ),
        documents=Documents(
            export_licence=docs.get("export_licence"),
            end_user_certificate=docs.get("end_user_certificate"),
            end_user_certificate_expiry=_opt_date(docs.get("end_user_certificate_expiry")),
            committee_reference=docs.get("committee_reference"),
            exemption_claimed=docs.get("exemption_claimed"),
        ),
        declared_end_use=data.get("declared_end_use"),
    )
