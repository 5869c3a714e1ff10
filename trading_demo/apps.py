from django.apps import AppConfig


class TradingDemoConfig(AppConfig):
    name = "trading_demo"
    verbose_name = "Users and access"
    default_auto_field = "django.db.models.BigAutoField"
