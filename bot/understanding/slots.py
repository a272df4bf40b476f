"""Details that change an answer: read from a first message, or from an answer to a follow-up.

Three details matter: whether the person needs the card's financial (bank) functions,
who acts for whom (the card holder, or someone acting for them), and when the card was
received (:mod:`bot.understanding.dates`).

Who acts for whom depends on word order ("my wife will go for me" and "I'll go for my
wife" share their words), so it is read with a few patterns of who does what for whom,
over the people words of the lexicon's ``person`` concept. Whether the bank functions
are needed is read from the words that name them and a denial around them. Both are
used as they are in first messages; an answer to a follow-up question is read by
:class:`AnswerReader`, which weighs these readings together with a classifier trained on
the natural answers of ``intents/_slots.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.understanding.dates import Implausible, Received, parse_received

_FINANCIAL = re.compile(
    r"金融|银行卡?[^，,。.]{0,4}功能|银行(?:账户|账号|那块|那部分|的功能|那些)|存钱|取钱|存取|转账|借记|理财|工资|养老金|退休金|"
    r"取现|现金|补贴|"
    r"\bfinancial\b|\bbank(?:ing)?\s+(?:function|feature|account|service|part|side|stuff)s?\b|\bbanking\b|\bdebit\b|"
    r"\bdeposits?\b|\bwithdraw|\btransfers?\b|\bsalary\b|\bwages?\b|\bpaid\b|\bpension\b|\bsubsid|\ballowance\b|\bcash\b"
)
_DENIAL = re.compile(
    r"(?<!需)不需要|(?<!用)不用|(?<!要)不要|不想|没必要|用不到|用不上|用不着|(?<!开)不开通|(?<!开)不开|(?<![需不])不需|无需|"
    r"不太需要|(?<!有)没有|不存|"
    r"\b(?:don'?t|do not|doesn'?t|won'?t|no|not|never|without|no need|nothing|hardly|rarely|skip)\b|[不没别]$"
)
_DENIAL_AFTER = re.compile(
    r"^[^，,。.]{0,6}(?:用不上|用不到|用不着|不需要|不用|不要|没必要)|\b(?:not needed|i don'?t need|is not needed)\b"
)
_CLAUSE_MARKS = "，,。.;；!?！？"
_MEDICAL_ONLY = re.compile(
    r"只(?:是|想|需要|要|用|看病|买药|拿药)?[^，,。.]{0,8}(?:医保|看病|买药|拿药|医疗)|就[^，,。.]{0,3}(?:看病|买药|拿药|开药)|"
    r"\b(?:only|just|mostly|purely)\b[^,.;]{0,30}\b(?:medical|insurance|doctor|medicine|hospital|health|clinic|"
    r"pharmacy|drugstore|chemist)"
)
_FILLER = re.compile(r"^(?:嗯+|呃+|额+|那个|就是|这个|hmm+|umm*|uh+|well|oh|so)[\s，,.]*")
"""What people say before answering: not an answer."""
_ASKING = re.compile(r"需不需要|要不要|用不用|有没有|开不开|使不使")
"""Asking whether (需不需要, do I need): neither a yes nor a no."""
_ACKNOWLEDGEMENT = re.compile(r"^(?:好|好的|对|嗯|行|ok|okay|sure|right)(?:$|[\s，,.!！])")
"""A reply's first word that only acknowledges the question."""
_NO_END = re.compile(r"(?:不用|不需要|不要|用不着|用不上|没必要)(?:了|吧|啊|呢|哈)?$")
_TAIL = "[了的吧啊呀呢嘛哦哈啦嘞咯哟噢喔滴哇]*"
"""Particles after a yes or a no ("要吧", "不用了"): they soften it without changing it."""
_YES = re.compile(
    rf"^(?:需要|要|是|是的|对|嗯|好|用|得要|肯定要|当然要|要的|需要的){_TAIL}(?:$|[\s，,])|"
    r"^(?:yes|y|yeah|yep|yup|sure|i do(?!\s*n[o']t)|i need it|of course|ok|definitely|absolutely)\b"
)
_NO = re.compile(
    rf"^(?:不需要|不用|没必要|用不着|用不上|不必)|^(?:不要|不|否|没有){_TAIL}(?:$|[\s，,])|"
    r"^(?:no(?! idea| clue)|n|nope|nah|not really|i do not|"
    r"i don'?t(?! know| remember| recall| think so| really know| understand| get it| follow| see)|"
    r"don'?t(?! know| remember| recall| really know| understand)|no need|"
    r"not needed|not at all)\b"
)
"""A reply that starts by saying yes or no says it, whatever reason follows ("no, my salary
goes to another bank")."""


def starts_with_no(text: str) -> bool:
    """Whether the reply opens with a no ("不用，…", "no, …"), which no later doubt undoes."""
    return bool(_NO.match(_FILLER.sub("", text) or text))


def opens_with_answer(text: str) -> bool:
    """Whether the reply opens with a yes or a no: what follows ("不用，为啥要问这个") is an
    aside to it, not instead of it. "好的" or "ok" only acknowledges ("好的，金融账户是什么？")."""
    stripped = _FILLER.sub("", text) or text
    if _ACKNOWLEDGEMENT.match(stripped):
        return False
    return bool(_YES.match(stripped) or _NO.match(stripped))


def financial_account(text: str) -> bool | None:
    """Does the person need the card's financial (bank) functions? ``None`` when not said."""
    text = _FILLER.sub("", text) or text
    if _YES.match(text):
        return True
    if _NO.match(text) or _NO_END.search(text):
        return False
    if _ASKING.search(text):  # "需不需要银行功能": a question, not an answer either way
        return None
    cue = _FINANCIAL.search(text)
    if cue:
        clause_start = max(text.rfind(mark, 0, cue.start()) for mark in _CLAUSE_MARKS)
        ends = (text.find(mark, cue.end()) for mark in _CLAUSE_MARKS)
        clause_end = min((i for i in ends if i >= 0), default=len(text))
        before, after = text[clause_start + 1 : cue.start()], text[cue.end() : clause_end]
        return not (_DENIAL.search(before) or _DENIAL_AFTER.search(after))
    if _MEDICAL_ONLY.search(text):
        return False
    return None


@dataclass(frozen=True)
class RolePatterns:
    """Who acts for whom, over the people words of the lexicon."""

    agent: re.Pattern[str]
    insured: re.Pattern[str]
    insured_answer: re.Pattern[str]
    """Weaker cues, enough in an answer to "who acts for whom?" but not in a question:
    "找人代激活" asks whether someone may, not who will."""

    @classmethod
    def build(cls, people_zh: Sequence[str], people_en: Sequence[str]) -> RolePatterns:
        zh = "(?:" + "|".join(sorted(map(re.escape, people_zh), key=len, reverse=True)) + ")"
        en = "(?:" + "|".join(sorted(map(re.escape, people_en), key=len, reverse=True)) + ")"
        agent = (
            rf"(?:帮|替|代|为)(?:我|俺)?(?:家里?|家中)?(?:的)?{zh}|给(?:我|俺)?(?:家里?|家中)?(?:的)?{zh}(?![去来])|{zh}的(?:社保卡|医保卡|卡)|卡是(?:我|俺)?(?:的)?{zh}的|"
            rf"是(?:我|俺)?{zh}的|我(?:去|来|要)?(?:帮|替|给|代)(?:他|她|人|别人|他人|家里人)|(?:帮|替|代)(?:他|她)(?:们)?|"
            rf"{zh}[^，,。.]{{0,3}}(?:让|叫|请|托|要)我(?:去|帮|替|来|给)|"
            r"(?:替|帮|代)别人|(?:替|帮|代)他人|员工|职工|"
            r"(?:帮|替|给|代|为)(?:屋企|家里|家中)[^，,。.]{0,4}(?:老人|人)|(?<!其)(?:他|她)(?:们)?的(?:社保卡|医保卡|卡)|被代办人|"
            r"给(?:他|她)(?:们)?(?:激活|办|弄|开通)|(?:我是|作为)(?:人事|hr)|"
            rf"\bmy {en}'s\b(?!\s+(?:going|gonna|coming|doing|taking|will|is|able|here|there|at))|"
            rf"\b(?:his|her|their)\s+(?:card|one|social)\b|\bfor (?:my |our )?(?:{en}|him|her|them)\b|"
            rf"\bon (?:his|her|their) behalf\b|\bit'?s (?:my |our )?{en}'?s\b|\bbelongs? to (?:my )?{en}\b|"
            rf"\b(?:my\s+)?{en}\s+(?:asked|wants|told|needs)\s+me\b|\bmy {en}'?s? (?:social |ss |medical )?card\b|"
            r"\bsomeone else'?s\b|\banother person'?s\b|\bother (?:person|people)'?s? card\b|\bemployees?\b|\bstaff\b|\bnew hires?\b|"
            rf"\bon behalf of (?:my |our )?(?:{en}|him|her|them|someone|others)\b|\b(?:as|i'?m|we'?re) (?:the )?hr\b|"
            rf"\bi(?:'m| am|'ll| will)?\s+(?:be\s+)?(?:helping|help|activating|going for|doing it for)\s+(?:my\s+)?{en}\b"
        )
        insured = (
            r"卡是我(?:自己)?的|我自己的|是我的卡|我的卡|本人(?:去不了|不去|不能去|来不了|去不成|无法|不能亲自|没法)|"
            r"(?:找|揾|叫|请|让)(?:个)?人(?:代|帮|替)我|"
            rf"{zh}(?:[^，,。.]{{0,4}})(?:帮|替|代|给)我|(?:让|请|叫|找|委托|托)(?:我的?|俺)?(?:{zh})|"
            r"我(?:去不了|去不成|走不开|不方便|出不了门|腿脚不便|行动不便|没空|没时间|在外地|在国外|来不了|回不去|出差)|(?:别人|有人)替我|"
            r"\bfor me\b|\bon my behalf\b|\bin my place\b|\binstead of me\b|\bmy own\b|\bmine\b|"
            r"\bmy (?:own )?(?:new )?(?:social security |social |medical insurance |ss )?card\b|"
            r"\bi(?:'m| am) the (?:card ?)?holder\b|\bi can'?t (?:go|make it|walk|get there)\b|\bi'?m (?:abroad|overseas|away)\b|"
            rf"\b(?:my\s+)?{en}(?:\s+(?:will|'ll|is going to|is gonna|'s going|'s gonna|can(?!'?t)|could|would|goes|go|is going))\b|"
            r"(?<!\bcan )(?<!\bcould )(?<!\bmay )(?<!\bshould )"  # "can someone else go…?" asks whether one may
            r"\b(?:someone|somebody|other people|others|a friend)\s+(?:else\s+)?(?:will|'ll|can|could|goes|go|is going)\b|"
            rf"\b(?:send|sending|ask|asking|get|getting|have|having)\s+(?:my\s+)?{en}\b"
        )
        insured_answer = (
            rf"(?:让|请|叫|找|委托|托)(?:{zh}|别人|人|他人)|(?:别人|其他人|{zh})(?:去|来|跑|办|弄)|^我$|^我的$|^本人$|"
            rf"\b(?:someone|somebody|other people|others|my {en}) (?:else )?(?:goes|go|does|do)\b|^me$|^mine$|^myself$"
        )
        return cls(re.compile(agent), re.compile(insured), re.compile(insured_answer))

    def role(self, text: str, *, answering: bool = False) -> str | None:
        """``agent`` when the writer acts for someone else, ``insured`` when someone acts for
        them, ``None`` when the text does not say (or says both). ``answering``: ``text``
        answers the question of who acts for whom, so weaker cues count."""
        agent = self.agent.search(text)
        insured = self.insured.search(text) or (answering and self.insured_answer.search(text))
        if agent and not insured:
            return "agent"
        if insured and not agent:
            return "insured"
        return None


def received(text: str, today: date) -> Received | Implausible | None:
    """When the card was received, as precisely as ``text`` says."""
    return parse_received(text, today)
