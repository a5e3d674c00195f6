"""Schools and districts by code, not by spelling (issue 9, item 5).

"同校、同区教师之间研修不记录积分" (seed 001, 四(五)) compares where two teachers work.
Compared as free text, "北京四中" and "北京四中 " or "西城区" and "西城" were two
places and the pair was paid. So people carry ``school_id`` and ``district_code``
(names stay for display) and the rule compares codes. A record with names only is
still computed: the names are normalised (NFKC, case-folded, whitespace and invisible
characters removed; a Beijing district name is mapped to its code with or without
"区"/"District") and the result is flagged as compared by name.

District codes are the national administrative division codes (GB/T 2260) of
Beijing's 16 districts.

Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from recorder.credits.texts import visible

BEIJING_DISTRICTS: dict[str, tuple[str, str]] = {
    "110101": ("东城区", "Dongcheng"),
    "110102": ("西城区", "Xicheng"),
    "110105": ("朝阳区", "Chaoyang"),
    "110106": ("丰台区", "Fengtai"),
    "110107": ("石景山区", "Shijingshan"),
    "110108": ("海淀区", "Haidian"),
    "110109": ("门头沟区", "Mentougou"),
    "110111": ("房山区", "Fangshan"),
    "110112": ("通州区", "Tongzhou"),
    "110113": ("顺义区", "Shunyi"),
    "110114": ("昌平区", "Changping"),
    "110115": ("大兴区", "Daxing"),
    "110116": ("怀柔区", "Huairou"),
    "110117": ("平谷区", "Pinggu"),
    "110118": ("密云区", "Miyun"),
    "110119": ("延庆区", "Yanqing"),
}


def normalise_name(name: str) -> str:
    """A name as compared when no code is given: NFKC, case-folded, with whitespace
    and invisible characters removed ("北京四中 " = "北京四中", "No. 4" = "no.4")."""
    return visible(name).casefold()


def _district_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, (zh, en) in BEIJING_DISTRICTS.items():
        for alias in (code, zh, zh.removesuffix("区"), en, f"{en} District", f"{en}qu"):
            aliases[normalise_name(alias)] = code
    return aliases


_DISTRICTS = _district_aliases()


def district_code_of(name: str) -> str | None:
    """The code of a Beijing district given by name or code in any usual spelling."""
    return _DISTRICTS.get(normalise_name(name))


@dataclass(frozen=True, slots=True)
class Place:
    """Where a person works, as a record states it: a code and/or a display name."""

    code: str = ""
    name: str = ""

    def key(self, *, district: bool) -> tuple[str, bool]:
        """What is compared, and whether it came from a name (flagged). Empty when
        the record says nothing."""
        if self.code.strip():
            return "code:" + normalise_name(self.code), False
        if not self.name.strip():
            return "", False
        if district:
            code = district_code_of(self.name)
            if code is not None:
                return "code:" + code, True
        return "name:" + normalise_name(self.name), True


def same_place(a: Place, b: Place, *, district: bool) -> tuple[bool, bool]:
    """(same, by_name): whether ``a`` and ``b`` are the same school or district, and
    whether that was decided from names rather than codes on both sides. Unknown on
    either side is never "same" (nobody loses pay for a missing field)."""
    return same_key(a.key(district=district), b.key(district=district))


def same_key(a: tuple[str, bool], b: tuple[str, bool]) -> tuple[bool, bool]:
    """:func:`same_place` of two :meth:`Place.key` results (the credits work the keys
    out once per person, not once per session)."""
    ka, name_a = a
    kb, name_b = b
    if not ka or not kb:
        return False, False
    # A code on one side and a name on the other: a district name maps to its code;
    # a school name cannot be matched to an id, so those two are compared as given.
    return ka == kb, name_a or name_b


__all__ = [
    "BEIJING_DISTRICTS", "Place", "district_code_of", "normalise_name", "same_key", "same_place",
]
