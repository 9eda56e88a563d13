"""The personal-data detector (个人信息识别): one place that finds, refuses and masks personal data.

Kinds that identify a person by themselves (mobile, ID, bank card and plate numbers, e-mail and
street addresses) are *blocked*: text holding them is never published, whatever anyone ticks.
Names are only *flagged*: a surname pattern cannot tell 王小明 from 王府井, so a person confirms.

Every publishing path (the officer's page, the admin action, the admin form, imports) calls
check_publishable; de-identification (retention, account deletion) and exports call mask.
"""

import re
from dataclasses import dataclass

from .errors import DomainError

MOBILE = "手机号"
ID_NUMBER = "身份证号"
BANK_CARD = "银行卡号"
PLATE = "车牌号"
EMAIL = "电子邮箱"
ADDRESS = "住址"
NAME = "姓名"
BLOCKED_KINDS = (MOBILE, ID_NUMBER, BANK_CARD, PLATE, EMAIL, ADDRESS)

# Full-width digits, letters and signs as citizens type them on a phone keyboard, mapped one
# character to one character so that the offsets of a match are offsets in the original text.
_HALF_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "＋": "+",
        "－": "-",
        "（": "(",
        "）": ")",
        "—": "-",
        "＠": "@",
        "．": ".",
        "　": " ",
        "＿": "_",
    }
)

_SEP = r"[ \-.]?"
_MOBILE = re.compile(
    rf"(?<![\dA-Za-z+])(?:(?:\+|00)?86{_SEP}|\(\+?86\){_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)"
)
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_NUMBER = re.compile(
    rf"(?<![\dA-Za-z])(?:[1-9]\d{{5}} ?(?:18|19|20)\d{{2}}{_DATE} ?\d{{3}}[\dXx]|[1-9]\d{{7}}{_DATE}\d{{3}})(?![\dA-Za-z])"
)
# 16 to 19 digits, maybe in groups of four; a card number passes the Luhn check (see _luhn).
_CARD = re.compile(r"(?<![\dA-Za-z])[3-6]\d{3}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?(?![\dA-Za-z])")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# 浙A12345, 浙A·1234学, and new-energy plates 浙AD12345 / 浙A12345D; at least one digit.
_PLATE = re.compile(
    rf"[{_PROVINCES}][A-HJ-NP-Za-hj-np-z][·•\- ]?(?=[A-HJ-NP-Za-hj-np-z]*\d)[A-HJ-NP-Za-hj-np-z0-9]{{4,6}}[挂学警领]?(?![A-Za-z0-9])"
)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUM = r"[0-9一二三四五六七八九十百零〇]+"
_ADDRESS = re.compile(
    rf"[\u4e00-\u9fa5A-Za-z0-9]{{0,12}}?(?:路|街|大街|大道|巷|弄|胡同|里){_NUM}(?:号|弄)"
    rf"(?:{_NUM}(?:号楼|号|幢|栋|单元|楼|层|室|户))*"
    rf"|{_NUM}(?:幢|栋|号楼){_NUM}单元(?:{_NUM}(?:室|楼|层|户))?"
    rf"|{_NUM}弄{_NUM}号(?:{_NUM}室)?"
    rf"|{_NUM}(?:幢|栋|号楼|单元){_NUM}室"
)

# The most common surnames: a name usually follows a self-introduction or precedes a form of address.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_NAME_PATTERNS = (
    re.compile(rf"(?:我叫|我是|本人|姓名[:：是为]?|名字[叫是]|联系人[:：]?)\s*([{SURNAMES}][\u4e00-\u9fa5]{{1,2}})"),
    re.compile(rf"([{SURNAMES}][\u4e00-\u9fa5]{{0,2}}?)(?:先生|女士|师傅|同志|老师)"),
)

# Words of government answers that jieba tags as names (measured on faq/fixtures/faq_demo.jsonl).
_NOT_NAMES = frozenset(
    {"许可", "许可证", "顾客", "张贴", "严肃处理", "高中毕业", "高中", "方便", "金额", "江南", "黄金"}
)


@dataclass(frozen=True)
class Flag:
    kind: str  # one of BLOCKED_KINDS or NAME
    start: int
    end: int
    text: str

    @property
    def blocked(self) -> bool:
        return self.kind in BLOCKED_KINDS


class PersonalDataError(DomainError):
    """Text that may not be published as it stands; flags says which pieces."""

    def __init__(self, message: str, flags: list[Flag]):
        super().__init__(message, "personal_data")
        self.flags = flags


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _names(text: str, known_names: tuple[str, ...], heuristics: bool) -> list[Flag]:
    flags = []
    for name in {n.strip() for n in known_names if n and len(n.strip()) >= 2}:
        for match in re.finditer(re.escape(name), text):
            flags.append(Flag(NAME, match.start(), match.end(), match.group()))
    if not heuristics:
        return flags
    import jieba.posseg  # loads its dictionary on first use; only the name heuristics need it

    for pattern in _NAME_PATTERNS:
        for match in pattern.finditer(text):
            flags.append(Flag(NAME, match.start(1), match.end(1), match.group(1)))
    position = 0
    for word, tag in jieba.posseg.cut(text):
        # jieba tags many common words nr (养老金, 申请人); a real name starts with a surname.
        if tag == "nr" and 2 <= len(word) <= 4 and word[0] in SURNAMES and word not in _NOT_NAMES:
            flags.append(Flag(NAME, position, position + len(word), word))
        position += len(word)
    return flags


def find(text: str, *, known_names: tuple[str, ...] = (), names: bool = True) -> list[Flag]:
    """Return the spans of text that look like personal data, in order, without overlaps.

    Blocked kinds win over a name on the same span. known_names (the citizen's and officer's
    names) are always flagged; names=False skips the name heuristics (patterns and jieba).
    """
    plain = (text or "").translate(_HALF_WIDTH)
    flags: list[Flag] = []
    for kind, pattern in (
        (ID_NUMBER, _ID_NUMBER),
        (MOBILE, _MOBILE),
        (EMAIL, _EMAIL),
        (PLATE, _PLATE),
        (ADDRESS, _ADDRESS),
    ):
        for match in pattern.finditer(plain):
            flags.append(Flag(kind, match.start(), match.end(), text[match.start() : match.end()]))
    for match in _CARD.finditer(plain):
        if _luhn(re.sub(r"\D", "", match.group())):
            flags.append(Flag(BANK_CARD, match.start(), match.end(), text[match.start() : match.end()]))
    flags.sort(key=lambda f: (f.start, -f.end))
    merged: list[Flag] = []
    for flag in flags:
        if not merged or flag.start >= merged[-1].end:
            merged.append(flag)
    for flag in sorted(_names(text or "", known_names, names), key=lambda f: (f.start, -f.end)):
        if all(flag.end <= other.start or flag.start >= other.end for other in merged):
            merged.append(flag)
    merged.sort(key=lambda f: (f.start, -f.end))
    return merged


def check_publishable(text: str, *, known_names: tuple[str, ...] = (), names_confirmed: bool = False) -> list[Flag]:
    """Refuse text holding blocked personal data, or names nobody confirmed; return the name flags.

    Raise PersonalDataError naming every blocked piece (these cannot be confirmed away), or the
    suspected names when names_confirmed is false.
    """
    flags = find(text, known_names=known_names)
    blocked = [flag for flag in flags if flag.blocked]
    if blocked:
        pieces = "、".join(f"{flag.kind}“{flag.text}”" for flag in blocked[:6])
        more = f"等 {len(blocked)} 处" if len(blocked) > 6 else ""
        raise PersonalDataError(f"含有不能公开的个人信息：{pieces}{more}。请删去后再发布。", blocked)
    names = [flag for flag in flags if flag.kind == NAME]
    if names and not names_confirmed:
        pieces = "、".join(f"“{flag.text}”" for flag in names[:6])
        raise PersonalDataError(f"含有疑似姓名：{pieces}。请删改，或核对确认不是个人信息后再发布。", names)
    return names


def mask(text: str, *, known_names: tuple[str, ...] = (), names: bool = True) -> str:
    """Return text with every piece of personal data replaced by its kind, e.g. 〔手机号〕."""
    flags = find(text, known_names=known_names, names=names)
    pieces, position = [], 0
    for flag in flags:
        pieces.append(text[position : flag.start])
        pieces.append(f"〔{flag.kind}〕")
        position = flag.end
    pieces.append((text or "")[position:])
    return "".join(pieces)


def highlight(text: str, flags: list[Flag]) -> list[tuple[str, Flag | None]]:
    """Split text into (piece, flag or None) for a template to mark the flagged pieces."""
    pieces, position = [], 0
    for flag in flags:
        if flag.start > position:
            pieces.append((text[position : flag.start], None))
        pieces.append((text[flag.start : flag.end], flag))
        position = flag.end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces
