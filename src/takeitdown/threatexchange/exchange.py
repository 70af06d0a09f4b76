"""`TakeItDownSignalExchangeAPI`: the registry's feed as a python-threatexchange exchange.

The feed is a sequence of changes keyed by a stable `entry_id` (protocol.FeedEntry), so the
exchange keys its records by entry id, as the library's docs advise for APIs with deletes:

- `add` -> the record (hash, entry id, trust state);
- `remove` -> None (a deletion: every case holding the hash was withdrawn);
- `state` quarantined -> None; `state` back to unconfirmed/confirmed -> the record again.

One `FetchDelta` per feed page, in feed order, each with the checkpoint after that page, so a
fetch stopped anywhere resumes from the last stored page with nothing missing or twice (the
updates are keyed, so replaying a page the store did not keep is harmless).

A registry reset (a new `epoch`, a page whose `base` is not the stored `head`, or a cursor past
the end of the feed) cannot be answered by reading on: the stored records may name entries
the registry no longer has, and entry ids are random, so the exchange cannot list them. It
marks the checkpoint stale; the threatexchange CLI then clears the store and fetches from 0.

This module (and the rest of `takeitdown.threatexchange`) is the only place that imports
`threatexchange`. No `from __future__ import annotations` here: the CLI builds its options from
the config dataclass's real field types.
"""

import hashlib
import logging
import time
import typing as t
from dataclasses import dataclass, field

import httpx
from threatexchange.exchanges import auth, signal_exchange_api
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.signal_type.signal_base import SignalType

from takeitdown.hma.reporter import DecisionError, live_entry_ids, report_id_for, send_reports
from takeitdown.protocol import (
    FeedEntry,
    FeedPage,
    InvalidFeedEntry,
    Outcome,
    Problem,
    ProblemCode,
    Report,
    TrustState,
)
from takeitdown.threatexchange.signals import vpdq_signal_str

log = logging.getLogger("takeitdown.threatexchange")

API_NAME = "takeitdown"
RETRIES = 4  # attempts per request on a lost connection, 429 or 5xx

# Registry hash type -> the signal type names a record is indexed under. A feed md5 may be of
# a photo or a video (the feed does not say), so it goes to both; neither can match the other.
# The centred window hashes (pdq80, pdq70) are not carried: they match only through the node's
# sub-window search, and indexing them as whole-image PDQs is what the protocol forbids.
SIGNAL_NAMES: dict[str, tuple[str, ...]] = {
    "pdq": ("pdq",),
    "md5": ("photo_md5", "video_md5"),
    "vpdq": ("vpdq",),
}


@dataclass
class TakeItDownCollabConfig(CollaborationConfigBase):
    """One registry to read. `api` is always "takeitdown"."""

    registry_url: str = field(metadata={"help": "the registry's base URL, e.g. https://registry.example.org"})
    page_size: int = field(default=1000, metadata={"help": "feed entries per request (1 to 10000)"})


@dataclass
class TakeItDownCredentials(auth.CredentialHelper):
    """The platform's registry API key (`takeitdown registry platform add NAME` prints it)."""

    ENV_VARIABLE: t.ClassVar[str] = "TX_TAKEITDOWN_API_KEY"
    FILE_NAME: t.ClassVar[str] = "~/.tx_takeitdown_api_key"

    api_key: str = field(metadata={"help": "the platform API key (tdk_...)"})

    @classmethod
    def _from_str(cls, s: str) -> "TakeItDownCredentials":
        return cls(api_key=s.strip())

    def _are_valid(self) -> bool:
        key = self.api_key
        return bool(key) and len(key) <= 200 and key.isprintable() and not any(c.isspace() for c in key)


@dataclass
class TakeItDownCheckpoint(state.FetchCheckpointBase):
    """Where the fetch is: the feed cursor, and what tells a reset (epoch and running hash)."""

    cursor: int = 0
    epoch: str | None = None
    head: str | None = None
    stale: bool = False  # the registry was reset: clear everything fetched, fetch again

    def is_stale(self) -> bool:
        return self.stale


@dataclass
class TakeItDownRecord(state.FetchedSignalMetadata):
    """One registry entry: its hash, its stable entry id (for reports) and its trust state."""

    entry_id: int
    hash_type: str  # the registry's type: pdq, md5 or vpdq
    signal: str  # pdq hex, md5 hex, or the vPDQ extension's signal string
    trust: str = TrustState.UNCONFIRMED.value
    quality: int | None = None

    def get_as_opinions(self) -> t.Sequence[state.SignalOpinion]:
        # Unconfirmed entries come from anonymous submissions: a seed for review, not a verdict.
        category = (
            state.SignalOpinionCategory.POSITIVE_CLASS
            if self.trust == TrustState.CONFIRMED
            else state.SignalOpinionCategory.INVESTIGATION_SEED
        )
        return [state.SignalOpinion(False, category, {f"takeitdown:{self.trust}"})]

    def __str__(self) -> str:
        return f"{self.get_as_aggregate_opinion().category.name} entry_id={self.entry_id} trust={self.trust}"


@dataclass
class TakeItDownOpinion(state.SignalOpinion):
    """A SignalOpinion that can name the entry, the piece of content, and a precise outcome.

    With a plain SignalOpinion the exchange finds the entry id by reading the feed (slow on a
    large list) and reports POSITIVE_CLASS as match_found, NEGATIVE_CLASS as false_positive.
    """

    entry_id: int | None = None
    content_ref: str | None = None
    outcome: str | None = None  # an Outcome value (removed, upload_blocked, ...) to send instead


Delta = state.FetchDelta[int, TakeItDownRecord, TakeItDownCheckpoint]


class RegistryError(Exception):
    """The registry could not be read or refused a request; the message says why."""


class RegistryClient:
    """The few registry calls the exchange makes, with retries on a lost connection."""

    def __init__(self, base_url: str, api_key: str, transport: httpx.BaseTransport | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"registry_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "takeitdown-threatexchange"},
            timeout=60,
            transport=transport,
        )

    def _request(self, method: str, path: str, **kwargs: t.Any) -> httpx.Response:
        delay = 0.5
        for attempt in range(RETRIES):
            try:
                r = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == RETRIES - 1:
                    raise RegistryError(f"registry unreachable at {self.base_url}: {exc}") from exc
            else:
                if r.status_code in (401, 403):
                    raise RegistryError(
                        f"the registry refused the API key (HTTP {r.status_code}); check "
                        f"{TakeItDownCredentials.ENV_VARIABLE} or {TakeItDownCredentials.FILE_NAME}"
                    )
                if r.status_code != 429 and r.status_code < 500 or attempt == RETRIES - 1:
                    return r
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def feed_page(self, after: int, limit: int) -> FeedPage | None:
        """One page after `after`, or None when the cursor is past the end (a reset)."""
        r = self._request("GET", "/v1/feed", params={"after": after, "limit": limit})
        if r.status_code == 400:
            problem = Problem.parse(400, _json_or_none(r))
            if problem.code == ProblemCode.FEED_CURSOR_PAST_END or "past the end" in problem.detail:
                return None
        if r.status_code != 200:
            raise RegistryError(f"feed read failed: HTTP {r.status_code}: {_detail(r)}")
        try:
            return FeedPage.parse(r.json())
        except (ValueError, InvalidFeedEntry) as exc:
            raise RegistryError(f"unreadable feed page after {after}: {exc}") from exc

    def post_reports(self, reports: t.Sequence[Report]) -> dict[str, t.Any]:
        try:
            return send_reports(self.http, list(reports))
        except (DecisionError, httpx.HTTPError) as exc:
            raise RegistryError(f"reports not sent: {exc}") from exc


def _json_or_none(r: httpx.Response) -> t.Any:
    try:
        return r.json()
    except ValueError:
        return None


def _detail(r: httpx.Response) -> str:
    return Problem.parse(r.status_code, _json_or_none(r)).detail


def label_content_ref(signal_type_name: str, signal: str) -> str:
    """The content reference of an opinion that names no piece of content (`threatexchange label`).

    The registry counts each (platform, piece of content, outcome) once and requires a reference;
    a label is about the signal itself, so labelling the same signal twice counts once.
    """
    digest = hashlib.sha256(f"{signal_type_name}:{signal}".encode()).hexdigest()[:32]
    return f"tx-label:{digest}"


def record_for(entry: FeedEntry) -> TakeItDownRecord | None:
    """The stored value for one feed entry: a record, or None for a deletion."""
    if entry.op == "remove" or entry.trust == TrustState.QUARANTINED or entry.type not in SIGNAL_NAMES:
        return None
    trust = (entry.trust or TrustState.UNCONFIRMED).value
    if entry.type == "vpdq":
        if entry.frames is None:  # a vPDQ `state` entry carries no frames: nothing to rebuild from
            return None
        return TakeItDownRecord(entry.entry_id, "vpdq", vpdq_signal_str(entry.frames), trust)
    return TakeItDownRecord(entry.entry_id, entry.type, entry.value, trust, entry.quality)


def is_reset(checkpoint: TakeItDownCheckpoint, page: FeedPage) -> bool:
    """True when the page is not the continuation of what the checkpoint has seen."""
    if page.epoch is not None and checkpoint.epoch is not None and page.epoch != checkpoint.epoch:
        return True
    return (
        checkpoint.cursor > 0
        and page.base is not None
        and checkpoint.head is not None
        and page.base != checkpoint.head
    )


class TakeItDownSignalExchangeAPI(
    auth.SignalExchangeWithAuth[TakeItDownCollabConfig, TakeItDownCredentials],
    signal_exchange_api.SignalExchangeAPI[
        TakeItDownCollabConfig, TakeItDownCheckpoint, TakeItDownRecord, int, TakeItDownRecord
    ],
):
    """Read a Take It Down registry's feed; report outcomes back."""

    def __init__(self, collab: TakeItDownCollabConfig, client: RegistryClient) -> None:
        self.collab = collab
        self.client = client

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> type[TakeItDownCollabConfig]:
        return TakeItDownCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> type[TakeItDownCheckpoint]:
        return TakeItDownCheckpoint

    @staticmethod
    def get_record_cls() -> type[TakeItDownRecord]:
        return TakeItDownRecord

    @staticmethod
    def get_credential_cls() -> type[TakeItDownCredentials]:
        return TakeItDownCredentials

    @classmethod
    def for_collab(
        cls, collab: TakeItDownCollabConfig, credentials: TakeItDownCredentials | None = None
    ) -> "TakeItDownSignalExchangeAPI":
        credentials = credentials or TakeItDownCredentials.get(cls)
        return cls(collab, RegistryClient(collab.registry_url, credentials.api_key))

    # -- fetching ----------------------------------------------------------------------------

    def fetch_iter(
        self,
        supported_signal_types: t.Sequence[type[SignalType]],
        checkpoint: TakeItDownCheckpoint | None,
    ) -> t.Iterator[Delta]:
        ckpt = checkpoint or TakeItDownCheckpoint()
        limit = max(1, min(int(self.collab.page_size), 10_000))
        while True:
            page = self.client.feed_page(ckpt.cursor, limit)
            if page is None or is_reset(ckpt, page):
                log.warning(
                    "%s: the registry was reset or restored (cursor %d): what was fetched must be "
                    "cleared and fetched again (the threatexchange CLI does so on its next fetch; "
                    "HMA does not: see docs/hma.md)",
                    self.collab.name,
                    ckpt.cursor,
                )
                yield state.FetchDelta({}, TakeItDownCheckpoint(stale=True))
                return
            if page.more and page.next <= ckpt.cursor:  # would read the same page forever
                raise RegistryError(
                    f"the feed did not advance past {ckpt.cursor} although it says there is more"
                )
            updates = self._apply(page)
            previous = ckpt.cursor
            ckpt = TakeItDownCheckpoint(
                cursor=page.next,
                epoch=page.epoch if page.epoch is not None else ckpt.epoch,
                head=page.head,
            )
            if updates or page.next != previous:
                yield state.FetchDelta(updates, ckpt)
            if not page.more:
                return

    def _apply(self, page: FeedPage) -> dict[int, TakeItDownRecord | None]:
        updates: dict[int, TakeItDownRecord | None] = {}
        for raw in page.entries:
            try:
                entry = FeedEntry.parse(raw)
            except InvalidFeedEntry as exc:  # one bad item must not stop the list: log and skip it
                seq = raw.get("seq") if isinstance(raw, dict) else None
                log.warning("%s: skipping feed item seq=%r: %s", self.collab.name, seq, exc)
                continue
            if entry.op == "state" and entry.type == "vpdq" and entry.trust != TrustState.QUARANTINED:
                continue  # no frames on a state entry: keep what is stored rather than erase it
            updates.pop(entry.entry_id, None)  # later entries of the page win, in page order
            updates[entry.entry_id] = record_for(entry)
        return updates

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: t.Sequence[type[SignalType]],
        collab: TakeItDownCollabConfig,
        fetched: t.Mapping[int, TakeItDownRecord | None],
    ) -> dict[type[SignalType], dict[str, TakeItDownRecord]]:
        by_name = {st.get_name(): st for st in signal_types}
        out: dict[type[SignalType], dict[str, TakeItDownRecord]] = {}
        for record in fetched.values():
            if record is None or record.trust == TrustState.QUARANTINED:
                continue
            for name in SIGNAL_NAMES.get(record.hash_type, ()):
                st = by_name.get(name)
                if st is not None:
                    out.setdefault(st, {})[record.signal] = record
        return out

    # -- reporting ---------------------------------------------------------------------------

    def report_opinion(self, s_type: type[SignalType], signal: str, opinion: state.SignalOpinion) -> None:
        """True positive -> match_found, false positive -> false_positive (or the opinion's outcome)."""
        extra = opinion if isinstance(opinion, TakeItDownOpinion) else None
        if extra is not None and extra.outcome is not None:
            outcome = Outcome(extra.outcome)
        elif opinion.category == state.SignalOpinionCategory.POSITIVE_CLASS:
            outcome = Outcome.MATCH_FOUND
        elif opinion.category == state.SignalOpinionCategory.NEGATIVE_CLASS:
            outcome = Outcome.FALSE_POSITIVE
        else:
            raise ValueError("an investigation seed is not an outcome; report a true or a false positive")
        entry_id = extra.entry_id if extra is not None and extra.entry_id else None
        if entry_id is None:
            entry_id = self.find_entry_id(s_type.get_name(), signal)
        if entry_id is None:
            raise KeyError(f"no active {s_type.get_name()} entry on the registry's feed has that hash")
        content_ref = extra.content_ref if extra is not None and extra.content_ref else None
        if content_ref is None:
            content_ref = label_content_ref(s_type.get_name(), signal)
        report = Report(report_id_for(entry_id, outcome, content_ref), entry_id, outcome, content_ref)
        result = self.client.post_reports([report])
        if result.get("rejected"):
            raise ValueError(f"the registry rejected the report: {result['rejected'][0].get('reason')}")

    def find_entry_id(self, signal_type_name: str, signal: str) -> int | None:
        """The entry id of an active entry with this hash, by reading the whole feed (slow)."""

        def key_of(entry: FeedEntry) -> tuple[str, str]:
            value = vpdq_signal_str(entry.frames) if entry.frames is not None else entry.value
            return (entry.type, value)

        wanted = {(t, signal) for t, names in SIGNAL_NAMES.items() if signal_type_name in names}
        found = live_entry_ids(lambda after: self.client.feed_page(after, 10_000), wanted, key_of)
        return max(found.values(), default=None)
