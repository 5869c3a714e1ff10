"""Order services by job, each importing only what is below it:

- `orders`: intake (validation aside) — idempotency, pre-trade checks, the risk score taken
  before any lock, placement under the lock; cancels; the approval workflow's hooks.
- `risk`: what the oversight service scores an order on.
- `matching`: matching against the book, fills applied through the ledger, closing orders,
  stops.
- `events`: what order, fill and price events carry.
- `market`: the market process — ticks, the market maker's quotes, sessions, halts.

Callers import from the module that defines the function.
"""
