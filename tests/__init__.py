"""The tests. The helpers in `tests/support` assert too: pytest rewrites them as it does the tests,
so a failure there shows its values (an end-to-end check that fails says what it found)."""
import pytest

pytest.register_assert_rewrite("tests.support")
