from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portfolio import ui  # noqa: F401  (registers the page-socket renderers)
