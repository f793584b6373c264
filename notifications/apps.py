from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """On-site notices and the e-mail that goes with them: the worker's mail module.

    Competitions and studies send through ``notifications.services.notify``; this app imports
    neither of them. A notice is written in the caller's transaction and its e-mail is sent by a
    worker after commit (and by a periodic sweep if the broker was away), so no request waits on
    an SMTP server. It plugs into ``accounts.hooks`` like the other apps: notices and e-mail
    preferences join the user's data download and leave with a deleted account.
    """

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from accounts import hooks as account_hooks
        from notifications import services

        account_hooks.register(account_hooks.personal_data_sections, services.personal_data)
        account_hooks.register(account_hooks.account_deletion_steps, services.account_data_delete)
