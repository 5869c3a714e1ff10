"""Role checks for the API. Object ownership is not a permission: querysets are filtered to the
user's own objects, so another user's object is simply not found (404)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from trading_demo.models import Role


class _RolePermission(BasePermission):
    roles: frozenset[str] = frozenset()
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in self.roles)


class IsAdmin(_RolePermission):
    roles = frozenset({Role.ADMIN})
    message = "Only admins may do this."


class IsManager(_RolePermission):
    roles = frozenset({Role.MANAGER, Role.ADMIN})
    message = "Only managers and admins may do this."


class CanTrade(_RolePermission):
    roles = frozenset({Role.TRADER, Role.MANAGER, Role.ADMIN})
    message = "Viewers have read-only access."


class ReadOnlyOrCanTrade(CanTrade):
    """Every signed-in role reads; viewers never write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class AdminWritesManagerReads(_RolePermission):
    roles = frozenset({Role.MANAGER, Role.ADMIN})

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        return IsAdmin().has_permission(request, view)
