from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Consent, surveys and research exports (built in the consent-and-surveys issue)."""

    name = "surveys"
    verbose_name = "Surveys and consent"
