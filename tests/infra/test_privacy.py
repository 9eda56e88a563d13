"""What staff see of a citizen: the mobile number with its middle four digits hidden, everywhere."""

import pytest

from infra.privacy import mask_phone, person_label
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_mobile_number_is_masked_and_other_text_left_alone():
    assert mask_phone("13800001234") == "138****1234"
    assert mask_phone("officer7") == "officer7"
    assert mask_phone("") == mask_phone(None) == ""


def test_citizens_are_named_by_masked_number_and_staff_by_name():
    citizen = factories.citizen("13900007777")
    assert person_label(citizen) == citizen.masked_phone == "139****7777"
    # A citizen whose phone field is empty is still known by the number in the username.
    citizen.phone = None
    assert person_label(citizen) == "139****7777"
    officer = factories.officer()
    assert person_label(officer) == officer.display_name
    assert person_label(None) == ""
