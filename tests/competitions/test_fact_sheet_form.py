"""The fact sheet on the upload form: compute fields as one group, processors and "other"
hardware, and energy shown as declared — a dash when none is estimated, never 0.00 for a
small amount."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

from competitions import services
from competitions.costs import submission_costs
from competitions.forms import SubmissionForm
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def test_the_compute_fields_are_one_labelled_group_on_the_submit_page(
    client, open_phase, participant
):
    client.force_login(participant.user)
    html = client.get(reverse("competitions:submission-create", args=[
        open_phase.challenge.slug, open_phase.slug])).content.decode()
    group = html.split('<fieldset class="group"')[1].split("</fieldset>")[0]
    assert "<legend>Compute used (optional)</legend>" in group
    for name in SubmissionForm.COMPUTE_FIELDS:
        assert f'name="{name}"' in group
    assert 'name="file"' not in group and 'name="file"' in html
    assert 'value="cpu-laptop"' in group and 'value="other"' in group


def _declared(open_phase, participant, good_predictions, hardware, hours):
    return services.submission_create(
        phase=open_phase, user=participant.user, upload=upload(good_predictions),
        fact_sheet={"external_data": "", "training_hours": hours, "inference_hours": 0.0,
                    "hardware": hardware, "devices": 1},
    )


def test_other_hardware_declares_hours_without_an_energy_estimate(
    open_phase, participant, good_predictions
):
    submission = _declared(open_phase, participant, good_predictions, "other", 3.0)
    cost = submission_costs([submission.pk])[submission.pk]
    assert cost == {"energy_kwh": None, "co2e_kg": None, "compute_hours": 3.0}


def test_a_laptop_uses_its_processors_rated_power(open_phase, participant, good_predictions):
    submission = _declared(open_phase, participant, good_predictions, "cpu-laptop", 10.0)
    assert submission_costs([submission.pk])[submission.pk]["energy_kwh"] == pytest.approx(0.28)


@pytest.mark.parametrize("value,shown", [
    (None, "—"), (0.0, "0.00"), (0.0004, "< 0.01"), (0.004999, "< 0.01"), (1.234, "1.23"),
])
def test_an_estimate_is_a_dash_when_absent_and_never_0_00_when_small(value, shown):
    html = Template("{% load cheetah %}{{ v|quantity }}").render(Context({"v": value}))
    assert html == shown.replace("<", "&lt;")
