from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Challenges"

    def ready(self) -> None:
        from competitions.leaderboards import phase_saved
        from competitions.roles import ensure_organiser_group

        post_migrate.connect(ensure_organiser_group, sender=self)
        post_save.connect(phase_saved, sender=self.get_model("Phase"))
