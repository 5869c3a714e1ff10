from django.apps import AppConfig


class TradingDemoConfig(AppConfig):
    name = "trading_demo"
    verbose_name = "Users and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trading_demo import schema, ui  # noqa: F401  (registers renderers, schema extensions)
        from trading_demo.logs import configure_structlog

        configure_structlog()
