from __future__ import annotations

from django.urls import path

from trading_demo.alpaca.consumers import TradingStreamConsumer
from trading_demo.consumers import EventsConsumer, PageConsumer

websocket_urlpatterns = [
    path("ws/", EventsConsumer.as_asgi()),
    path("ws/ui/", PageConsumer.as_asgi()),
    # Alpaca's trading stream (trading_demo/alpaca/consumers.py).
    path("stream", TradingStreamConsumer.as_asgi()),
    # The seed's socket address (clients written from it connect to the server's root).
    path("", EventsConsumer.as_asgi()),
]
