from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Consent, surveys, design arms and research exports.

    Plugs into competitions through its hooks (competitions never imports surveys): taking-part
    consent gates submissions, a join assigns design arms, and arms filter leaderboards.
    """

    name = "surveys"
    verbose_name = "Surveys and consent"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from competitions import hooks
        from surveys import demo, services
        from surveys.roles import ensure_researcher_group

        if services.submit_gate not in hooks.submit_gates:
            hooks.submit_gates.append(services.submit_gate)
        if services.leaderboard_filter not in hooks.leaderboard_filters:
            hooks.leaderboard_filters.append(services.leaderboard_filter)
        hooks.participant_joined.connect(
            services.on_participant_joined, dispatch_uid="surveys-assign-arms"
        )
        hooks.demo_seeded.connect(demo.seed_study, dispatch_uid="surveys-demo-study")
        post_migrate.connect(ensure_researcher_group, sender=self)
