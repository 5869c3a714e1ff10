"""Oversight services by job: `requests` (opening and withdrawing approval requests, below the
order services), `decisions` (deciding and expiring them, above the order services) and `rules`
(the service's risk rules and kill switch). Callers import from the module that defines it."""
