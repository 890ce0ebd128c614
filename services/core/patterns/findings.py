"""A finding on a set of transfers: its key, where it is kept, and its words."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.core.findings import Finding, Kind, PartyRef, Severity
from services.core.patterns.facts import (
    FAMILY,
    Approach,
    Goods,
    PartyFacts,
    Pattern,
    TransferFacts,
    TransferRef,
)
from services.core.patterns.tuning import PatternRules
from services.core.wording import and_words

_GOODS_WORDS = {
    Goods.WEAPONS: "small arms and light weapons",
    Goods.AMMUNITION: "rounds of small-arms and light-weapons ammunition",
}

#: How many related transfers a summary names before it refers to the evidence.
NAMED_IN_SUMMARY = 20


@dataclass(frozen=True, slots=True)
class PatternFinding:
    """A finding on a set of transfers, kept on the last of them (``holder``)."""

    pattern: Pattern
    group: str
    #: The finding key: the pattern, the look-up key, the transfers and what is said of them.
    key: str
    anchor: date
    holder: TransferRef
    members: tuple[TransferRef, ...]
    finding: Finding


def group_of(pattern: Pattern, key: str) -> str:
    return _digest(pattern.value, FAMILY[pattern].value, key)


# --- In words --------------------------------------------------------------------------


def split_finding(
    key: str, goods: Goods, members: Sequence[TransferFacts], total: float, rules: PatternRules
) -> PatternFinding:
    holder = members[-1]
    party = _party_of(key, members)
    threshold = rules.threshold(goods)
    first, last = members[0].transfer_date, holder.transfer_date
    quantities = and_words([f"{f.quantity(goods):g}" for f in members])
    approach, regimes = _embargo(members)
    summary = (
        f"Transfers {_ids(members)} to {_party_words(party)}, between {first.isoformat()} "
        f"and {last.isoformat()} (within {rules.split_window_days} days), each carry fewer "
        f"than {threshold:g} {_GOODS_WORDS[goods]} ({quantities}) but {total:g} together, "
        f"{_towards(approach, regimes)}: a consignment split into shipments that each stay "
        "under a size that draws scrutiny."
    )
    evidence = {
        "pattern": Pattern.SPLIT_SHIPMENT.value,
        "party_key": key,
        "party": _party_evidence(party),
        "goods": goods.value,
        "threshold": threshold,
        "window_days": rules.split_window_days,
        "total": total,
        "first_date": first.isoformat(),
        "last_date": last.isoformat(),
        "embargoes": regimes,
        "transfers": [_member(f, key, goods) for f in members],
    }
    return _finding(
        Pattern.SPLIT_SHIPMENT,
        key,
        members,
        anchor=first,
        summary=summary,
        evidence=evidence,
        party=party,
        approach=approach,
        severity=Severity.MEDIUM,
    )


def surge_finding(
    key: str,
    goods: Goods,
    members: Sequence[TransferFacts],
    history: tuple[int, float],
    rules: PatternRules,
) -> PatternFinding:
    """``history``: how many transfers the days before the window hold, and their volume."""
    holder = members[-1]
    party = _party_of(key, members)
    volume = sum(f.quantity(goods) for f in members)
    earlier, earlier_volume = history
    days, history_days = rules.surge_window_days, rules.surge_history_days
    mean = earlier_volume * days / history_days
    approach, regimes = _embargo(members)
    near = [f for f in members if f.approaches]
    summary = (
        f"{_capitalised(_party_words(party))} received {volume:g} {_GOODS_WORDS[goods]} in "
        f"the {days} days to {holder.transfer_date.isoformat()} ({_ids(members)}), "
        f"{volume / mean:.1f} times its mean of {mean:.1f} per {days} days over the "
        f"{history_days} days before ({earlier} transfers, {earlier_volume:g} in all); "
        f"{_near_words(near, members)} {_towards(approach, regimes)}. A receiver suddenly "
        "taking in far more than it used to can be buying for others."
    )
    evidence = {
        "pattern": Pattern.SURGE.value,
        "party_key": key,
        "party": _party_evidence(party),
        "goods": goods.value,
        "window_days": days,
        "history_days": history_days,
        "factor": rules.surge_factor,
        "volume": volume,
        "history_transfers": earlier,
        "history_volume": earlier_volume,
        "history_mean_per_window": round(mean, 4),
        "ratio": round(volume / mean, 4),
        "last_date": holder.transfer_date.isoformat(),
        "embargoes": regimes,
        "transfers": [_member(f, key, goods) for f in members],
    }
    return _finding(
        Pattern.SURGE,
        key,
        members,
        anchor=holder.transfer_date,
        summary=summary,
        evidence=evidence,
        party=party,
        approach=approach,
        severity=Severity.LOW,
    )


def reused_finding(
    key: str,
    members: Sequence[TransferFacts],
    exporters: Mapping[frozenset[str], str],
    end_users: Mapping[frozenset[str], str],
) -> PatternFinding:
    written = members[-1].certificate_as_written or key
    approach, regimes = _embargo(members)
    near = [f for f in members if f.approaches]
    differs = []
    if len(exporters) > 1:
        differs.append(f"from {len(exporters)} exporters ({'; '.join(exporters.values())})")
    if len(end_users) > 1:
        differs.append(f"to {len(end_users)} end users ({'; '.join(end_users.values())})")
    summary = (
        f"End-user certificate {written!r} is given for {len(members)} transfers, "
        f"{_ids(members)}, {' and '.join(differs)}; {_near_words(near, members)} "
        f"{_towards(approach, regimes)}. A certificate "
        "covers one end user's purchase: one presented again for other goods or other hands "
        "can cover their diversion."
    )
    evidence = {
        "pattern": Pattern.REUSED_CERTIFICATE.value,
        "end_user_certificate": written,
        "certificate_key": key,
        "exporters": sorted(exporters.values()),
        "end_users": sorted(end_users.values()),
        "embargoes": regimes,
        "transfers": [
            {
                **_member(f, None, None),
                "end_user_certificate": f.certificate_as_written,
                "exporters": [_party_evidence(p) for p in f.exporters],
                "end_users": [_party_evidence(p) for p in f.end_users],
            }
            for f in members
        ],
    }
    return _finding(
        Pattern.REUSED_CERTIFICATE,
        key,
        members,
        anchor=members[0].transfer_date,
        summary=summary,
        evidence=evidence,
        party=None,
        approach=approach,
        severity=Severity.MEDIUM,
    )


def _finding(
    pattern: Pattern,
    key: str,
    members: Sequence[TransferFacts],
    *,
    anchor: date,
    summary: str,
    evidence: Mapping[str, Any],
    party: PartyFacts | None,
    approach: Approach | None,
    severity: Severity,
) -> PatternFinding:
    holder = members[-1]
    refs = tuple(f.ref for f in members)
    finding = Finding(
        record_id=holder.ref.record_id,
        kind=Kind.INDICATOR,
        regime=approach.regime if approach else None,
        rule_id=f"indicator.{pattern.value}",
        phase=approach.phase if approach else None,
        severity=severity,
        summary=summary,
        citations=approach.citations if approach else (),
        party=PartyRef(party.role, party.name) if party else None,
        evidence=evidence,
        ruleset_version=holder.ruleset_version,
    )
    return PatternFinding(
        pattern=pattern,
        group=group_of(pattern, key),
        key=_digest(
            pattern.value,
            key,
            *(f"{r.integrator}\x1f{r.record_id}" for r in sorted(refs)),
            json.dumps(evidence, sort_keys=True, separators=(",", ":")),
            finding.phase or "",
            *finding.citations,
        ),
        anchor=anchor,
        holder=holder.ref,
        members=refs,
        finding=finding,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:32]


def _embargo(members: Sequence[TransferFacts]) -> tuple[Approach | None, list[str]]:
    """The regime most of ``members`` come near (ties: by id), as the last of them that does
    came near it; and every regime any of them comes near, by id."""
    counts = Counter(a.regime for f in members for a in f.approaches)
    if not counts:
        return None, []
    regime = min(counts, key=lambda r: (-counts[r], r))
    approach = next(a for f in reversed(members) for a in f.approaches if a.regime == regime)
    return approach, sorted(counts)


def _towards(approach: Approach | None, regimes: Sequence[str]) -> str:
    if approach is None:
        return "near no embargo"
    cited = f" ({approach.citations[0]})" if approach.citations else ""
    where = f"the {approach.regime_name} arms embargo applies{cited}"
    if approach.country == approach.territory:
        words = f"bound for {approach.territory}, where {where}"
    else:
        way = "bound for" if approach.via == "destination" else "passing through"
        words = f"{way} {approach.country}, next to {approach.territory}, where {where}"
    others = [r for r in regimes if r != approach.regime]
    return words + (f" (also near the {and_words(others)} embargoes)" if others else "")


def _near_words(near: Sequence[TransferFacts], members: Sequence[TransferFacts]) -> str:
    """Which of ``members`` come near the embargo: 'all of them are', 'r-2 is'."""
    if len(near) == len(members):
        return "all of them are" if len(members) > 2 else "both are"
    return f"{_ids(near)} {'is' if len(near) == 1 else 'are'}"


def _party_of(key: str, members: Sequence[TransferFacts]) -> PartyFacts:
    """The party ``key`` follows, as the last transfer names it."""
    return next(p for f in reversed(members) if (p := f.receiver(key)) is not None)


def _party_words(party: PartyFacts) -> str:
    where = f" ({party.country})" if party.country else ""
    return f"{party.role.replace('_', ' ')} {party.name!r}{where}"


def _capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


def _party_evidence(party: PartyFacts) -> dict[str, Any]:
    return {"role": party.role, "name": party.name, "country": party.country}


def _ids(members: Sequence[TransferFacts]) -> str:
    """'r-1, r-2 and r-3'; with the integrator where several sent them; the first
    :data:`NAMED_IN_SUMMARY`, then how many more the evidence lists."""
    several = len({f.ref.integrator for f in members}) > 1
    names = [
        f"{f.ref.record_id} ({f.ref.integrator})" if several else f.ref.record_id
        for f in members[:NAMED_IN_SUMMARY]
    ]
    if len(members) > NAMED_IN_SUMMARY:
        names.append(f"{len(members) - NAMED_IN_SUMMARY} more (see the evidence)")
    return and_words(names)


def _member(f: TransferFacts, key: str | None, goods: Goods | None) -> dict[str, Any]:
    party = f.receiver(key) if key else None
    return {
        "integrator": f.ref.integrator,
        "record_id": f.ref.record_id,
        "transfer_date": f.transfer_date.isoformat(),
        "destination": f.destination,
        **({"quantity": f.quantity(goods)} if goods else {}),
        **({"party": _party_evidence(party)} if party else {}),
        "embargoes": [a.regime for a in f.approaches],
    }
