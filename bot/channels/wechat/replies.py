"""WeChat's rendering: a turn as one passive text reply, cut to the size limit, encrypted
in safe mode.

WeChat has no buttons: a reply's choices are numbered under the ``reply_with_number``
header and the user answers with the number. A passive text reply carries at most
:data:`MAX_CONTENT_BYTES` bytes of UTF-8; a longer answer is cut at a paragraph, line or
sentence end and ends with the ``more`` notice, and replying ``0`` sends the rest.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from bot.channels.common import text as common_text
from bot.channels.common.crypto import WeChatCipher, seal
from bot.channels.wechat.envelope import InboundMessage
from bot.channels.wechat.xmlcodec import encrypted_reply_xml, text_reply_xml

MAX_CONTENT_BYTES = 2047
"""Upper bound of a passive text reply's ``Content``, in UTF-8 bytes."""
SUCCESS = "success"
"""The body that tells WeChat no reply is due (and stops its retries)."""


def split_content(content: str, more_notice: str, limit: int = MAX_CONTENT_BYTES) -> tuple[str, str]:
    """:func:`bot.channels.common.text.split_content` at the passive reply's limit."""
    return common_text.split_content(content, more_notice, limit)


class Replies:
    """Passive reply bodies for one Official Account."""

    def __init__(self, token: str, cipher: WeChatCipher | None, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.cipher = cipher
        self.clock = clock

    def text(self, message: InboundMessage, content: str) -> str:
        """A passive text reply to ``message`` (addressed back to its sender)."""
        return text_reply_xml(
            to_user=message.from_user,
            from_user=message.to_user,
            create_time=int(self.clock()),
            content=content,  # made XML-safe by cdata()
        )

    def body(self, reply: str, encrypted: bool) -> tuple[str, str]:
        """The HTTP body and media type for a reply (``success`` stays as it is)."""
        if reply == SUCCESS:
            return SUCCESS, "text/plain"
        if not encrypted:
            return reply, "application/xml"
        assert self.cipher is not None
        timestamp = str(int(self.clock()))
        nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
        encrypt, signature = seal(self.token, self.cipher, reply, timestamp, nonce)
        return encrypted_reply_xml(encrypt=encrypt, signature=signature, timestamp=timestamp, nonce=nonce), (
            "application/xml"
        )
