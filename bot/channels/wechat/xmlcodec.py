"""WeChat message XML: safe parsing of what WeChat posts, rendering of passive replies.

WeChat's payloads are flat: ``<xml><Field>value</Field>…</xml>``. Parsing goes through
defusedxml with DTDs forbidden, so entity expansion ("billion laughs") and external
entities are refused rather than processed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = [
    "XmlError",
    "cdata",
    "encrypted_reply_xml",
    "parse_fields",
    "strip_illegal_xml_chars",
    "text_reply_xml",
]

# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/F).
_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class XmlError(ValueError):
    """A body that is not a well-formed, entity-free ``<xml>`` document."""


def parse_fields(body: bytes | str) -> dict[str, str]:
    """The child elements of the ``<xml>`` root as ``{tag: text}`` (text stripped of
    surrounding whitespace, ``""`` for empty elements). Raises :class:`XmlError`."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlError(f"refused XML construct: {type(exc).__name__}") from exc
    except (ET.ParseError, ValueError, TypeError) as exc:
        raise XmlError("malformed XML") from exc
    if root.tag != "xml":
        raise XmlError("root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str):
            fields[child.tag] = (child.text or "").strip()
    return fields


def strip_illegal_xml_chars(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot represent."""
    return _ILLEGAL_XML.sub("", text)


def cdata(text: str) -> str:
    """``text`` as CDATA; a ``]]>`` inside is split across two sections."""
    return "<![CDATA[" + strip_illegal_xml_chars(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: list[tuple[str, str | int]]) -> str:
    """A flat ``<xml>`` document: strings as CDATA, numbers as they are."""
    parts = (f"<{name}>{value if isinstance(value, int) else cdata(value)}</{name}>" for name, value in fields)
    return "<xml>" + "".join(parts) + "</xml>"


def text_reply_xml(*, to_user: str, from_user: str, create_time: int, content: str) -> str:
    """A passive text reply (``to_user`` is the sender's OpenID, ``from_user`` the account)."""
    return _xml(
        [
            ("ToUserName", to_user),
            ("FromUserName", from_user),
            ("CreateTime", int(create_time)),
            ("MsgType", "text"),
            ("Content", content),
        ]
    )


def encrypted_reply_xml(*, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode envelope around an encrypted reply."""
    return _xml([("Encrypt", encrypt), ("MsgSignature", signature), ("TimeStamp", int(timestamp)), ("Nonce", nonce)])
