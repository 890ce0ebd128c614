"""Turning a party name into the tokens the name matcher compares.

Pure functions, no I/O. The same code folds list names (once, when the index is
built) and query names (per lookup, cached by the caller), so both sides of a
comparison always agree on what a "token" is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Folded before NFKD: NFKD would split "й" into "и" + breve and lose the "y", and
# Hangul syllables into jamo.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ј": "j", "љ": "lj", "њ": "nj",
    "ђ": "dj", "ћ": "c", "џ": "dz", "ў": "u",
}  # fmt: skip
# Latin letters that NFKD leaves whole.
_LATIN = {"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ð": "d",
          "ħ": "h", "ŀ": "l"}  # fmt: skip


def _hangul() -> dict[str, str]:
    """Every Hangul syllable, romanised as the DPRK writes names on the list.

    McCune-Reischauer without its marks, as in CHOE SONG IL, RI SU YONG, KIM JONG
    UN: a syllable is one word, so "최성일" reads "choe song il". Built from the
    syllables' arithmetic (initial x 588 + medial x 28 + final).
    """
    # In Unicode's order of the jamo; "-" is the silent initial ieung.
    initials = "k kk n t tt r m p pp s ss - j jj ch kh th ph h".split()  # noqa: SIM905
    medials = "a ae ya yae o e yo ye o wa wae oe yo u wo we wi yu u ui i".split()  # noqa: SIM905
    finals = ["", *"k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()]  # noqa: SIM905
    table = {}
    for code in range(0xAC00, 0xD7A4):
        offset = code - 0xAC00
        initial, rest = divmod(offset, 588)
        medial, final = divmod(rest, 28)
        head = initials[initial].strip("-")
        table[chr(code)] = f" {head}{medials[medial]}{finals[final]} "
    return table


_PRE = str.maketrans(_CYRILLIC | _LATIN | _hangul())

# Persian and Arabic spellings of the same letter appear side by side in
# NAME_ORIGINAL_SCRIPT (ی/ي, ک/ك); hamza seats are already stripped as marks.
_ARABIC = {"ی": "ي", "ى": "ي", "ک": "ك", "ة": "ه", "ۀ": "ه", "ٱ": "ا", "ـ": ""}
_APOSTROPHES = frozenset("'’‘`´ʼʻʹ′")  # removed, so "Qa'ida" == "Qaida"


class _CharTable(dict[int, str]):
    """str.translate table that classifies each code point once, on first sight."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        cat = unicodedata.category(ch)
        if ch in _APOSTROPHES or cat[0] == "M" or cat == "Cf":
            out = ""  # accents, harakat, zero-width joiners, direction marks
        elif cat[0] == "L":
            out = _ARABIC.get(ch, ch)
        elif cat == "Nd":
            out = str(unicodedata.digit(ch))
        elif cat[0] == "N":
            out = ch
        else:
            out = " "  # hyphens, punctuation, symbols, emoji: token boundaries
        self[code] = out
        return out


_CHARS = _CharTable()


def fold(text: str) -> str:
    """Casefolded, accent-free, punctuation-free form with single spaces."""
    if text.isascii():
        return " ".join(text.lower().translate(_CHARS).split())
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_PRE))
    return " ".join(folded.translate(_CHARS).split())


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Titles and honorifics (the list's TITLE values and their spellings), legal
# forms and name particles: dropped from matching, kept in the displayed name.
TITLES = _words("""
    mr mrs ms miss dr doctor prof professor mullah mulla mollah maulavi mawlawi maulvi moulavi
    mawlavi maulana haji hajji hadji alhaj alhaji hajj sheikh shaikh sheik shaykh general gen
    colonel col major lieutenant lt captain capt commander brigadier sergeant imam qari mufti
    ustad ustadz ustaz amir emir wali navy sir
""")
LEGAL_FORMS = _words("""
    llc ltd limited sa sarl sas gmbh ag inc incorporated co corp corporation company plc llp lp
    bv nv spa srl pte pty jsc ojsc cjsc pjsc ooo zao oao fze fzc fzco kg oy ab est
""")
PARTICLES = _words("""
    the of and for in on at to a an al el ul ud ad ar as az ash ath adh bin ibn bint de da di du
    la le les van von der den del dos das y et und jr sr junior senior
""")
DROPPED = TITLES | LEGAL_FORMS | PARTICLES

# Descriptive words of organisation names: they count in the score (so
# "Al Qaida Trading" is not "Al-Qaida") but never retrieve or match on their own.
GENERIC = _words("""
    trading trade traders group groupe international intl national army front movement
    organization organisation foundation charity charitable relief society association
    committee council party brigade brigades battalion battalions regiment force forces
    militia islamic islam bank banking industries industrial industry enterprise enterprises
    holding holdings services service import export commercial commerce shipping maritime
    logistics investment investments development technology trust fund center centre office
    department bureau ministry agency institute university academy network union alliance
    coalition family allies brothers sons people popular liberation revolutionary democratic
    republic state new united world global east eastern west western north northern south
    southern central africa african arab asia unit branch exchange money credit joint
    venture supporters youth province greater special base land korea korean iraq syria yemen
    pakistan afghanistan libya libyan somalia tunisia indonesia haiti sudan mali congo
    defence defense interior security police intelligence military armed affairs directorate
    administration
""")


# Romanisations of one Arabic, Persian or Pashto given name, as lists and records
# spell them: the vowels and doubled letters of a name written without short vowels
# vary from one clerk to the next. Each line is one name; a word is in one line only.
# Names that differ in their consonants are different names (Hassan, Hussein;
# Said, Saad; Ali, Ala) and are kept apart.
_VARIANTS = """
    muhammad mohammad mohammed muhammed mohamed mohamad muhamad muhamed mohamud mohamoud
    mouhamed mouhammad mohammod mohd
    ahmad ahmed ahmet
    mahmoud mahmud mahmood
    yusuf yousef youssef yusef yousuf yousif yusif yosef youcef youssouf yousouf
    umar omar oumar amor
    uthman usman othman osman outhman
    hasan hassan
    husain hussain husayn hussein hossein husein hosein houcine hocine houssein
    abdullah abdallah abdellah abdulla abdoullah
    abdul abdel abdal abdoul abdoel
    abdulrahman abdelrahman abderrahmane abdurrahman abdorrahman abdalrahman
    abdulaziz abdelaziz abdulazeez
    abdulkadir abdelkader abdulqadir abdelqader abdulkader abdelkadir
    qasim kassem kasim qassem qassim gasim kacem
    belkacem belgacem belkassem belkasem belkasam
    khalid khaled
    salih saleh saaleh
    ibrahim ebrahim brahim
    ismail ismael esmail smail
    yahya yahia yehia
    mustafa mostafa moustafa mustapha
    musa moussa mousa
    isa issa eisa
    idris idriss edris
    jamal gamal djamal djamel jamel
    zakaria zakariya zakariyya zakarya
    suleiman sulaiman soliman sulayman slimane
    abu abou
    nur noor nour
    said saeed saiid sayeed
    sayed sayyed sayyid syed
    jafar jaafar djafar
    tariq tarek tarik tareq
    walid waleed oualid
    rashid rasheed rachid
    hamid hameed
    majid majeed
    faisal faysal faycal
    anwar anouar
    bashir bachir basheer
    nasir nasser naser
    amin ameen
    karim kareem
    rahim raheem
    aziz azeez
    habib habeeb
""".splitlines()
_VARIANT_OF = {word: line.split()[0] for line in _VARIANTS for word in line.split()}


def name_variant(token: str) -> str | None:
    """The name ``token`` is a romanisation of, when it is one of the listed ones
    ("kassem" and "qasim" are both "qasim"); None otherwise."""
    return _VARIANT_OF.get(token)


# Arabic-script letters as the English romanisation of names writes them: consonants,
# and the long vowels the script writes; the short vowels it leaves out stay out, and
# where a name is vowelled the marks read as their vowels.
_ARABIC_LATIN = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ؤ": "u", "ئ": "i", "ب": "b",
    "پ": "p", "ت": "t", "ٹ": "t", "ث": "th", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d",
    "ڈ": "d", "ذ": "dh", "ر": "r", "ڑ": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s",
    "ض": "d", "ط": "t", "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ک": "k",
    "گ": "g", "ل": "l", "م": "m", "ن": "n", "ں": "n", "ه": "h", "ھ": "h", "ہ": "h", "ة": "a",
    "ۀ": "a", "و": "u", "ي": "i", "ی": "i", "ى": "i", "ے": "e", "ـ": "",
    "\u064e": "a", "\u0650": "i", "\u064f": "u", "\u0670": "a",  # fatha, kasra, damma
}  # fmt: skip
#: Where a word opens with them, the letters read as the consonants "w" and "y", and the
#: ayn as the vowel romanisations write for it ("Abd", "Ali", "Umar").
_ARABIC_OPENING = {"و": "w", "ي": "y", "ی": "y", "ع": "a"}
_ARABIC_WORD = re.compile("[\u0621-\u065f\u0670-\u06d3\u06d5]+")
_SHADDA = "\u0651"
#: Words the letters alone would misread, by their letters as :func:`_arabic_key` writes
#: them: a final "ى" is mostly a Persian "i" ("حقانى"), but in these names an "a"; and the
#: titles and the words for "son of" that the Latin names leave out (see TITLES, PARTICLES).
_ARABIC_WORDS = {
    "الله": "allah", "موسي": "musa", "عيسي": "isa", "يحيي": "yahya", "مصطفي": "mustafa",
    "مرتضي": "murtada", "مجتبي": "mujtaba", "طه": "taha",
    "مثني": "muthanna", "بن": "bin", "ابن": "ibn", "بنت": "bint", "ولد": "ould", "اغ": "ag",
    "ولي": "wali", "ملا": "mullah", "حاجي": "haji", "الحاج": "alhaj", "شيخ": "sheikh",
    "الشيخ": "sheikh", "مولوي": "mawlawi", "قاري": "qari", "مفتي": "mufti", "امام": "imam",
    "مولانا": "maulana", "استاد": "ustad",
}  # fmt: skip
#: Letters one word is written with either way: hamza seats, Persian and Arabic yeh and kaf.
_ARABIC_KEY = str.maketrans({"ی": "ي", "ى": "ي", "ک": "ك", "أ": "ا", "إ": "ا", "آ": "ا"})


def arabic_to_latin(text: str) -> str | None:
    """The Arabic-script words of ``text`` in Latin letters ("عبد القادر" reads "abd al
    qadr"), the rest as written; None when it has no Arabic letter. The article is a word
    of its own, as the list writes it ("AL-QADIR"), and a final "ه" after a consonant the
    vowel it mostly stands for ("حماده", Hamada)."""
    if text.isascii():
        return None  # most names
    # Presentation forms ("ﻤﺤﻤﺪ") are the letters they show.
    text = unicodedata.normalize("NFKC", text)
    if not _ARABIC_WORD.search(text):
        return None
    return _ARABIC_WORD.sub(lambda m: _latin_word(m.group()), text)


def _latin_word(word: str) -> str:
    known = _ARABIC_WORDS.get(word.translate(_ARABIC_KEY))
    if known is not None:
        return known
    article = word.startswith("ال") and len(word) > 3
    if article:
        word = word[2:]
    out: list[str] = []
    for i, ch in enumerate(word):
        if ch == _SHADDA:
            out.append(out[-1][-1:] if out else "")
        elif i == 0 and ch in _ARABIC_OPENING:
            out.append(_ARABIC_OPENING[ch])
        elif ch == "ه" and i == len(word) - 1 and i and word[i - 1] not in "اوي":
            out.append("a")
        else:
            out.append(_ARABIC_LATIN.get(ch, ch))
    latin = "".join(out)
    return f"al {latin}" if article else latin


@dataclass(frozen=True, slots=True)
class NameForm:
    """A name as the matcher sees it: matching tokens in written order.

    ``core[i]`` says whether ``tokens[i]`` is a distinctive token (one that can
    retrieve and match) or a generic word (one that only counts in the score).
    The other fields are derived once here because the scorer reads them for
    every candidate.
    """

    folded: str
    tokens: tuple[str, ...]
    core: tuple[bool, ...]
    core_tokens: tuple[str, ...]
    lengths: tuple[int, ...]
    total: int  # characters in all tokens
    core_total: int  # characters in core tokens
    compact: str  # tokens joined: "Abdul Rahman" and "Abdulrahman" agree here
    core_compact: str
    #: The letters of the name with its particles ("al", "bin", "de"): "Alshabaab"
    #: agrees with AL-SHABAAB here, where the particle is a word of its own.
    letters: str
    #: Generic words and nothing else ("Ministry of National Defence"): many
    #: bodies carry such a name, so it is distinctive only together with
    #: something else about the party (see services/core/names/).
    generic: bool = False

    @property
    def short(self) -> bool:
        """One word of at most four letters: an acronym ("RGB") or a short word ("Tek")."""
        return len(self.tokens) == 1 and len(self.tokens[0]) <= 4


_BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]")


def without_brackets(text: str) -> str | None:
    """The name without its bracketed asides ("HAQQANI NETWORK (HQN)"), if it has any."""
    stripped = _BRACKETED.sub("", text).strip()
    return stripped if stripped and stripped != text.strip() else None


@lru_cache(maxsize=65536)  # party names recur across a feed's records
def name_form(text: str) -> NameForm:
    folded = fold(text)
    tokens = tuple(t for t in folded.split() if t not in DROPPED)
    # A lone letter is an initial: it cannot tell two people apart.
    core = tuple(t not in GENERIC and not (len(t) == 1 and t.isascii()) for t in tokens)
    if len(tokens) >= 2 and not any(core):
        # Some listed names are generic words only ("Korea Trading Bank"): such a
        # name is distinctive as a whole, so all its words must meet.
        core = (True,) * len(tokens)
    core_tokens = tuple(t for t, c in zip(tokens, core, strict=True) if c)
    lengths = tuple(map(len, tokens))
    return NameForm(
        folded=folded,
        tokens=tokens,
        core=core,
        core_tokens=core_tokens,
        lengths=lengths,
        total=sum(lengths),
        core_total=sum(map(len, core_tokens)),
        compact="".join(tokens),
        core_compact="".join(core_tokens),
        letters="".join(t for t in folded.split() if t not in TITLES and t not in LEGAL_FORMS),
        generic=len(tokens) >= 2 and all(t in GENERIC for t in tokens),
    )


# Soundex-like consonant classes, first letter included: recall for spelling
# variants that differ in more than one edit ("Mohammed"/"Muhammad").
_PHONETIC = str.maketrans(
    "bfpvcgjkqsxzdtlmnr", "111122222222334556", "aeiouyhw"
)  # fmt: skip


def phonetic_key(token: str) -> str | None:
    """Consonant-class key of an ASCII token, or None when too short to be useful."""
    if not token.isascii() or not token.isalpha() or len(token) < 3:
        return None
    codes = token.translate(_PHONETIC)
    key = "".join(c for i, c in enumerate(codes) if i == 0 or c != codes[i - 1])
    if len(key) < 2:
        return None
    return ("0" if token[0] in "aeiouyhw" else "") + key


def deletions(token: str) -> set[str]:
    """The token with one character removed (symmetric-delete fuzzy lookup)."""
    if len(token) < 3:
        return set()  # "al" minus a letter says nothing
    return {token[:i] + token[i + 1 :] for i in range(len(token))}


def trigrams(token: str) -> set[str]:
    padded = f"${token}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


# Country names as they occur in the Consolidated List (nationality, address
# and birth-place values), plus common short forms, folded, to ISO alpha-2.
_COUNTRIES = {
    "afghanistan": "AF", "albania": "AL", "algeria": "DZ", "bahrain": "BH", "bangladesh": "BD",
    "belgium": "BE", "bosnia and herzegovina": "BA", "british virgin islands": "VG",
    "central african republic": "CF", "chad": "TD", "china": "CN",
    "china hong kong special administrative region": "HK", "hong kong": "HK", "comoros": "KM",
    "congo": "CG", "democratic peoples republic of korea": "KP", "north korea": "KP",
    "dprk": "KP", "democratic republic of the congo": "CD", "dr congo": "CD", "drc": "CD",
    "egypt": "EG", "eritrea": "ER", "ethiopia": "ET", "france": "FR", "georgia": "GE",
    "germany": "DE", "guinea bissau": "GW", "haiti": "HT", "india": "IN", "indonesia": "ID",
    "iran islamic republic of": "IR", "iran": "IR", "iraq": "IQ", "italy": "IT", "jordan": "JO",
    "kenya": "KE", "kuwait": "KW", "lebanon": "LB", "libya": "LY", "liechtenstein": "LI",
    "malaysia": "MY", "mali": "ML", "marshall islands": "MH", "mauritania": "MR",
    "morocco": "MA", "myanmar": "MM", "netherlands": "NL", "niger": "NE", "nigeria": "NG",
    "norway": "NO", "oman": "OM", "pakistan": "PK", "panama": "PA", "philippines": "PH",
    "qatar": "QA", "russian federation": "RU", "russia": "RU", "rwanda": "RW",
    "saudi arabia": "SA", "senegal": "SN", "singapore": "SG", "somalia": "SO",
    "south sudan": "SS", "state of palestine": "PS", "palestine": "PS", "sudan": "SD",
    "sweden": "SE", "switzerland": "CH", "syrian arab republic": "SY", "syria": "SY",
    "tajikistan": "TJ", "trinidad and tobago": "TT", "tunisia": "TN", "turkey": "TR",
    "turkiye": "TR", "uganda": "UG", "united arab emirates": "AE",
    "united kingdom of great britain and northern ireland": "GB", "united kingdom": "GB",
    "united republic of tanzania": "TZ", "tanzania": "TZ", "united states of america": "US",
    "united states": "US", "usa": "US", "uzbekistan": "UZ", "viet nam": "VN", "vietnam": "VN",
    "yemen": "YE",
}  # fmt: skip


@lru_cache(maxsize=4096)  # a few hundred country spellings in all
def country_code(value: str | None) -> str | None:
    """ISO alpha-2 for an alpha-2 code or a country name the list uses; else None."""
    if not value:
        return None
    stripped = value.strip()
    if len(stripped) == 2 and stripped.isascii() and stripped.isalpha():
        return stripped.upper()
    return _COUNTRIES.get(fold(stripped))
