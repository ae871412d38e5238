"""Text mode: what is measured on prose answers, where parse failures and schema violations do not apply.

Per completion, a few features users gate on, each a yes/no read off the answer text (`FEATURES`): empty
answers, answers that open with an apology, markdown headings, bullet lists, code blocks, links. Each becomes
a rate with the same paired statistics as the JSON outcomes (`analyse` computes them). The answer's language
(a documented heuristic, `language`) is a categorical shift; its length in characters a numeric one (tokens
are measured for every prompt).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from promptreview import stats
from promptreview.engine.measurement.distribution import shift_row
from promptreview.engine.measurement.tool_calls import TOOL_FIELD
from promptreview.report.document import ShiftRow
from promptreview.vocabulary import TextFeature

LANGUAGE_FIELD = "(answer language)"
LENGTH_FIELD = "(answer length, characters)"

_APOLOGY = re.compile(r"^\W*(?:i'?m sorry|i am sorry|sorry\b|my apologies|i apologi[sz]e|apologies)", re.I)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S|^\S.*\n\s{0,3}(?:=+|-+)\s*$", re.M)
_BULLETS = re.compile(r"^\s{0,3}(?:[-*+•]|\d+[.)])\s+\S", re.M)
_CODE = re.compile(r"^\s{0,3}(?:```|~~~)", re.M)
_LINK = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)|\bhttps?://\S+|\bwww\.\S+\.\S+", re.I)

FEATURES: dict[TextFeature, Callable[[str], bool]] = {
    "empty": lambda t: not t.strip(),
    "apology": lambda t: bool(_APOLOGY.search(t[:200])),
    "heading": lambda t: bool(_HEADING.search(t)),
    "bullet_list": lambda t: bool(_BULLETS.search(t)),
    "code_block": lambda t: bool(_CODE.search(t)),
    "link": lambda t: bool(_LINK.search(t)),
}

# Function words that are frequent in one language and rare in the others (a heuristic, documented in
# docs/formats.md): the language with the most hits wins when it has at least two.
_STOPWORDS = {
    "en": "the and you your is are to of for with this that we have can will please thank",
    "de": "der die das und ist nicht sie wir ihr ihre ein eine mit für bitte danke zu auf",
    "fr": "le la les et est vous nous une des pour avec pas votre merci sur dans que",
    "es": "el la los las y es usted su para con por favor gracias una que del está",
    "it": "il lo gli e è non per con una sono grazie suo della che questo",
    "pt": "o os as e é não você para com uma obrigado sua que do está",
    "nl": "de het en is niet u uw een met voor bedankt op dat wij",
}
_WORDS = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana first: Japanese text also uses CJK ideographs
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def language(text: str) -> str:
    """The answer's language as a short code (`en`, `de`, ...), `und` when it cannot be told.

    Non-Latin scripts are told by their characters (Japanese kana before Chinese ideographs); Latin-script
    languages by counting frequent function words. Enough to see an answer switch language, not a classifier.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "und"
    for code, script in _SCRIPTS:
        if len(script.findall(text)) >= max(3, len(letters) // 4):
            return code
    words = [w.lower() for w in _TOKEN.findall(text)]
    hits = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    best = max(hits, key=lambda k: (hits[k], k == "en"))
    return best if hits[best] >= 2 else "und"


def feature_frame(frame: pd.DataFrame, feature: TextFeature) -> pd.DataFrame:
    """`frame` with `outcome` set to `feature` where the answer has it (errors and refusals kept as they are),
    so the feature's rate is computed by the same code, with the same statistics, as an outcome's."""
    test = FEATURES[feature]
    texts = frame["text"].map(lambda t: t if isinstance(t, str) else "")
    has = texts.map(test).astype(bool) & ~frame["outcome"].isin(("error",))
    # an answer that calls a tool is no prose: its (usually empty) text has none of the features
    if "output" in frame:
        has &= ~frame["output"].map(lambda o: type(o) is dict and TOOL_FIELD in o).astype(bool)
    if feature != "empty":
        has &= frame["outcome"] != "refusal"  # a refusal's apology is counted as a refusal
    out: pd.DataFrame = frame.copy()  # pandas-stubs types it only on Python 3.11 (`Self`); mypy checks 3.10
    out["outcome"] = np.where(has, feature, np.where(frame["outcome"] == "error", "error", "ok"))
    return out


def text_shift_rows(frame: pd.DataFrame, samples: int) -> list[ShiftRow]:
    """The answer's language (categorical) and length in characters (numeric), base against head."""
    base = frame[(frame["side"] == "base") & (frame["outcome"] != "error")]
    head = frame[(frame["side"] == "head") & (frame["outcome"] != "error")]
    if not len(base) or not len(head):
        return []
    keys = sorted(set(base["input_id"]) & set(head["input_id"]))
    index = pd.MultiIndex.from_product([keys, range(samples)], names=["input_id", "sample"])
    groups = np.array([k for k, _ in index])

    def texts(side: pd.DataFrame) -> list[str | None]:
        series = side.set_index(["input_id", "sample"])["text"].reindex(index)
        return [t if isinstance(t, str) else None for t in series]

    bt, ht = texts(base), texts(head)
    rows = []
    b_lang = np.array([None if t is None else language(t) for t in bt], dtype=object)
    h_lang = np.array([None if t is None else language(t) for t in ht], dtype=object)
    if len((set(b_lang) | set(h_lang)) - {None}) > 1:  # one language on both sides: nothing to test
        rows.append(shift_row(stats.categorical_shift(LANGUAGE_FIELD, b_lang, h_lang, groups=groups)))
    b_len = np.array([np.nan if t is None else float(len(t)) for t in bt])
    h_len = np.array([np.nan if t is None else float(len(t)) for t in ht])
    if np.isfinite(b_len).any() and np.isfinite(h_len).any():
        rows.append(shift_row(stats.length_shift(LENGTH_FIELD, b_len, h_len, groups=groups)))
    return rows
