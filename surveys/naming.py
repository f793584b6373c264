"""Variable names, labels and codes that SPSS and Stata accept, checked when a researcher saves.

Both packages allow a name of at most 32 characters that starts with a letter and holds only
letters, digits and ``_`` (SPSS allows a few more characters, Stata fewer: this is the common
subset). A few words are reserved in one or the other (SPSS Command Syntax Reference, "Variable
names"; Stata manual [U] 11.3 "Naming conventions"). Variable and value labels are kept to 80
characters, the limit of Stata's variable labels. Codes are integers; -97, -98 and -99 are
reserved for the missing-answer codes (``MISSING_CODES``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_NAME = 32
MAX_LABEL = 80
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: Not shown (skipped by a show-if condition), shown but not answered, "prefer not to say".
NOT_SHOWN, NOT_ANSWERED, PREFER_NOT = -97, -98, -99
MISSING_CODES = {
    NOT_SHOWN: "not shown (skipped by a condition)",
    NOT_ANSWERED: "shown but not answered",
    PREFER_NOT: "prefer not to say",
}
#: The Stata extended missing value standing for each code (``.a``, ``.b``, ``.c``).
STATA_MISSING = {NOT_SHOWN: "a", NOT_ANSWERED: "b", PREFER_NOT: "c"}

# SPSS's reserved keywords and Stata's reserved names (case-insensitive here, to be safe in both).
RESERVED = {
    "all",
    "and",
    "by",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ne",
    "not",
    "or",
    "to",
    "with",
    "_all",
    "_b",
    "byte",
    "_coef",
    "_cons",
    "double",
    "float",
    "if",
    "in",
    "int",
    "long",
    "_n",
    "_pi",
    "_pred",
    "_rc",
    "_se",
    "str",
    "strl",
    "using",
}


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid SPSS and Stata variable name, or ``None`` if it is."""
    if not name:
        return _("Give a variable name.")
    if len(name) > MAX_NAME:
        return _("“%(name)s” has %(n)d characters; SPSS and Stata allow at most %(max)d.") % {
            "name": name,
            "n": len(name),
            "max": MAX_NAME,
        }
    if not NAME_PATTERN.fullmatch(name):
        return _(
            "“%(name)s” is not a valid variable name: start with a letter and use only letters "
            "A–Z, digits and _ (no spaces, accents or other signs)."
        ) % {"name": name}
    if name.lower() in RESERVED or re.fullmatch(r"str\d+", name.lower()):
        return _("“%(name)s” is a reserved word in SPSS or Stata; choose another name.") % {
            "name": name
        }
    return None


def validate_name(name: str) -> None:
    """Model-field validator wrapping :func:`name_problem`."""
    problem = name_problem(name)
    if problem:
        raise ValidationError(problem)


def validate_label(label: str) -> None:
    if len(label) > MAX_LABEL:
        raise ValidationError(
            _("Labels may have at most %(max)d characters (this one has %(n)d).")
            % {"max": MAX_LABEL, "n": len(label)}
        )


def validate_code(code: int) -> None:
    if code in MISSING_CODES:
        raise ValidationError(
            _("Codes -97, -98 and -99 are reserved for missing answers; choose another code.")
        )


def prefixed(prefix: str, *parts: str | int) -> str:
    """The export column name for a survey prefix and a variable (and option code)."""
    return "_".join([prefix, *(str(p).replace("-", "m") for p in parts)])


def export_name_problem(survey_slug: str, version: int, variable: str) -> str | None:
    """Why a variable would give export columns longer than SPSS and Stata allow, or ``None``.

    The widest column a variable can give is ``<slug>_v<version>_<variable>_<suffix>`` (the
    version appears when a survey has several; the suffix is an option code of a multiple-choice
    question or ``txt`` for a self-description), with a suffix of up to three characters.
    """
    longest = prefixed(f"{survey_slug}_v{version}", variable, "xxx")
    if len(longest) > MAX_NAME:
        return _(
            "With the survey prefix the export column can become “%(name)s” (%(n)d characters); "
            "SPSS and Stata allow %(max)d. Shorten the variable name to at most %(fit)d "
            "characters."
        ) % {
            "name": longest,
            "n": len(longest),
            "max": MAX_NAME,
            "fit": len(variable) - (len(longest) - MAX_NAME),
        }
    return None
