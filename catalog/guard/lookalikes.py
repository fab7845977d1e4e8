"""Look-alike names: one key per name, equal for names that read the same to a person.

The guard must catch "Marketing Message" however it is spelled: Cyrillic or Greek letters that look
Latin, fullwidth forms, invisible characters (NBSP, zero-width space and joiner, bidi marks), "rn" for
"m", different case or spacing. The key folds a name through Unicode's confusables (UTS #39, from the
confusable-homoglyphs package's copy of confusables.txt), case-insensitively, and keeps only ASCII
letters and digits: everything invisible, spacing or unmatched drops out.

The fold is a table from one character to a short ASCII string, so the database can apply exactly the
same fold (PostgreSQL: one translate() and a few replace() calls built from this table; SQLite: this
Python function, registered on each connection). `FOLD` and `key` are the one definition; the SQL is
generated from them, never written by hand.
"""

import json
import re
import string
import unicodedata
from functools import cache
from importlib import resources

ASCII_KEEP = frozenset(string.ascii_lowercase + string.digits)
# The library wraps right-to-left characters in LEFT-TO-RIGHT MARKs for display.
_DISPLAY_MARKS = {"\u200e", "\u200f"}


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch not in _DISPLAY_MARKS)


def _load_pairs() -> list[tuple[str, str]]:
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    pairs = []
    for char, homoglyphs in data.items():
        char = _clean(char)
        for entry in homoglyphs:
            other = _clean(entry["c"])
            if char and other and char != other:
                pairs.append((char, other))
    return pairs


def _ascii_only(text: str) -> str:
    return "".join(ch for ch in text if ch in ASCII_KEEP)


def _prototypes() -> dict[str, str]:
    """UTS #39's mapping from a confusable character to its prototype.

    The package lists each pair both ways (a character's prototype, and a prototype's sources), so the
    direction is read back: a character with exactly one partner is that partner's source, unless the
    partner also lists only it; then the ASCII one (or else the lower code point) is the prototype.
    """
    partners: dict[str, set[str]] = {}
    for a, b in _load_pairs():
        partners.setdefault(a, set()).add(b)
    mapping = {}
    for char, others in partners.items():
        if len(char) != 1 or len(others) != 1:
            continue
        (other,) = others
        if partners.get(other) == {char}:
            char_first = (not char.isascii(), ord(char)) < (not other.isascii(), ord(other[0]))
            if char_first:
                continue  # char is the prototype of the pair
        mapping[char] = other
    return mapping


# Readings UTS #39 does not give, that people still read as the letter: punctuation and digits standing in
# for letters, and a few Latin letters with no confusable.
EXTRA_READINGS = {
    "!": "i", "\u00a1": "i", "$": "s", "@": "a", "\u20ac": "e", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g",
    "\u014b": "n",
}  # fmt: skip
_LETTER_NAME = re.compile(
    r"^(?:.*\bLATIN\b|REGIONAL INDICATOR SYMBOL)\b.*\bLETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?$"
)


def _named_letter(char: str) -> str | None:
    """The Latin letter a character's Unicode name says it is ("LATIN LETTER SMALL CAPITAL M", "NEGATIVE
    SQUARED LATIN CAPITAL LETTER M", "REGIONAL INDICATOR SYMBOL LETTER M"), if any."""
    match = _LETTER_NAME.match(unicodedata.name(char, ""))
    return match.group(1).lower() if match else None


def _neighbours() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in _load_pairs():
        if len(a) == 1 and len(b) == 1:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
    return graph


def _reading(char: str, graph: dict[str, set[str]]) -> str | None:
    """A letter for a non-ASCII character its prototype left non-ASCII (Cyrillic "\u043a" to "\u0138",
    "\u043c" to "\u028d"): its own name, else the one letter its confusables (two steps away) agree on."""
    if char in EXTRA_READINGS:
        return EXTRA_READINGS[char]
    if letter := _named_letter(char):
        return letter
    seen, frontier, letters = {char}, {char}, set()
    for _ in range(2):
        frontier = {n for c in frontier for n in graph.get(c, ())} - seen
        seen |= frontier
        letters |= {letter for n in frontier if (letter := _named_letter(n) or (n.lower() if n.isascii() else None))}
        if letters:
            break
    letters &= set(string.ascii_lowercase)
    return letters.pop() if len(letters) == 1 else None


@cache
def fold_table() -> dict[str, str]:
    """Every character whose fold is not simply "itself if it is [a-z0-9], else nothing".

    A character folds to its UTS #39 prototype, lowercased, again until nothing changes ("M" to "m" to
    "rn", Cyrillic "\u041c" to Latin "M" to "rn"); ASCII letters are lowercased first, so case never
    matters; a prototype that is still not ASCII is read as the Latin letter its name or its confusables
    say (small capitals, squared and regional-indicator letters, Cyrillic "\u043a"); what is left outside
    [a-z0-9] drops out.
    """
    prototypes = _prototypes()
    graph = _neighbours()
    readings: dict[str, str | None] = {}

    def read(ch: str) -> str:
        if ch.isascii() and ch not in EXTRA_READINGS:
            return ch
        if ch not in readings:
            readings[ch] = _reading(ch, graph)
        return readings[ch] or ch

    def fold(char: str) -> str:
        text = char.lower() if char.isascii() and char not in EXTRA_READINGS else char
        for _ in range(10):
            mapped = unicodedata.normalize("NFKD", "".join(prototypes.get(ch, ch) for ch in text)).lower()
            mapped = "".join(read(ch) for ch in mapped).lower()
            if mapped == text:
                return _ascii_only(text)
            text = mapped
        raise AssertionError(f"the look-alike fold of {char!r} does not settle")

    candidates = set(prototypes) | set(graph) | set(EXTRA_READINGS) | set(string.ascii_letters + string.digits)
    candidates |= {ch.upper() for ch in prototypes if len(ch.upper()) == 1}
    candidates |= {chr(cp) for cp in range(0x80, 0x110000) if _named_letter(chr(cp))}
    table = {}
    for char in candidates:
        if len(char) != 1 or unicodedata.normalize("NFKD", char) != char:
            continue  # names are decomposed before folding: only decomposed characters are ever looked up
        folded = fold(char)
        if folded != (char if char in ASCII_KEEP else ""):
            table[char] = folded
    # Folded text must fold to itself, or the result would depend on the order of substitution (SQL
    # applies the table in passes).
    for folded in set(table.values()):
        for ch in folded:
            assert table.get(ch, ch) == ch, f"unstable fold through {ch!r}"
    return table


def key(name: str) -> str:
    """The look-alike key of a name: NFKD, each character folded through the table, ASCII [a-z0-9] kept."""
    table = fold_table()
    out = []
    for ch in unicodedata.normalize("NFKD", name or ""):
        folded = table.get(ch)
        if folded is None:
            folded = ch if ch in ASCII_KEEP else ""
        out.append(folded)
    return "".join(out)


def postgres_key_sql(argument: str) -> str:
    """The same fold as `key`, as one SQL expression over `argument` (a text expression)."""
    table = fold_table()
    # PostgreSQL text cannot hold NUL or surrogates; neither can reach a name stored there.
    usable = {ch: out for ch, out in table.items() if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF}
    singles = sorted((ch, out) for ch, out in usable.items() if len(out) == 1)
    drops = sorted(ch for ch, out in usable.items() if out == "")
    multis = sorted((ch, out) for ch, out in usable.items() if len(out) > 1)

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    from_chars = "".join(ch for ch, _ in singles) + "".join(drops)
    to_chars = "".join(out for _, out in singles)
    expression = f"translate(normalize(coalesce({argument}, ''), NFKD), {literal(from_chars)}, {literal(to_chars)})"
    for ch, out in multis:
        expression = f"replace({expression}, {literal(ch)}, {literal(out)})"
    return f"regexp_replace({expression}, '[^a-z0-9]', '', 'g')"
