"""Fixtures of the FAQ tests: the departments and windows of the corpus, a small corpus, conversations."""

import json

import pytest
from django.core.cache import cache

from chat import actions as chat_actions
from departments.models import Department, Window
from faq import actions
from faq.importing import read_records
from tests import factories

PLACES = {
    "省公安厅": ["交通车管", "出境入境", "治安户籍"],
    "省民政厅": ["婚姻登记", "社会救助"],
    "省劳动和社会保障厅": ["养老保险"],
}

SMALL_CORPUS = [
    (
        "gat-001",
        "省公安厅",
        "交通车管",
        "机动车驾驶证是否需要年检？",
        "您好！根据现行规定，机动车驾驶证本身无需年检。但持有大型客车、大型货车驾驶证的驾驶人，应当每年提交身体条件证明。",
    ),
    (
        "gat-002",
        "省公安厅",
        "交通车管",
        "驾驶证有效期满如何换证？",
        "您好！驾驶证有效期满前90日内，可向任一车管所或通过“交管12123”APP申请换证，需提交身份证明和身体条件证明。",
    ),
    (
        "gat-003",
        "省公安厅",
        "交通车管",
        "驾驶证遗失后怎样补领？",
        "您好！驾驶证遗失的，可持本人身份证明到任一车管所申请补领，也可在“交管12123”APP在线申请，新证可邮寄到家。",
    ),
    (
        "gat-010",
        "省公安厅",
        "出境入境",
        "首次申请普通护照需要哪些材料？",
        "您好！申请人可到全国任一出入境接待大厅申请，需提交居民身份证，现场采集照片和指纹，一般7个工作日内签发。",
    ),
    (
        "gat-020",
        "省公安厅",
        "治安户籍",
        "户口迁入需要办理哪些手续？",
        "您好！因购房、投靠、就业等迁入户口的，请持户口簿、居民身份证和相关证明材料到迁入地派出所办理。",
    ),
    (
        "mzt-001",
        "省民政厅",
        "婚姻登记",
        "办理结婚登记需要带什么材料？",
        "您好！双方需共同到婚姻登记机关，携带本人户口簿、居民身份证和3张2寸双人近期半身免冠合影照片。",
    ),
    (
        "mzt-010",
        "省民政厅",
        "社会救助",
        "最低生活保障如何申请？",
        "您好！共同生活的家庭成员人均收入低于当地低保标准且财产符合规定的，可向户籍所在地乡镇（街道）申请低保。",
    ),
    (
        "ldt-001",
        "省劳动和社会保障厅",
        "养老保险",
        "养老保险中断缴费后怎么办？",
        "您好！养老保险中断缴费的，缴费年限累计计算，重新就业后可继续缴费；灵活就业人员可按规定以个人身份续保。",
    ),
]


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def places(db):
    """The departments and windows the small corpus names, as seed_demo creates them."""
    created = {}
    for department_name, window_names in PLACES.items():
        department = Department.objects.create(name=department_name)
        for name in window_names:
            created[(department_name, name)] = Window.objects.create(
                department=department, name=name, duty_statement=f"{name}业务咨询。"
            )
    return created


def corpus_lines(rows=SMALL_CORPUS) -> list[str]:
    return [
        json.dumps({"key": k, "department": d, "window": w, "question": q, "answer": a}, ensure_ascii=False)
        for k, d, w, q, a in rows
    ]


@pytest.fixture
def corpus_file(tmp_path, places):
    path = tmp_path / "faq.jsonl"
    path.write_text("\n".join(corpus_lines()) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(places):
    """The small corpus imported and published, as `faq_import` does."""
    actions.import_entries(records=read_records(corpus_lines()))
    return places


@pytest.fixture
def traffic_window(places):
    return places[("省公安厅", "交通车管")]


@pytest.fixture
def traffic_officer(traffic_window):
    return factories.officer(traffic_window)


@pytest.fixture
def closed_conversation(traffic_window, traffic_officer):
    """A closed, answered conversation at 交通车管 whose question carries personal data."""
    citizen = factories.citizen()
    conversation = chat_actions.open_conversation(citizen=citizen, window=traffic_window)
    chat_actions.send_message(
        conversation=conversation,
        sender=citizen,
        body="我叫张伟，手机13812345678，身份证号330102199001011234，我的摩托车驾驶证到期了怎么换？",
        client_id="q",
    )
    chat_actions.take_conversation(officer=traffic_officer, conversation=conversation)
    chat_actions.send_message(
        conversation=conversation,
        sender=traffic_officer,
        body="摩托车驾驶证到期前90日内可在交管12123申请换证，需提交身体条件证明。",
        client_id="a",
    )
    chat_actions.classify_conversation(conversation=conversation, officer=traffic_officer, classification="valid")
    chat_actions.close_conversation(conversation=conversation, by=traffic_officer)
    conversation.refresh_from_db()
    return conversation
