"""Text mode's answer features: the language heuristic, each feature, and the feature frame."""

from __future__ import annotations

import pandas as pd
import pytest

from promptreview.engine.measurement import text_features


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you for your message, we will check the order and get back to you.", "en"),
        ("Danke für Ihre Nachricht, wir prüfen die Bestellung und melden uns bitte morgen.", "de"),
        ("Merci pour votre message, nous vérifions la commande avec vous.", "fr"),
        ("Gracias por su mensaje, revisamos el pedido y le escribimos por favor.", "es"),
        ("ご連絡ありがとうございます。注文を確認します。", "ja"),
        ("Спасибо за ваше сообщение, мы проверим заказ.", "ru"),
        ("12345 !!!", "und"),
    ],
)
def test_language_heuristic(text, expected):
    assert text_features.language(text) == expected


def test_answer_features():
    f = text_features.FEATURES
    assert f["empty"](" \n") and not f["empty"]("a")
    assert f["apology"]("Sorry for the delay. Here it is.") and not f["apology"]("No worries, sorry!")
    assert f["heading"]("## Steps\ntext") and f["heading"]("Title\n=====\n") and not f["heading"]("#hashtag")
    assert (
        f["bullet_list"]("Do this:\n- one\n- two")
        and f["bullet_list"]("1. first")
        and not f["bullet_list"]("-5 degrees")
    )
    assert f["code_block"]("```python\nx\n```") and not f["code_block"]("use `x`")
    assert (
        f["link"]("see [docs](https://x.y/z)") and f["link"]("go to https://x.y") and not f["link"]("no link")
    )


def test_feature_frame_keeps_errors_and_counts_refusals_apart():
    frame = pd.DataFrame({"outcome": ["ok", "refusal", "error", "ok"],
                          "text": ["- a", "- sorry", None, "plain"]})  # fmt: skip
    out = text_features.feature_frame(frame, "bullet_list")
    assert list(out["outcome"]) == ["bullet_list", "ok", "error", "ok"]
