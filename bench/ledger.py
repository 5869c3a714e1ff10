"""The ledger check after a load run: does every account's money and every position agree with
its fills? Run by `bench.load` in a subprocess with the stack's DATABASE_URL / DATA_DIR, once
the stack has stopped (no writer can move anything while it reads).

    python -m bench.ledger

The check itself is the project's (`portfolio.selectors.ledger_check`). Prints the differences
it finds and a last line "ledger: N accounts, M differences".
"""

from __future__ import annotations

import os

SHOWN = 20


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading_demo.settings")
    import django

    django.setup()

    from portfolio.selectors import ledger_check

    check = ledger_check()
    for line in check.differences[:SHOWN]:
        print(f"  {line}")
    if len(check.differences) > SHOWN:
        print(f"  ... and {len(check.differences) - SHOWN} more")
    print(f"ledger: {check.accounts} accounts, {len(check.differences)} differences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
