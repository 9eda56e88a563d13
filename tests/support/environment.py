"""Environment for the test run, loaded as a pytest plugin (``-p tests.support.environment`` in pytest.ini).

pytest-django reads the Django settings in its ``pytest_load_initial_conftests`` hook, which runs before
pytest imports tests/conftest.py, so a variable set in conftest comes too late for settings.py. A ``-p``
plugin is imported earlier, while pytest parses its arguments.
"""

import os

# MD5 instead of PBKDF2: creating and logging in users is the slowest part of many tests otherwise.
# setdefault, so FAST_PASSWORD_HASHER=0 still runs the suite with the production hasher.
os.environ.setdefault("FAST_PASSWORD_HASHER", "1")

# Staff signed in with force_login would otherwise all need an authenticator first; the tests of the
# second factor (tests/security/test_login.py) turn it on.
os.environ.setdefault("SECOND_FACTOR_REQUIRED", "0")
