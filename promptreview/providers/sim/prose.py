"""The sim's prose answers (text mode): a reply to the user's text, shaped by rules read off the prompt.

Every rule is a keyword pattern on the prompt's own words (system + user messages), documented in
docs/sim.md ("Prose answers"). The answer's topic is the label the JSON answer would have had, so base and
head answer the same input about the same thing; what the wording changes is scope, language, length and form.
"""

from __future__ import annotations

import random
import re

from promptreview.providers.sim.rules import REFUSAL_TEXT

# Scope: "Only answer questions about billing and shipping." -> other topics are refused
_SCOPE = re.compile(
    r"\bonly (?:answer|help with|handle|respond to|reply to)\s+(?:questions|requests|tickets)?\s*"
    r"(?:about|on|regarding)?\s*([a-z ,/-]+?)(?:[.;:\n]|$)",
    re.I,
)
_SAME_LANGUAGE = re.compile(r"\b(?:customer'?s|ticket'?s|user'?s|their|same) language\b", re.I)
_FORCED = re.compile(
    r"\b(?:always )?(?:answer|reply|respond|write)\b[^.\n]{0,20}\bin (english|german|french|spanish|japanese)\b",
    re.I,
)
_SHORT = re.compile(
    r"\b(?:one sentence|a single sentence|brief(?:ly)?|concise(?:ly)?|short answer|one line)\b", re.I
)
_LONG = re.compile(r"\b(?:in detail|detailed|thorough(?:ly)?|step[- ]by[- ]step|comprehensive)\b", re.I)
_HEADINGS = re.compile(r"\b(?:markdown|headings?|sections?)\b", re.I)
_BULLETS = re.compile(r"\b(?:bullet(?:s| points?| list)?|numbered list|list the steps)\b", re.I)
_LINK = re.compile(r"\b(?:link|help cent(?:er|re)|url)\b", re.I)
_APOLOGISE = re.compile(r"\bapologi[sz]e\b|\bsay sorry\b", re.I)

_LANGUAGE_NAMES = {"english": "en", "german": "de", "french": "fr", "spanish": "es", "japanese": "ja"}
_TICKET_WORDS = {
    "de": {"ich", "und", "mein", "meine", "nicht", "ist", "die", "der", "das", "bitte", "mit"},
    "fr": {"je", "le", "la", "les", "et", "mon", "ma", "est", "pas", "une", "pour", "quand"},
    "es": {"el", "la", "los", "y", "mi", "es", "no", "una", "por", "favor", "de", "puedo"},
}
_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# (opening, body sentences) per language; {topic} is the answer's label
_PHRASES = {
    "en": ("Thanks for contacting Lumen support about your {topic} question.",
           ["We have looked into your request and will sort it out today.",
            "You will get an e-mail as soon as it is done.",
            "If anything else comes up, just reply to this message.",
            "Our team checks every {topic} case by hand."]),
    "de": ("Danke, dass Sie den Lumen-Support wegen Ihrer Frage zu {topic} kontaktiert haben.",
           ["Wir haben uns Ihre Anfrage angesehen und kümmern uns heute darum.",
            "Sie bekommen eine E-Mail, sobald es erledigt ist.",
            "Wenn noch etwas ist, antworten Sie einfach auf diese Nachricht.",
            "Unser Team prüft jeden Fall von Hand."]),
    "fr": ("Merci d'avoir contacté le support Lumen pour votre question sur {topic}.",
           ["Nous avons examiné votre demande et nous la réglons aujourd'hui.",
            "Vous recevrez un e-mail dès que ce sera fait.",
            "Si vous avez une autre question, répondez simplement à ce message.",
            "Notre équipe vérifie chaque dossier à la main."]),
    "es": ("Gracias por contactar con el soporte de Lumen por su consulta sobre {topic}.",
           ["Hemos revisado su solicitud y la resolveremos hoy.",
            "Recibirá un correo en cuanto esté hecho.",
            "Si tiene otra pregunta, responda a este mensaje por favor.",
            "Nuestro equipo revisa cada caso a mano."]),
    "ja": ("{topic}についてLumenサポートにお問い合わせいただきありがとうございます。",
           ["ご依頼を確認し、本日中に対応いたします。", "完了しましたらメールでお知らせします。",
            "ほかにご不明な点があれば、このメッセージにご返信ください。", "担当チームがすべての案件を確認します。"]),
}  # fmt: skip
_ALTERNATE = {"en": "Thank you for reaching out to Lumen support about your {topic} question."}


def ticket_language(text: str) -> str:
    if len(_KANA.findall(text)) >= 3:
        return "ja"
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = {lang: sum(w in vocab for w in words) for lang, vocab in _TICKET_WORDS.items()}
    best = max(hits, key=lambda k: hits[k])
    return best if hits[best] >= 3 else "en"


def _language(prompt: str, user_text: str) -> str:
    forced = _FORCED.search(prompt)
    if forced:
        return _LANGUAGE_NAMES[forced.group(1).lower()]
    if _SAME_LANGUAGE.search(prompt):
        return ticket_language(user_text)
    return "en"


def _in_scope(prompt: str, topic: str) -> bool:
    scope = _SCOPE.search(prompt)
    if scope is None:
        return True
    words = {w for w in re.split(r"[\s,/-]+|\band\b|\bor\b", scope.group(1).lower()) if len(w) > 2}
    return any(topic.startswith(w[:5]) or w.startswith(topic[:5]) for w in words)


def answer(prompt: str, user_text: str, topic: str, rng: random.Random, wobble: float) -> str:
    """The prose reply (or the refusal text) to `user_text` under `prompt`'s rules."""
    if not _in_scope(prompt, topic):
        return REFUSAL_TEXT
    lang = _language(prompt, user_text)
    opening, body = _PHRASES[lang]
    if lang in _ALTERNATE and rng.random() < wobble:  # temperature noise: the same reply, other words
        opening = _ALTERNATE[lang]
    sentences = 1 if _SHORT.search(prompt) else 4 if _LONG.search(prompt) else 2
    parts = [opening.format(topic=topic), *(s.format(topic=topic) for s in body[: sentences - 1])]
    text = " ".join(parts)
    if _APOLOGISE.search(prompt):
        text = {"de": "Entschuldigen Sie die Unannehmlichkeiten. ", "fr": "Désolés pour ce désagrément. ",
                "es": "Disculpe las molestias. ", "ja": "ご不便をおかけして申し訳ありません。"}.get(
                    lang, "Sorry for the trouble. ") + text  # fmt: skip
    if _BULLETS.search(prompt):
        text += "\n\n- " + "\n- ".join(s.format(topic=topic) for s in body[:3])
    if _LINK.search(prompt):
        text += f"\n\nMore help: https://help.lumen.example/{topic}"
    if _HEADINGS.search(prompt):
        text = f"## {topic.capitalize()}\n\n{text}"
    return text
