from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Challenges"

    def ready(self) -> None:
        from accounts import hooks as account_hooks
        from competitions import board_cache, personal_data, similarity_arrays
        from competitions.roles import ensure_organiser_group

        account_hooks.register(account_hooks.personal_data_sections, personal_data.sections)

        post_migrate.connect(ensure_organiser_group, sender=self)
        board_cache.connect_signals()
        similarity_arrays.connect_signals()
