from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusReply(_message.Message):
    __slots__ = ("magic", "map_version", "map_hash", "build", "daemon_version", "device", "clock", "watchdog", "kill", "limits_version", "uptime_s", "role", "held", "degraded", "watchdog_trip", "recovery")
    MAGIC_FIELD_NUMBER: _ClassVar[int]
    MAP_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAP_HASH_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    WATCHDOG_FIELD_NUMBER: _ClassVar[int]
    KILL_FIELD_NUMBER: _ClassVar[int]
    LIMITS_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    WATCHDOG_TRIP_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_FIELD_NUMBER: _ClassVar[int]
    magic: int
    map_version: int
    map_hash: int
    build: int
    daemon_version: str
    device: str
    clock: ClockReply
    watchdog: WatchdogState
    kill: KillState
    limits_version: int
    uptime_s: float
    role: str
    held: str
    degraded: str
    watchdog_trip: str
    recovery: RecoveryState
    def __init__(self, magic: _Optional[int] = ..., map_version: _Optional[int] = ..., map_hash: _Optional[int] = ..., build: _Optional[int] = ..., daemon_version: _Optional[str] = ..., device: _Optional[str] = ..., clock: _Optional[_Union[ClockReply, _Mapping]] = ..., watchdog: _Optional[_Union[WatchdogState, _Mapping]] = ..., kill: _Optional[_Union[KillState, _Mapping]] = ..., limits_version: _Optional[int] = ..., uptime_s: _Optional[float] = ..., role: _Optional[str] = ..., held: _Optional[str] = ..., degraded: _Optional[str] = ..., watchdog_trip: _Optional[str] = ..., recovery: _Optional[_Union[RecoveryState, _Mapping]] = ...) -> None: ...

class RecoveryState(_message.Message):
    __slots__ = ("configured", "state", "gaps", "filled_by_other_feed", "recovered", "abandoned", "messages_rerequested", "snapshots", "pending", "stale_locates", "last")
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    FILLED_BY_OTHER_FEED_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    ABANDONED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_REREQUESTED_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    STALE_LOCATES_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    configured: bool
    state: str
    gaps: int
    filled_by_other_feed: int
    recovered: int
    abandoned: int
    messages_rerequested: int
    snapshots: int
    pending: int
    stale_locates: _containers.RepeatedScalarFieldContainer[int]
    last: str
    def __init__(self, configured: _Optional[bool] = ..., state: _Optional[str] = ..., gaps: _Optional[int] = ..., filled_by_other_feed: _Optional[int] = ..., recovered: _Optional[int] = ..., abandoned: _Optional[int] = ..., messages_rerequested: _Optional[int] = ..., snapshots: _Optional[int] = ..., pending: _Optional[int] = ..., stale_locates: _Optional[_Iterable[int]] = ..., last: _Optional[str] = ...) -> None: ...

class WatchdogState(_message.Message):
    __slots__ = ("timeout_cycles", "tripped", "heartbeats_sent", "last_heartbeat_age_s", "interval_s")
    TIMEOUT_CYCLES_FIELD_NUMBER: _ClassVar[int]
    TRIPPED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEATS_SENT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_AGE_S_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    timeout_cycles: int
    tripped: bool
    heartbeats_sent: int
    last_heartbeat_age_s: float
    interval_s: float
    def __init__(self, timeout_cycles: _Optional[int] = ..., tripped: _Optional[bool] = ..., heartbeats_sent: _Optional[int] = ..., last_heartbeat_age_s: _Optional[float] = ..., interval_s: _Optional[float] = ...) -> None: ...

class KillState(_message.Message):
    __slots__ = ("accounts_mask", "engaged", "accounts")
    GLOBAL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_MASK_FIELD_NUMBER: _ClassVar[int]
    ENGAGED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts_mask: int
    engaged: bool
    accounts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, accounts_mask: _Optional[int] = ..., engaged: _Optional[bool] = ..., accounts: _Optional[_Iterable[str]] = ..., **kwargs) -> None: ...

class Counter(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: int
    def __init__(self, name: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...

class CountersRequest(_message.Message):
    __slots__ = ("prefix", "interval_ms", "count")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    interval_ms: int
    count: int
    def __init__(self, prefix: _Optional[str] = ..., interval_ms: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class CountersReply(_message.Message):
    __slots__ = ("counters", "timestamp")
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    counters: _containers.RepeatedCompositeFieldContainer[Counter]
    timestamp: float
    def __init__(self, counters: _Optional[_Iterable[_Union[Counter, _Mapping]]] = ..., timestamp: _Optional[float] = ...) -> None: ...

class LimitsReply(_message.Message):
    __slots__ = ("version", "text", "source", "summary_json")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    version: int
    text: str
    source: str
    summary_json: str
    def __init__(self, version: _Optional[int] = ..., text: _Optional[str] = ..., source: _Optional[str] = ..., summary_json: _Optional[str] = ...) -> None: ...

class LoadLimitsRequest(_message.Message):
    __slots__ = ("text", "filename", "dry_run", "has_expected_version", "expected_version")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    HAS_EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    text: str
    filename: str
    dry_run: bool
    has_expected_version: bool
    expected_version: int
    def __init__(self, text: _Optional[str] = ..., filename: _Optional[str] = ..., dry_run: _Optional[bool] = ..., has_expected_version: _Optional[bool] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SetLimitRequest(_message.Message):
    __slots__ = ("kind", "name", "field", "value", "dry_run", "has_expected_version", "expected_version", "create")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    HAS_EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    field: str
    value: str
    dry_run: bool
    has_expected_version: bool
    expected_version: int
    create: bool
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., field: _Optional[str] = ..., value: _Optional[str] = ..., dry_run: _Optional[bool] = ..., has_expected_version: _Optional[bool] = ..., expected_version: _Optional[int] = ..., create: _Optional[bool] = ...) -> None: ...

class LimitsChange(_message.Message):
    __slots__ = ("applied", "version", "diff")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    version: int
    diff: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, applied: _Optional[bool] = ..., version: _Optional[int] = ..., diff: _Optional[_Iterable[str]] = ...) -> None: ...

class KillRequest(_message.Message):
    __slots__ = ("engage", "account")
    ENGAGE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    engage: bool
    account: str
    def __init__(self, engage: _Optional[bool] = ..., account: _Optional[str] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("locate", "slot", "unsubscribe", "symbol")
    LOCATE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    locate: int
    slot: int
    unsubscribe: bool
    symbol: str
    def __init__(self, locate: _Optional[int] = ..., slot: _Optional[int] = ..., unsubscribe: _Optional[bool] = ..., symbol: _Optional[str] = ...) -> None: ...

class SubscriptionsReply(_message.Message):
    __slots__ = ("subscriptions",)
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("locate", "slot", "symbol")
    LOCATE_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    locate: int
    slot: int
    symbol: str
    def __init__(self, locate: _Optional[int] = ..., slot: _Optional[int] = ..., symbol: _Optional[str] = ...) -> None: ...

class BookRequest(_message.Message):
    __slots__ = ("symbol", "depth", "interval_ms", "count")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    depth: int
    interval_ms: int
    count: int
    def __init__(self, symbol: _Optional[str] = ..., depth: _Optional[int] = ..., interval_ms: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class Level(_message.Message):
    __slots__ = ("price", "qty", "orders")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    price: int
    qty: int
    orders: int
    def __init__(self, price: _Optional[int] = ..., qty: _Optional[int] = ..., orders: _Optional[int] = ...) -> None: ...

class BookReply(_message.Message):
    __slots__ = ("symbol", "slot", "bids", "asks", "unreliable", "halted", "timestamp")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    UNRELIABLE_FIELD_NUMBER: _ClassVar[int]
    HALTED_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    slot: int
    bids: _containers.RepeatedCompositeFieldContainer[Level]
    asks: _containers.RepeatedCompositeFieldContainer[Level]
    unreliable: bool
    halted: bool
    timestamp: float
    def __init__(self, symbol: _Optional[str] = ..., slot: _Optional[int] = ..., bids: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., unreliable: _Optional[bool] = ..., halted: _Optional[bool] = ..., timestamp: _Optional[float] = ...) -> None: ...

class ClockRequest(_message.Message):
    __slots__ = ("sec", "ns", "step_ns", "ppb")
    SEC_FIELD_NUMBER: _ClassVar[int]
    NS_FIELD_NUMBER: _ClassVar[int]
    STEP_NS_FIELD_NUMBER: _ClassVar[int]
    PPB_FIELD_NUMBER: _ClassVar[int]
    sec: int
    ns: int
    step_ns: int
    ppb: float
    def __init__(self, sec: _Optional[int] = ..., ns: _Optional[int] = ..., step_ns: _Optional[int] = ..., ppb: _Optional[float] = ...) -> None: ...

class ClockReply(_message.Message):
    __slots__ = ("sec", "ns", "period", "ppb")
    SEC_FIELD_NUMBER: _ClassVar[int]
    NS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PPB_FIELD_NUMBER: _ClassVar[int]
    sec: int
    ns: int
    period: int
    ppb: float
    def __init__(self, sec: _Optional[int] = ..., ns: _Optional[int] = ..., period: _Optional[int] = ..., ppb: _Optional[float] = ...) -> None: ...

class RawRead(_message.Message):
    __slots__ = ("addr", "count")
    ADDR_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    addr: int
    count: int
    def __init__(self, addr: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class RawWords(_message.Message):
    __slots__ = ("words",)
    WORDS_FIELD_NUMBER: _ClassVar[int]
    words: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, words: _Optional[_Iterable[int]] = ...) -> None: ...
