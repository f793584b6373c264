from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Consent, surveys, design arms and research exports.

    Plugs into competitions through its hooks (competitions never imports surveys): design arms
    filter leaderboards. Consent gates nothing in the competition (GDPR Art. 7(4)): no submit
    gate, and arms are assigned at consent, not at joining. It plugs
    into ``accounts.hooks`` the same way: its records join the user's data download and leave
    with a deleted account.
    """

    name = "surveys"
    verbose_name = "Surveys and consent"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import hooks as account_hooks
        from competitions import hooks
        from surveys import demo, personal_data, selectors, services
        from surveys.roles import ensure_researcher_group

        account_hooks.register(account_hooks.personal_data_sections, personal_data.sections)
        account_hooks.register(account_hooks.account_deletion_steps, services.account_data_delete)

        if services.leaderboard_filter not in hooks.leaderboard_filters:
            hooks.leaderboard_filters.append(services.leaderboard_filter)
        if selectors.challenge_study_slug not in hooks.study_slugs:
            hooks.study_slugs.append(selectors.challenge_study_slug)
        hooks.demo_seeded.connect(demo.seed_study, dispatch_uid="surveys-demo-study")
        post_migrate.connect(ensure_researcher_group, sender=self)
