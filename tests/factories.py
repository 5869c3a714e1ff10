from __future__ import annotations

import factory

from trading_demo.models import Role, User
from trading_demo.services import user_create

PASSWORD = "correct-horse-battery"


class UserFactory(factory.Factory):
    """Users go through the same service as everywhere else (role -> group, staff flags)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = Role.TRADER
    display_name = factory.Faker("name")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        return user_create(password=PASSWORD, **kwargs)  # type: ignore[arg-type]
