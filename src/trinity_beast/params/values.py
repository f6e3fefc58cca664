"""The live parameter values of one process, with subscribers notified on every change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from trinity_beast.params.definitions import (
    PARAMS,
    InvalidParameter,
    ParamValue,
    format_value,
    parse_value,
)

log = logging.getLogger(__name__)

Listener = Callable[["Parameters", frozenset[str]], None]


class Parameters:
    """Typed, validated parameter values; reading is a dict lookup, never I/O.

    ``apply`` takes text values (from the database, ``app:config`` or an admin call), validates
    all of them first, keeps the old value for any that is refused, and then tells every
    listener which names changed.
    """

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, ParamValue] = {
            name: parse_value(p, p.default) for name, p in PARAMS.items()
        }
        self._listeners: list[Listener] = []
        if overrides:
            rejected = self.apply(overrides)
            if rejected:
                raise InvalidParameter("; ".join(rejected.values()))

    def __getitem__(self, name: str) -> ParamValue:
        return self._values[name]

    def get_int(self, name: str) -> int:
        return cast(int, self._values[name])

    def get_float(self, name: str) -> float:
        return float(cast(float, self._values[name]))

    def get_str(self, name: str) -> str:
        return cast(str, self._values[name])

    def get_assets(self, name: str) -> tuple[str, ...]:
        return cast(tuple[str, ...], self._values[name])

    def get_text(self, name: str) -> str:
        return format_value(self._values[name])

    def as_text(self) -> dict[str, str]:
        return {name: format_value(v) for name, v in self._values.items()}

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(params, changed_names)`` after every change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def validate(self, name: str, text: str) -> ParamValue:
        param = PARAMS.get(name)
        if param is None:
            raise InvalidParameter(f"unknown parameter {name!r}")
        return parse_value(param, text)

    def apply(self, updates: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        """Apply text values; returns ``{name: reason}`` for those refused (old value kept).

        Unknown names are refused too, so a typo never silently does nothing.
        """
        items = updates.items() if isinstance(updates, Mapping) else updates
        rejected: dict[str, str] = {}
        changed: set[str] = set()
        for name, text in items:
            try:
                value = self.validate(name, text)
            except InvalidParameter as exc:
                rejected[name] = str(exc)
                continue
            if self._values.get(name) != value:
                self._values[name] = value
                changed.add(name)
        for name, reason in rejected.items():
            log.warning("parameter refused", extra={"param": name, "reason": reason})
        if changed:
            frozen = frozenset(changed)
            for listener in list(self._listeners):
                try:
                    listener(self, frozen)
                except Exception:
                    log.exception("parameter listener failed", extra={"params": sorted(frozen)})
        return rejected
