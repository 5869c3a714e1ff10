from django.apps import AppConfig


class TradesConfig(AppConfig):
    name = "trades"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trades import ui  # noqa: F401  (registers the page-socket renderers)
