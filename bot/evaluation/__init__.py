"""Measuring understanding: labelled questions, answers to follow-up questions, conversations.

* :mod:`bot.evaluation.questions` — ``faqbot eval`` on questions (``text``, ``intents``, ``lang``);
* :mod:`bot.evaluation.answers` — ``faqbot eval`` on answers to the bot's follow-up questions
  (``ask``, ``answer``, ``today``, ``expect``);
* :mod:`bot.evaluation.conversations` — ``faqbot test``: multi-turn checks in YAML.
"""
