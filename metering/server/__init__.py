"""creto-metering: the usage metering gRPC service, run as its own process.

    python -m metering.server [--host H] [--port P] [--data-dir DIR]

It owns its SQLite store (`DATA_DIR/metering.sqlite3`) and never imports Django: the web app
reaches it only over gRPC, through `metering.client`.
"""
