from __future__ import annotations

from django.urls import path

from trades import api, views

api_urlpatterns = [
    path("trades", api.OrderListCreateApi.as_view(), name="api-trades"),
    path("trades/cancel-all", api.OrderCancelAllApi.as_view(), name="api-trades-cancel-all"),
    path("trades/export", api.OrderExportApi.as_view(), name="api-trades-export"),
    path("trades/<uuid:order_id>", api.OrderDetailApi.as_view(), name="api-trade"),
    path("trades/<uuid:order_id>/replace", api.OrderReplaceApi.as_view(), name="api-trade-replace"),
    path(
        "portfolio/positions/<str:symbol>/close",
        api.PositionCloseApi.as_view(),
        name="api-position-close",
    ),
    path("market/symbols", api.SymbolListApi.as_view(), name="api-symbols"),
    path("market/<str:symbol>/quote", api.QuoteApi.as_view(), name="api-quote"),
    path("market/<str:symbol>/book", api.BookApi.as_view(), name="api-book"),
    path("market/<str:symbol>/candles", api.CandlesApi.as_view(), name="api-candles"),
    path("market/<str:symbol>/trades", api.TapeApi.as_view(), name="api-tape"),
]


page_urlpatterns = [
    path("orders/", views.order_place, name="order-place"),
    path("orders/estimate/", views.order_estimate, name="order-estimate"),
    path("orders/<uuid:order_id>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("orders/<uuid:order_id>/modify/", views.order_modify_view, name="order-modify"),
    path("orders/cancel-all/", views.orders_cancel_all_view, name="orders-cancel-all"),
    path("positions/<str:symbol>/close/", views.position_close_view, name="position-close"),
    path("market/<str:part>/", views.market_partial, name="market-partial"),
]
