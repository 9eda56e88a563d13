"""How staff see a person: the one place that hides the middle of a mobile number."""


def mask_phone(number: str | None) -> str:
    """Return a mainland mobile number with its middle four digits hidden (138****1234).

    Anything that is not an 11-digit number (a staff username, an empty value) comes back as it is.
    """
    number = number or ""
    if len(number) == 11 and number.isdigit():
        return f"{number[:3]}****{number[7:]}"
    return number


def person_label(user) -> str:
    """Name a user for staff pages and exports: a citizen by the masked mobile number, anyone else by name.

    A citizen's username is the mobile number too, so it is masked when the phone field is empty.
    """
    if user is None:
        return ""
    if user.is_citizen:
        return mask_phone(user.phone or user.username)
    return str(user)
