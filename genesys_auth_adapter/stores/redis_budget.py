"""``RedisBudgetStore``: the pacing of every process on every host that reaches one Redis server.

Layout under the token store's prefix::

    <prefix>:pace:<scope>:<lane>   a hash {t, e, c, p, w}: the lane's GCRA state; expires with its window
    <prefix>:budgets:<scope>       a hash {budget name: JSON}; kept a day after the last change

A reservation is one Lua script (:data:`RESERVE`): it reads the lanes, takes a slot on all of them at the
earliest time they all allow (or refuses, changing nothing), and returns the stored budgets whose revision
the caller does not know. It is :func:`~..engine.gcra.reserve` written in Lua, on the Redis server's clock
(``TIME``), so every host paces on one clock; a test injects its own (``clock=``) to compare the two
arithmetics number for number. A hold is another short script; learning is a ``WATCH`` transaction that
runs the Python :func:`~..engine.budget.apply` (learning is rare; the rule exists once).

Every Redis failure is a :class:`~.base.StoreError` naming the server, never a credential.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Callable

import redis

from ..engine.budget import Budget, apply
from ..engine.clock import Clock
from ..engine.gcra import MAX_AHEAD, Lane, Lesson, Reservation
from .base import StoreError

#: How long the budgets of a scope are kept after their last change (seconds).
BUDGET_TTL = 24 * 3600
_WATCH_TRIES = 50

# KEYS[1..n]: the lanes; KEYS[n+1]: the scope's budgets hash.
# ARGV[1]: max wait; ARGV[2]: now ('' for the server's TIME); ARGV[3]: MAX_AHEAD; then five per lane:
# interval, tolerance, window, budget name ('' for none), the budget revision the caller knows.
# Returns {granted 0/1, wait, binding lane (0-based, -1 none), slot time, {used per lane}, {name, json, ...}}.
RESERVE = """
local n = #KEYS - 1
local now
if ARGV[2] == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
    now = tonumber(ARGV[2])
end
local max_wait, max_ahead = tonumber(ARGV[1]), tonumber(ARGV[3])
local start, binding = now, -1
local lanes = {}
for i = 1, n do
    local a = 3 + (i - 1) * 5
    local raw = redis.call('HMGET', KEYS[i], 't', 'e', 'c', 'p', 'w')
    local tat = tonumber(raw[1])
    if tat == nil or tat ~= tat or tat > now + max_ahead then
        tat = now
    end
    lanes[i] = {tat = tat, e = tonumber(raw[2]), c = tonumber(raw[3]), p = tonumber(raw[4]), w = tonumber(raw[5]),
                interval = tonumber(ARGV[a + 1]), tolerance = tonumber(ARGV[a + 2]), window = tonumber(ARGV[a + 3])}
    if tat - lanes[i].tolerance > start then
        start, binding = tat - lanes[i].tolerance, i - 1
    end
end
local newer = {}
for i = 1, n do
    local a = 3 + (i - 1) * 5
    local name = ARGV[a + 4]
    if name ~= '' then
        local stored = redis.call('HGET', KEYS[n + 1], name)
        if stored then
            local ok, budget = pcall(cjson.decode, stored)
            if ok and type(budget) == 'table' and tostring(budget['revision']) ~= ARGV[a + 5] then
                table.insert(newer, name)
                table.insert(newer, stored)
            end
        end
    end
end
local wait = start - now
if not (wait <= max_wait) then
    return {0, string.format('%.17g', wait), binding, string.format('%.17g', start), {}, newer}
end
local used = {}
for i = 1, n do
    local lane = lanes[i]
    local tat = math.max(lane.tat, start) + lane.interval
    local epoch = math.floor(start / lane.window)
    local c, p = 1, 0
    if lane.e ~= nil and lane.c ~= nil and lane.p ~= nil and lane.w == lane.window then
        if lane.e == epoch then
            c, p = lane.c + 1, lane.p
        elseif lane.e == epoch - 1 then
            p = lane.c
        end
    end
    redis.call('HSET', KEYS[i], 't', string.format('%.17g', tat), 'e', string.format('%d', epoch),
               'c', c, 'p', p, 'w', string.format('%.17g', lane.window))
    local expires = math.max(tat, (epoch + 2) * lane.window)
    redis.call('PEXPIRE', KEYS[i], math.ceil((expires - now) * 1000) + 1000)
    used[i] = p
end
return {1, string.format('%.17g', wait), binding, string.format('%.17g', start), used, newer}
"""

# KEYS[1]: the lane; ARGV[1]: seconds; ARGV[2]: now ('' for TIME); ARGV[3]: MAX_AHEAD.
HOLD = """
local now
if ARGV[2] == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
    now = tonumber(ARGV[2])
end
local tat = tonumber(redis.call('HGET', KEYS[1], 't'))
if tat == nil or tat ~= tat or tat > now + tonumber(ARGV[3]) then
    tat = now
end
local hold = math.max(tat, now + math.max(0, tonumber(ARGV[1])))
redis.call('HSET', KEYS[1], 't', string.format('%.17g', hold))
local left = redis.call('PTTL', KEYS[1])
local wanted = math.ceil((hold - now) * 1000) + 1000
if left < wanted then
    redis.call('PEXPIRE', KEYS[1], wanted)
end
return 1
"""

_Failure = (redis.RedisError, OSError)


class RedisBudgetStore:
    """Pacing shared through Redis (redis-py, synchronous); made by ``RedisTokenStore.budgets()``.

    Args:
        client: A ``redis.Redis`` (the token store's: its short timeouts apply); never closed here.
        prefix: The first part of every key.
        where: The server as ``host:port/db``, for messages.
        failure: Turns a Redis exception into the ``StoreError`` to raise (the token store's, which keeps
            credentials out of messages); by default one naming ``where`` and the exception's type.
        clock: None to time lanes on the Redis server's clock (``TIME``: one clock for every host); a
            clock to time them by its monotonic reading instead (tests).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        where: str = "",
        failure: Callable[[str, BaseException], StoreError] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._where = where or "a given client"
        self._failure = failure or self._default_failure
        self._clock = clock
        self._reserve = client.register_script(RESERVE)
        self._hold = client.register_script(HOLD)

    def reserve(self, scope: str, lanes: Sequence[Lane], *, max_wait: float) -> Reservation:
        if not lanes:
            return Reservation(0.0, True)
        # A wait beyond MAX_AHEAD cannot happen (no lane is believed further ahead), so it bounds "any wait".
        args: list[Any] = [_number(min(max_wait, MAX_AHEAD)), self._now(), _number(MAX_AHEAD)]
        for lane in lanes:
            args += [_number(lane.rate.interval), _number(lane.rate.tolerance), _number(lane.window)]
            args += [lane.budget or "", str(lane.revision)]
        keys = [*(self._lane_key(scope, lane.name) for lane in lanes), self._budgets_key(scope)]
        with self._translated("reserve a slot"):
            granted, wait, binding, at, used, newer = self._reserve(keys=keys, args=args)
        budgets = {}
        for name, raw in zip(newer[::2], newer[1::2]):
            budget = _parse(raw)
            if budget is not None:
                budgets[_text(name)] = budget
        return Reservation(
            wait=float(wait),
            granted=bool(granted),
            binding=None if int(binding) < 0 else int(binding),
            at=float(at),
            used=tuple(int(u) for u in used),
            budgets=budgets,
        )

    def learn(self, scope: str, lesson: Lesson) -> dict[str, Budget]:
        with self._translated("learn a budget"):
            for item in lesson.holds:
                self._hold(
                    keys=[self._lane_key(scope, item.lane)],
                    args=[_number(item.seconds), self._now(), _number(MAX_AHEAD)],
                )
            if not lesson.events:
                return {}
            return self._apply(self._budgets_key(scope), lesson)

    def budgets(self, scope: str) -> dict[str, Budget]:
        with self._translated("read the budgets"):
            raw = self._client.hgetall(self._budgets_key(scope))
        known = {}
        for name, data in raw.items():
            budget = _parse(data)
            if budget is not None:
                known[_text(name)] = budget
        return known

    def close(self) -> None:
        """Nothing to release: the client belongs to the token store (or the caller)."""

    def _apply(self, key: str, lesson: Lesson) -> dict[str, Budget]:
        """Apply the lesson's events in a WATCH transaction (retried when another process changed the budgets)."""
        names = list(dict.fromkeys(name for name, _ in lesson.events))
        with self._client.pipeline() as pipe:
            for _ in range(_WATCH_TRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    stored = {name: _parse(pipe.hget(key, name)) for name in names}
                    known = dict(stored)
                    for name, event in lesson.events:
                        known[name] = apply(known[name], event)
                    changed = [
                        text for n, b in known.items() if b is not None and b != stored[n] for text in (n, _json(b))
                    ]
                    pipe.multi()
                    if changed:
                        pipe.hset(key, items=changed)
                        pipe.expire(key, BUDGET_TTL)
                    pipe.execute()
                except redis.WatchError:
                    continue
                return {name: budget for name, budget in known.items() if budget is not None}
        raise StoreError(
            f"Redis budget store at {self._where} could not learn a budget: "
            f"{_WATCH_TRIES} other processes changed it first"
        )

    def _now(self) -> str:
        return "" if self._clock is None else _number(self._clock.monotonic())

    def _lane_key(self, scope: str, lane: str) -> str:
        return f"{self._prefix}:pace:{_checked(scope)}:{lane}"

    def _budgets_key(self, scope: str) -> str:
        return f"{self._prefix}:budgets:{_checked(scope)}"

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except _Failure as exc:
            raise self._failure(action, exc) from None

    def _default_failure(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(f"Redis budget store at {self._where} could not {action} ({type(exc).__name__})")

    def __repr__(self) -> str:
        return f"RedisBudgetStore({self._where}, prefix={self._prefix!r})"


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"pacing needs finite numbers, not {value!r}")
    return repr(float(value))


def _checked(scope: str) -> str:
    if not isinstance(scope, str) or not scope or any(ch.isspace() for ch in scope):
        raise ValueError("a pacing scope is a non-empty string without spaces (the client's store_key())")
    return scope


def _json(budget: Budget) -> str:
    return json.dumps(budget.to_dict(), separators=(",", ":"))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _parse(data: object) -> Budget | None:
    """A stored budget, or None when there is none or it is unusable (a later learn replaces it)."""
    if not isinstance(data, (bytes, str)):
        return None
    try:
        return Budget.from_dict(json.loads(data))
    except ValueError:
        return None


__all__ = ["BUDGET_TTL", "HOLD", "RESERVE", "RedisBudgetStore"]
