"""What every channel shares, defined once: a channel adds only its envelope (how messages
arrive and are verified) and its rendering (how replies look).

* :mod:`.bodies` — bounded request bodies;
* :mod:`.text` — clean incoming text, split long replies;
* :mod:`.choices` — choice numbering and button data;
* :mod:`.replays` — de-duplicated replies for platforms that re-send a message;
* :mod:`.ids` — hashed user and chat references for log lines;
* :mod:`.flood` — per-member flood limits;
* :mod:`.turns` — running a turn: CPU-heavy messages one at a time, failures as the
  ``unavailable`` notice, metrics;
* :mod:`.dispatch` — draining persisted per-chat queues in order, at least once;
* :mod:`.passive` — answering a push in its own HTTP response, once, within a deadline
  (WeChat, WeCom);
* :mod:`.webhooks`, :mod:`.crypto` — signed requests: refusals, the timestamp window, bounded numbers,
  bounded bodies, active replies; WeChat-family signatures and AES (any receive id).

The keyed-lock registry both the stores and the dispatcher use is :mod:`bot.locks`.
"""
