from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oversight import client, ui  # noqa: F401  (ui registers the page-socket renderers)
        from trading_demo import health

        health.register("oversight", client.health)
