"""Arabic names romanised two ways, and names in Arabic script, read as the list reads them.

The list romanises most Arabic names the English way ("ABD AL-QADIR", "MUHAMMAD",
"YUSUF"); the Maghreb and francophone Africa write the same names the French way
("Abdelkader", "Mohamed", "Youssef"): "ou" for u, "e" for i, "ch" for sh, "dj" for j, "k"
for q, the article joined to the word. Neither is a misspelling of the other, so both
are read into one *reading* the two conventions share (:func:`reading`), and the names of
a listed party with an Arabic name are compared in that reading too. A name in Arabic
script writes no short vowels: it is transliterated and compared by its consonants
(:func:`consonants`) with the consonants of the listed names, so that a list file which
lost its original-script names still finds the party. Each way of writing is a *view*
(see services.core.names.entries) with its own retrieval keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache

from services.core.name_normalisation import (
    DROPPED,
    GENERIC,
    TITLES,
    NameForm,
    arabic_to_latin,
    country_code,
    fold,
    name_form,
    name_variant,
)
from services.core.names.entries import Entry, View
from services.core.names.tuning import READING_CACHE
from services.core.sanctions_list import ListedParty

#: States whose people's names are written in Arabic script: the members of the League of
#: Arab States, and Afghanistan, Iran and Pakistan.
ARABIC_SCRIPT_STATES = frozenset(
    "DZ BH KM DJ EG IQ JO KW LB LY MR MA OM PS QA SA SO SD SY TN AE YE AF IR PK".split()  # noqa: SIM905
)
#: Words only Arabic names have: articles and the words for "son of", "father of", "servant
#: of" (folded; "al-" and "bin" are dropped from the name but tell the name's origin).
_ARABIC_WORDS = frozenset("al el ul ud ad ar as az ash bin ibn bint abu abou abd ould".split())  # noqa: SIM905
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")


def arabic_named(party: ListedParty) -> bool:
    """Whether the list names ``party`` in Arabic script, gives it a nationality or birth
    place in a state that writes names so, or its name has a word only Arabic names have
    (or a common Arabic given name)."""
    if party.original_script and _ARABIC_LETTER.search(party.original_script):
        return True
    places = (*party.nationalities, *(p.country for p in party.places_of_birth if p.country))
    if any(country_code(place) in ARABIC_SCRIPT_STATES for place in places):
        return True
    names = (party.name, *(a.name for a in party.aliases))
    return any(
        w in _ARABIC_WORDS or name_variant(w) is not None for n in names for w in fold(n).split()
    )


# --- the reading -------------------------------------------------------------------------

# "Abd" and the article written as one word ("Abdelkader", "Abderrahmane", "Abdul"), the
# article assimilated to a sun letter it doubles ("er-Rahmane").
_ABD = re.compile(r"^abd(?:[aeiou]{1,2}(?:l|([rsdtnz])(?=\1|$)))(?P<rest>[a-z]*)$")
_ALLAH = re.compile(r"^l?lah?$")
# "Nur al-Din" as one word ("Noureddine", "Nuruddin", "Azzedine").
_DIN = re.compile(r"^(?P<stem>[a-z]{3,}?)(?:[aeiou]{1,2}|[aeu]l)d{1,2}(?:i|ee|ie)ne?$")
# "Abu al-Yazid" as one word ("Abulabbas", "Aboulyazid").
_ABU = re.compile(r"^ab(?:u|ou|o)[aeiou]?l(?P<rest>[a-z]{3,})$")
# "Aziz Allah" as one word ("Azizullah", "Ezatullah", "Saifulla").
_ULLAH = re.compile(r"^(?P<stem>[a-z]{3,}?)[aeiou]{1,2}l{1,2}ah?$")
# The article joined to a word ("Elkhairy", "Alsayed").
_ARTICLE = re.compile(r"^[ae]l(?P<rest>[b-df-hj-np-tv-z][a-z]{3,})$")

# Letters the French and the English romanisation write differently, one rewrite each,
# in the order they apply.
_LETTERS = (
    (re.compile(r"ou(?=[aeiu])"), "w"),  # "Oualid", "Aouadi"
    (re.compile(r"ou|oo"), "u"),  # "Youssouf", "Mahmood"
    (re.compile(r"ee"), "i"),  # "Saeed", "Qadeer"
    (re.compile(r"dj"), "j"),  # "Djamel"
    (re.compile(r"ch"), "sh"),  # "Cheikh", "Hicham"
    (re.compile(r"ph"), "f"),  # "Mustapha"
    (re.compile(r"dh"), "d"),  # "Fadhil", "Fadil"
    (re.compile(r"th"), "t"),  # "Uthman", "Othmane"
    (re.compile(r"ck|q"), "k"),  # "Qasim", "Kacem"
    (re.compile(r"c(?=[eiy])"), "s"),  # "Kacem", "Youcef"
    (re.compile(r"c"), "k"),
    (re.compile(r"e[iy](?![aeiou])"), "ay"),  # "Hussein", "Cheikh"
    (re.compile(r"e"), "i"),  # "Kader", "Saleh"
    (re.compile(r"o"), "u"),  # "Omar", "Mohamed"
    (re.compile(r"ai(?![aeiou])"), "ay"),  # "Husain", "Naim", "Naeem"
    (re.compile(r"(?<=[^aeiouy])y"), "i"),  # "Yahya", "Yahia"; "Nyazi"
    (re.compile(r"(?<=a)h$"), ""),  # "Abdallah", "Abdalla"; "Hamzah"
    (re.compile(r"([a-z])\1+"), r"\1"),  # "Mohammed", "Hassan", "Youssef"
)


def _spell(word: str) -> str:
    if len(word) > 3 and word[-1] == "e" and word[-2] not in "aeiou":
        word = word[:-1]  # a French final e: "Rahmane", "Amine"
    for pattern, replacement in _LETTERS:
        word = pattern.sub(replacement, word)
    return word


#: "Son of" ("Ould", "Ben", Tamasheq "Ag") and the article written apart ("er-", "ech-").
_SON_OF_AND_ARTICLES = "ould ben bent walad wuld ag ur us un ut uz ush ed er es en et ez ech esh"
#: Words a reading leaves out, as they read: those above, and titles spelt the French way
#: ("Cheikh" reads "shaykh"; as spelt in TITLES they are left out already, and "Amir" read
#: from "Aamir" is a name).
_UNREAD = frozenset(
    {read for w in TITLES if (read := _spell(w)) != w}
    | {_spell(w) for w in _SON_OF_AND_ARTICLES.split()}
)


def _parts(word: str) -> Iterator[str]:
    """The words a folded word is written for: itself, or its parts where it joins the
    article and a name to "abd", "din" or "allah"."""
    word = name_variant(word) or word
    if (m := _ABD.match(word)) is not None:
        rest = m.group("rest")
        yield "abd"
        if rest:
            yield "allah" if _ALLAH.match(rest) else rest
    elif (m := _ABU.match(word)) is not None:
        yield from ("abu", m.group("rest"))
    elif (m := _DIN.match(word)) is not None:
        yield from (m.group("stem"), "din")
    elif (m := _ULLAH.match(word)) is not None:
        yield from (m.group("stem"), "allah")
    elif (m := _ARTICLE.match(word)) is not None:
        yield m.group("rest")
    else:
        yield word


@lru_cache(maxsize=READING_CACHE)
def reading(folded: str) -> str:
    """A folded Latin name as both romanisations read it ("abdelkader" and "abd al qadir"
    read "abd kadir"): particles, titles and "son of" left out, joined words split, the
    letters the conventions spell differently spelt one way. Generic words and words in
    another script stay as they are."""
    return " ".join(read for word in folded.split() for read in read_word(word))


@lru_cache(maxsize=READING_CACHE)  # names are new far more often than their words
def read_word(word: str) -> tuple[str, ...]:
    """The words one folded word reads as (see :func:`reading`)."""
    if word in DROPPED:
        return ()
    if word in GENERIC or not (word.isascii() and word.isalpha()):
        return (word,)
    return tuple(read for part in _parts(word) if (read := _spell(part)) not in _UNREAD)


def consonants(read: str) -> str:
    """A reading by the letters Arabic script writes for sure: its consonants, the word's
    first letter (a vowel as "a", an alif or ayn in the script) and a final vowel ("Ali",
    "Omari"). Short vowels, and the "w" and "y" that long vowels are read as, are dropped."""
    return " ".join(_word_consonants(w) for w in read.split())


_VOWELS = str.maketrans("", "", "aeiouwy")


def _word_consonants(word: str) -> str:
    if not word.isascii():
        return word
    head = "a" if word[0] in "aeiou" else word[0]
    last = word[-1] if len(word) > 1 and word[-1] in "aiuy" else ""
    body = word[1 : len(word) - len(last)].translate(_VOWELS)
    return re.sub(r"([a-z])\1+", r"\1", head + body + last.replace("y", "i"))


# --- the views a name is written in -------------------------------------------------------


def views_of(party: ListedParty, listed: Iterable[Entry]) -> list[Entry]:
    """The entries of ``party``'s names in the other views, if its name is Arabic (see
    :func:`arabic_named`): each Latin name in its reading, each name by its consonants."""
    if not arabic_named(party):
        return []
    out = []
    seen: set[tuple[View, tuple[str, ...]]] = set()
    for entry in listed:
        for view, form in _other_views(entry.text):
            if form.core_tokens and (view, form.tokens) not in seen:
                seen.add((view, form.tokens))
                out.append(replace(entry, form=form, view=view, listed=entry.form))
    return out


def _other_views(text: str) -> list[tuple[View, NameForm]]:
    out: list[tuple[View, NameForm]] = []
    latin = arabic_to_latin(text)
    if latin is None:
        out.append(("reading", name_form(reading(fold(text)))))
    out.append(("consonants", name_form(consonants(reading(fold(latin or text))))))
    return out


def query_view(text: str, form: NameForm) -> tuple[View, tuple[str, ...]] | None:
    """The other view ``text`` (folded as ``form``) is compared in, and its words there: a
    name in Latin letters in its reading, one in Arabic script by its consonants. The words
    come cheap (each read once, see :func:`read_word`); :func:`query_form` is the form."""
    if not form.folded.isascii():
        latin = arabic_to_latin(text)
        if latin is not None:
            return "consonants", tuple(query_form("consonants", text).tokens)
    if not any(t.isascii() for t in form.core_tokens):
        return None
    return "reading", tuple(w for t in form.tokens for w in read_word(t))


@lru_cache(maxsize=READING_CACHE)
def query_form(view: View, text: str) -> NameForm:
    """``text`` as compared in ``view`` (see :func:`query_view`)."""
    if view == "consonants":
        return name_form(consonants(reading(fold(arabic_to_latin(text) or text))))
    return name_form(reading(fold(text)))
