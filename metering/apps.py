from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from metering import client, ui  # noqa: F401  (page-socket renderers)
        from trading_demo import health

        health.register("metering", client.health)
