"""The hot reads (lims/api/rows.py) answer exactly what DRF answers: the same status, bytes and headers.

A hot read answers some of the API's most used GETs from ``values_list`` rows with SQL compiled once, instead of
DRF's request cycle (authentication, permissions, filter backends, paginator over a queryset, serializer,
renderer). It is only right if no client can tell the difference, so every request here is made twice with the
same client: once with ``lims.api.rows.ENABLED = True`` and once with it ``False`` (DRF's own path), and the two
answers are compared whole: the status code, the body bytes, every response header, and the cookies set.

Equal answers prove nothing if both came from DRF, so every request is also traced: a wrapper around
``HotReadsMixin._hot_response`` counts the answers the hot path gave and the requests it handed on, and a wrapper
around DRF's ``APIView.initial`` counts DRF request cycles. A plain GET of each hot endpoint by a person with a
team (by token or session, a viewer, staff, a member of two teams) must be answered by the hot path; a request
the hot path must not answer (another parameter, format or Accept header, a page it does not hold, a failed or
missing sign-in, an instrument, a person without a team, another team's record) must go through DRF, and
still answer the same both ways.

The data are a small generated lab (``generate_lab``) of two teams, so that the team scope matters, plus what
the generator does not make: lots in storage locations nested up to 11 levels (the hot path prints at most 4 and
hands deeper ones to DRF), a lot with a certificate file, an upload without a measurement or a cell, a derived
property whose name a URL must quote, ledger draws with a reason for each team's batch, and the people who ask
(27 kinds of requester, from a researcher's token to an instrument's). The ledger shows a draw for a team's
record blanked to anyone outside that team but staff, on either path. The lab is built once for the module, in a
transaction rolled back at its end; each test runs in a savepoint of it.

Every test collects all the differences and wrong paths it finds and fails with the full list, so one run shows
each request that answers differently, with both answers.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.views import APIView

from lims.api import rows
from lims.api.rows import HotReadsMixin
from lims.management.commands.generate_lab import Counts, generate_lab

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CELLS = "/api/v1/cells/"
LOTS = "/api/v1/lots/"
LEDGER = "/api/v1/stock-transactions/"
UPLOADS = "/api/v1/uploads/"
MEASUREMENTS = "/api/v1/measurements/"
DERIVED = "/api/v1/derived-properties/"


# --------------------------------------------------------------------------------------------- tracing the paths
@dataclass
class Trace:
    """What answered the requests since the last ``reset``."""

    hot: int = 0  # answers given by the hot path
    handed_on: int = 0  # requests the hot path gave to DRF (NotHot, or an APIException of DRF's paginator)
    drf: int = 0  # DRF request cycles (APIView.initial)

    def reset(self) -> None:
        self.hot = self.handed_on = self.drf = 0

    def path(self) -> str:
        """ "hot" or "drf" for one request; anything else (both, neither, twice) is reported as it is."""
        if (self.hot, self.drf) == (1, 0):
            return "hot"
        if (self.hot, self.drf) == (0, 1):
            return "drf"
        return f"hot={self.hot} handed_on={self.handed_on} drf={self.drf}"


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trace]:
    seen = Trace()
    hot_response = HotReadsMixin._hot_response
    initial = APIView.initial

    def counted_hot_response(self: Any, request: Any, kwargs: Any) -> Any:
        try:
            response = hot_response(self, request, kwargs)
        except BaseException:
            seen.handed_on += 1
            raise
        seen.hot += 1
        return response

    def counted_initial(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.drf += 1
        return initial(self, request, *args, **kwargs)

    monkeypatch.setattr(HotReadsMixin, "_hot_response", counted_hot_response)
    monkeypatch.setattr(APIView, "initial", counted_initial)
    yield seen
    rows.ENABLED = True


# --------------------------------------------------------------------------------------------- one answer
#: the browsable API's forms carry a CSRF token masked afresh for every response (a random value by design)
_MASKED_CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=|"csrfToken": )"[A-Za-z0-9]+"')


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    #: name -> the cookie's attributes (path, max-age, samesite, ...), without its value and expiry time
    cookies: dict[str, dict[str, str]]

    def short(self) -> str:
        return f"{self.status} {self.headers} {self.cookies} {self.body[:400]!r}"


def _answer(response: Any) -> Answer:
    body = response.content
    if response.headers.get("Content-Type", "").startswith("text/html"):
        body = _MASKED_CSRF.sub(rb'\1"<masked CSRF token>"', body)
    # A cookie set by the response (the CSRF cookie of the browsable API) holds a new random secret each time and
    # an expiry computed from the clock: compare which cookies are set and how, not these two values.
    cookies = {
        name: {k: str(v) for k, v in morsel.items() if v and k != "expires"}
        for name, morsel in response.cookies.items()
    }
    return Answer(response.status_code, body, dict(response.headers.items()), cookies)


# --------------------------------------------------------------------------------------------- who asks
@dataclass
class Asker:
    """A requester: a client (with a session or none) and the headers it sends; ``hot`` whether its plain reads
    are the hot path's; ``teams`` the teams whose records it reads (None: every team, staff)."""

    name: str
    client: Client
    headers: dict[str, str] = field(default_factory=dict)
    hot: bool = True
    teams: set[int] | None = field(default_factory=set)

    def sees(self, team_id: int | None) -> bool:
        return team_id is not None and (self.teams is None or team_id in self.teams)


Expect = str | Callable[[Answer], str] | None


@dataclass
class Compared:
    """Every pair of answers compared, and what went wrong."""

    trace: Trace
    count: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    wrong_path: list[str] = field(default_factory=list)

    def both_ways(self, asker: Asker, url: str, expect: Expect = None, **headers: str) -> Answer:
        """GET ``url`` as ``asker`` with the hot reads on, then off; record a difference of the answers and a
        request not answered by the path expected ("hot" or "drf", or a function of the answer that says which;
        None: not checked). The client's cookies are put back before the second request, so that both start
        from the same state."""
        client = asker.client
        meta = {**asker.headers, **headers}
        cookies = {name: morsel.value for name, morsel in client.cookies.items()}
        try:
            rows.ENABLED = True
            self.trace.reset()
            hot = _answer(client.get(url, **meta))  # type: ignore[arg-type]
            path = self.trace.path()
            rows.ENABLED = False
            client.cookies = SimpleCookie(cookies)
            self.trace.reset()
            drf = _answer(client.get(url, **meta))  # type: ignore[arg-type]
            off = self.trace.path()
        finally:
            rows.ENABLED = True
            client.cookies = SimpleCookie(cookies)  # as before the pair: the next pair starts the same
        where = f"GET {url} as {asker.name} {headers or ''}"
        self.count += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1
        if off != "drf":
            self.wrong_path.append(f"{where}: with ENABLED = False answered by {off}")
        expected = expect(drf) if callable(expect) else expect
        if expected is not None and path != expected:
            self.wrong_path.append(f"{where}: answered by {path}, expected {expected} (status {hot.status})")
        if hot != drf:
            self.differences.append(
                f"{where} (answered by {path}):\n  hot: {hot.short()}\n  drf: {drf.short()}"
            )
        return hot

    def check(self) -> None:
        assert self.differences == [], "\n".join(self.differences)
        assert self.wrong_path == [], "\n".join(self.wrong_path)


@pytest.fixture
def compared(trace: Trace) -> Compared:
    return Compared(trace)


# --------------------------------------------------------------------------------------------- the lab
@dataclass
class Lab:
    team: Any
    other_team: Any
    askers: dict[str, Asker]
    cells: dict[str, Any]  # what each kind of cell is: "membrane", "pellet", "cathode", "other team"
    uploads: dict[str, Any]
    lots: dict[str, Any]
    derived_name: str  # a name with several pages of the team's derived properties
    odd_name: str  # a derived property's name a URL must quote
    people: dict[str, Any]


def _token(user: Any, name: str = "hot reads", scope: str = "user") -> dict[str, str]:
    from lims.models import ApiToken

    _, key = ApiToken.issue(user=user, name=name, scope=scope)
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def _session(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _person(username: str, team: Any = None, role: str = "", **extra: Any) -> Any:
    from lims.models import Membership, User

    user = User.objects.create_user(username=username, password=f"pw-{username}", **extra)
    if team is not None:
        Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture(scope="module")
def lab(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """The lab, built once for the module in a transaction that is rolled back after its last test: each test
    runs in a savepoint of it (pytest-django's ``django_db``), so what a test changes (a token's
    ``last_used_at``) is undone before the next. Generating the lab is most of the module's time."""
    from django.db import transaction
    from django.test import override_settings

    outer = transaction.atomic()
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        outer.__enter__()
        try:
            built = _build_lab()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _build_lab() -> Lab:
    from django.core.files.base import ContentFile

    from cells.models import Cell
    from formulations.models import Batch, LocationKind, LotStatus
    from formulations.services import inventory
    from lims.models import ApiToken, Team
    from measurements.models import DerivedProperty, Upload
    from measurements.services import ingest

    team = Team.objects.create(name="Hot reads group", slug="hot")
    other_team = Team.objects.create(name="Hot reads other group", slug="hot-other")
    researcher = _person("hr-rita", team, "researcher")
    viewer = _person("hr-vera", team, "viewer")
    manager = _person("hr-max", team, "manager")
    staff = _person("hr-stan", is_staff=True, is_superuser=True)
    outsider = _person("hr-otto", other_team, "researcher")
    generate_lab(
        Counts.uniform(60), seed=5, tag="h", teams=[team, other_team], members=[researcher, outsider]
    )

    # storage 11 levels deep (the most save_location allows); lots at levels 4 (printed by the hot path), 5, 7
    # and 11 (handed to DRF); the deep ones received long ago (the last page of the list) and quarantined
    salt = inventory.create_chemical(actor=researcher, name="Hot reads salt", abbreviation="HRS")
    parent = None
    levels = []
    for depth in range(1, 12):
        parent = inventory.save_location(
            actor=researcher, name=f"Level {depth}", kind=LocationKind.SHELF, parent=parent
        )
        levels.append(parent)
    lots = {
        "level 4": inventory.receive_lot(chemical=salt, quantity="4 g", actor=researcher, location=levels[3])
    }
    for depth in (5, 7, 11):
        lots[f"level {depth}"] = inventory.receive_lot(
            chemical=salt,
            quantity=f"{depth} g",
            actor=researcher,
            location=levels[depth - 1],
            received_on=date(2001, 1, depth),
            status=LotStatus.QUARANTINE,
        )
    certified = inventory.receive_lot(chemical=salt, quantity="3 g", actor=researcher)
    certified.certificate.save("coa.pdf", ContentFile(b"%PDF-1.4 certificate"))
    lots["certificate"] = certified

    # draws whose reason, purpose and batch name a team's batch (the generator's draws have no reason)
    for who, owner in ((researcher, team), (outsider, other_team)):
        batch = Batch.objects.filter(team=owner).order_by("id").first()
        assert batch is not None
        inventory.consume_from_lot(
            lot=certified, amount="0.1 g", actor=who, reason=f"top-up of {batch.code}",
            purpose=f"salt for {batch.code}", batch=batch,
        )  # fmt: skip

    # cells of every kind (the generator makes them: this only names one of each)
    own = Cell.objects.filter(team=team)
    cells = {
        "membrane": own.filter(membrane__isnull=False).order_by("id").first(),
        "pellet": own.filter(pellet__isnull=False).order_by("id").first(),
        "cathode": own.filter(cathode__isnull=False).order_by("id").first(),
        "other team": Cell.objects.filter(team=other_team).order_by("id").first(),
    }
    assert all(cells.values()), cells

    # an upload waiting to be parsed, of a membrane (no cell, no measurement)
    generated = Upload.objects.filter(team=team).order_by("id").first()
    assert generated is not None and cells["membrane"] is not None
    waiting = Upload.objects.create(
        team=team,
        sha256="0" * 64,
        raw_file="raw/00/waiting.mpr",
        original_name="waiting.mpr",
        size_bytes=10,
        membrane=cells["membrane"].membrane,
        uploaded_by=researcher,
        created_by=researcher,
    )
    uploads = {
        "done": generated,
        "waiting": waiting,
        "other team": Upload.objects.filter(team=other_team).order_by("id").first(),
    }

    counts: dict[str, int] = {}
    for name in DerivedProperty.objects.filter(team=team).values_list("name", flat=True):
        counts[name] = counts.get(name, 0) + 1
    derived_name = max(counts, key=counts.__getitem__)
    # a name with blanks, a plus, an ampersand and non-ASCII letters, on four properties of the team's
    odd_name = "σ bulk + grain & 25 °C"
    for k, row in enumerate(DerivedProperty.objects.filter(team=team).order_by("id")[:4]):
        DerivedProperty.objects.create(
            team=team, subject_key=row.subject_key, name=odd_name, value=1.5 + k, unit="mS/cm",
            method="manual", method_version="1", measurement=row.measurement, cell=row.cell,
            membrane=row.membrane, pellet=row.pellet, temperature=row.temperature, created_by=researcher,
        )  # fmt: skip

    # the people who ask
    from lims.models import Membership

    mixed = _person("hr-mia", team, "viewer")
    Membership.objects.create(user=mixed, team=other_team, role="researcher")
    loner = _person("hr-lou")
    third = Team.objects.create(name="Hot reads new group", slug="hot-new")
    newcomer = _person("hr-nia", third, "researcher")
    gone = _person("hr-gil", team, "researcher")
    gone_token = _token(gone)
    gone_session = _session(gone)
    gone.is_active = False
    gone.save()
    revoked, revoked_key = ApiToken.issue(user=researcher, name="lost laptop")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=revoked.created_at)
    instrument = ingest.create_instrument(actor=manager, team=team, name="Hot reads VMP3", make="BioLogic")
    _, instrument_key = ingest.issue_instrument_token(actor=manager, instrument=instrument, name="lab PC")
    # what the instrument uploaded itself (its token reads the status of that, and of nothing else)
    uploads["instrument's"] = Upload.objects.create(
        team=team,
        sha256="1" * 64,
        raw_file="raw/11/from-the-vmp3.mpr",
        original_name="from the VMP3.mpr",
        size_bytes=12,
        cell=cells["membrane"],
        instrument=instrument,
        uploaded_by=instrument.service_user,
        created_by=instrument.service_user,
    )
    _, bearer_key = ApiToken.issue(user=researcher, name="bearer")

    ours, theirs = {team.pk}, {other_team.pk}
    askers = [
        Asker("researcher (token)", Client(), _token(researcher), teams=ours),
        Asker(
            "researcher (Bearer token)", Client(), {"HTTP_AUTHORIZATION": f"Bearer {bearer_key}"}, teams=ours
        ),
        Asker(
            "researcher (lower-case 'token')",
            Client(),
            {"HTTP_AUTHORIZATION": f"token {bearer_key}"},
            teams=ours,
        ),
        Asker("researcher (session)", _session(researcher), teams=ours),
        Asker("viewer (token)", Client(), _token(viewer), teams=ours),
        Asker("manager (session)", _session(manager), teams=ours),
        Asker("staff (token)", Client(), _token(staff), teams=None),
        Asker("staff (session)", _session(staff), teams=None),
        Asker("member of two teams (token)", Client(), _token(mixed), teams=ours | theirs),
        Asker("member of two teams (session)", _session(mixed), teams=ours | theirs),
        Asker(
            "outsider's session with the researcher's token",
            _session(outsider),
            _token(researcher),
            teams=ours,
        ),
        Asker("member of a team without records (token)", Client(), _token(newcomer), teams={third.pk}),
        Asker("outsider (token)", Client(), _token(outsider), teams=theirs),
        Asker("outsider (session)", _session(outsider), teams=theirs),
        Asker("person without a team (token)", Client(), _token(loner), hot=False),
        Asker("person without a team (session)", _session(loner), hot=False),
        Asker("inactive person (token)", Client(), gone_token, hot=False),
        Asker("inactive person (session)", gone_session, hot=False),
        Asker("revoked token", Client(), {"HTTP_AUTHORIZATION": f"Token {revoked_key}"}, hot=False),
        Asker("invalid token", Client(), {"HTTP_AUTHORIZATION": "Token not-a-key-of-anyone"}, hot=False),
        Asker("malformed token header", Client(), {"HTTP_AUTHORIZATION": "Token two words"}, hot=False),
        Asker("another scheme", Client(), {"HTTP_AUTHORIZATION": "Basic cml0YTpwdy1yaXRh"}, hot=False),
        Asker("empty Authorization header", Client(), {"HTTP_AUTHORIZATION": ""}, hot=False),
        Asker("instrument token", Client(), {"HTTP_AUTHORIZATION": f"Token {instrument_key}"}, hot=False),
        Asker("instrument's account (personal token)", Client(), _token(instrument.service_user), hot=False),
        Asker("instrument's account (session)", _session(instrument.service_user), hot=False),
        Asker("anonymous", Client(), hot=False),
    ]
    return Lab(
        team=team,
        other_team=other_team,
        askers={a.name: a for a in askers},
        cells=cells,
        uploads=uploads,
        lots=lots,
        derived_name=derived_name,
        odd_name=odd_name,
        people={"researcher": researcher, "mixed": mixed, "outsider": outsider},
    )


# --------------------------------------------------------------------------------------------- helpers
def _plain_urls(lab: Lab) -> list[str]:
    """A plain GET of every hot read: each list (and its hot filters), a cell of each kind, two uploads."""
    return [
        CELLS,
        *(f"{CELLS}{lab.cells[k].pk}/" for k in ("membrane", "pellet", "cathode")),
        LOTS,
        f"{LOTS}?status=available",
        LEDGER,
        *(f"{UPLOADS}{lab.uploads[k].pk}/" for k in ("done", "waiting")),
        MEASUREMENTS,
        f"{MEASUREMENTS}?cell={lab.cells['membrane'].pk}",
        DERIVED,
        f"{DERIVED}?name={lab.derived_name}",
        f"{DERIVED}?{urlencode({'name': lab.odd_name})}",
    ]


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _body(answer: Answer) -> Any:
    return json.loads(answer.body)


def _page_path(answer: Answer) -> str:
    """Which path should answer a page of a page-number list: DRF's for a page that does not exist (404) and for
    a page of lots stored deeper than the 4 levels the hot path prints; the hot path's for any other."""
    if answer.status != 200:
        return "drf"
    deep = [r for r in _body(answer)["results"] if (r.get("location_path") or "").count(" > ") >= 4]
    return "drf" if deep else "hot"


def _cursor(tokens: dict[str, str]) -> str:
    """A cursor as DRF's CursorPagination encodes one (offset ``o``, reverse ``r``, position ``p``)."""
    return b64encode(urlencode(tokens).encode("ascii")).decode("ascii")


# --------------------------------------------------------------------------------------------- the tests
def test_a_researchers_plain_reads_are_answered_by_the_hot_path_with_drfs_bytes_and_headers(
    lab: Lab, compared: Compared
) -> None:
    urls = _plain_urls(lab)
    for name in ("researcher (token)", "researcher (session)"):
        for url in urls:
            answer = compared.both_ways(lab.askers[name], url, expect="hot")
            assert answer.status == 200, (name, url, answer.short())
    compared.check()
    assert compared.by_path == {"hot": 2 * len(urls)}


def test_every_kind_of_requester_gets_the_same_answer_both_ways_and_only_people_with_a_team_get_it_hot(
    lab: Lab, compared: Compared
) -> None:
    team, other = lab.team.pk, lab.other_team.pk
    lists = [
        CELLS,
        LOTS,
        f"{LOTS}?status=available",
        LEDGER,
        MEASUREMENTS,
        f"{MEASUREMENTS}?cell={lab.cells['pellet'].pk}",
        f"{MEASUREMENTS}?cell={lab.cells['other team'].pk}",
        DERIVED,
        f"{DERIVED}?name={lab.derived_name}",
        f"{DERIVED}?{urlencode({'name': lab.odd_name})}",
    ]
    details = [
        (f"{CELLS}{lab.cells['membrane'].pk}/", team),
        (f"{CELLS}{lab.cells['cathode'].pk}/", team),
        (f"{CELLS}{lab.cells['other team'].pk}/", other),
        (f"{CELLS}{10**15}/", None),
        (f"{UPLOADS}{lab.uploads['done'].pk}/", team),
        (f"{UPLOADS}{lab.uploads['waiting'].pk}/", team),
        (f"{UPLOADS}{lab.uploads['other team'].pk}/", other),
        (f"{UPLOADS}{10**15}/", None),
    ]
    statuses: dict[str, set[int]] = {}
    for asker in lab.askers.values():
        for url in lists:
            answer = compared.both_ways(asker, url, expect="hot" if asker.hot else "drf")
            statuses.setdefault(asker.name, set()).add(answer.status)
        for url, owner in details:
            answer = compared.both_ways(
                asker, url, expect="hot" if asker.hot and asker.sees(owner) else "drf"
            )
            statuses.setdefault(asker.name, set()).add(answer.status)
            if asker.hot:  # a person with a team: their teams' records, DRF's 404 for the others
                assert answer.status == (200 if asker.sees(owner) else 404), (asker.name, url, answer.short())
    compared.check()
    # the sign-ins that fail are DRF's 401, the instrument token DRF's 403 (but its upload's status)
    for name in ("inactive person (token)", "revoked token", "invalid token", "malformed token header"):
        assert statuses[name] == {401}, (name, statuses[name])
    assert statuses["anonymous"] <= {401, 403}, statuses["anonymous"]
    assert 403 in statuses["instrument token"], statuses["instrument token"]
    hot_askers = [a for a in lab.askers.values() if a.hot]
    assert len(hot_askers) >= 10 and len(lab.askers) - len(hot_askers) >= 10
    assert compared.by_path["hot"] >= len(hot_askers) * len(lists), compared.by_path


def test_requests_the_hot_path_does_not_hold_go_through_drf_and_answer_the_same(
    lab: Lab, compared: Compared
) -> None:
    researcher = lab.askers["researcher (token)"]
    cell, upload = lab.cells["membrane"].pk, lab.uploads["done"].pk
    for url in (
        f"{CELLS}?ordering=code",
        f"{CELLS}?ordering=-state",
        f"{CELLS}?search=G",
        f"{CELLS}?format=json",
        f"{CELLS}?format=api",
        f"{CELLS}?state=assembled",
        f"{CELLS}?unknown=1",
        f"{CELLS}?page=0",
        f"{CELLS}?page=abc",
        f"{CELLS}?page=999",
        f"{CELLS}{cell}/?format=json",
        f"{CELLS}{cell}/?anything=1",
        f"{CELLS}0042x/",
        f"{CELLS}%EF%BC%91/",  # a full-width digit: str.isdigit() says yes
        f"{CELLS}99999999999999999999999/",  # beyond bigint
        f"{CELLS}-{cell}/",
        f"{LOTS}?status=available&status=quarantine",
        f"{LOTS}?status=nonsense",
        f"{LOTS}?status=",
        f"{LOTS}?ordering=code",
        f"{LOTS}?q=salt",
        f"{LOTS}?status=quarantine",  # its only page holds lots stored deeper than 4 levels
        f"{LEDGER}?lot={lab.lots['level 4'].pk}",
        f"{LEDGER}?cursor=not-a-cursor",
        f"{LEDGER}?ordering=-quantity",
        f"{UPLOADS}{upload}/?format=json",
        f"{UPLOADS}{upload}/?stage=done",
        f"{MEASUREMENTS}?cell=1e3",
        f"{MEASUREMENTS}?cell=7.0",
        f"{MEASUREMENTS}?cell=-{cell}",
        f"{MEASUREMENTS}?cell=%2B{cell}",
        f"{MEASUREMENTS}?cell=",
        f"{MEASUREMENTS}?cell={cell}&cell={cell}",
        f"{MEASUREMENTS}?cell=1234567890123456789",
        f"{MEASUREMENTS}?technique=PEIS",
        f"{MEASUREMENTS}?ordering=-temperature",
        f"{DERIVED}?name=",
        f"{DERIVED}?name=%20{lab.derived_name}",
        f"{DERIVED}?name={lab.derived_name}%20",
        f"{DERIVED}?name=a%00b",
        f"{DERIVED}?name={lab.derived_name}&name=x",
        f"{DERIVED}?cell={cell}",
        f"{DERIVED}?cursor=not-a-cursor",
    ):
        compared.both_ways(researcher, url, expect="drf")
    for url in (
        CELLS,
        f"{CELLS}{cell}/",
        LEDGER,
        f"{UPLOADS}{upload}/",
        f"{DERIVED}?name={lab.derived_name}",
    ):
        compared.both_ways(researcher, url, expect="drf", HTTP_ACCEPT="text/html")
        compared.both_ways(researcher, url, expect="drf", HTTP_ACCEPT="application/json; indent=4")
        compared.both_ways(researcher, url, expect="drf", HTTP_ACCEPT="application/json, text/plain")
        compared.both_ways(researcher, url, expect="drf", HTTP_ACCEPT="text/csv")
    # the Accept headers that ask for JSON as it is, and none at all: the hot path's
    for accept in ("application/json", "*/*"):
        compared.both_ways(researcher, CELLS, expect="hot", HTTP_ACCEPT=accept)
    compared.both_ways(researcher, CELLS, expect="hot")
    # headers a GET of one record ignores both ways
    tag = compared.both_ways(researcher, f"{CELLS}{cell}/", expect="hot").headers["ETag"]
    for header, value in (
        ("HTTP_IF_NONE_MATCH", tag), ("HTTP_IF_MATCH", '"stale"'), ("HTTP_X_REQUESTED_WITH", "XMLHttpRequest"),
    ):  # fmt: skip
        compared.both_ways(researcher, f"{CELLS}{cell}/", expect="hot", **{header: value})
    compared.check()


def test_an_instruments_token_reads_the_status_of_its_own_uploads_on_the_hot_path(
    lab: Lab, compared: Compared
) -> None:
    """Instruments poll an upload's status after every file: their token reads what their instrument made
    (DRF's queryset for an instrument token: ``uploaded_by`` the instrument's account) on the hot path, in one
    round trip with the token; any other upload is DRF's 404, a list DRF's 403, and the instrument's account
    signed in another way (a personal token, a session) DRF's answer."""
    token = lab.askers["instrument token"]
    made = lab.uploads["instrument's"]
    own = f"{UPLOADS}{made.pk}/"
    answer = compared.both_ways(token, own, expect="hot")
    assert answer.status == 200 and _body(answer)["original_name"] == "from the VMP3.mpr", answer.short()
    for key in ("done", "waiting", "other team"):
        answer = compared.both_ways(token, f"{UPLOADS}{lab.uploads[key].pk}/", expect="drf")
        assert answer.status == 404, (key, answer.short())
    answer = compared.both_ways(token, f"{UPLOADS}{10**15}/", expect="drf")
    assert answer.status == 404, answer.short()
    for url in (CELLS, f"{CELLS}{lab.cells['membrane'].pk}/", LOTS, MEASUREMENTS):
        answer = compared.both_ways(token, url, expect="drf")
        assert answer.status == 403, (url, answer.short())
    for name in ("instrument's account (personal token)", "instrument's account (session)"):
        compared.both_ways(lab.askers[name], own, expect="drf")
    # a researcher of the team reads it too (by the team), hot
    answer = compared.both_ways(lab.askers["researcher (token)"], own, expect="hot")
    assert answer.status == 200, answer.short()
    compared.check()


def test_an_empty_accept_header_is_answered_as_drf_answers_it(lab: Lab, compared: Compared) -> None:
    """``Accept:`` with nothing after it is not the absence of the header: DRF's negotiation finds no renderer
    for it (406), where no header at all means ``*/*``."""
    for url in (CELLS, f"{CELLS}{lab.cells['membrane'].pk}/", LOTS, f"{UPLOADS}{lab.uploads['done'].pk}/"):
        compared.both_ways(lab.askers["researcher (token)"], url, HTTP_ACCEPT="")
    compared.check()


def test_every_page_of_every_hot_list_answers_the_same_and_the_pages_it_holds_are_hot(
    lab: Lab, compared: Compared
) -> None:
    """Page-number lists: ?page=2, ?page=last, ?page=999 (DRF's 404) and ?page_size=7 followed to the end;
    cursor lists: ``next`` followed to the end and ``previous`` back to the start, every page both ways."""
    from measurements.models import Measurement

    # the team's cell with the most measurements (a filtered list of several pages of 7)
    counted = Measurement.objects.filter(team=lab.team).values_list("cell_id", flat=True)
    busy = max(set(counted), key=list(counted).count)
    pages = 0
    for name in ("researcher (token)", "staff (session)", "member of two teams (token)"):
        asker = lab.askers[name]
        for url in (CELLS, LOTS, f"{LOTS}?status=available", MEASUREMENTS, f"{MEASUREMENTS}?cell={busy}"):
            for extra in ("page=2", "page=last", "page=2&page_size=7", "page=last&page_size=7"):
                compared.both_ways(asker, _with(url, extra), expect=_page_path)
            answer = compared.both_ways(asker, _with(url, "page=999"), expect="drf")
            assert answer.status == 404, answer.short()
            following: str | None = _with(url, "page_size=7")
            while following:
                answer = compared.both_ways(asker, following, expect=_page_path)
                assert answer.status == 200, (name, following, answer.short())
                following = _body(answer)["next"]
                pages += 1
        for url in (
            LEDGER,
            f"{LEDGER}?page_size=7",
            f"{DERIVED}?page_size=9",
            f"{DERIVED}?name={lab.derived_name}&page_size=3",
        ):
            following, last, seen = url, url, 0
            while following:
                answer = compared.both_ways(asker, following, expect="hot")
                last, following = following, _body(answer)["next"]
                seen += 1
            assert seen >= 3, (name, url, seen)
            backwards = _body(compared.both_ways(asker, last, expect="hot"))["previous"]
            while backwards:
                backwards = _body(compared.both_ways(asker, backwards, expect="hot"))["previous"]
            pages += seen
    compared.check()
    assert pages >= 60, pages


def test_page_sizes_and_cursors_of_any_shape_answer_the_same(lab: Lab, compared: Compared) -> None:
    """The paginators' own parameters are the hot path's (it asks DRF's paginator classes): page sizes that DRF
    clips or ignores, a repeated page number (the last counts), the cursor parameter where it means nothing,
    and cursors made by hand: an offset, a reversed one, an offset from a position, an empty one."""
    from formulations.models import LotStatus

    asker = lab.askers["member of two teams (token)"]
    for url in (CELLS, LOTS, MEASUREMENTS, LEDGER, DERIVED):
        for extra in (
            "page_size=100000",
            "page_size=0",
            "page_size=-3",
            "page_size=abc",
            "page_size=2&page_size=5",
        ):
            compared.both_ways(asker, _with(url, extra), expect=_page_path)
    for status in LotStatus.values:
        compared.both_ways(asker, f"{LOTS}?status={status}", expect=_page_path)
    for url in (CELLS, LOTS, MEASUREMENTS):
        for extra in ("page=1", "page=02&page_size=7", "page=%EF%BC%92&page_size=7", "page_size=%EF%BC%97"):
            compared.both_ways(asker, _with(url, extra), expect=_page_path)  # int() reads full-width digits
        compared.both_ways(asker, _with(url, "page=2.0&page_size=7"), expect="drf")
    for url in (CELLS, MEASUREMENTS):
        compared.both_ways(asker, _with(url, "page=2&page=1"), expect="hot")
        compared.both_ways(asker, _with(url, "page_size=7&cursor=anything"), expect="hot")
    for url in (LEDGER, DERIVED, f"{DERIVED}?name={lab.derived_name}"):
        compared.both_ways(asker, _with(url, "page=2"), expect="hot")  # not a cursor list's parameter
        compared.both_ways(asker, _with(url, "cursor="), expect="hot")
        middle = _body(compared.both_ways(asker, _with(url, "page_size=2"), expect="hot"))["results"][1]["id"]
        for tokens in (
            {"o": "3"},
            {"r": "1"},
            {"o": "1", "p": str(middle)},
            {"o": "2", "r": "1", "p": str(middle)},
        ):
            compared.both_ways(
                asker, _with(url, f"page_size=4&{urlencode({'cursor': _cursor(tokens)})}"), expect="hot"
            )
    compared.check()


def test_links_and_file_urls_are_built_from_the_requests_host_and_scheme_the_same_way(
    lab: Lab, compared: Compared
) -> None:
    """Page links and a lot's certificate are absolute URLs made from the request (its host and scheme)."""
    asker = lab.askers["researcher (token)"]
    served = {"HTTP_HOST": "localhost:8443", "wsgi.url_scheme": "https"}
    for url in (
        _with(CELLS, "page_size=7"),
        LOTS,
        _with(LEDGER, "page_size=7"),
        _with(DERIVED, "page_size=7"),
    ):
        answer = compared.both_ways(asker, url, expect="hot", **served)
        assert _body(answer)["next"].startswith("https://localhost:8443/api/v1/"), answer.short()
        if url == LOTS:
            certificates = [r["certificate"] for r in _body(answer)["results"] if r["certificate"]]
            assert certificates and all(c.startswith("https://localhost:8443/media/") for c in certificates)
    compared.check()


def test_dates_print_the_same_in_another_current_time_zone(lab: Lab, compared: Compared) -> None:
    """DRF prints date-times in the current time zone; the hot path converts them itself (``_iso_datetime``)."""
    from django.utils import timezone

    for zone in ("Pacific/Chatham", "America/St_Johns"):
        with timezone.override(zone):
            for url in _plain_urls(lab):
                compared.both_ways(lab.askers["staff (token)"], url, expect="hot")
    compared.check()


def test_lots_stored_deeper_than_four_levels_are_drfs_and_print_the_same_path(
    lab: Lab, compared: Compared
) -> None:
    """The hot path prints a location path of up to 4 levels from one join; a page holding a lot stored deeper is
    handed to DRF, which reads the parents one by one (at most 11 names). Either way the bytes are the same."""
    asker = lab.askers["researcher (token)"]
    first = compared.both_ways(asker, LOTS, expect="hot")
    shown = {r["id"]: r for r in _body(first)["results"]}
    assert shown[lab.lots["level 4"].pk]["location_path"] == "Level 1 > Level 2 > Level 3 > Level 4"
    certificate = shown[lab.lots["certificate"].pk]["certificate"]
    assert certificate.startswith("http://testserver/media/certificates/"), certificate
    last = compared.both_ways(asker, f"{LOTS}?page=last", expect="drf")
    quarantined = compared.both_ways(asker, f"{LOTS}?status=quarantine", expect="drf")
    for answer in (last, quarantined):
        paths = {r["id"]: r["location_path"] for r in _body(answer)["results"]}
        assert paths[lab.lots["level 5"].pk] == " > ".join(f"Level {n}" for n in range(1, 6))
        assert paths[lab.lots["level 11"].pk] == " > ".join(f"Level {n}" for n in range(1, 12))
    compared.check()


def test_the_ledger_blanks_other_teams_draws_the_same_way_for_everyone(lab: Lab, compared: Compared) -> None:
    """A draw for a team's batch or pellet shows reason "", purpose "drawn for another team's record" and no batch
    to anyone outside that team but staff; the hot path blanks the rows it reads as DRF blanks the instances."""
    from formulations.models import StockTransaction
    from formulations.selectors_inventory import OTHER_TEAMS_DRAW

    stored = {
        tx.pk: tx
        for tx in StockTransaction.objects.only("id", "for_team_id", "reason", "purpose", "batch_id")
    }
    for team in (lab.team.pk, lab.other_team.pk):
        assert any(tx.for_team_id == team and tx.batch_id and tx.reason for tx in stored.values()), team
    for name in (
        "researcher (token)", "viewer (token)", "outsider (session)", "member of two teams (token)",
        "staff (token)", "person without a team (token)",
    ):  # fmt: skip
        asker = lab.askers[name]
        seen: list[dict[str, Any]] = []
        following: str | None = LEDGER
        while following:
            answer = compared.both_ways(asker, following, expect="hot" if asker.hot else "drf")
            body = _body(answer)
            seen += body["results"]
            following = body["next"]
        assert sorted(r["id"] for r in seen) == sorted(stored), name
        hidden = 0
        for row in seen:
            tx = stored[row["id"]]
            if tx.for_team_id is None or asker.sees(tx.for_team_id):
                assert (row["reason"], row["purpose"], row["batch"]) == (tx.reason, tx.purpose, tx.batch_id)
            else:
                assert (row["reason"], row["purpose"], row["batch"]) == ("", OTHER_TEAMS_DRAW, None)
                hidden += 1
        # the researcher, viewer, outsider and person without a team do not see one of the two teams' draws
        sees_both = asker.teams is None or {lab.team.pk, lab.other_team.pk} <= asker.teams
        assert (hidden == 0) == sees_both, (name, hidden)
    compared.check()


def test_an_outsider_reads_none_of_the_teams_rows_in_the_hot_lists(lab: Lab, compared: Compared) -> None:
    from cells.models import Cell
    from measurements.models import DerivedProperty, Measurement

    theirs = {
        CELLS: set(Cell.objects.filter(team=lab.other_team).values_list("id", flat=True)),
        MEASUREMENTS: set(Measurement.objects.filter(team=lab.other_team).values_list("id", flat=True)),
        DERIVED: set(DerivedProperty.objects.filter(team=lab.other_team).values_list("id", flat=True)),
    }
    for name in ("outsider (token)", "outsider (session)"):
        asker = lab.askers[name]
        for url, ids in theirs.items():
            answer = compared.both_ways(asker, _with(url, "page_size=500"), expect="hot")
            assert {r["id"] for r in _body(answer)["results"]} == ids, (name, url)
        team_cell = lab.cells["membrane"].pk
        answer = compared.both_ways(asker, f"{MEASUREMENTS}?cell={team_cell}", expect="hot")
        assert _body(answer)["results"] == [], name
        answer = compared.both_ways(asker, f"{CELLS}{team_cell}/", expect="drf")
        assert answer.status == 404, answer.short()
    compared.check()


def test_a_token_used_only_on_the_hot_path_is_noted_as_used(lab: Lab, trace: Trace) -> None:
    """The hot path checks a token as DRF's authentication does, with the same bookkeeping (``last_used_at``)."""
    from lims.models import ApiToken

    token, key = ApiToken.issue(user=lab.people["researcher"], name="fresh")
    assert token.last_used_at is None
    response = Client().get(CELLS, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200 and trace.path() == "hot"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_list_read_with_its_token_in_one_round_trip_is_the_token_s_teams_list(
    lab: Lab, compared: Compared
) -> None:
    """After a token's first list, its lists are read with the token in one round trip, scoped by the teams its
    person had then (``_page_with_token``). They must answer what DRF answers for the teams the person has now:
    when they join a team, leave one, become staff, lose every team, and when the token is revoked; and the
    speculative read must be the one that answered while the teams stayed the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lims.models import ApiToken, Membership, Role

    person = _person("specula", lab.team, Role.RESEARCHER)
    token, key = ApiToken.issue(user=person, name="lists")
    asker = Asker("specula", Client(), {"HTTP_AUTHORIZATION": f"Token {key}"}, teams={lab.team.pk})
    urls = [CELLS, MEASUREMENTS, LOTS + "?status=available", f"{CELLS}?page=2&page_size=3"]

    def every_list(expect: str = "hot") -> list[Answer]:
        return [compared.both_ways(asker, url, expect=expect) for url in urls]

    first = every_list()  # learns the teams; then read in one round trip
    with CaptureQueriesContext(connection) as queries:
        again = compared.both_ways(asker, CELLS, expect="hot")
    assert again == first[0]
    # the hot request (token + count joined, the rows) and DRF's (its own token, count, rows)
    assert len(queries.captured_queries) == 2 + 3, [q["sql"][:80] for q in queries.captured_queries]
    Membership.objects.create(user=person, team=lab.other_team, role=Role.VIEWER)
    joined = every_list()
    assert _body(joined[0])["count"] > _body(first[0])["count"]  # the other team's cells too
    every_list()
    Membership.objects.filter(user=person, team=lab.team).delete()
    left = every_list()
    assert {c["team"] for c in _body(left[0])["results"]} <= {lab.other_team.pk, lab.other_team.name}
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    every_list()
    person.is_staff = False
    person.save(update_fields=["is_staff"])
    Membership.objects.filter(user=person).delete()
    every_list(expect="drf")  # no team: DRF answers, and the hot path hands it on
    token.revoked_at = token.created_at
    token.save(update_fields=["revoked_at"])
    assert all(a.status == 401 for a in every_list(expect="drf"))
    compared.check()
