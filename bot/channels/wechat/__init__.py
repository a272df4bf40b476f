"""The WeChat Official Account channel, split by job:

* :mod:`.envelope` — verification, decryption, the message's fields;
* :mod:`.replies` — a turn as a passive reply (numbered choices, cut to size, encrypted);
* :mod:`.channel` — the routes: retries, deadline, flood limits, failures;
* :mod:`.crypto`, :mod:`.xmlcodec` — signatures, safe-mode AES, XML in and out.
"""

from bot.channels.wechat.channel import WeChatChannel, wechat_routes
from bot.channels.wechat.envelope import InboundMessage, WeChatConfigError

__all__ = ["InboundMessage", "WeChatChannel", "WeChatConfigError", "wechat_routes"]
