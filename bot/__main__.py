"""Allow ``python -m bot`` as a synonym of the ``faqbot`` console script."""

from bot.cli import main

raise SystemExit(main())
