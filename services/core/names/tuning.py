"""Every number name matching is tuned by, each with why.

A change to any of them changes scores: bump ALGORITHM_VERSION with it and
compare ``make eval`` before and after.
"""

from __future__ import annotations

from services.core.names.entries import MatchedOn

#: Recorded with every finding, so a score can be traced to the rules that made it.
ALGORITHM_VERSION = "names-6"

# --- decisions -----------------------------------------------------------------

#: At or above this a name is the listed party's: a match.
DEFAULT_THRESHOLD = 0.88
#: From this up to the threshold a name is a near miss, shown to a reviewer.
NEAR_MISS_FLOOR = 0.75

#: Names read alike (another romanisation, or the consonants of Arabic script) count from
#: this similarity, with every word closely paired: as close as a match must be.
READ_ALIKE = DEFAULT_THRESHOLD

#: Listed parties screening reports per party name: the best and a near miss or two,
#: not a reviewer's queue of every faint resemblance.
REPORTED_MATCHES = 3

# --- kinds of listed name --------------------------------------------------------

#: A former name is a little less the party's today; a nickname alone stays a near miss.
KIND_WEIGHTS: dict[MatchedOn, float] = {
    "name": 1.0, "original_script": 1.0, "alias": 1.0, "former_name": 0.95, "weak_alias": 0.85,
}  # fmt: skip
#: Of a party's names scoring alike, the one reported: its own name before its aliases.
KIND_PRIORITY: dict[MatchedOn, int] = {
    "name": 0, "original_script": 1, "alias": 2, "former_name": 3, "weak_alias": 4,
}  # fmt: skip
#: The most a name held back (nickname, weak, common or loosely paired) scores: a near miss.
WEAK_ALIAS_CAP = 0.85

# --- supporting facts -----------------------------------------------------------

#: A matching country: many parties share one, so it only corroborates.
COUNTRY_SUPPORT = 0.05
#: A country corroborates a name this close; it cannot make a distant one close.
COUNTRY_NEEDS = 0.85
#: A matching document number the list gives for the party: no one else has it.
IDENTIFIER_SUPPORT = 0.10
#: A matching full date of birth: few people of one name share it.
DOB_EXACT = 0.08
#: A matching year of birth: day and month are often swapped or unknown.
DOB_YEAR = 0.04
#: A year within a listed range of years: the range is the list's own doubt.
DOB_RANGE = 0.03
#: No listed date agrees: most likely another person of the same name.
DOB_CONTRADICTION = -0.15
#: A year this close to a listed approximate year neither agrees nor contradicts.
APPROXIMATE_YEARS = 1

# --- token pairs -----------------------------------------------------------------

#: Token pairs less alike than this count as unmatched.
PAIR_FLOOR = 0.6
#: Two listed romanisations of one name ("Kassem", "Qasim") pair at least this well: a slip.
VARIANT_PAIR = 0.85
#: Tokens this short ("Un", "Bo") pair only with a one-letter variant: Indel flatters them.
SHORT_TOKEN = 2
#: Two distinctive words less alike than this pair only loosely; every query word at least
#: this close to its pair makes the query a subset of the listed name.
SUBSET_PAIR = 0.8
#: Such a subset query names this many parts of a person's name at least.
PARTIAL_MIN_WORDS = 2
#: The weight of the listed name parts such a query leaves out (a third given name).
LEFT_OUT_WEIGHT = 0.6
#: A word with at most this many letters added at its end is another name ("Renelle" for
#: Renel, "Ahmadi" for Ahmad): the pair is loose ...
SUFFIX_LETTERS = 2
#: ... where the shorter word has this many letters at least ("Al" and "Ali" are a slip).
SUFFIX_STEM = 3
#: A word of at most this many letters with one consonant changed is another name ("Patel"
#: for Patek): too short for a slip to be told from a different name.
SHORT_WORD = 5
#: Joined or unspaced letters count only when they agree this well.
JOINED_MIN = 0.9
#: Words written as one pair with a word this alike; closely only from JOINED_MIN.
JOIN_MIN = 0.8
#: Names longer than this are not searched for words written as one: runs grow fast.
JOIN_MAX_TOKENS = 12
#: The shortest query word looked up as listed words written as one.
JOIN_SCAN_MIN = 5
#: A name of generic words this short is dropped unless supported ("Ministry of Defence").
GENERIC_DROPPED_WORDS = 2

# --- retrieval ---------------------------------------------------------------------

#: Names retrieval scores at most: enough for recall, few enough to stay fast.
CANDIDATE_CAP = 25
#: Of them one party's at most: the many aliases of a few parties must not crowd out another.
NAMES_PER_PARTY = 3
#: Retrieval scores no name estimated below this share of the floor; the estimate can fall
#: short of the score, and in every comparison with brute force kept more than this share.
ESTIMATE_SHARE = 0.4
#: Trigram keys reach listed tokens whose padded trigrams agree this well (Dice).
TRIGRAM_DICE = 0.45
#: Trigram keys reach listed tokens at most this many letters longer or shorter.
TRIGRAM_LENGTHS = 2
#: Shorter query tokens have no useful sound key or trigrams: typo keys only.
SOUND_KEY_MIN = 3
#: A word many listed parties share ("mohammed", "kim"): in at least this many of them ...
COMMON_MIN_PARTIES = 10
#: ... and this share of them.
COMMON_SHARE = 0.01

# --- caches (sizes only; none changes a result) -----------------------------------

#: Query tokens whose reach (entries and weights) is kept: a feed's names share words.
REACH_CACHE = 65536
#: Whole results per spelling: feeds repeat party names (exporters, carriers, consignees).
RESULT_CACHE = 200_000
#: Explanations of name matches, per query spelling and listed name.
EXPLANATION_CACHE = 65536
#: Runs of words written as one, per name: party names recur across a feed.
RUNS_CACHE = 65536
#: Readings of names, listed and queried: party names recur across a feed.
READING_CACHE = 65536
#: Least name scores per (floor, facts given): a handful of combinations.
FLOOR_CACHE = 64
