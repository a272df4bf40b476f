"""Understanding messages: normalisation, matching, details, dates.

* :mod:`~bot.understanding.normalize` and :mod:`~bot.understanding.pinyin` — one canonical form;
* :mod:`~bot.understanding.features` — the units the classifiers weigh;
* :mod:`~bot.understanding.model` — a linear classifier, trained once, scored in pure Python;
* :mod:`~bot.understanding.compiled` — the compiled knowledge base and its cache;
* :mod:`~bot.understanding.matcher` — what a message means, and whether to answer it;
* :mod:`~bot.understanding.reading` — whole messages: several topics, details, follow-up answers;
* :mod:`~bot.understanding.slots` and :mod:`~bot.understanding.dates` — the details themselves.
"""
