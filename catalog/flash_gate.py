"""A Redis gate in front of the database for flash sales (限时抢购): it sheds load, it never decides.

For a product with ``flash_sale`` set, the counter ``flash:stock:<pk>`` holds the units the
gate still lets through. A redemption takes its units from the counter before it opens its
database transaction; when the counter cannot cover them the request is refused at once,
with no database work. When the redemption then fails for any reason the units are given
back. The guarded stock UPDATE in the database stays the only thing that decides who gets
an item, so the counter may safely run *above* the real stock (more requests reach the
database, which refuses them). It must not stay *below* it (buyers would be turned away
while stock is left): every other stock change (a restock, a correction, imported codes,
stock returned by a cancelled order) moves the counter by the same amount once it commits
(``stock_changed``), a counter lives at most ``CATALOG_FLASH_GATE_TTL_SECONDS`` and is then
rebuilt from the database stock, and ``manage.py catalog_flash_gate_reconcile`` rebuilds every
counter at once after a Redis restart.

Changes are applied as deltas, not as "set to the stock just read": deltas commute, so two
commits whose callbacks reach Redis in the other order still leave the right count, where a
late "set" could write an old, lower value over a newer restock.

Rebuilding from the database can only over-count: a redemption in flight has either
committed (the stock read includes it) or not (its units are still in the stock read,
and a failure gives them back on top).

Without REDIS_URL the gate is a no-op; when Redis does not answer it lets everyone
through to the database, and says so in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from catalog.exceptions import OutOfStockError, SoldOutError
from catalog.models import Product
from pointsmall.kernel.pause import Pause
from pointsmall.kernel.transactions import after_commit

logger = logging.getLogger(__name__)

KEY_PREFIX = "flash:stock:"
# The request keys (the member's form key: what follows the last ':' of the order's key) that
# placed an order of a flash product: the early refusal lets them through to get their order back.
PLACED_PREFIX = "flash:placed:"
PLACED_TTL_SECONDS = 86_400
DEFAULT_TTL_SECONDS = 60

# Take the units only if the counter covers them, in one step. The plain sequence
# "DECRBY, and INCRBY back when it went below zero" has a window in which a concurrent
# buyer of one unit sees the other buyer's transient negative value and is refused
# although a unit is left. Returns {1, left after} when taken, {0, left} when refused,
# {-1, 0} when there is no counter (not a flash product, or the counter must be rebuilt).
_TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return {-1, 0} end
left = tonumber(left)
local want = tonumber(ARGV[1])
if left < want then return {0, left} end
return {1, redis.call('DECRBY', KEYS[1], want)}
"""

# Give units back (or move the counter by a committed stock change, either way) only on a
# live counter: a missing one is rebuilt from the database, which already counts them.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return nil
"""


# Reservations: a signed-in member holds a unit taken from the counter at arrival, before the
# session, the PIN or the database (catalog.middleware), until its redemption claims them (``take``)
# or their deadline passes (given back to the counter by the next RESERVE or CLAIM). KEYS: counter,
# the reservations' units (hash member → units), their deadlines (sorted set member → ms, Redis's clock).
_SWEEP = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms)) do
  local units = redis.call('HGET', KEYS[2], key)
  redis.call('HDEL', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
  if units and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], units) end
end
"""
# Returns {1, left} reserved now, {2, 0} this key already holds units, {0, left} too few left,
# {-1, 0} no counter (the full path builds it and decides).
_RESERVE = (
    _SWEEP
    + """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {2, 0} end
local left = redis.call('GET', KEYS[1])
if not left then return {-1, 0} end
left = tonumber(left)
local want = tonumber(ARGV[2])
if left < want then return {0, left} end
redis.call('DECRBY', KEYS[1], want)
redis.call('HSET', KEYS[2], ARGV[1], want)
redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) * 2)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]) * 2)
return {1, left - want}
"""
)
# The units a key reserved, taken out of the reservations (0 when it holds none).
_CLAIM = (
    _SWEEP
    + """
local units = redis.call('HGET', KEYS[2], ARGV[1])
if not units then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return tonumber(units)
"""
)


def key_for(product_id: int) -> str:
    return f"{KEY_PREFIX}{product_id}"


def _reservation_keys(product_id: int) -> list[str]:
    return [key_for(product_id), f"flash:reserved:{product_id}", f"flash:reserved-until:{product_id}"]


def reservation_seconds() -> int:
    return int(getattr(settings, "CATALOG_FLASH_RESERVATION_SECONDS", 60))


def ttl_seconds() -> int:
    return int(getattr(settings, "CATALOG_FLASH_GATE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


# After Redis failed, this process takes the database path for CACHE_REDIS_RETRY_SECONDS (the
# same Redis as the cache's) instead of waiting for a socket timeout on every redemption.
_outage = Pause()


def _redis_failed(error: redis.RedisError) -> None:
    seconds = float(settings.CACHE_REDIS_RETRY_SECONDS)
    if _outage.start(seconds=seconds, reason=f"{type(error).__name__}: {error}"):
        logger.warning(
            "flash gate: Redis unavailable (%s); redemptions go straight to the database for %.0f s",
            _outage.reason,
            seconds,
        )


def outage_reset() -> None:
    """End the gate's pause (tests; a process that knows Redis is back)."""
    _outage.reset()


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    # Short timeouts: a slow Redis must not hold a buyer longer than the database would.
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, decode_responses=True)


def client() -> redis.Redis | None:
    """The gate's Redis client, or None when Redis is not configured (the gate is off)."""
    url = getattr(settings, "REDIS_URL", "")
    return _client_for(url) if url else None


@lru_cache(maxsize=8)
def _script(url: str, source: str):
    return _client_for(url).register_script(source)


def _run(source: str, key: str, amount: int):
    # EVALSHA, falling back to EVAL once after a Redis restart emptied the script cache.
    return _script(settings.REDIS_URL, source)(keys=[key], args=[amount])


def _rebuild(product_id: int) -> bool:
    """Create the counter from the database stock if the product is a flash sale. Returns whether it is one."""
    row = Product.objects.filter(pk=product_id).values_list("flash_sale", "stock").first()
    if row is None or not row[0]:
        return False
    connection = client()
    assert connection is not None
    # NX: when several buyers find the counter missing at once, the first one's value stands.
    connection.set(key_for(product_id), row[1], nx=True, ex=ttl_seconds())
    return True


@dataclass
class Hold:
    """Units taken from a product's counter for one redemption attempt."""

    product_id: int
    quantity: int
    active: bool

    def keep(self, *, idempotency_key: str = "") -> None:
        """The database sold these units: they stay taken. ``idempotency_key``: the committed order's
        key, remembered (``placed_key``) so a double click is never refused early (``early_refusal``)."""
        was_active, self.active = self.active, False
        if was_active and idempotency_key:
            _remember_placed(self.product_id, idempotency_key)

    def release(self) -> None:
        """The attempt sold nothing: give the units back. Safe to call twice."""
        if not self.active:
            return
        self.active = False
        try:
            _run(_GIVE_BACK, key_for(self.product_id), self.quantity)
        except redis.RedisError:
            # The counter is now low by these units until it expires and is rebuilt.
            logger.exception("flash gate: could not give back %s of product %s", self.quantity, self.product_id)


def placed_key(idempotency_key: str) -> str:
    """The part of an order's key the member's request carries: after the last ':' ("web:7:abc" → "abc")."""
    return idempotency_key.rsplit(":", 1)[-1]


def _remember_placed(product_id: int, idempotency_key: str) -> None:
    # Called once the order committed. Lost (Redis failing) only costs a double click the early
    # "sold out" page instead of its order, which the member's order list still shows.
    try:
        connection = client()
        if connection is not None:
            placed = f"{PLACED_PREFIX}{product_id}"
            pipe = connection.pipeline(transaction=False)
            pipe.sadd(placed, placed_key(idempotency_key))
            pipe.expire(placed, PLACED_TTL_SECONDS)
            pipe.execute()
    except redis.RedisError:
        logger.warning("flash gate: could not remember the order key of product %s", product_id)


def reserve(
    *, product_id: int, quantity: int, member_id: int | None, request_key: str = ""
) -> SoldOutError | OutOfStockError | None:
    """Take one unit for the signed-in member ``member_id`` as the request arrives, or refuse.

    The first buyers of a crowd take the units in the order they arrive, from Redis alone, so the
    counter reaches 0 as soon as the stock is spoken for and every later buyer hears "sold out"
    at once, not after the winners' sales ran (issue #18). The reservation is claimed by the
    redemption (``take`` by the same member) and given back if it sells nothing; one its buyer
    never comes back for returns to the counter after ``CATALOG_FLASH_RESERVATION_SECONDS``.
    A member holds at most one reservation per product (a retry after "busy, try again" keeps
    it), and only of one unit: a visitor, a forged form or a large quantity reserves nothing (it is
    only told "sold out" when that is already true, ``early_refusal``), so nobody can hold the
    stock of a sale by sending requests. ``request_key`` (the form's key): see ``placed_key``.

    Returns None to go on (reserved now or before, no counter to ask, Redis off or failing);
    SoldOutError/OutOfStockError when too few units are left and this key placed no order
    (``placed_key``). One Redis round trip (two when refused with a key that placed an order),
    no database work once the counter exists (building it reads the product once).
    """
    connection = client()
    if connection is None or _outage.active() or quantity != 1 or not member_id:
        return early_refusal(product_id=product_id, quantity=quantity, request_key=request_key)
    try:
        for _attempt in range(2):
            status, left_now = _script(settings.REDIS_URL, _RESERVE)(
                keys=_reservation_keys(product_id), args=[str(member_id), quantity, reservation_seconds() * 1000]
            )
            # No counter yet (the sale's first request, or it expired): build it from the database
            # stock (one product read; nothing for a product that is not a flash sale) and ask again.
            if status != -1 or not _rebuild(product_id):
                break
        if status != 0:
            return None
        if request_key and connection.sismember(f"{PLACED_PREFIX}{product_id}", request_key):
            return None
    except redis.RedisError as error:
        _redis_failed(error)
        return None
    return OutOfStockError(left=left_now) if left_now > 0 else SoldOutError()


def reserved(*, product_id: int, member_id: int | None) -> bool:
    """Whether the member holds a reservation of the product now (False without Redis)."""
    connection = client()
    if connection is None or not member_id or _outage.active():
        return False
    try:
        return bool(connection.hexists(_reservation_keys(product_id)[1], str(member_id)))
    except redis.RedisError as error:
        _redis_failed(error)
        return False


def unreserve(*, product_id: int, member_id: int | None) -> None:
    """Give the member's reservation of the product back to the gate, if it still holds one.

    For a request that reserved and then ended without a sale and without being told to come
    back (a refusal page, a bad form, an error): its unit is free again at once, not after the
    reservation's deadline. A sale has already claimed it (nothing to give back)."""
    if client() is None or not member_id or _outage.active():
        return
    try:
        claimed = _claim(product_id, member_id)
        if claimed:
            _run(_GIVE_BACK, key_for(product_id), claimed)
    except redis.RedisError as error:
        _redis_failed(error)


def _claim(product_id: int, member_id: int) -> int:
    return int(_script(settings.REDIS_URL, _CLAIM)(keys=_reservation_keys(product_id), args=[str(member_id)]))


def early_refusal(*, product_id: int, quantity: int, request_key: str = "") -> SoldOutError | OutOfStockError | None:
    """The refusal the gate alone can give a redeem request before anything else runs, or None.

    One Redis round trip (GET the counter and, with ``request_key``, ask whether that key placed
    an order of the product), no database work: what ``catalog.middleware`` asks before the
    session, the member or CSRF are looked at (issue #18). None when the gate has no say (no
    counter, Redis off or failing), when units are left, or when ``request_key`` (the member's
    form key, see ``placed_key``) already placed an order: the full path answers those. A
    forged key that matches another member's only sends the request down the full path,
    which refuses it there.
    """
    connection = client()
    if connection is None or _outage.active() or isinstance(quantity, bool) or quantity < 1:
        return None
    pipe = connection.pipeline(transaction=False)
    pipe.get(key_for(product_id))
    if request_key:
        pipe.sismember(f"{PLACED_PREFIX}{product_id}", request_key)
    try:
        answers = pipe.execute()
    except redis.RedisError as error:
        _redis_failed(error)
        return None
    value = answers[0]
    if value is None or int(value) >= quantity or (request_key and answers[1]):
        return None
    left_now = int(value)
    return OutOfStockError(left=left_now) if left_now > 0 else SoldOutError()


def take(*, product_id: int, quantity: int, member_id: int | None = None) -> Hold:
    """Take ``quantity`` units of a flash product from its counter, or refuse with SoldOutError/OutOfStockError.

    Does no database work when the counter exists. ``member_id``: units that member reserved on
    arrival (``reserve``) are claimed instead of taken again. For a product that is not a flash sale,
    with Redis off or unreachable, or for a quantity the database will refuse anyway, it
    returns an inactive hold and the database decides alone.
    """
    if client() is None or isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return Hold(product_id, quantity, active=False)
    if _outage.active():
        # Redis failed a moment ago: don't make every buyer wait for its timeout again.
        return Hold(product_id, quantity, active=False)
    key = key_for(product_id)
    try:
        claimed = _claim(product_id, member_id) if member_id else 0
        if claimed == quantity:
            return Hold(product_id, quantity, active=True)
        if claimed:
            _run(_GIVE_BACK, key, claimed)  # reserved for another quantity: back, and take afresh
        for _attempt in range(2):
            status, left = _run(_TAKE, key, quantity)
            if status == 1:
                return Hold(product_id, quantity, active=True)
            if status == 0:
                raise OutOfStockError(left=left) if left > 0 else SoldOutError()
            if not _rebuild(product_id):
                return Hold(product_id, quantity, active=False)
    except redis.RedisError as error:
        _redis_failed(error)
        return Hold(product_id, quantity, active=False)
    # The counter vanished right after it was rebuilt (expired or reset): let the database decide.
    return Hold(product_id, quantity, active=False)


def left(*, product_id: int) -> int | None:
    """The units the gate still lets through for a product (an int, may be 0), or None when it has no
    say: no counter (not a flash sale, or not built yet), Redis off, or Redis failing.

    One Redis GET, no database work and nothing written: what the redeem view asks before it
    reads anything else, so a sold-out burst is answered from Redis alone (issue #18). It does
    not build a missing counter; ``take`` does, on the way to a sale.
    """
    connection = client()
    if connection is None or _outage.active():
        return None
    try:
        value = connection.get(key_for(product_id))
    except redis.RedisError as error:
        _redis_failed(error)
        return None
    return None if value is None else int(value)


@contextmanager
def hold(*, product_id: int, quantity: int, member_id: int | None = None) -> Iterator[Hold]:
    """Hold units for the block (claiming ``member_id``'s reservation); they are given back when it
    ends unless ``keep()`` was called."""
    held = take(product_id=product_id, quantity=quantity, member_id=member_id)
    try:
        yield held
    finally:
        held.release()


def _move_counter(product_id: int, delta: int) -> None:
    try:
        _run(_GIVE_BACK, key_for(product_id), delta)
    except redis.RedisError:
        # The counter keeps its old value until it expires and is rebuilt from the database.
        logger.exception("flash gate: could not move the counter of product %s by %s", product_id, delta)


def stock_changed(*, product_id: int, delta: int) -> None:
    """The database stock of a product changed by ``delta`` (a restock, a correction, imported
    codes, a cancelled order's return, units taken outside a ``hold``): move its counter by the
    same amount once that commits. Called by ``catalog.services.stock`` only.

    Nothing happens if the transaction rolls back, nor for a product without a counter (it is
    built from the database when needed). Redemptions don't call this: they take their units
    from the counter before their transaction (``hold``). Safe without Redis (a no-op).
    """
    if client() is None or not delta:
        return
    after_commit(lambda: _move_counter(product_id, delta))


def stock_returned(*, product_id: int, quantity: int) -> None:
    """Stock went back into the database (a cancelled order): add it to the counter once that commits."""
    stock_changed(product_id=product_id, delta=quantity)


def product_changed(*, product_id: int) -> None:
    """A product's flash-sale setting changed: drop its counter once that commits.

    A product that stopped being a flash sale must not stay gated; one that became one gets
    its counter built from the database stock on the next attempt.
    """
    connection = client()
    if connection is None:
        return

    def drop() -> None:
        try:
            connection.delete(key_for(product_id))
        except redis.RedisError:
            logger.exception("flash gate: could not drop the counter of product %s", product_id)

    after_commit(drop)


@dataclass(frozen=True)
class CounterChange:
    product_id: int
    before: int | None  # None: there was no counter
    after: int | None  # None: the counter was removed (no longer a flash sale)


def reconcile(*, dry_run: bool = False) -> list[CounterChange]:
    """Set every flash product's counter to its database stock; drop counters of other products.

    For after a Redis restart (or a restore of an old snapshot). Safe to run during a sale:
    it can only over-count, which the database absorbs. Returns what changed (``dry_run``:
    what would change; nothing is written to Redis).
    """
    connection = client()
    if connection is None:
        return []
    changes: list[CounterChange] = []
    flash = dict(Product.objects.filter(flash_sale=True).order_by("pk").values_list("pk", "stock"))
    for product_id, stock in flash.items():
        before: object
        if dry_run:
            before = connection.get(key_for(product_id))
        else:
            before = connection.set(key_for(product_id), stock, ex=ttl_seconds(), get=True)
        before_value = int(before) if isinstance(before, (bytes, str, int)) else None
        if before_value != stock:
            changes.append(CounterChange(product_id, before_value, stock))
    for key in connection.scan_iter(match=f"{KEY_PREFIX}*", count=500):
        suffix = key.removeprefix(KEY_PREFIX)
        if suffix.isdigit() and int(suffix) not in flash:
            before = connection.get(key) if dry_run else connection.getdel(key)
            changes.append(CounterChange(int(suffix), int(before) if before is not None else None, None))
    return sorted(changes, key=lambda change: change.product_id)
