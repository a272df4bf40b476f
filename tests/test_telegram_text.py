"""Pure helpers of the Telegram channel: splitting, mentions, button data, settings checks."""

from __future__ import annotations

import hashlib
import logging
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.app import ConfigurationError
from bot.channels.common.choices import MAX_BUTTON_DATA_BYTES as MAX_CALLBACK_BYTES
from bot.channels.common.choices import choice_data, parse_choice_data
from bot.channels.common.ids import log_key, user_ref
from bot.channels.telegram.config import bot_token, file_base_url
from bot.channels.telegram.text import Span, language_of_code, remove_spans, split_message, text_after, utf16_len
from bot.logs import RedactingFilter
from bot.settings import Settings

paragraph_text = st.lists(
    st.text(alphabet=st.sampled_from("社保卡激活abc 😀\n"), min_size=0, max_size=300), min_size=1, max_size=30
).map("\n\n".join)


@given(paragraph_text, st.integers(min_value=2, max_value=500))
def test_split_respects_the_limit_and_keeps_every_character(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    assert all(0 < utf16_len(chunk) <= limit for chunk in chunks)
    assert all(chunk.strip() for chunk in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_split_prefers_paragraphs_then_lines_then_hard_cuts() -> None:
    paragraphs = ["一" * 3000, "二" * 3000]
    assert split_message("\n\n".join(paragraphs)) == paragraphs
    lines = ["a" * 2500, "b" * 2500]
    assert split_message("\n".join(lines)) == lines
    assert split_message("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split_message("short") == ["short"]
    assert split_message("  \n\n ") == []


def test_split_counts_utf16_units_and_never_halves_an_emoji() -> None:
    text = "😀" * 2049  # 4098 units
    chunks = split_message(text)
    assert [utf16_len(c) for c in chunks] == [4096, 2]
    assert "".join(chunks) == text


def test_mentions_are_removed_by_utf16_offsets() -> None:
    text = "😀 @SheBaoFaqBot 社保卡怎么激活？"
    offset = utf16_len("😀 ")
    assert remove_spans(text, [Span(offset, utf16_len("@SheBaoFaqBot"))]) == "😀 社保卡怎么激活？"
    assert remove_spans("@SheBaoFaqBot, how do I activate?", [Span(0, 13)]) == "how do I activate?"
    assert remove_spans("@SheBaoFaqBot", [Span(0, 13)]) == ""
    assert text_after("/ask@SheBaoFaqBot 怎么激活", Span(0, 17)) == "怎么激活"


def test_choice_data_is_prompt_id_colon_index() -> None:
    assert choice_data("p-1", 2) == "p-1:2"
    assert parse_choice_data("p-1:2") == ("p-1", 2)
    assert parse_choice_data("a:b:10") == ("a:b", 10)
    for bad in (None, "", "nocolon", ":1", "p:", "p:-1", "p:x", "p:²"):
        assert parse_choice_data(bad) is None


def test_the_engines_prompt_ids_fit_in_callback_data() -> None:
    prompt_id = secrets.token_hex(4)  # as bot.dialogue makes them
    data = choice_data(prompt_id, 99)
    assert data == f"{prompt_id}:99" and len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_choice_data(data) == (prompt_id, 99)


def test_callback_data_over_64_bytes_is_an_error_not_a_silent_refusal() -> None:
    fits = "p" * (MAX_CALLBACK_BYTES - 2)
    assert choice_data(fits, 9) == fits + ":9"
    for too_long in ("p" * (MAX_CALLBACK_BYTES - 1), "选择" * 11):
        with pytest.raises(ValueError, match="exceeds 64 bytes"):
            choice_data(too_long, 9)


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh", "zh"), ("zh-hans", "zh"), ("zh-TW", "zh"), ("en", "en"), ("en-US", "en"), ("ru", "en"), (None, "en")],
)
def test_language_of_code(code: str | None, language: str) -> None:
    assert language_of_code(code) == language


@pytest.mark.parametrize(
    "token", [None, "", "abc", "123:short", "12a:AAEfakefakefakefakefakefakefakefake", "123:" + "a" * 29 + "!"]
)
def test_bad_tokens_are_refused_without_echoing_them(token: str | None) -> None:
    settings = Settings(_env_file=None, telegram_bot_token=token)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError) as caught:
        bot_token(settings)
    assert "\n" not in str(caught.value)
    if token:
        assert token not in str(caught.value)


def test_good_token() -> None:
    token = "123456:" + "A" * 35
    assert bot_token(Settings(_env_file=None, telegram_bot_token=SecretStr(token))) == token  # type: ignore[call-arg]


def test_file_base_url() -> None:
    assert file_base_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("https://api.telegram.org/bot{token}/test") == "https://api.telegram.org/file/bot{token}/test"
    assert file_base_url("https://bot.example.com/api/") == "https://bot.example.com/api/"


def test_redacting_filter_hides_secrets_in_messages_and_tracebacks() -> None:
    secret = "123456:" + "S" * 35
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "POST https://api/bot%s/getMe", (secret,), None)
    try:
        raise RuntimeError(f"url bot{secret}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter([secret]).filter(record)
    assert secret not in record.getMessage()
    assert record.exc_text is not None and secret not in record.exc_text


def test_user_refs_are_short_stable_and_keyed() -> None:
    key = log_key("123456:" + "A" * 35)
    ref = user_ref(987654321, key)
    assert ref == user_ref(987654321, key) and len(ref) == 12 and int(ref, 16) >= 0
    assert "987654321" not in ref
    assert ref != user_ref(987654321, log_key("123456:" + "B" * 35)) != user_ref(987654321)
    assert user_ref(987654322, key) != ref
    assert user_ref("oOpenId") == hashlib.sha256(b"oOpenId").hexdigest()[:12]  # unkeyed: as WeChat logs OpenIDs
