"""Re-identification controls of the research export: coarse quasi-identifiers by default,
the k-anonymity report in the codebook, rare combinations withheld in the wide and the long
file, finer fields as a logged opt-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from competitions.models import Participant
from surveys import dataset, services
from surveys.disclosure import protect
from surveys.models import ExportLog, Section
from tests.factories import ParticipantFactory, TeamFactory
from tests.surveys.conftest import ALL_YES, SurveyFactory, add_question
from tests.surveys.test_export import _respond

pytestmark = pytest.mark.django_db

JOINED = datetime(2026, 11, 18, 9, 30, 15, tzinfo=UTC)  # a Wednesday of ISO week 47


def _crowd(study, survey, n_solo: int, pair: bool):
    """``n_solo`` participants alone in their teams and, if ``pair``, one two-person team, all
    joined in the same second, all consenting to everything, all answering age band 2."""
    version = study.consent_versions.get()
    users = [ParticipantFactory(team__challenge=study.challenge).user for _ in range(n_solo)]
    if pair:
        team = TeamFactory(challenge=study.challenge)
        users += [ParticipantFactory(team=team).user for _ in range(2)]
    Participant.objects.filter(challenge=study.challenge).update(joined_at=JOINED)
    for user in users:
        services.consent_record(user=user, study=study, version=version, choices=ALL_YES)
        _respond(survey, user, age=[2])
    return users


@pytest.fixture
def age_survey(study):
    survey = SurveyFactory(study=study)
    section = Section.objects.create(survey=survey, position=1, title="About you")
    add_question(
        section,
        "age",
        options=[(1, "Under 25"), (2, "25 to 34")],
        ordered=True,
        quasi_identifier=True,
    )
    return survey


def test_the_only_two_person_team_is_not_singled_out_by_team_size(study, age_survey):
    users = _crowd(study, age_survey, n_solo=6, pair=True)
    data = dataset.build(study)
    report = data.disclosure
    assert report.k_before == 2 and report.rows_below_before == 2  # the pair, before
    # Withheld for the pair alone, team_size would still point at them: it is withheld in
    # every row that differs from theirs only there, and the eight rows are one group.
    assert report.k == 8 and not report.below_threshold
    assert report.withheld == {"team_size": 8}
    wide = data.wide.set_index("pseudonym")
    assert wide["team_size"].isna().all()
    assert len(users) == 8
    assert set(wide["joined_at"]) == {"2026-W47"}  # the ISO week, not the second
    assert set(wide["n_submissions"]) == {0}  # the band "none"
    assert set(wide["pre_age"]) == {2}


def test_a_rare_demographic_answer_is_withheld_in_the_wide_and_the_long_file(
    study, age_survey, tmp_path
):
    users = _crowd(study, age_survey, n_solo=6, pair=False)
    rare = users[0].survey_responses.get()
    rare.answers.update(codes=[1])
    data = dataset.build(study)
    assert data.disclosure.k_before == 1 and data.disclosure.k == 6
    assert data.disclosure.withheld == {"pre_age": 6}
    assert data.wide["pre_age"].isna().all()
    who = dataset.pseudonym(study, users[0].pk)
    row = data.long[data.long["pseudonym"] == who]
    assert len(row) == 1 and row[["code", "number", "text", "missing"]].isna().all(axis=None)
    assert data.long["code"].isna().all()
    services.study_export(study=study, user=None, via="command", folder=tmp_path)
    codebook = (tmp_path / "codebook.md").read_text()
    assert "smallest group before withholding (k): 1" in codebook
    assert "smallest group as exported (k): 6" in codebook and "Warning" not in codebook


def test_a_study_with_a_common_team_size_keeps_it_coarse(study, age_survey):
    _crowd(study, age_survey, n_solo=5, pair=True)
    for _ in range(2):
        team = TeamFactory(challenge=study.challenge)
        for _ in range(2):
            user = ParticipantFactory(team=team).user
            services.consent_record(
                user=user, study=study, version=study.consent_versions.get(), choices=ALL_YES
            )
            _respond(age_survey, user, age=[2])
    Participant.objects.filter(challenge=study.challenge).update(joined_at=JOINED)
    data = dataset.build(study)
    assert data.disclosure.k == data.disclosure.k_before == 5
    assert sorted(data.wide["team_size"]) == [1] * 5 + [2] * 6  # 2 = two or more


def test_too_few_participants_for_the_threshold_is_a_warning_with_the_groups(
    study, age_survey, tmp_path
):
    _crowd(study, age_survey, n_solo=3, pair=False)
    services.study_export(study=study, user=None, via="command", folder=tmp_path)
    codebook = (tmp_path / "codebook.md").read_text()
    assert "**Warning:** k = 3 is below the threshold of 5" in codebook
    assert "| 3 | (empty) |" in codebook  # the group as exported: everything withheld
    assert ExportLog.objects.get().k == 3


def test_finer_fields_are_an_opt_in_that_the_export_log_records(study, age_survey, tmp_path):
    study.export_exact_joined_at = study.export_exact_team_size = True
    study.export_min_group = 2
    study.save()
    _crowd(study, age_survey, n_solo=6, pair=True)
    services.study_export(study=study, user=None, via="command", folder=tmp_path)
    wide = pd.read_csv(tmp_path / "responses_wide.csv")
    assert set(wide["joined_at"]) == {"2026-11-18T09:30:15+00:00"}
    assert sorted(wide["team_size"]) == [1] * 6 + [2] * 2  # a group of two meets k = 2
    log = ExportLog.objects.get()
    assert (log.exact_fields, log.k, log.min_group) == (["joined_at", "team_size"], 2, 2)
    assert "opted into finer values of: `joined_at`, `team_size`" in (
        tmp_path / "codebook.md"
    ).read_text()


def test_protect_leaves_a_frame_that_is_already_k_anonymous_alone():
    frame = pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "x", None, None]})
    out, report, withheld = protect(frame, {"a": ["a"], "b": ["b"]}, threshold=2)
    assert out.equals(frame) and report.k == report.k_before == 2
    assert withheld == {"a": [], "b": []}
