"""Schemathesis against the schema a real server serves, with every check on and a fixed seed.

A real process (tests/servers.py's Daphne on the test database, with real metering and
oversight services) rather than schemathesis' WSGI transport: in 4.32.5 the engine hands that
transport `max_redirects`, which werkzeug's test client refuses, so no case would run.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

SEED = 20261202

# Refusals of a well-formed request that the contract (ARCHITECTURE.md) gives a status of its
# own: not a sign that the schema let bad input through.
ACCEPTED = ["2xx", "401", "403", "404", "409", "422", "429"]

# Operations whose 400 can depend on stored data or the clock, which no schema can describe: the
# symbol must be listed and the limit price within the collar of its reference price (orders);
# the symbol listed and fewer than the most armed alerts (price alerts); the e-mail address not
# taken; a statement month not after the current one.
DATA_DEPENDENT_400 = [
    ("POST", "/api/trades"),
    ("POST", "/api/trades/{order_id}/replace"),
    ("POST", "/api/alerts"),
    ("POST", "/api/alerts/price/{alert_id}/rearm"),
    ("POST", "/api/users"),
    ("GET", "/api/metering/statement"),
]


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.cases} cases, {len(self.failures)} failures, {len(self.errors)} errors"]
        lines += self.failures[:20] + self.errors[:10]
        return "\n".join(lines)


def config_for(
    *, base_url: str, token: str, max_examples: int, phases: list[str]
) -> dict[str, Any]:
    return {
        "seed": SEED,
        "workers": 1,
        "base-url": base_url,
        "headers": {"Authorization": f"Bearer {token}"},
        "cache": {"enabled": False},
        "generation": {
            "mode": "all",
            "max-examples": max_examples,
            "deterministic": True,
            "database": "none",
            # DRF refuses NUL characters and lone surrogates in every string field (400): they
            # are not valid text whatever a field's schema says.
            "allow-x00": False,
            "codec": "utf-8",
        },
        "phases": {name: {"enabled": name in phases} for name in PHASES},
        "checks": {"enabled": True, "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [
            {
                "include-method": method,
                "include-path": path,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
            for method, path in DATA_DEPENDENT_400
        ],
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    }


PHASES = ("examples", "coverage", "fuzzing", "stateful")


def fuzz(
    *,
    base_url: str,
    token: str,
    max_examples: int,
    phases: list[str] | None = None,
) -> FuzzReport:
    config = SchemathesisConfig.from_dict(
        config_for(
            base_url=base_url,
            token=token,
            max_examples=max_examples,
            phases=list(phases or PHASES),
        )
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/", config=config)
    report = FuzzReport()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            _record(report, event.recorder)
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.format()}"[:800])
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
    return report


def _record(report: FuzzReport, recorder: Any) -> None:
    for case_id, interaction in recorder.interactions.items():
        report.cases += 1
        case = recorder.cases[case_id].value
        status = interaction.response.status_code if interaction.response else 0
        report.statuses[(f"{case.method.upper()} {case.path}", status)] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            case = recorder.cases[case_id].value
            failure = check.failure_info.failure
            report.failures.append(
                f"{check.name} {case.method.upper()} {case.path}: {failure.title}: "
                f"{failure.message}"[:500]
                + f"\n    {check.failure_info.code_sample}"[:700]
            )


def examples_from_env(default: int) -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", default))
