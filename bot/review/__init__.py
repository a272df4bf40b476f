"""Learning from real users, safely: a privacy-safe log of what the bot did not understand,
a weekly review of it, and a guarded way to turn it into examples.

* :mod:`~bot.review.entry` — what one log entry holds (never an id; numbers masked);
* :mod:`~bot.review.log` — where entries live: the state store's backend, expiring;
* :mod:`~bot.review.report` — ``faqbot review``: misunderstood questions grouped;
* :mod:`~bot.review.apply` — ``--export`` / ``--apply``: from the review to ``intents/``, guarded.
"""
