"""Triage: free text in Swedish, Arabic or English → category, urgency and evidence.

A message goes to one of ``housing``, ``debt`` (money, bills and debts), ``violence``,
``health`` or ``none``. ``urgent`` is true for violence that is happening or threatened
and for thoughts of suicide or self-harm. ``terms`` are the words of the message that
matched, as the participant wrote them, so a mentor can see why.

The word lists are data, not code: one TOML file per language in ``bot/data/triage``
(see the README there for the format). A project can point ``load_lexicon`` at its own
copy of that directory.

How a category is chosen (``triage``):

1. Every entry of every list is looked for in the message. A match of a *benign* phrase
   ("slog rekord", "could kill for", "قتلني الضحك") cancels every match of its category
   (or of every category, for the file's top-level ``benign`` list) whose words all lie
   inside it.
2. If an ``urgent`` entry matched, the message is urgent and its category is the first
   category with an urgent match in the order violence, health, housing, debt.
   An urgent match that lies inside a *not-urgent* phrase of its category ("cut myself
   while cooking") counts as an ordinary match.
3. Otherwise each category scores its evidence: 3 for an urgent match, 2 for a match of
   several words, 1 for a single word, where a match whose words all lie inside a
   stronger or equal match of the same category adds nothing. The highest score wins; a
   tie goes by the same order (violence, health, housing, debt).
4. The other categories that matched are returned in ``also``, strongest first.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Final, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot import textnorm
from bot.textnorm import Token


class Category(StrEnum):
    HOUSING = "housing"
    DEBT = "debt"
    VIOLENCE = "violence"
    HEALTH = "health"
    NONE = "none"


# Order used for urgent matches and for ties: the more dangerous topic first.
PRIORITY: Final[tuple[Category, ...]] = (
    Category.VIOLENCE,
    Category.HEALTH,
    Category.HOUSING,
    Category.DEBT,
)
URGENT_WEIGHT: Final = 3
PHRASE_WEIGHT: Final = 2
WORD_WEIGHT: Final = 1
# How many words a gap in an entry may stand for: "slår .. mig", "vill ... dö".
GAPS: Final = {"..": 1, "...": 3}
# Below these lengths a wildcard entry ("*ab*") would match far too much.
MIN_LATIN_CORE: Final = 3
MIN_ARABIC_CORE: Final = 2
# Words at least this long (folded) also match with one typo (not in the first letter).
FUZZY_MIN_LENGTH: Final = 9
# Latin words longer than this are not searched for wildcard entries (links, noise).
MAX_WILDCARD_TOKEN: Final = 40
# Languages whose compounds end in the head word ("hyres|skulden", "familje|våld").
COMPOUNDING_LANGUAGES: Final = frozenset({"sv", "da", "no", "de"})
COMPOUND_MIN_HEAD: Final = 4
COMPOUND_MIN_MODIFIER: Final = 3
_TOKEN_CACHE_LIMIT: Final = 100_000

DEFAULT_DIRECTORY: Final = Path(__file__).parent / "data" / "triage"


@dataclass(frozen=True)
class TriageResult:
    category: Category
    urgent: bool
    terms: tuple[str, ...]
    also: tuple[Category, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "category": self.category.value,
            "urgent": self.urgent,
            "terms": list(self.terms),
            "also": [category.value for category in self.also],
        }


# --- the data files ---------------------------------------------------------------------


class LexiconError(ValueError):
    """A word-list file is missing, unreadable or has an entry that cannot be used."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(default_factory=list)
    urgent: list[str] = Field(default_factory=list)
    not_urgent: list[str] = Field(default_factory=list)
    benign: list[str] = Field(default_factory=list)

    def entries(self) -> Iterable[tuple[_Role, str]]:
        for role, entries in (
            (_Role.TERM, self.terms),
            (_Role.URGENT, self.urgent),
            (_Role.NOT_URGENT, self.not_urgent),
            (_Role.BENIGN, self.benign),
        ):
            for entry in entries:
                yield role, entry


class LanguageFile(BaseModel):
    """One ``<language>.toml`` file."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(pattern=r"^[a-z]{2,3}$")
    benign: list[str] = Field(default_factory=list)
    housing: _Section = Field(default_factory=_Section)
    debt: _Section = Field(default_factory=_Section)
    violence: _Section = Field(default_factory=_Section)
    health: _Section = Field(default_factory=_Section)

    @model_validator(mode="after")
    def _entries_parse(self) -> LanguageFile:
        for entry in self.benign:
            _parse_entry(entry, self.language)
        for _, section in self.sections():
            for _, entry in section.entries():
                _parse_entry(entry, self.language)
        return self

    def sections(self) -> Iterable[tuple[Category, _Section]]:
        yield Category.HOUSING, self.housing
        yield Category.DEBT, self.debt
        yield Category.VIOLENCE, self.violence
        yield Category.HEALTH, self.health


class _Role(Enum):
    TERM = "terms"
    URGENT = "urgent"
    NOT_URGENT = "not_urgent"  # an urgent match inside it counts as an ordinary one
    BENIGN = "benign"  # a match inside it does not count at all


class _Kind(Enum):
    WORD = "word"  # the word, its inflections, compounds (sv) and one typo (long words)
    EXACT = "exact"  # =word
    PREFIX = "prefix"  # word*
    SUFFIX = "suffix"  # *word
    INFIX = "infix"  # *word*


@dataclass(frozen=True, slots=True)
class _Alternative:
    mode: str  # "ar" (Arabic script), "arz" (Arabizi), or a Latin-script language code
    kind: _Kind
    key: str
    marks: str  # å/ä/ö as written in the entry
    word: str  # as written in the entry, without * or =


@dataclass(frozen=True, slots=True)
class _Step:
    alternatives: tuple[_Alternative, ...]
    gap: int  # how many words may come before this one (after the previous step)


def _mode_of(word: str, language: str) -> str:
    if textnorm.is_arabic(word):
        return "ar"
    return "arz" if language == "ar" else language


def _key_of(word: str, mode: str) -> str:
    if mode == "ar":
        return textnorm.arabic_key(word)
    if mode == "arz":
        return textnorm.arabizi_key(word)
    return textnorm.fold_latin(word, mode)


def _parse_alternative(text: str, language: str, entry: str) -> _Alternative:
    kind = _Kind.WORD
    core = text
    if core.startswith("="):
        kind, core = _Kind.EXACT, core[1:]
    elif core.startswith("*") and core.endswith("*") and len(core) > 1:
        kind, core = _Kind.INFIX, core[1:-1]
    elif core.startswith("*"):
        kind, core = _Kind.SUFFIX, core[1:]
    elif core.endswith("*"):
        kind, core = _Kind.PREFIX, core[:-1]
    if textnorm.split_words(core) != [textnorm.prepare(core)]:
        raise LexiconError(f"{entry!r}: {text!r} must be one word (letters or digits only)")
    mode = _mode_of(core, language)
    key = _key_of(textnorm.prepare(core), mode)
    if kind in (_Kind.PREFIX, _Kind.SUFFIX, _Kind.INFIX):
        shortest = MIN_ARABIC_CORE if mode == "ar" else MIN_LATIN_CORE
        if len(key) < shortest:
            raise LexiconError(f"{entry!r}: {text!r} is too short for a wildcard")
    marks = "" if mode in ("ar", "arz") else textnorm.swedish_marks(core)
    return _Alternative(mode, kind, key, marks, core)


def _parse_entry(entry: str, language: str) -> tuple[_Step, ...]:
    """Parse one list entry: words in order, ".."/"..." for gaps, "a|b" for alternatives."""
    steps: list[_Step] = []
    gap = 0
    chunks = entry.split()
    if not chunks:
        raise LexiconError("empty entry")
    for chunk in chunks:
        if chunk in GAPS:
            if not steps or gap:
                raise LexiconError(f"{entry!r}: {chunk!r} must stand between two words")
            gap = GAPS[chunk]
            continue
        if "|" in chunk or "*" in chunk or chunk.startswith("="):
            alternatives = tuple(
                _parse_alternative(part, language, entry) for part in chunk.split("|") if part
            )
            if not alternatives:
                raise LexiconError(f"{entry!r}: empty alternative")
            steps.append(_Step(alternatives, gap))
        else:
            words = textnorm.split_words(chunk)
            if not words:
                raise LexiconError(f"{entry!r}: {chunk!r} has no letters")
            for i, word in enumerate(words):
                alternative = _parse_alternative(word, language, entry)
                steps.append(_Step((alternative,), gap if i == 0 else 0))
        gap = 0
    if gap:
        raise LexiconError(f"{entry!r}: a gap must stand between two words")
    return tuple(steps)


# --- the compiled lexicon -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pattern:
    category: Category | None  # None: a benign phrase of every category
    role: _Role
    atoms: tuple[int, ...]
    gaps: tuple[int, ...]
    entry: str
    source: str

    @property
    def plain_weight(self) -> int:
        return PHRASE_WEIGHT if len(self.atoms) > 1 else WORD_WEIGHT


_Hit = tuple[int, str]  # atom id, å/ä/ö of the entry word


@dataclass
class _ModeIndex:
    exact: dict[str, list[_Hit]] = field(default_factory=dict)
    word: dict[str, list[_Hit]] = field(default_factory=dict)
    prefix: dict[str, list[_Hit]] = field(default_factory=dict)
    suffix: dict[str, list[_Hit]] = field(default_factory=dict)
    infix: dict[str, list[_Hit]] = field(default_factory=dict)
    compound: dict[str, list[_Hit]] = field(default_factory=dict)
    fuzzy: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    prefix_lengths: tuple[int, ...] = ()
    suffix_lengths: tuple[int, ...] = ()
    infix_lengths: tuple[int, ...] = ()
    stem_heads: frozenset[str] = frozenset()

    def finish(self) -> None:
        self.prefix_lengths = tuple(sorted({len(k) for k in self.prefix}))
        self.suffix_lengths = tuple(sorted({len(k) for k in self.suffix}))
        self.infix_lengths = tuple(sorted({len(k) for k in self.infix}))
        self.stem_heads = frozenset(
            key[: textnorm.STEM_HEAD] for key in self.word if len(key) >= textnorm.MIN_STEM_LENGTH
        )


def _add(table: dict[str, list[_Hit]], key: str, hit: _Hit) -> None:
    hits = table.setdefault(key, [])
    if hit not in hits:
        hits.append(hit)


class Lexicon:
    """Compiled word lists of one or more languages. Build with ``load_lexicon``."""

    def __init__(self, files: Sequence[tuple[str, LanguageFile]]) -> None:
        self.languages: tuple[str, ...] = tuple(data.language for _, data in files)
        self._atoms: dict[tuple[_Alternative, ...], int] = {}
        self._modes: dict[str, _ModeIndex] = {}
        patterns: list[_Pattern] = []
        for source, data in files:
            language = data.language
            for entry in data.benign:
                patterns.append(self._pattern(entry, language, None, _Role.BENIGN, source))
            for category, section in data.sections():
                for role, entry in section.entries():
                    patterns.append(self._pattern(entry, language, category, role, source))
        self.patterns: tuple[_Pattern, ...] = tuple(patterns)
        starts: dict[int, list[int]] = {}
        for number, pattern in enumerate(self.patterns):
            starts.setdefault(pattern.atoms[0], []).append(number)
        self._starts = {atom: tuple(numbers) for atom, numbers in starts.items()}
        for index in self._modes.values():
            index.finish()
        self._latin_modes = tuple(m for m in self._modes if m not in ("ar", "arz"))
        self._token_cache: dict[tuple[str, bool], frozenset[int]] = {}

    def __repr__(self) -> str:
        return f"Lexicon(languages={self.languages}, entries={len(self.patterns)})"

    # building

    def _pattern(
        self,
        entry: str,
        language: str,
        category: Category | None,
        role: _Role,
        source: str,
    ) -> _Pattern:
        steps = _parse_entry(entry, language)
        atoms = tuple(self._atom(step.alternatives) for step in steps)
        gaps = tuple(step.gap for step in steps)
        return _Pattern(category, role, atoms, gaps, entry, source)

    def _atom(self, alternatives: tuple[_Alternative, ...]) -> int:
        found = self._atoms.get(alternatives)
        if found is not None:
            return found
        atom = len(self._atoms)
        self._atoms[alternatives] = atom
        for alternative in alternatives:
            self._index(atom, alternative)
        return atom

    def _index(self, atom: int, alt: _Alternative) -> None:
        index = self._modes.setdefault(alt.mode, _ModeIndex())
        hit = (atom, alt.marks)
        if alt.kind is _Kind.EXACT:
            _add(index.exact, alt.key, hit)
        elif alt.kind is _Kind.PREFIX:
            _add(index.prefix, alt.key, hit)
        elif alt.kind is _Kind.SUFFIX:
            _add(index.suffix, alt.key, hit)
        elif alt.kind is _Kind.INFIX:
            _add(index.infix, alt.key, hit)
        else:
            _add(index.word, alt.key, hit)
            if alt.mode in ("ar", "arz"):
                return
            stem = textnorm.stem_key(alt.word, alt.mode)
            if stem is not None:
                _add(index.word, stem, hit)
            if alt.mode in COMPOUNDING_LANGUAGES and len(alt.key) >= COMPOUND_MIN_HEAD:
                _add(index.compound, alt.key, hit)
            if len(alt.key) >= FUZZY_MIN_LENGTH:
                for variant in [alt.key, *textnorm.deletions(alt.key)]:
                    entry = (alt.key, atom, alt.marks)
                    bucket = index.fuzzy.setdefault(variant, [])
                    if entry not in bucket:
                        bucket.append(entry)

    # matching one word

    def atoms_of(self, token: Token) -> frozenset[int]:
        """Ids of the list words that this word of a message matches (cached per word)."""
        cache_key = (token.surface, token.arabic)
        found = self._token_cache.get(cache_key)
        if found is not None:
            return found
        if len(self._token_cache) >= _TOKEN_CACHE_LIMIT:
            self._token_cache.clear()
        atoms: set[int] = set()
        if token.arabic:
            index = self._modes.get("ar")
            if index is not None:
                key = textnorm.arabic_key(token.surface)
                _collect(atoms, index.exact.get(key), "")
                for candidate in textnorm.arabic_candidates(key):
                    _collect(atoms, index.word.get(candidate), "")
                _wildcards(atoms, index, key, "")
        else:
            marks = textnorm.swedish_marks(token.surface)
            for mode in self._latin_modes:
                self._latin(atoms, self._modes[mode], mode, token.surface, marks)
            index = self._modes.get("arz")
            if index is not None:
                key = textnorm.arabizi_key(token.surface)
                _collect(atoms, index.exact.get(key), "")
                _collect(atoms, index.word.get(key), "")
                _wildcards(atoms, index, key, "")
        result = frozenset(atoms)
        self._token_cache[cache_key] = result
        return result

    @staticmethod
    def _latin(atoms: set[int], index: _ModeIndex, mode: str, surface: str, marks: str) -> None:
        key = textnorm.fold_latin(surface, mode)
        _collect(atoms, index.exact.get(key), marks, _same_marks)
        with_stem = key[: textnorm.STEM_HEAD] in index.stem_heads
        candidates = textnorm.latin_candidates(surface, mode, with_stem)
        for candidate in candidates:
            _collect(atoms, index.word.get(candidate), marks, _same_marks)
        if len(key) <= MAX_WILDCARD_TOKEN:
            _wildcards(atoms, index, key, marks)
        if index.compound:
            for candidate in candidates:
                last = len(candidate) - COMPOUND_MIN_HEAD
                for i in range(COMPOUND_MIN_MODIFIER, last + 1):
                    _collect(atoms, index.compound.get(candidate[i:]), marks, _marks_written)
        if index.fuzzy and len(key) >= FUZZY_MIN_LENGTH - 1:
            for candidate in candidates:
                if len(candidate) < FUZZY_MIN_LENGTH - 1:
                    continue
                for variant in [candidate, *textnorm.deletions(candidate)]:
                    for listed, atom, listed_marks in index.fuzzy.get(variant, ()):
                        if (
                            atom not in atoms
                            and candidate[0] == listed[0]
                            and listed_marks == marks
                            and textnorm.within_one_edit(candidate, listed)
                        ):
                            atoms.add(atom)

    # matching a message

    def find(self, text: str) -> list[Match]:
        """Every match of every entry in the text, benign ones included."""
        prepared = textnorm.prepare(text)
        tokens = textnorm.tokenize(prepared)
        sets = [self.atoms_of(token) for token in tokens]
        found: list[Match] = []
        for i, atoms in enumerate(sets):
            for atom in atoms:
                for number in self._starts.get(atom, ()):
                    pattern = self.patterns[number]
                    positions = _extend(pattern, 1, (i,), sets)
                    if positions is not None:
                        first, last = tokens[positions[0]], tokens[positions[-1]]
                        found.append(
                            Match(pattern, positions, prepared[first.start : last.end], first.start)
                        )
        return found


# How the å/ä/ö written in a message must agree with those of a list word.
# A word without marks matches either way (marks are often left out); otherwise:


def _marks_agree(listed: str, written: str) -> bool:
    """Part of a word (wildcards): the list word's marks are among those written."""
    return not listed or not written or listed in written


def _same_marks(listed: str, written: str) -> bool:
    """The whole word: what was written is what is listed ("tänd" is not "tand")."""
    return not written or listed == written


def _marks_written(listed: str, written: str) -> bool:
    """Looser matches (compounds, typos) only with the marks written: "folkvald" is not
    a compound of "våld", "hedersvåld" is."""
    return listed in written


def _collect(
    atoms: set[int],
    hits: list[_Hit] | None,
    marks: str,
    agree: Callable[[str, str], bool] = _marks_agree,
) -> None:
    if hits:
        for atom, listed in hits:
            if agree(listed, marks):
                atoms.add(atom)


def _wildcards(atoms: set[int], index: _ModeIndex, key: str, marks: str) -> None:
    n = len(key)
    for length in index.prefix_lengths:
        if length > n:
            break
        _collect(atoms, index.prefix.get(key[:length]), marks)
    for length in index.suffix_lengths:
        if length > n:
            break
        _collect(atoms, index.suffix.get(key[n - length :]), marks)
    for length in index.infix_lengths:
        if length > n:
            break
        for i in range(n - length + 1):
            _collect(atoms, index.infix.get(key[i : i + length]), marks)


def _extend(
    pattern: _Pattern, step: int, positions: tuple[int, ...], sets: list[frozenset[int]]
) -> tuple[int, ...] | None:
    if step == len(pattern.atoms):
        return positions
    atom, gap = pattern.atoms[step], pattern.gaps[step]
    last = positions[-1]
    for j in range(last + 1, min(last + 2 + gap, len(sets))):
        if atom in sets[j]:
            found = _extend(pattern, step + 1, (*positions, j), sets)
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class Match:
    """One entry found in a message: which words it matched and the text they span."""

    pattern: _Pattern
    positions: tuple[int, ...]
    surface: str
    start: int


# --- loading ------------------------------------------------------------------------------


def read_language_file(path: Path) -> LanguageFile:
    """Read and validate one word-list file."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        data = LanguageFile.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise LexiconError(f"{path.name}: {problems}") from error
    except (OSError, tomllib.TOMLDecodeError, LexiconError) as error:
        raise LexiconError(f"{path.name}: {error}") from error
    return data


def load_lexicon(directory: Path | None = None) -> Lexicon:
    """Load and compile every ``*.toml`` word list of a directory (default: the shipped one)."""
    folder = DEFAULT_DIRECTORY if directory is None else directory
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise LexiconError(f"no word lists (*.toml) in {folder}")
    return Lexicon([(path.name, read_language_file(path)) for path in paths])


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped word lists, loaded once."""
    return load_lexicon()


# --- deciding -----------------------------------------------------------------------------


def triage(text: str, lexicon: Lexicon | None = None) -> TriageResult:
    """Category, urgency and matched words of one message (see the module docstring)."""
    lex = default_lexicon() if lexicon is None else lexicon
    found = lex.find(text)
    kept = _counted(found)
    if not kept:
        return TriageResult(Category.NONE, False, ())
    evidence: dict[Category, list[tuple[frozenset[int], int]]] = {}
    urgent: set[Category] = set()
    for m, is_urgent in kept:
        category = m.pattern.category
        if category is None:
            continue
        if is_urgent:
            urgent.add(category)
        weight = URGENT_WEIGHT if is_urgent else m.pattern.plain_weight
        evidence.setdefault(category, []).append((frozenset(m.positions), weight))
    scores = {category: _score(items) for category, items in evidence.items()}
    ranked = sorted(scores, key=lambda c: (c not in urgent, -scores[c], PRIORITY.index(c)))
    return TriageResult(ranked[0], bool(urgent), _terms([m for m, _ in kept]), tuple(ranked[1:]))


def _score(items: list[tuple[frozenset[int], int]]) -> int:
    """Sum of the weights of distinct evidence: a match whose words all lie inside a
    stronger or equal match of the same category adds nothing ("har inte råd" and
    "inte råd" are one piece of evidence)."""
    ordered = sorted(items, key=lambda item: (-item[1], -len(item[0])))
    kept: list[tuple[frozenset[int], int]] = []
    for positions, weight in ordered:
        if not any(positions <= other for other, _ in kept):
            kept.append((positions, weight))
    return sum(weight for _, weight in kept)


def _counted(found: list[Match]) -> list[tuple[Match, bool]]:
    """The matches that count, each with whether it makes the message urgent.

    A match inside a benign phrase of its category (or of all) does not count; an urgent
    match inside a not-urgent phrase of its category counts as an ordinary one.
    """
    covers: dict[_Role, list[tuple[Category | None, frozenset[int]]]] = {
        _Role.BENIGN: [],
        _Role.NOT_URGENT: [],
    }
    for m in found:
        if m.pattern.role in covers:
            covers[m.pattern.role].append((m.pattern.category, frozenset(m.positions)))

    def inside(m: Match, role: _Role) -> bool:
        return any(
            (category is None or category == m.pattern.category) and span.issuperset(m.positions)
            for category, span in covers[role]
        )

    return [
        (m, m.pattern.role is _Role.URGENT and not inside(m, _Role.NOT_URGENT))
        for m in found
        if m.pattern.role in (_Role.TERM, _Role.URGENT) and not inside(m, _Role.BENIGN)
    ]


def _terms(matches: list[Match]) -> tuple[str, ...]:
    """Matched text spans in message order, without spans inside longer ones."""
    spans = sorted({(m.start, m.start + len(m.surface), m.surface) for m in matches})
    kept: list[tuple[int, int, str]] = []
    for start, end, surface in sorted(spans, key=lambda s: (s[0], -s[1])):
        if kept and start >= kept[-1][0] and end <= kept[-1][1]:
            continue
        kept.append((start, end, surface))
    return tuple(dict.fromkeys(surface for _, _, surface in kept))


# --- command line -------------------------------------------------------------------------


def run_triage_cli(stdin: TextIO, stdout: TextIO, lexicon: Lexicon | None = None) -> int:
    """Read one message per line, write one JSON object per line (same order)."""
    lex = default_lexicon() if lexicon is None else lexicon
    for line in stdin:
        result = triage(line.rstrip("\r\n"), lex)
        stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    from bot.triage_eval import main

    sys.exit(main(sys.argv[1:]))
