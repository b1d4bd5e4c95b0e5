"""Text normalisation for matching participants' free text against word lists.

Pure functions, no state. Three kinds of keys are computed from a token:

* ``fold_latin``: Latin-script words with case, diacritics (å/ä/ö written a/a/o, or å
  as "aa") and doubled letters folded away, so "Vräkningen", "vrakningen" and
  "vraakkningen" give the same key.
* ``arabic_key``: Arabic-script words without harakat and tatweel, with the letter
  variants most people mix up made equal (أ إ آ ٱ → ا, ة → ه, ى → ي, ؤ → و, ئ → ي,
  Persian/Iraqi letters to their Arabic look-alikes) and elongations collapsed.
* ``arabizi_key``: Arabic written in Latin letters and digits ("bdi mout", "3am
  yedrobni"), where vowels are spelt every which way: every run of vowels becomes "a".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import snowballstemmer

# Letters (and digits) of the Arabic script, including harakat and tatweel, but not Arabic
# punctuation (، ؛ ؟ ٪ ۔), so that punctuation still separates words.
_ARABIC_CHARS: Final = (
    "\u0610-\u061a\u0620-\u065f\u0660-\u0669\u066e-\u06d3\u06d5-\u06ff\u0750-\u077f\u08a0-\u08ff"
)
_LATIN_CHAR: Final = rf"(?:(?![{_ARABIC_CHARS}_])[\w\u0300-\u036f])"
_APOSTROPHES: Final = "'’ʼ`´"
# An apostrophe between letters belongs to the word: "can't", "he'll", "bi'tolni".
_TOKEN_RE: Final = re.compile(
    rf"(?P<ar>[{_ARABIC_CHARS}]+)|(?P<latn>{_LATIN_CHAR}+(?:[{_APOSTROPHES}]{_LATIN_CHAR}+)*)"
)

_ARABIC_MARKS_RE: Final = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS: Final = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ى": "ي",
        "ی": "ي",
        "ې": "ي",
        "ئ": "ي",
        "ة": "ه",
        "ۀ": "ه",
        "ہ": "ه",
        "ھ": "ه",
        "ە": "ه",
        "ؤ": "و",
        "ٶ": "و",
        "ء": None,
        "ک": "ك",
        "گ": "ك",
        "ڪ": "ك",
        "چ": "ك",
        "ڤ": "ف",
        "پ": "ب",
        "ژ": "ز",
        # Arabic-Indic and Eastern Arabic-Indic digits
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    }
)
# Letters that the Unicode decomposition does not split into base letter plus accent.
_LATIN_LETTERS: Final = str.maketrans(
    {
        "ø": "o",
        "æ": "a",
        "œ": "o",
        "ð": "d",
        "þ": "th",
        "ł": "l",
        "đ": "d",
        "ı": "i",
        **dict.fromkeys(_APOSTROPHES),
    }
)
_REPEATS_RE: Final = re.compile(r"(.)\1+")
_ELONGATION_RE: Final = re.compile(r"(.)\1\1+")
# Languages whose spellers double and undouble letters freely ("skulld", å written "aa").
# In English a doubled letter tells words apart ("bill" and the Swedish "bil").
_UNDOUBLING_LANGUAGES: Final = frozenset({"sv", "da", "no", "de", "ar"})

_SWEDISH_MARKS: Final = frozenset("åäö")

# Arabizi: 2 (hamza) and 3 (ain) are as often left out as written, so they count as vowels;
# the other digits stand for letters.
_ARABIZI_DIGITS: Final = str.maketrans(
    {"2": "a", "3": "a", "7": "h", "5": "kh", "6": "t", "9": "s"}
)
_ARABIZI_VOWELS_RE: Final = re.compile(r"[aeiou]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a message: its text as written and where it stands."""

    surface: str
    start: int
    end: int
    arabic: bool


def prepare(text: str) -> str:
    """Unicode compatibility normalisation (presentation forms, full-width letters)."""
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[Token]:
    """Split prepared text into words; Arabic and Latin runs are separate words.

    Hyphens and other punctuation separate words; an apostrophe inside a word does not
    ("can't" is one word, folded to "cant").
    """
    return [
        Token(m.group(), m.start(), m.end(), m.lastgroup == "ar") for m in _TOKEN_RE.finditer(text)
    ]


def split_words(text: str) -> list[str]:
    """The words of a short text (a word-list entry), as ``tokenize`` would see them."""
    return [token.surface for token in tokenize(prepare(text))]


_ARABIC_RE: Final = re.compile(f"[{_ARABIC_CHARS}]")


def is_arabic(word: str) -> bool:
    """True when the word contains Arabic letters."""
    return _ARABIC_RE.search(word) is not None


@lru_cache(maxsize=65536)
def _unmarked(word: str) -> str:
    """Lower case without accents, apostrophes or the letters of _LATIN_LETTERS."""
    lowered = word.casefold().translate(_LATIN_LETTERS)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def fold_latin(word: str, language: str = "sv") -> str:
    """Matching key of a Latin-script word (see module docstring).

    Letters written three or more times ("pleeease") count once in every language;
    doubled letters only in the languages of ``_UNDOUBLING_LANGUAGES``.
    """
    plain = _unmarked(word)
    if language in _UNDOUBLING_LANGUAGES:
        return _REPEATS_RE.sub(r"\1", plain)
    return _ELONGATION_RE.sub(r"\1", plain).replace("aa", "a")


def swedish_marks(word: str) -> str:
    """The å, ä and ö of a word, in order ("räkningsbåt" → "äå").

    Used to keep "lån" (loan) apart from "län" (county) when both are written with their
    marks, while "lan" still matches either.
    """
    return "".join(ch for ch in word.casefold() if ch in _SWEDISH_MARKS)


@lru_cache(maxsize=65536)
def arabic_key(word: str) -> str:
    """Matching key of an Arabic-script word (see module docstring)."""
    plain = _ARABIC_MARKS_RE.sub("", word).translate(_ARABIC_LETTERS)
    return _REPEATS_RE.sub(r"\1", plain)


@lru_cache(maxsize=65536)
def arabizi_key(word: str) -> str:
    """Matching key of Arabic written in Latin letters (see module docstring)."""
    key = fold_latin(word, "ar").replace("ch", "sh").replace("q", "k")
    # A silent written h after a final vowel ("ta3baneh" = "ta3bane"); before the digits
    # are mapped, so that 7 (ح) is never dropped.
    if len(key) > 3 and key.endswith("h") and key[-2] in "aeiou":
        key = key[:-1]
    key = key.translate(_ARABIZI_DIGITS)
    return _REPEATS_RE.sub(r"\1", _ARABIZI_VOWELS_RE.sub("a", key))


# --- inflection -----------------------------------------------------------------------

# Attached conjunctions, prepositions, the article and the Levantine demonstrative "هال",
# longest first; at most one of these is taken off a word.
_ARABIC_PREFIXES: Final = (
    "وبال",
    "وهال",
    "ولل",
    "وال",
    "بال",
    "كال",
    "فال",
    "عال",
    "هال",
    "لل",
    "ال",
    "و",
    "ف",
    "ب",
    "ل",
    "ك",
)
# Attached pronouns, plural and dual endings, Egyptian negation "ش".
_ARABIC_SUFFIXES: Final = (
    "هما",
    "كما",
    "ها",
    "هم",
    "هن",
    "كم",
    "كن",
    "نا",
    "ني",
    "ات",
    "ون",
    "ين",
    "ان",
    "وا",
    "ه",
    "ك",
    "ي",
    "و",
    "ش",
)
_ARABIC_MIN_STEM: Final = 2


@lru_cache(maxsize=65536)
def arabic_candidates(key: str) -> tuple[str, ...]:
    """The key and the forms it may have without one attached prefix and one suffix.

    "والديون" → ..., "ديون"; "شقتي" → ..., "شقه" (the ة that became ت before a pronoun).
    """
    stems = [key]
    for prefix in _ARABIC_PREFIXES:
        if key.startswith(prefix) and len(key) - len(prefix) >= _ARABIC_MIN_STEM:
            stems.append(key[len(prefix) :])
    out: list[str] = []
    for stem in stems:
        out.append(stem)
        for suffix in _ARABIC_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= _ARABIC_MIN_STEM:
                bare = stem[: -len(suffix)]
                out.append(bare)
                if bare.endswith("ت") and len(bare) > _ARABIC_MIN_STEM:
                    out.append(bare[:-1] + "ه")
    return tuple(dict.fromkeys(out))


# Inflectional endings, on folded keys (so "ä" is already "a"), longest first.
LATIN_ENDINGS: Final[dict[str, tuple[str, ...]]] = {
    "sv": (
        "arnas",
        "ernas",
        "ornas",
        "arna",
        "erna",
        "orna",
        "ande",
        "ende",
        "ade",
        "are",
        "ast",
        "ens",
        "ets",
        "en",
        "et",
        "na",
        "ar",
        "er",
        "or",
        "ad",
        "at",
        "de",
        "te",
        "a",
        "e",
        "n",
        "t",
        "s",
    ),
    "en": ("ing", "ed", "es", "er", "ly", "s"),
}
_LATIN_MIN_STEM: Final = 3

_SNOWBALL_NAMES: Final = {
    "sv": "swedish",
    "en": "english",
    "da": "danish",
    "no": "norwegian",
    "de": "german",
    "fr": "french",
    "es": "spanish",
}
# A stem shorter than this conflates unrelated words ("hota" and "hot", "låna" and "lån").
MIN_STEM_LENGTH: Final = 5


def _snowball(language: str) -> snowballstemmer.stemmer | None:
    name = _SNOWBALL_NAMES.get(language)
    return snowballstemmer.stemmer(name) if name else None


_STEMMERS: Final = {code: _snowball(code) for code in _SNOWBALL_NAMES}


@lru_cache(maxsize=65536)
def stem_key(word: str, language: str) -> str | None:
    """Folded Snowball stem of a word, or None when it is too short to be trusted."""
    stemmer = _STEMMERS.get(language)
    if stemmer is None:
        return None
    stem = fold_latin(stemmer.stemWord(word.casefold()), language)
    return stem if len(stem) >= MIN_STEM_LENGTH else None


# A stem keeps the first letters of its word; a word is only stemmed when its first
# STEM_HEAD letters begin a listed word (the stemmers are slow, most words are not listed).
STEM_HEAD: Final = MIN_STEM_LENGTH - 1


@lru_cache(maxsize=65536)
def latin_candidates(word: str, language: str, with_stem: bool = True) -> tuple[str, ...]:
    """Folded key of a word and its forms without one inflectional ending, plus its stem."""
    key = fold_latin(word, language)
    out = [key]
    for ending in LATIN_ENDINGS.get(language, ()):
        if key.endswith(ending) and len(key) - len(ending) >= _LATIN_MIN_STEM:
            out.append(key[: -len(ending)])
    stem = stem_key(word, language) if with_stem else None
    if stem is not None:
        out.append(stem)
    return tuple(dict.fromkeys(out))


def within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]


def deletions(key: str) -> list[str]:
    """The key with one letter left out, for each position."""
    return [key[:i] + key[i + 1 :] for i in range(len(key))]
