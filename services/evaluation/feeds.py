# ruff: noqa: SIM905 - the word pools read better as text than as quoted lists
"""Generated transfer feeds for the quality checks: ordinary trade no embargo concerns.

:func:`benign_feed` builds records among states that are neither an embargoed territory
nor a neighbour of one, with party names made from common words (none taken from the
list). Everything a diversion indicator could look at is there in realistic shares —
records without an end-user certificate, consignees other than the end user, brokers,
forwarders, vague end users — so a finding on such a feed is noise a panel would have to
wade through. The same seed gives the same records, in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from services.core.rules import Ruleset

#: The seed of the feed ``make eval`` and the unit tests screen.
BENIGN_SEED = 20231206  # the Council's December 2023 open debate on SALW diversion

#: Where ordinary arms trade goes; :func:`benign_countries` drops any the rules embargo
#: or put next door to an embargoed territory, so a new regime cannot make the feed hot.
COUNTRY_POOL = (
    "US CA MX BR AR CL CO PE UY GB IE FR DE IT ES PT NL BE LU AT CH SE NO FI DK IS PL CZ "
    "SK HU RO BG GR HR SI RS EE LV LT IN JP AU NZ SG MY TH ID PH VN ZA NG GH SN MA CI BW "
    "NA AE QA"
).split()

_COMPANY_WORDS = (
    "atlantic baltic pacific nordic alpine andean coastal summit harbor meridian orion "
    "polar sierra titan vertex zenith falcon cedar granite silver crown prime united "
    "pioneer frontier riverside highland lakeside northern southern western eastern"
).split()
_COMPANY_NOUNS = (
    "arms defence systems trading supplies industries holdings technologies ordnance "
    "security solutions engineering tactical aerospace marine outdoor sporting"
).split()
_FORWARDING_NOUNS = ("freight", "logistics", "shipping", "cargo")
_LEGAL = "LLC Ltd SA SAS GmbH AG Inc Corp BV SpA Oy AB SRL".split()
_GIVEN = (
    "james maria jean pierre olga ivan li wei carlos ana david sarah john emma lucas "
    "sofia kwame ama kofi nadia paulo rosa hans ingrid marek tomasz yuki kenji priya "
    "arjun thabo lerato ahmed fatima mohamed aisha omar yusuf"
).split()
_SURNAMES = (
    "smith dupont garcia martin rossi müller nowak kowalski silva santos okafor mensah "
    "kim park chen wang novak horvath jansen dubois moreau lefebvre bianchi ferrari "
    "costa tanaka sato sharma patel nkosi dlamini lindqvist haddad nasser"
).split()
#: End users that name no one (the vague-end-user indicator's own examples).
_VAGUE = ("Government", "Ministry of Defence", "Armed Forces", "Police", "Various")

#: Parties between seller and buyer: role, share of records that name one, name words.
_INTERMEDIARIES = (
    ("broker", 0.1, _COMPANY_NOUNS),
    ("freight_forwarder", 0.2, _FORWARDING_NOUNS),
    ("carrier", 0.3, _FORWARDING_NOUNS),
)

_CATEGORIES = (
    "small_arms.revolver_pistol",
    "small_arms.rifle_carbine",
    "small_arms.assault_rifle",
    "small_arms.light_machine_gun",
    "light_weapons.heavy_machine_gun",
    "light_weapons.mortar",
    "ammunition.small_arms",
    "ammunition.light_weapons",
    "ammunition.other",
    "unroca.II",
    "unroca.III",
    "parts_components",
    "non_lethal_protective",
    "other_military",
)
_FIRST_DAY = date(2012, 1, 1)
_DAYS = (date(2025, 12, 31) - _FIRST_DAY).days


def benign_countries(ruleset: Ruleset) -> tuple[str, ...]:
    """:data:`COUNTRY_POOL` without any territory of ``ruleset`` or neighbour of one,
    whatever the date."""
    near = {r.territory for r in ruleset.regimes.values() if r.territory}
    near.update(c for r in ruleset.regimes.values() for c in r.neighbours)
    return tuple(c for c in COUNTRY_POOL if c not in near)


class _Feed:
    """One feed's random draws: every choice comes from one seeded generator."""

    def __init__(self, seed: int, countries: Sequence[str]) -> None:
        self.rnd = random.Random(seed)  # noqa: S311 - reproducible data, not a secret
        self.countries = countries

    def country(self, *but: str) -> str:
        return self.rnd.choice([c for c in self.countries if c not in but])

    def company(self, nouns: Sequence[str] = _COMPANY_NOUNS) -> str:
        rnd = self.rnd
        words = f"{rnd.choice(_COMPANY_WORDS)} {rnd.choice(nouns)}".title()
        return f"{words} {rnd.choice(_LEGAL)}"

    def person(self) -> str:
        return f"{self.rnd.choice(_GIVEN)} {self.rnd.choice(_SURNAMES)}".title()

    def end_user(self, country: str) -> dict[str, Any]:
        roll = self.rnd.random()
        if roll < 0.05:
            return {"name": self.rnd.choice(_VAGUE), "type": "government"}
        if roll < 0.5:
            name = f"{self.rnd.choice(('National', 'Federal', 'Royal'))} Armed Forces of {country}"
            return {"name": name, "country": country, "type": "government"}
        if roll < 0.6:
            return {"name": self.person(), "country": country, "type": "individual"}
        if roll < 0.7:
            return {"name": self.company(), "country": country, "type": "private_security"}
        return {"name": self.company(), "country": country, "type": "company"}

    def parties(self, origin: str, destination: str) -> list[dict[str, Any]]:
        rnd = self.rnd
        parties = [
            {"role": "exporter", "name": self.company(), "country": origin, "type": "company"}
        ]
        user = self.end_user(destination)
        if rnd.random() < 0.4:  # goods consigned to an importer for someone else
            parties.append(
                {
                    "role": "consignee",
                    "name": self.company(),
                    "country": destination,
                    "type": "company",
                }
            )
        parties.append({"role": "end_user", **user})
        for role, share, nouns in _INTERMEDIARIES:
            if rnd.random() < share:
                parties.append(
                    {
                        "role": role,
                        "name": self.company(nouns),
                        "country": self.country(),
                        "type": "company",
                    }
                )
        return parties

    def items(self) -> list[dict[str, Any]]:
        return [
            {
                "category": category,
                "description": category.replace("_", " "),
                "quantity": self.rnd.randint(1, 500),
            }
            for category in self.rnd.sample(_CATEGORIES, self.rnd.randint(1, 3))
        ]

    def documents(self, on: date) -> dict[str, Any]:
        rnd = self.rnd
        docs: dict[str, Any] = {"export_licence": f"EL-{rnd.randrange(10**6):06d}"}
        roll = rnd.random()
        if roll < 0.6:
            docs["end_user_certificate"] = f"EUC-{rnd.randrange(10**6):06d}"
            if roll < 0.1:  # one in six certificates had lapsed
                docs["end_user_certificate_expiry"] = (on - timedelta(days=30)).isoformat()
        return docs

    def record(self, i: int) -> dict[str, Any]:
        on = _FIRST_DAY + timedelta(days=self.rnd.randrange(_DAYS + 1))
        origin = self.country()
        destination = self.country(origin)
        route: dict[str, Any] = {"origin": origin, "destination": destination}
        if self.rnd.random() < 0.2:
            route["transit"] = [self.country(origin, destination)]
        return {
            "record_id": f"benign-{i:05d}",
            "transfer_date": on.isoformat(),
            "status": "shipped",
            "route": route,
            "parties": self.parties(origin, destination),
            "items": self.items(),
            "documents": self.documents(on),
        }


def benign_feed(n: int, ruleset: Ruleset, seed: int = BENIGN_SEED) -> list[dict[str, Any]]:
    """``n`` schema-valid transfer records among :func:`benign_countries`."""
    feed = _Feed(seed, benign_countries(ruleset))
    return [feed.record(i) for i in range(n)]
