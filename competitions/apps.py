from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Challenges"

    def ready(self) -> None:
        from competitions.roles import ensure_organiser_group

        post_migrate.connect(ensure_organiser_group, sender=self)
