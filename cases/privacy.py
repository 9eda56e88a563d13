"""De-identification of a citizen's cases (转办件) when their account is deleted."""

from django.db import transaction

from chat.privacy import ERASED_BODY, known_names
from infra import personal_data

from .models import Case, CaseEvent


@transaction.atomic
def deidentify_cases(*, citizen) -> int:
    """Replace the citizen's question and mask the reply; dates, units and status stay for the figures.

    Return the number of cases changed.
    """
    names = known_names(citizen)
    cases = list(Case.objects.filter(citizen=citizen))
    for case in cases:
        case.question = ERASED_BODY
        case.reply = personal_data.mask(case.reply, known_names=names, names=False)
        case.save(update_fields=["question", "reply"])
    for event in CaseEvent.objects.filter(case__citizen=citizen).exclude(note=""):
        masked = personal_data.mask(event.note, known_names=names, names=False)
        if masked != event.note:
            event.note = masked
            event.save(update_fields=["note"])
    return len(cases)
