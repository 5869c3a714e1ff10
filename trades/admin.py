from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from trades.models import Candle, Execution, MarketSession, Order, Symbol
from trades.services.market import symbol_set_halted
from trading_demo.admin_readonly import ReadOnlyAdmin


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "reference_price", "last_price", "volatility", "halted"]
    list_filter = ["halted"]
    search_fields = ["symbol", "name"]
    readonly_fields = ["last_price", "last_trade_price", "session_open_price", "updated_at"]
    actions = ["halt", "resume"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The halt flag changes through the actions, which also pull the market maker's quotes.
        fields = [*self.readonly_fields, "halted"]
        return [*fields, "symbol"] if obj is not None else fields

    @admin.action(description="Halt trading in the selected symbols", permissions=["change"])
    def halt(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        for symbol in queryset:
            symbol_set_halted(symbol=symbol, halted=True)
        messages.success(request, f"Halted {queryset.count()} symbol(s).")

    @admin.action(description="Resume trading in the selected symbols", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Symbol]) -> None:
        for symbol in queryset:
            symbol_set_halted(symbol=symbol, halted=False)
        messages.success(request, f"Resumed {queryset.count()} symbol(s).")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "user",
        "symbol",
        "side",
        "order_type",
        "time_in_force",
        "quantity",
        "filled_quantity",
        "price",
        "status",
    ]
    list_filter = ["status", "side", "order_type", "symbol"]
    search_fields = ["user__email", "client_order_id", "id"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "symbol"]


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "symbol", "price", "quantity", "aggressor_side"]
    list_filter = ["symbol"]
    date_hierarchy = "created_at"


@admin.register(MarketSession)
class MarketSessionAdmin(ReadOnlyAdmin):
    list_display = ["opened_at", "closes_at", "closed_at"]


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "start", "open", "high", "low", "close", "volume"]
    list_filter = ["symbol"]
