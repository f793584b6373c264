"""Variable names, labels and codes: what SPSS and Stata accept, checked by property tests
against an independent statement of the rule (a regex over ASCII, the length limit, reserved
words)."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from surveys.naming import RESERVED, export_name_problem, name_problem

ORACLE = re.compile(r"\A[A-Za-z][A-Za-z0-9_]{0,31}\Z")


def _oracle_ok(name: str) -> bool:
    reserved = name.lower() in RESERVED or re.fullmatch(r"str\d+", name.lower())
    return bool(ORACLE.match(name)) and not reserved


@given(st.text(max_size=40))
def test_any_text_is_accepted_exactly_when_spss_and_stata_accept_it(name):
    assert (name_problem(name) is None) == _oracle_ok(name)


@given(
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=1),
    st.text(alphabet=string.ascii_letters + string.digits + "_", max_size=31),
)
def test_valid_names_pass_unless_reserved(first, rest):
    name = first + rest
    assert (name_problem(name) is None) == (
        name.lower() not in RESERVED and not re.fullmatch(r"str\d+", name.lower())
    )


@given(st.text(alphabet=string.digits + "_é -.", min_size=1, max_size=1), st.text(max_size=10))
def test_a_name_starting_with_a_digit_underscore_or_sign_is_refused_with_a_reason(first, rest):
    problem = name_problem(first + rest)
    assert problem and ("letter" in problem or "characters" in problem)


def test_reserved_words_and_long_names_say_why():
    assert "reserved" in name_problem("with")
    assert "at most 32" in name_problem("a" * 33)
    assert "Shorten" in export_name_problem("presurvey", 1, "a" * 20)
    assert export_name_problem("pre", 1, "gender") is None
