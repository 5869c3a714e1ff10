"""Alpaca's Trading API, market-data API and trading stream, served over our own services
(ARCHITECTURE.md "Alpaca-compatible API"): an edge like `*/api.py`, only the wire format and the
key-pair authentication are Alpaca's; every order takes the same intake, risk scoring, approval,
matching, metering and ownership as one from the page or `/api/trades`."""
