"""Reading and checking an FAQ file in the JSON Lines format of shared/eval/faq_corpus.jsonl.

Each line: {"key", "department", "window", "question", "answer"}. Every line is checked before
anything is written, so a file with one bad line imports nothing.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from departments.models import Department, Window

from .actions import ImportRecord
from .selectors import ANSWER_MAX, QUESTION_MAX

REQUIRED = ("key", "department", "question", "answer")


@dataclass
class ImportProblems(Exception):
    """The lines of a file that cannot be imported, each with its line number and a Chinese reason."""

    problems: list[str] = field(default_factory=list)

    def __str__(self):
        return "\n".join(self.problems)


def read_records(lines: Iterable[str], *, create_missing: bool = False) -> list[ImportRecord]:
    """Return one record per non-blank line, or raise ImportProblems listing every bad line.

    Departments and windows are looked up by name; unknown ones are problems unless
    create_missing is set, in which case they are created (an empty duty statement to fill in).
    """
    problems: list[str] = []
    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"第 {number} 行：不是有效的 JSON（{error.msg}，第 {error.colno} 列）")
            continue
        if not isinstance(data, dict):
            problems.append(f"第 {number} 行：应为一个 JSON 对象")
            continue
        missing = [name for name in REQUIRED if not isinstance(data.get(name), str) or not data[name].strip()]
        if missing:
            problems.append(f"第 {number} 行：缺少或为空的字段：{'、'.join(missing)}")
            continue
        if data.get("window") is not None and not isinstance(data["window"], str):
            problems.append(f"第 {number} 行：window 应为文字")
            continue
        key = data["key"].strip()
        if len(key) > 64:
            problems.append(f"第 {number} 行：编号 key 不能超过 64 个字符")
            continue
        if key in seen:
            problems.append(f"第 {number} 行：编号 {key} 与第 {seen[key]} 行重复")
            continue
        if len(data["question"].strip()) > QUESTION_MAX:
            problems.append(f"第 {number} 行：问题不能超过 {QUESTION_MAX} 个字")
            continue
        if len(data["answer"].strip()) > ANSWER_MAX:
            problems.append(f"第 {number} 行：答复不能超过 {ANSWER_MAX} 个字")
            continue
        seen[key] = number
        parsed.append((number, data))

    departments = {d.name: d for d in Department.objects.filter(name__in={d["department"].strip() for _, d in parsed})}
    windows = {
        (w.department.name, w.name): w
        for w in Window.objects.select_related("department").filter(department__in=departments.values())
    }
    records: list[ImportRecord] = []
    for number, data in parsed:
        department_name = data["department"].strip()
        window_name = (data.get("window") or "").strip()
        department = departments.get(department_name)
        if department is None and not create_missing:
            problems.append(f"第 {number} 行：没有名为“{department_name}”的部门")
            continue
        window = windows.get((department_name, window_name)) if window_name else None
        if window_name and window is None and not create_missing:
            problems.append(f"第 {number} 行：{department_name}没有名为“{window_name}”的窗口")
            continue
        records.append(
            ImportRecord(
                line=number,
                key=data["key"].strip(),
                department=department,
                window=window,
                question=data["question"].strip(),
                answer=data["answer"].strip(),
                department_name=department_name,
                window_name=window_name,
            )
        )
    if problems:
        raise ImportProblems(problems)
    if not records:
        raise ImportProblems(["文件中没有可导入的条目"])
    return records
