"""Filling slots: the details that change an answer, read from what the person wrote.

Each slot type has one extractor, used both on the first message ("I don't need the bank
functions, where…" fills ``financial_account`` at once) and on the answer to a follow-up
question. An extractor returns ``None`` when the text does not say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot.dates import parse_date
from bot.normalize import fold

# Words that name the card's bank side, and words that deny needing it.
_FINANCIAL = re.compile(
    r"金融|银行卡?[^，,。.]{0,4}功能|银行账户|存钱|取钱|存取|转账|借记|理财|"
    r"\bfinancial\b|\bbank(?:ing)?\s+(?:function|feature|account|service|part|side)s?\b|\bbanking\b|\bdebit\b|"
    r"\bdeposit|\bwithdraw|\btransfer money\b"
)
_DENIAL = re.compile(
    r"不需要|不用|不要|不想|没必要|用不到|用不上|不开通|不需|无需|不太需要|"
    r"\b(?:don'?t|do not|doesn'?t|won'?t|no|not|never|without|no need)\b|don'?t care"
)
_DENIAL_AFTER = re.compile(
    r"^[^，,。.]{0,6}(?:用不上|用不到|不需要|不用|不要|没必要)|\b(?:not needed|i don'?t need|is not needed)\b"
)
"""Denial after the cue: 银行功能用不上, bank functions not needed."""
_CLAUSE_MARKS = "，,。.;；!?！？"
_MEDICAL_ONLY = re.compile(
    r"只(?:是|想|需要|要|用|看病|买药)?[^，,。.]{0,8}(?:医保|看病|买药|医疗)|"
    r"\bonly\b[^,.;]{0,30}\b(?:medical|insurance|doctor|medicine|hospital|health)|"
    r"\bjust\b[^,.;]{0,30}\b(?:medical|insurance|doctor|medicine|health)"
)
_YES = re.compile(r"^(?:需要|要|是|是的|对|嗯|好|用|yes|y|yeah|yep|sure|i do|i need it|of course|ok)$")
_NO = re.compile(r"^(?:不需要|不要|不用|不|否|没有|no|n|nope|not really|i don'?t|don'?t|no need)$")

_PERSON_ZH = r"(?:家人|家属|亲戚|亲人|朋友|同事|别人|他人|其他人|爸爸|妈妈|爸|妈|父母|父亲|母亲|爷爷|奶奶|外公|外婆|姥姥|姥爷|老人|子女|孩子|儿子|女儿|老公|老婆|丈夫|妻子|爱人|哥哥|姐姐|弟弟|妹妹|公公|婆婆|岳父|岳母|长辈)"
_PERSON_EN = (
    r"(?:mother|mom|mum|father|dad|parents?|grand(?:father|mother|pa|ma|parents?)|son|daughter|child(?:ren)?|kids?|"
    r"husband|wife|spouse|partner|brother|sister|relatives?|friend|family(?: member)?|uncle|aunt|in-laws?|"
    r"mother-in-law|father-in-law|elderly (?:parent|relative|mother|father))"
)
_AGENT = re.compile(
    rf"(?:替|帮|给|代|为)(?:我的?)?{_PERSON_ZH}|{_PERSON_ZH}的(?:社保卡|医保卡|卡)|(?:替|帮|代|给)(?:他|她)(?:们)?|(?:他|她)的(?:社保卡|医保卡|卡)|"
    rf"\bmy {_PERSON_EN}'?s\b|\b(?:for|on behalf of) (?:my )?(?:elderly )?{_PERSON_EN}\b|"
    r"\b(?:his|her|their|someone else'?s|somebody else'?s|another person'?s) (?:social security |medical )?card\b|"
    r"\bfor (?:him|her|them)\b|我替别人|我帮别人|替别人|帮别人|替他人|帮他人|替老人|帮老人"
)
_INSURED = re.compile(
    rf"(?:替|帮|代)我|{_PERSON_ZH}[^，,。.]{{0,6}}(?:帮|替|代)?[^，,。.]{{0,4}}我的?(?:社保卡|医保卡|卡)|(?:让|请|叫|找|委托)(?:{_PERSON_ZH}|人)|本人不去|本人去不了|我去不了|我不能去|我没空|别人替我|"
    rf"\bauthori[sz]e (?:a|an|my|some)|\bfor me\b|\bon my behalf\b|\binstead of me\b|\bin person\b|\bmyself\b|\bmy card\b.*\b(?:someone|somebody|{_PERSON_EN})\b|"
    rf"\b(?:someone|somebody|my {_PERSON_EN}|a {_PERSON_EN})\b[^.?!]*\bmy (?:social security |medical |new )?card\b"
)
_ROLE_ANSWERS = {
    "insured": re.compile(r"^(?:我|我的|我自己|自己|本人|me|mine|my card|myself|for me|i am the holder|insured)$"),
    "agent": re.compile(
        r"^(?:别人|他人|家人|替别人|帮别人|someone else|someone else'?s|for someone else|agent|other|others|them|him|her)$"
    ),
}


def financial_account(text: str) -> bool | None:
    """Does the person need the card's financial (bank) functions?"""
    if _YES.match(text):
        return True
    if _NO.match(text):
        return False
    cue = _FINANCIAL.search(text)
    if cue:
        clause_start = max(text.rfind(mark, 0, cue.start()) for mark in _CLAUSE_MARKS)
        clause_end = min(
            (i for i in (text.find(mark, cue.end()) for mark in _CLAUSE_MARKS) if i >= 0), default=len(text)
        )
        before, after = text[clause_start + 1 : cue.start()], text[cue.end() : clause_end]
        return not (_DENIAL.search(before) or _DENIAL_AFTER.search(after))
    if _MEDICAL_ONLY.search(text):
        return False
    return None


def role(text: str) -> str | None:
    """``agent`` when the writer acts for someone else, ``insured`` when someone acts for them."""
    for value, pattern in _ROLE_ANSWERS.items():
        if pattern.match(text):
            return value
    if _AGENT.search(text):
        return "agent"
    if _INSURED.search(text):
        return "insured"
    return None


def received_date(text: str, today: date) -> str | None:
    """ISO date the card was received; never later than ``today``."""
    found = parse_date(text, today)
    return found.isoformat() if found and found <= today else None


SlotValue = bool | str | None
EXTRACTORS: dict[str, Callable[[str, date], SlotValue]] = {
    "financial": lambda text, today: financial_account(text),
    "role": lambda text, today: role(text),
    "date": received_date,
}


def extract(slot_type: str, text: str, today: date) -> SlotValue:
    """Read a slot of ``slot_type`` from raw ``text`` (folded here: full-width, Traditional, case, ’ → ')."""
    folded = fold(text).replace("\u2019", "'").strip().strip("。.!！?？~～ ")
    return EXTRACTORS[slot_type](folded, today)
