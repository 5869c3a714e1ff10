"""creto-oversight, the reference risk and approval service: `python -m oversight.server`.

A process of its own with its own SQLite store; nothing here imports Django. `risk` holds the
pure scoring rules, `store` the SQLite persistence, `service` the gRPC servicer.
"""
