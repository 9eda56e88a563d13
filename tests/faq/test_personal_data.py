"""The personal-data detector (infra.personal_data) on real-looking text, positives and negatives."""

import pytest

from faq.selectors import find_personal_data, highlight
from infra import personal_data
from infra.personal_data import check_publishable, mask

M, ID, CARD, PLATE, MAIL, ADDR, NAME = (
    personal_data.MOBILE,
    personal_data.ID_NUMBER,
    personal_data.BANK_CARD,
    personal_data.PLATE,
    personal_data.EMAIL,
    personal_data.ADDRESS,
    personal_data.NAME,
)

# (text, [(kind, flagged text)]) for the blocked kinds; names are checked separately.
TABLE = [
    # Mobile numbers in every common writing.
    ("手机13912345678请回电", [(M, "13912345678")]),
    ("电话139-1234-5678", [(M, "139-1234-5678")]),
    ("电话 139 1234 5678 谢谢", [(M, "139 1234 5678")]),
    ("+86 139 1234 5678", [(M, "+86 139 1234 5678")]),
    ("+8613912345678", [(M, "+8613912345678")]),
    ("0086-139-1234-5678", [(M, "0086-139-1234-5678")]),
    ("（+86）13912345678", [(M, "（+86）13912345678")]),
    ("手机号１３９１２３４５６７８", [(M, "１３９１２３４５６７８")]),
    ("联系方式：199.1234.5678", [(M, "199.1234.5678")]),
    # ID numbers: 18 digits (X check digit), spaced, 15 digits.
    ("身份证330106199001011234", [(ID, "330106199001011234")]),
    ("身份证号33010219900101123X。", [(ID, "33010219900101123X")]),
    ("身份证号33010219900101123x", [(ID, "33010219900101123x")]),
    ("证件 330106 19900101 1234", [(ID, "330106 19900101 1234")]),
    ("老身份证330106900101123", [(ID, "330106900101123")]),
    ("身份证３３０１０６１９９００１０１１２３４", [(ID, "３３０１０６１９９００１０１１２３４")]),
    # Bank cards that pass the Luhn check, plain or grouped.
    ("卡号6222021234567890128", [(CARD, "6222021234567890128")]),
    ("卡号 6222 0212 3456 7890 128", [(CARD, "6222 0212 3456 7890 128")]),
    ("信用卡4111-1111-1111-1111", [(CARD, "4111-1111-1111-1111")]),
    # Plate numbers, ordinary and new-energy.
    ("我的车浙A12345被扣分", [(PLATE, "浙A12345")]),
    ("车牌浙AD12345", [(PLATE, "浙AD12345")]),
    ("车牌 粤B·A1234", [(PLATE, "粤B·A1234")]),
    ("车牌沪A12345D", [(PLATE, "沪A12345D")]),
    # E-mail.
    ("邮箱wang.xm@example.com", [(MAIL, "wang.xm@example.com")]),
    ("发到 zhang_san+gov@163.com 吧", [(MAIL, "zhang_san+gov@163.com")]),
    # Street addresses.
    ("我住在文三路123号", [(ADDR, "我住在文三路123号")]),
    ("地址：解放街88号3幢2单元501室", [(ADDR, "解放街88号3幢2单元501室")]),
    ("长乐路200弄15号302室", [(ADDR, "长乐路200弄15号302室")]),
    ("家住幸福小区5幢2单元", [(ADDR, "5幢2单元")]),
    ("延安中路十二号", [(ADDR, "延安中路十二号")]),
    # Numbers and places that are not personal data.
    ("请拨打12345政务服务便民热线", []),
    ("2026年3月1日起施行", []),
    ("工本费10元，加急费200元，共计1380元", []),
    ("办理编号2024000012345可在网上查询", []),
    ("流水号138123456789012", []),
    ("在交管12123 APP申请", []),
    ("浙江省杭州市", []),
    ("到文三路的政务服务中心办理", []),
    ("每年1月1日至12月31日", []),
    ("订单号6222021234567890127（不是卡号）", []),
    ("咨询电话0571-12345", []),
    ("第3条第2款", []),
    ("人均收入低于当地低保标准", []),
    ("京A区办理", []),
]


@pytest.mark.parametrize("text, expected", TABLE, ids=[row[0] for row in TABLE])
def test_detector_table(text, expected):
    found = [(flag.kind, flag.text) for flag in personal_data.find(text, names=False)]
    assert found == expected


@pytest.mark.parametrize("text", [row[0] for row in TABLE if row[1]])
def test_blocked_kinds_cannot_be_confirmed_away(text):
    with pytest.raises(personal_data.PersonalDataError) as raised:
        check_publishable(text, names_confirmed=True)
    assert "不能公开的个人信息" in raised.value.message


def test_names_are_a_confirmable_flag():
    with pytest.raises(personal_data.PersonalDataError) as raised:
        check_publishable("我叫王小明，想问低保怎么申请")
    assert "王小明" in raised.value.message
    assert [flag.text for flag in check_publishable("我叫王小明，想问低保怎么申请", names_confirmed=True)] == ["王小明"]
    assert check_publishable("最低生活保障如何申请？向户籍所在地乡镇（街道）申请。") == []


def test_mask_replaces_every_piece_and_keeps_the_rest():
    text = "我叫李四海，手机137 0000 1111，身份证330106199001011234，住文三路123号"
    masked = mask(text)
    for secret in ("李四海", "137 0000 1111", "330106199001011234", "文三路123号"):
        assert secret not in masked
    assert "〔手机号〕" in masked and "〔身份证号〕" in masked and "〔姓名〕" in masked


def test_phone_and_id_numbers_are_flagged_but_not_other_numbers():
    text = "电话13812345678，身份证33010219900101123X，办理编号2024000012345，12123可以查"
    assert [(f.kind, f.text) for f in find_personal_data(text)] == [(M, "13812345678"), (ID, "33010219900101123X")]
    assert find_personal_data("流水号138123456789012") == []


def test_names_known_or_tagged_are_flagged():
    assert (NAME, "王秀英") in [(f.kind, f.text) for f in find_personal_data("我是王秀英，想问低保")]
    assert (NAME, "小明明") in [(f.kind, f.text) for f in find_personal_data("孩子叫小明明", known_names=("小明明",))]


def test_highlight_splits_text_around_flags():
    text = "手机139-1234-5678请回电"
    pieces = highlight(text, find_personal_data(text))
    assert "".join(piece for piece, _ in pieces) == text
    assert [piece for piece, flag in pieces if flag] == ["139-1234-5678"]


def test_forms_of_address_are_flagged():
    flags = find_personal_data("李先生您好，材料已收到")
    assert flags and flags[0].kind == NAME and flags[0].start == 0 and flags[0].text.startswith("李")
