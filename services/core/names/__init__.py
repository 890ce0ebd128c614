"""Matching a party name against the designated parties of the Consolidated List.

Pure and in-memory. :meth:`NameIndex.search` screens a name: the listed
parties whose names resemble it, each a :class:`NameMatch` whose ``features``
explain its score step by step. :func:`compare_names` scores two folded names
and :func:`explain_names` says in words why they scored so.

The package's modules, from the bottom up: ``tuning`` (every weight, threshold
and bound), ``entries`` (listed names), ``romanisation`` (Arabic names read two
ways), ``tokens`` and ``joins`` (token pairs, words written as one),
``alignment`` (two names), ``facts`` (country, date of birth, documents),
``scoring`` (the score and its explanation), ``vocabulary`` and ``retrieval``
(which listed names a query reaches) and ``index`` (the index).
"""

from services.core.names.alignment import Comparison, compare_names
from services.core.names.facts import best_support, name_floor
from services.core.names.index import NameIndex
from services.core.names.joins import runs
from services.core.names.romanisation import query_form, read_word, reading
from services.core.names.scoring import NameMatch, explain_names
from services.core.names.tuning import (
    ALGORITHM_VERSION,
    DEFAULT_THRESHOLD,
    NEAR_MISS_FLOOR,
    REPORTED_MATCHES,
    WEAK_ALIAS_CAP,
)

__all__ = [
    "ALGORITHM_VERSION",
    "DEFAULT_THRESHOLD",
    "NEAR_MISS_FLOOR",
    "REPORTED_MATCHES",
    "WEAK_ALIAS_CAP",
    "Comparison",
    "NameIndex",
    "NameMatch",
    "clear_caches",
    "compare_names",
    "explain_names",
]


def clear_caches() -> None:
    """Empty every cache of the package's functions, as new to the process; an index's
    own caches go with the index."""
    runs.cache_clear()
    name_floor.cache_clear()
    best_support.cache_clear()
    reading.cache_clear()
    read_word.cache_clear()
    query_form.cache_clear()
