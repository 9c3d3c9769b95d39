"""Korean particles that fit the word before them: 이/가, 을/를, 은/는, 과/와, (으)로.

Which form follows a word depends on how its last syllable is *read*: with a final consonant
(받침) → 이, 을, 은, 과, 으로; without → 가, 를, 는, 와, 로 (and 로 after a final ㄹ too).
Hangul is decided by the syllable itself. Digits are read as Sino-Korean numbers, the way people read
an incident or a request number: the last non-zero digit decides (1 일, 3 삼, 6 육, 7 칠, 8 팔 have a
final consonant; 2 이, 4 사, 5 오, 9 구 do not), and a number ending in zeros ends in 십, 백, 천, 만,
억 … or is 영: all with one. Latin letters are read by their names: L 엘, M 엠, N 엔, R 알 end in a
consonant, the others (에이, 비, 씨 …) in a vowel. Closing quotes and brackets are skipped. A word
whose reading cannot be told (a symbol, nothing) keeps both forms: "이(가)".

Used by every layer (policy refusals, domain errors, console text), so it imports nothing of gwanje.
"""

from __future__ import annotations

# (after a final consonant, after a vowel)
PARTICLES: dict[str, tuple[str, str]] = {
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "은/는": ("은", "는"),
    "과/와": ("과", "와"),
    "으로/로": ("으로", "로"),
    "이다/다": ("이다", "다"),
    "이나/나": ("이나", "나"),
}
# Any of the pair's forms names the pair: particle(w, "을") == particle(w, "를") == particle(w, "을/를").
_BY_FORM = {form: pair for pair, forms in PARTICLES.items() for form in (pair, *forms)}

_CLOSERS = "'\"’”)]}」』>〉》 \u00a0"
_DIGIT_FINAL = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
_LETTER_FINAL = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}
_FINALS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def final_consonant(word: object) -> str | None:
    """The final consonant (as a compatibility jamo) of how ``word`` ends when read aloud, "" when it
    ends in a vowel, None when that cannot be told."""
    text = str(word).rstrip(_CLOSERS)
    if not text:
        return None
    last = text[-1]
    if "가" <= last <= "힣":
        index = (ord(last) - ord("가")) % 28
        return _FINALS[index - 1] if index else ""
    if last.isascii() and last.isdigit():
        digits = text[len(text.rstrip("0123456789")) :]
        if digits.strip("0") == "":
            return "ㅇ"  # 영
        if digits.endswith("0"):
            return "ㅂ"  # 십, 백, 천, 만, 억 …: all end in a consonant (none in ㄹ)
        return _DIGIT_FINAL[last]
    if last.isascii() and last.isalpha():
        return _LETTER_FINAL.get(last.lower(), "")
    return None


def particle(word: object, which: str) -> str:
    """The form of the particle ``which`` ("이/가", "을", "는" …) that follows ``word``."""
    pair = _BY_FORM.get(which)
    if pair is None:
        raise ValueError(f"unknown particle: {which!r}")
    after_consonant, after_vowel = PARTICLES[pair]
    final = final_consonant(word)
    if final is None:
        return f"{after_consonant}({after_vowel})" if pair != "으로/로" else "(으)로"
    if pair == "으로/로" and final == "ㄹ":
        return after_vowel
    return after_consonant if final else after_vowel


def with_particle(word: object, which: str) -> str:
    """``word`` followed by the fitting form: with_particle(39, "이/가") → "39가"."""
    return f"{word}{particle(word, which)}"
