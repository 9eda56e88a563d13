from faq.selectors import find_personal_data, highlight


def kinds(text, **kwargs):
    return [(flag.kind, flag.text) for flag in find_personal_data(text, **kwargs)]


def test_phone_and_id_numbers_are_flagged_but_not_other_numbers():
    text = "电话13812345678，身份证33010219900101123X，办理编号2024000012345，12123可以查"
    assert kinds(text) == [("手机号", "13812345678"), ("身份证号", "33010219900101123X")]
    assert kinds("流水号138123456789012") == []


def test_names_known_or_tagged_are_flagged():
    assert ("姓名", "王秀英") in kinds("我是王秀英，想问低保")
    assert ("姓名", "小明明") in kinds("孩子叫小明明", known_names=("小明明",))


def test_highlight_splits_text_around_flags():
    text = "手机13812345678请回电"
    pieces = highlight(text, find_personal_data(text))
    assert "".join(piece for piece, _ in pieces) == text
    assert [piece for piece, flag in pieces if flag] == ["13812345678"]


def test_forms_of_address_are_flagged():
    flags = find_personal_data("李先生您好，材料已收到")
    assert flags and flags[0].kind == "姓名" and flags[0].start == 0 and flags[0].text.startswith("李")
