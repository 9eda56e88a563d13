"""Hot topics (热点话题): keywords of the valid questions of a department and period, by jieba."""

import logging

from django.core.cache import cache

from . import selectors
from .periods import Period

# Keywords from the latest valid first questions only: enough to see the topics, quick at 100x scale.
SAMPLE_SIZE = 800
# Words that are everywhere in questions to government and say nothing about the topic.
STOP_WORDS = {
    "请问",
    "你好",
    "您好",
    "谢谢",
    "怎么",
    "怎么办",
    "什么",
    "可以",
    "需要",
    "是否",
    "能否",
    "现在",
    "如何",
    "哪里",
    "多少",
    "一下",
    "时候",
    "问题",
    "咨询",
    "这个",
    "那个",
    "我们",
    "他们",
    "自己",
    "没有",
    "已经",
    "还是",
    "应该",
    "办理",
    "请教",
    "知道",
    "情况",
    "一个",
    "为什么",
    "能不能",
    "可不可以",
    "有没有",
}

logging.getLogger("jieba").setLevel(logging.WARNING)


def keywords(texts: list[str], top: int = 8) -> list[str]:
    """Return the top keywords of the texts by TF-IDF (jieba.analyse.extract_tags)."""
    import jieba.analyse

    text = "\n".join(t for t in texts if t)
    if not text.strip():
        return []
    tags = jieba.analyse.extract_tags(
        text, topK=top + len(STOP_WORDS), allowPOS=("n", "nr", "ns", "nt", "nz", "vn", "v", "eng")
    )
    return [tag for tag in tags if tag not in STOP_WORDS and len(tag) > 1][:top]


def hot_topics(period: Period, *, department_id: int | None = None, top: int = 8) -> list[str]:
    """Return the keywords of the department's valid questions in the period; cached for ten minutes."""
    key = f"oversight:topics:{period.first}:{period.last}:{department_id or 0}:{top}"
    found = cache.get(key)
    if found is None:
        found = keywords(
            list(selectors.first_question_texts(period, department_id=department_id, limit=SAMPLE_SIZE)), top
        )
        cache.set(key, found, 600)
    return found
