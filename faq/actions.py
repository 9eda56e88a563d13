"""Writes of the knowledge base. Each action is one transaction and renews the index token."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat import privacy as chat_privacy
from chat.models import EXEMPT_CLASSIFICATIONS, Conversation, SenderKind, Status
from departments import actions as department_actions
from departments.models import Department, Window
from infra import personal_data
from infra.errors import DomainError

from . import selectors
from .engine import embedder as embedding
from .engine.text import passage_text, terms
from .models import Entry, IndexState, Source, Synonym, split_synonyms
from .selectors import ANSWER_MAX, QUESTION_MAX


class FaqError(DomainError):
    """Input the knowledge base refuses."""


def _touch_index() -> None:
    """Give the index a new token so that every process rebuilds it at its next search."""
    token = IndexState.new_token()
    if not IndexState.objects.filter(pk=1).update(token=token, changed_at=timezone.now()):
        IndexState.objects.update_or_create(pk=1, defaults={"token": token})


def _index_fields(entries: Sequence[Entry], places: Sequence[tuple[str, str]] | None = None) -> None:
    """Fill the terms and, when the model is available, the vectors of the entries (not saved).

    places gives each entry's (department, window) names when they are not saved rows yet.
    """
    if places is None:
        places = [(entry.department.name, entry.window.name if entry.window else "") for entry in entries]
    texts = [
        passage_text(department=department, window=window, question=entry.question, answer=entry.answer)
        for entry, (department, window) in zip(entries, places)
    ]
    for entry, text in zip(entries, texts):
        entry.terms = " ".join(terms(text))
    model = embedding.get_embedder()
    if model is None:
        for entry in entries:
            entry.question_vector = entry.passage_vector = None
            entry.vector_model = ""
        return
    questions = model.passages([entry.question for entry in entries])
    passages = model.passages(texts)
    for entry, question, passage in zip(entries, questions, passages):
        entry.question_vector = embedding.vector_to_bytes(question)
        entry.passage_vector = embedding.vector_to_bytes(passage)
        entry.vector_model = model.name


def _clean(*, department: Department, window: Window | None, question: str, answer: str) -> tuple[str, str]:
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question:
        raise FaqError("问题不能为空。")
    if not answer:
        raise FaqError("答复不能为空。")
    if len(question) > QUESTION_MAX:
        raise FaqError(f"问题不能超过 {QUESTION_MAX} 个字。")
    if len(answer) > ANSWER_MAX:
        raise FaqError(f"答复不能超过 {ANSWER_MAX} 个字。")
    if window is not None and window.department_id != department.id:
        raise FaqError(f"窗口“{window.name}”不属于{department.name}。")
    return question, answer


def check_entry(*, department: Department, window: Window | None, question: str, answer: str) -> None:
    """Raise FaqError when save_entry would refuse these fields."""
    _clean(department=department, window=window, question=question, answer=answer)


def save_entry(
    *,
    entry: Entry | None = None,
    key: str = "",
    department: Department,
    window: Window | None,
    question: str,
    answer: str,
    is_published: bool,
    source: str = Source.CURATED,
    by=None,
    names_confirmed: bool = False,
) -> Entry:
    """Create or update an entry and its index; the admin and the import both come here.

    A published entry must pass check_publication (names_confirmed: a person checked the flagged names).
    """
    question, answer = _clean(department=department, window=window, question=question, answer=answer)
    entry = entry or Entry(source=source, created_by=by)
    if not entry.key:
        entry.key = (key or "").strip() or f"faq-{IndexState.new_token()[:12]}"
    entry.department, entry.window, entry.question, entry.answer = department, window, question, answer
    if is_published:
        check_publication(entry, names_confirmed=names_confirmed)
    _set_published(entry, is_published)
    _index_fields([entry])
    with transaction.atomic():
        entry.save()
        _touch_index()
    return entry


def check_publication(entry: Entry, *, names_confirmed: bool = False) -> None:
    """Refuse to publish an entry that holds personal data or lacks the citizen's consent.

    The one check of every way to publish (officer's page, admin form and action, imports).
    Blocked kinds (mobile, ID, card and plate numbers, e-mail, addresses) can never be confirmed
    away. An entry made from a conversation needs the citizen's consent, and its suspected names
    must be confirmed by a person; curated text is written by staff, so names are not asked there.
    """
    # Read afresh: the consent may have changed since the caller loaded the conversation.
    conversation = (
        Conversation.objects.select_related("citizen", "officer").filter(pk=entry.conversation_id).first()
        if entry.conversation_id
        else None
    )
    from_conversation = conversation is not None or entry.source != Source.CURATED
    if conversation is not None and not conversation.publication_consent:
        raise FaqError(f"{entry.key}：市民没有同意公开这次问答，不能发布。")
    if conversation is None and entry.source == Source.ARCHIVE:
        raise FaqError(f"{entry.key}：这条历史答复的会话已删除，无法取得市民同意，不能发布。")
    names = ()
    if conversation is not None:
        names = chat_privacy.known_names(conversation.citizen)
        if conversation.officer_id:
            names += chat_privacy.known_names(conversation.officer)
    try:
        personal_data.check_publishable(
            f"{entry.question}\n{entry.answer}",
            known_names=names,
            names_confirmed=names_confirmed or not from_conversation,
        )
    except personal_data.PersonalDataError as error:
        raise FaqError(f"{entry.key}：{error.message}", "personal_data") from None


def _set_published(entry: Entry, published: bool) -> None:
    if published and entry.source == Source.ARCHIVE:
        entry.source = Source.CONVERSATION
    if published and (not entry.is_published or entry.published_at is None):
        entry.published_at = timezone.now()
    entry.is_published = published


def set_published(*, entries: Sequence[Entry], published: bool) -> int:
    """Publish or withdraw entries (admin bulk action), all or none; return how many changed.

    Nobody reviews names in a bulk action, so an entry from a conversation with a suspected name
    is refused: it is published from its own page, where the names are shown and confirmed.
    """
    changed = [entry for entry in entries if entry.is_published != published]
    if published:
        problems = []
        for entry in changed:
            try:
                check_publication(entry)
            except FaqError as error:
                problems.append(error.message)
        if problems:
            raise FaqError("没有发布任何条目。" + " ".join(problems[:10]))
    with transaction.atomic():
        for entry in changed:
            _set_published(entry, published)
            entry.save(update_fields=["is_published", "published_at", "source", "updated_at"])
        if changed:
            _touch_index()
    return len(changed)


def delete_entries(*, entries: Sequence[Entry]) -> int:
    with transaction.atomic():
        count, _ = Entry.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
        _touch_index()
    return count


@dataclass(frozen=True)
class ImportRecord:
    """One checked line of an import file; department and window are None when they are to be created."""

    line: int
    key: str
    department: Department | None
    window: Window | None
    question: str
    answer: str
    department_name: str
    window_name: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int = 0  # existing entries whose text, place and published flag were already as in the file


def import_entries(
    *, records: Sequence[ImportRecord], published: bool = True, by=None, progress: Callable | None = None
) -> ImportResult:
    """Create or update (by key) one entry per record, all or nothing.

    Records come checked from faq.importing.read_records. Departments and windows missing from
    the database (None in a record) are created. Vectors are computed before the transaction so
    that the write lock is held only for the inserts.
    """
    existing = {
        entry.key: entry
        for entry in Entry.objects.filter(key__in=[r.key for r in records]).select_related("department", "window")
    }
    entries, to_index, unchanged = [], [], set()
    for record in records:
        entry = existing.get(record.key) or Entry(key=record.key, source=Source.CURATED, created_by=by)
        question, answer = record.question.strip(), record.answer.strip()
        same_text = entry.pk is not None and _same_text(entry, record, question, answer)
        if same_text and entry.is_published == published:
            unchanged.add(record.key)
        entry.question, entry.answer = question, answer
        if published:
            try:
                check_publication(entry)
            except FaqError as error:
                raise FaqError(f"第 {record.line} 行：{error.message}") from None
        _set_published(entry, published)
        entries.append(entry)
        if not same_text or not entry.terms or _lacks_vectors(entry):
            to_index.append((entry, (record.department_name, record.window_name)))
    # Only new or changed entries are embedded, so importing the same file again takes seconds.
    if progress and len(to_index) < len(entries):
        progress(len(entries) - len(to_index))
    for start in range(0, len(to_index), 32):
        batch = to_index[start : start + 32]
        _index_fields([entry for entry, _ in batch], [place for _, place in batch])
        if progress:
            progress(len(batch))
    unchanged -= {entry.key for entry, _ in to_index}
    with transaction.atomic():
        departments: dict[str, Department] = {}
        windows: dict[tuple[str, str], Window] = {}
        for record, entry in zip(records, entries):
            if record.key in unchanged:
                continue
            department = record.department or departments.get(record.department_name)
            if department is None:
                department = department_actions.ensure_department(name=record.department_name)
                departments[record.department_name] = department
            window = record.window
            if window is None and record.window_name:
                window = windows.get((record.department_name, record.window_name))
                if window is None:
                    window = department_actions.ensure_window(department=department, name=record.window_name)
                    windows[(record.department_name, record.window_name)] = window
            entry.department, entry.window = department, window
            try:
                _clean(department=department, window=window, question=entry.question, answer=entry.answer)
            except FaqError as error:
                raise FaqError(f"第 {record.line} 行：{error.message}") from None
            entry.save()
        if len(unchanged) < len(records):
            _touch_index()
    created = sum(1 for record in records if record.key not in existing)
    return ImportResult(created=created, updated=len(records) - created - len(unchanged), unchanged=len(unchanged))


def _same_text(entry: Entry, record: ImportRecord, question: str, answer: str) -> bool:
    """Whether a saved entry already has the record's question, answer, department and window."""
    window_name = entry.window.name if entry.window_id else ""
    return (entry.question, entry.answer, entry.department.name, window_name) == (
        question,
        answer,
        record.department_name,
        record.window_name or "",
    )


def _lacks_vectors(entry: Entry) -> bool:
    """Whether the entry has no vectors of the current model although the model is available."""
    if entry.vector_model == embedding.MODEL_NAME and entry.question_vector and entry.passage_vector:
        return False
    return embedding.get_embedder() is not None


def embed_missing_vectors(*, batch_size: int = 32) -> int:
    """Compute the vectors of the entries saved while the model was off; return how many got them.

    Each batch is embedded outside any transaction and saved in a short one of its own, so the
    portal keeps writing meanwhile. Does nothing while the model is still unavailable.
    """
    if embedding.get_embedder() is None:
        return 0
    current = Q(vector_model=embedding.MODEL_NAME, question_vector__isnull=False, passage_vector__isnull=False)
    ids = list(Entry.objects.exclude(current).order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), batch_size):
        batch = list(
            Entry.objects.filter(pk__in=ids[start : start + batch_size]).select_related("department", "window")
        )
        _index_fields(batch)
        with transaction.atomic():
            for entry in batch:
                entry.save(update_fields=["terms", "question_vector", "passage_vector", "vector_model"])
            _touch_index()
    return len(ids)


def reindex_entries(*, batch_size: int = 32, progress: Callable | None = None) -> int:
    """Recompute the terms and vectors of every entry; return how many were indexed."""
    ids = list(Entry.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), batch_size):
        batch = list(
            Entry.objects.filter(pk__in=ids[start : start + batch_size]).select_related("department", "window")
        )
        _index_fields(batch)
        with transaction.atomic():
            for entry in batch:
                entry.save(update_fields=["terms", "question_vector", "passage_vector", "vector_model"])
        if progress:
            progress(len(batch))
    with transaction.atomic():
        _touch_index()
    return len(ids)


def archive_answered_conversations(*, department_ids: Sequence[int] | None = None, limit: int | None = None) -> int:
    """Keep answered closed conversations as unpublished archive entries for officers' suggestions.

    Nothing is published here: archive entries are seen only by officers of their department.
    """
    conversations = (
        Conversation.objects.filter(
            status=Status.CLOSED, faq_entry__isnull=True, messages__sender_kind=SenderKind.OFFICER
        )
        .filter(messages__sender_kind=SenderKind.CITIZEN)
        .exclude(classification__in=EXEMPT_CLASSIFICATIONS)
        .select_related("window__department", "citizen")
        .distinct()
        .order_by("-closed_at", "-id")
    )
    if department_ids is not None:
        conversations = conversations.filter(window__department_id__in=list(department_ids))
    if limit is not None:
        conversations = conversations[:limit]
    entries = []
    for conversation in conversations:
        question, answer = selectors.conversation_question_answer(conversation)
        # An archived answer is a suggestion for officers, not a second copy of the transcript:
        # it keeps no personal data (the transcript itself is read through the audited admin).
        names = chat_privacy.known_names(conversation.citizen)
        question = personal_data.mask(question, known_names=names)
        answer = personal_data.mask(answer, known_names=names)
        if question and answer:
            entries.append(
                Entry(
                    key=f"conv-{conversation.id}",
                    department=conversation.window.department,
                    window=conversation.window,
                    question=question,
                    answer=answer,
                    source=Source.ARCHIVE,
                    conversation=conversation,
                    is_published=False,
                )
            )
    if not entries:
        return 0
    _index_fields(entries)
    with transaction.atomic():
        taken = set(
            Entry.objects.filter(conversation__in=[e.conversation for e in entries]).values_list(
                "conversation_id", flat=True
            )
        )
        fresh = [entry for entry in entries if entry.conversation_id not in taken]
        # ignore_conflicts: another process may archive the same conversation at the same moment.
        Entry.objects.bulk_create(fresh, ignore_conflicts=True)
        _touch_index()
    return len(fresh)


def publish_from_conversation(
    *, conversation: Conversation, officer, question: str, answer: str, publish: bool, names_confirmed: bool = False
) -> Entry:
    """Save the officer's edited Q&A of a closed conversation as a draft, or publish it.

    The caller checked that the officer serves the conversation's window (chat.selectors).
    Publishing needs the citizen's consent and text free of personal data (check_publication).
    """
    if conversation.status != Status.CLOSED:
        raise FaqError("会话结束后才能整理为常见问题。")
    entry = Entry.objects.filter(conversation=conversation).first() or Entry(
        key=f"conv-{conversation.id}", conversation=conversation, created_by=officer
    )
    entry.source = Source.CONVERSATION
    return save_entry(
        entry=entry,
        department=conversation.window.department,
        window=conversation.window,
        question=question,
        answer=answer,
        is_published=publish,
        by=officer,
        names_confirmed=names_confirmed,
    )


def change_publication_consent(*, conversation: Conversation, citizen, allowed: bool, by=None) -> Entry | None:
    """Record the citizen's choice; withdrawing it takes the published entry off at once.

    Return the entry made from the conversation, if any.
    """
    entry = Entry.objects.filter(conversation=conversation).first()
    if allowed and entry is not None and entry.is_published:
        return entry  # already published with consent; nothing to change
    with transaction.atomic():
        chat_privacy.set_publication_consent(conversation=conversation, citizen=citizen, allowed=allowed, by=by)
        if not allowed and entry is not None and entry.is_published:
            entry.is_published = False
            entry.save(update_fields=["is_published", "updated_at"])
            _touch_index()
    return entry


def forget_conversations(*, conversation_ids: Sequence[int]) -> int:
    """Delete the entries of these conversations that could still hold their personal data.

    Archived answers and drafts go with the transcript (retention, account deletion); a published
    entry stays only if it passes the detector now, otherwise it is deleted too. Return how many
    entries were deleted.
    """
    doomed = []
    for entry in Entry.objects.filter(conversation_id__in=list(conversation_ids)).select_related(
        "conversation__citizen"
    ):
        if entry.is_published and not personal_data.find(
            # Blocked kinds and the citizen's own name or number; the name heuristic was confirmed at publication.
            f"{entry.question}\n{entry.answer}",
            known_names=chat_privacy.known_names(entry.conversation.citizen),
            names=False,
        ):
            continue
        doomed.append(entry.pk)
    if not doomed:
        return 0
    with transaction.atomic():
        count, _ = Entry.objects.filter(pk__in=doomed).delete()
        _touch_index()
    return count


# Synonyms ------------------------------------------------------------------------------------------


@transaction.atomic
def save_synonym(*, synonym: Synonym, words: str, is_active: bool = True) -> Synonym:
    """Save a synonym group (at least two distinct words) and renew the index token."""
    group = split_synonyms(words)
    if len(group) < 2:
        raise FaqError("同义词至少要有两个不同的词，例如：驾照 = 驾驶证。")
    if any(len(word) > 30 for word in group):
        raise FaqError("每个词最多 30 个字。")
    synonym.words = " = ".join(group)
    synonym.is_active = is_active
    synonym.save()
    _touch_index()
    return synonym


@transaction.atomic
def delete_synonyms(*, synonyms: Sequence[Synonym]) -> int:
    count = Synonym.objects.filter(pk__in=[s.pk for s in synonyms]).delete()[0]
    if count:
        _touch_index()
    return count
