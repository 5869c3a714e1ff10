"""The reference: a bare Django + DRF app served by gunicorn (2 sync workers) in the same run
as the stack, so every figure of `bench.load` is also a ratio to what Django itself costs here.

Its POST validates the same order body with a ModelSerializer and inserts one row; its GET
returns a tiny JSON without touching the database. No middleware, no authentication: the floor.
"""
