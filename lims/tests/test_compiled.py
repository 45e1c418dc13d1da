"""Compiled queries (lims/compiled.py) and the per-request look-ups built on them (token, session, user, roles):
the same rows and the same model instances as the querysets they compile, one query per call, and a clear error
for a queryset that cannot be compiled."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import F, Value
from django.test import Client
from django.utils import timezone

from lims.authentication import ModelBackend, SessionStore, _token_by_hash
from lims.compiled import CompiledQuery
from lims.models import ApiToken, Membership, Role, Team
from lims.permissions import _roles, remember_roles, roles_column
from lims.tests.protocol import traced

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
User = get_user_model()


def fields_of(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


@pytest.fixture
def people() -> dict[str, Any]:
    ada = User.objects.create_user("ada", password="pw-ada-123456")
    bob = User.objects.create_user("bob", password="pw-bob-123456", is_active=False)
    team = Team.objects.create(name="Garnets", slug="garnets")
    other = Team.objects.create(name="Gels", slug="gels")
    Membership.objects.create(user=ada, team=team, role=Role.RESEARCHER)
    Membership.objects.create(user=ada, team=other, role=Role.VIEWER)
    _, ada_key = ApiToken.issue(user=ada, name="script")
    _, bob_key = ApiToken.issue(user=bob, name="old")
    return {"ada": ada, "bob": bob, "team": team, "other": other, "ada_key": ada_key, "bob_key": bob_key}


def test_a_compiled_look_up_builds_the_instances_the_queryset_builds(
    people, django_assert_num_queries
) -> None:
    for key in (people["ada_key"], people["bob_key"]):
        key_hash = ApiToken.hash_key(key)
        expected = (
            ApiToken.objects.select_related("user")
            .annotate(user_roles=roles_column("user_id"))
            .get(key_hash=key_hash)
        )
        with django_assert_num_queries(1):  # the token, its user and the user's roles, in one query
            got = _token_by_hash.one(key_hash)
            assert got is not None
            assert fields_of(got.user) == fields_of(expected.user)  # the related user came with it
        assert fields_of(got) == fields_of(expected)
        assert (got._state.db, got._state.adding) == (expected._state.db, expected._state.adding)
        assert got.user._state.adding is False
    assert _token_by_hash.one(ApiToken.hash_key("no such key")) is None


def test_arguments_are_bound_per_call_not_frozen(people) -> None:
    by_name = CompiledQuery(lambda name: User.objects.filter(username=name).order_by("id"), str)
    assert [u.username for u in by_name.all("ada")] == ["ada"]
    assert [u.username for u in by_name.all("bob")] == ["bob"]
    assert by_name.all("carol") == []
    with pytest.raises(TypeError):
        by_name.all()


def test_datetime_and_int_arguments_and_annotations(people) -> None:
    joined_after = CompiledQuery(
        lambda pk, after: User.objects.filter(pk=pk, date_joined__gt=after).annotate(
            twice=F("id") * 2, label=Value("x")
        ),
        int,
        datetime.datetime,
    )
    ada = people["ada"]
    hour = datetime.timedelta(hours=1)
    (row,) = joined_after.all(ada.pk, ada.date_joined - hour)
    assert (row.pk, getattr(row, "twice"), getattr(row, "label")) == (ada.pk, 2 * ada.pk, "x")  # noqa: B009
    assert joined_after.all(ada.pk, ada.date_joined + hour) == []


def test_one_refuses_more_than_one_row(people) -> None:
    active = CompiledQuery(lambda flag: User.objects.filter(is_staff=False, username__gt=flag), str)
    with pytest.raises(User.MultipleObjectsReturned):
        active.one("")


@pytest.mark.parametrize(
    "build, kinds, message",
    [
        (lambda name: User.objects.filter(username__contains=name), (str,), "rewritten by its lookup"),
        (
            lambda name: User.objects.filter(username=name) | User.objects.filter(email=name),
            (str,),
            "2 times",
        ),
        (lambda name: User.objects.filter(username="ada"), (str,), "0 times"),
        (lambda name: User.objects.filter(username=name).values("id"), (str,), "model instances"),
        (lambda name: User.objects.filter(username=name).prefetch_related("api_tokens"), (str,), "prefetch"),
    ],
)
def test_a_queryset_that_cannot_be_compiled_is_refused_on_first_use(people, build, kinds, message) -> None:
    query = CompiledQuery(build, *kinds)
    with pytest.raises(ValueError, match=message):
        query.all("ada")


def test_argument_kinds_are_checked() -> None:
    with pytest.raises(TypeError, match="str, int, datetime or list"):
        CompiledQuery(lambda x: User.objects.filter(pk=x), float).all(1.0)


def test_any_matches_what_in_matches_with_one_parameter(people) -> None:
    ids = sorted(User.objects.values_list("id", flat=True))
    missing = max(ids) + 1000
    huge = [2**63, -(2**63) - 1, 10**30]  # beyond the column: no row, and no error (as with __in)
    for wanted in ([], [ids[0]], ids, [*ids, missing], [missing], [ids[0], ids[0]], huge, [*huge, ids[0]]):
        # what __in finds (SQLite's driver cannot even bind an integer beyond 64 bits: Django's __in raises
        # OverflowError there, so the reference is __in of the values a bigint column can hold)
        held = [w for w in wanted if -(2**63) <= w < 2**63]
        expected = list(User.objects.filter(id__in=held).order_by("id"))
        assert list(User.objects.filter(id__any=wanted).order_by("id")) == expected
        # through a foreign key, and from a set or tuple
        memberships = Membership.objects.filter(user_id__in=held).order_by("id")
        assert list(Membership.objects.filter(user__any=set(wanted)).order_by("id")) == list(memberships)
        assert list(Membership.objects.filter(user_id__any=tuple(wanted)).order_by("id")) == list(memberships)
    sql, params = User.objects.filter(id__any=ids).query.sql_with_params()
    assert sql.count("%s") == 1 and len(params) == 1  # one parameter whatever the length
    bound = json.loads(params[0]) if isinstance(params[0], str) else params[0]  # SQLite binds it as JSON text
    assert list(bound) == ids


@pytest.mark.parametrize("bad, error", [("12", TypeError), (7, TypeError), ([1, None], ValueError)])
def test_any_refuses_what_is_not_a_list_of_values(bad, error) -> None:
    with pytest.raises(error):
        list(User.objects.filter(id__any=bad))


def test_a_list_argument_is_compiled_once_for_every_length(people, django_assert_num_queries) -> None:
    by_ids = CompiledQuery(
        lambda ids, teams: Membership.objects.filter(user__any=ids, team__any=teams), list, list
    )
    every = [people["team"].pk, people["other"].pk]
    ada, bob = people["ada"].pk, people["bob"].pk
    with django_assert_num_queries(1):
        got = by_ids.all([ada, bob], every)
    assert sorted(m.pk for m in got) == sorted(
        Membership.objects.filter(user_id=ada).values_list("pk", flat=True)
    )
    assert [m.team_id for m in by_ids.all([ada], [people["other"].pk])] == [people["other"].pk]
    assert by_ids.all([], every) == [] and by_ids.all([ada], []) == []
    assert [m.user_id for m in by_ids.all([ada, 2**63, 10**30], [people["team"].pk, -(2**70)])] == [ada]
    assert fields_of(by_ids.all([ada], [people["team"].pk])[0]) == fields_of(
        Membership.objects.get(user_id=ada, team=people["team"])
    )
    with pytest.raises(TypeError, match="list of ints"):
        by_ids.all(["1"], every)
    in_list = CompiledQuery(lambda ids: Membership.objects.filter(user__in=ids), list)
    with pytest.raises(ValueError, match="cannot be compiled"):
        in_list.all([ada])  # __in writes one parameter per id: refused, not frozen at the sentinel's length


def test_the_session_store_reads_live_sessions_only(people) -> None:
    store = SessionStore()
    store["answer"] = 42
    store.create()
    store.save()
    key = store.session_key
    assert SessionStore(key).load() == {"answer": 42}
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # as Django's store: an expired or unknown key is dropped
    assert SessionStore("x" * 32).load() == {}


def test_the_backend_returns_active_users_only(people) -> None:
    backend = ModelBackend()
    assert backend.get_user(people["ada"].pk) == people["ada"]
    assert backend.get_user(str(people["ada"].pk)) == people["ada"]
    assert backend.get_user(people["bob"].pk) is None  # inactive
    assert backend.get_user(10**9) is None
    assert backend.get_user("not a number") is None


def test_pages_and_api_sign_in_through_the_compiled_look_ups(people) -> None:
    page = Client()
    assert page.post("/accounts/login/", {"username": "ada", "password": "pw-ada-123456"}).status_code == 302
    assert page.get("/").status_code == 200
    assert Client().get("/").status_code == 302  # anonymous: to the login page
    api = Client(HTTP_AUTHORIZATION=f"Token {people['ada_key']}")
    assert api.get("/api/v1/me/").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Token {people['bob_key']}").get("/api/v1/me/").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/me/").status_code == 401


def _page_queries(client: Client, path: str = "/") -> tuple[int, list[str]]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, [q["sql"] for q in captured.captured_queries]


def _signed_in(username: str, password: str) -> Client:
    page = Client()
    assert page.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
    return page


def test_a_session_read_before_is_read_with_its_user_in_one_statement(people) -> None:
    """The first page of a session reads the session, then the user; later pages read both in one statement,
    and the page is the same signed-in page."""
    from lims import authentication

    page = _signed_in("ada", "pw-ada-123456")
    authentication._users_of_sessions.clear()  # as a process that has not read this session yet
    status, first = _page_queries(page)
    assert status == 200
    assert any("django_session" in q and "lims_user" not in q for q in first)
    assert any('FROM "lims_user"' in q and "django_session" not in q for q in first)
    status, later = _page_queries(page)
    assert status == 200
    if connection.vendor == "postgresql":  # elsewhere run_together runs its statements one after the other
        together = [q for q in later if "django_session" in q]
        assert len(together) == 1 and '"lims_user"' in together[0]
        assert not any('FROM "lims_user"' in q and "django_session" not in q for q in later)
        assert len(later) == len(first) - 1
    assert page.get("/").context["user"].username == "ada"


def test_the_first_page_after_signing_in_reads_the_session_with_its_user(people) -> None:
    """Signing in notes whose the new session is, so the process that signed the person in reads the session and
    the user in one statement from the first page on (and a test's first and later pages count alike)."""
    from lims import authentication

    page = _signed_in("ada", "pw-ada-123456")
    assert authentication._users_of_sessions[hash(page.cookies["sessionid"].value)] == people["ada"].pk
    status, first = _page_queries(page)
    status_later, later = _page_queries(page)
    assert status == status_later == 200
    assert len(first) == len(later)
    if connection.vendor == "postgresql":
        together = [q for q in first if "django_session" in q]
        assert len(together) == 1 and '"lims_user"' in together[0]


def test_a_wrong_guess_reads_the_user_the_session_names(people) -> None:
    from lims import authentication

    page = _signed_in("ada", "pw-ada-123456")
    key = page.cookies["sessionid"].value
    lone = User.objects.create_user("cy", password="pw-cy-1234567")
    authentication._users_of_sessions[hash(key)] = lone.pk  # the process believes the session is cy's
    status, queries = _page_queries(page)
    assert status == 200 and page.get("/").context["user"].username == "ada"
    if connection.vendor == "postgresql":
        read_with_session = [q for q in queries if "django_session" in q]
        assert len(read_with_session) == 1 and '"lims_user"' in read_with_session[0]
        # cy's row, read with the session, is not used: ada's is read on its own
        assert len([q for q in queries if 'FROM "lims_user"' in q and "django_session" not in q]) == 1
    assert authentication._users_of_sessions[hash(key)] == people["ada"].pk  # and the guess is corrected


def test_the_user_read_with_the_session_goes_through_djangos_checks(people) -> None:
    """A password changed elsewhere ends the session (its hash no longer verifies); a deactivated user is
    signed out; an expired session signs nobody in: with the user read in the same statement as the session."""
    from lims import authentication

    page = _signed_in("ada", "pw-ada-123456")
    assert page.get("/").status_code == 200  # the session is known now
    key = page.cookies["sessionid"].value
    assert authentication._users_of_sessions[hash(key)] == people["ada"].pk
    ada = User.objects.get(pk=people["ada"].pk)
    ada.set_password("pw-ada-changed-1")
    ada.save()
    assert page.get("/").status_code == 302  # to the login page

    page = _signed_in("ada", "pw-ada-changed-1")
    assert page.get("/").status_code == 200
    User.objects.filter(pk=ada.pk).update(is_active=False)
    assert page.get("/").status_code == 302
    User.objects.filter(pk=ada.pk).update(is_active=True)

    page = _signed_in("ada", "pw-ada-changed-1")
    assert page.get("/").status_code == 200
    Session.objects.filter(session_key=page.cookies["sessionid"].value).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert page.get("/").status_code == 302


def test_a_user_read_with_a_session_serves_that_request_only(people, django_assert_num_queries) -> None:
    """The backend takes a user read with a session only while that request's user is being read: called on its
    own (no request), or again, it reads the user itself."""
    from lims import authentication

    store = SessionStore()
    store[authentication.auth.SESSION_KEY] = str(people["ada"].pk)
    store.create()
    store.save()
    authentication._users_of_sessions[hash(store.session_key)] = people["ada"].pk
    loaded = SessionStore(store.session_key)
    loaded.load()
    assert loaded.prefetched_user is not None and loaded.prefetched_user[0] == people["ada"].pk
    with django_assert_num_queries(1):
        assert ModelBackend().get_user(people["ada"].pk) == people["ada"]  # not inside a request: read again
    token = authentication._reading_session.set(loaded)
    try:
        with django_assert_num_queries(0):
            assert ModelBackend().get_user(people["ada"].pk) == people["ada"]
        with django_assert_num_queries(1):
            assert ModelBackend().get_user(people["ada"].pk) == people["ada"]  # used once
    finally:
        authentication._reading_session.reset(token)


def test_the_sign_in_look_ups_bring_the_roles_with_the_user(people, django_assert_num_queries) -> None:
    """The token (API) and the user (pages) are read with the user's roles in the same statement, so that the
    request's first team check reads nothing more; the roles are those the membership table holds."""
    expected = {people["team"].pk: Role.RESEARCHER, people["other"].pk: Role.VIEWER}
    with django_assert_num_queries(1):
        token = _token_by_hash.one(ApiToken.hash_key(people["ada_key"]))
        assert token is not None
        remember_roles(token.user, token.user_roles)  # type: ignore[attr-defined]
        assert _roles(token.user) == expected
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(people["ada"].pk)
        assert _roles(user) == expected
    lone = User.objects.create_user("cy", password="pw-cy-1234567")
    with django_assert_num_queries(1):
        assert _roles(ModelBackend().get_user(lone.pk)) == {}  # no membership: none, and no second query


def test_roles_are_read_with_the_compiled_query(people, django_assert_num_queries) -> None:
    ada = User.objects.get(pk=people["ada"].pk)
    with django_assert_num_queries(1):
        roles = _roles(ada)
        assert _roles(ada) is roles  # cached on the user for the request
    assert roles == {people["team"].pk: Role.RESEARCHER, people["other"].pk: Role.VIEWER}
    assert _roles(User.objects.get(pk=people["bob"].pk)) == {}


def test_the_compiled_look_ups_work_on_the_embedded_sqlite_default(tmp_path) -> None:
    """SQLite binds a datetime as text: the session's expiry must be bound the same way (lims/compiled.py)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update({"DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"), "LIMS_VAR_DIR": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-m", "lims.tests.sqlite_sign_in"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["page", "ok", "expiry", "ok", "token", "ok", "roles", "ok", "any", "ok"]


# ------------------------------------------------------------------ rows, counts and statements run together


def test_compiled_values_are_the_rows_values_list_gives_for_every_slice(people) -> None:
    from lims.compiled import CompiledCount, CompiledValues

    def build(flag: str) -> Any:
        return User.objects.filter(username__gt=flag).annotate(twice=F("id") * 2).order_by("username")

    values = CompiledValues(lambda flag: build(flag).values_list("twice", "username", "date_joined"), str)
    count = CompiledCount(build, str)
    for flag, low, high in [("", 0, None), ("", 0, 1), ("", 1, 2), ("a", 0, 10), ("zzz", 0, None)]:
        expected = list(build(flag).values_list("twice", "username", "date_joined")[low:high])
        assert values.rows(flag, low=low, high=high) == expected
        assert count.count(flag) == build(flag).count()


def test_a_values_statement_can_be_compiled_for_one_call(people) -> None:
    from lims.compiled import run_together, statement_of

    qs = User.objects.filter(is_active=True).order_by("-username").values_list("username", "id")
    assert run_together([statement_of(qs)])[0] == list(qs)
    with pytest.raises(ValueError, match="values_list"):
        statement_of(User.objects.all())


def test_statements_run_together_answer_as_each_alone(people, django_assert_num_queries) -> None:
    """In one round trip on PostgreSQL (psycopg's pipeline), one after the other elsewhere: the same results,
    each statement counted as a query, and a statement without rows (SET) answers no rows."""
    from django.db import connection

    from lims.compiled import CompiledValues, Statement, run_each, run_together

    names = CompiledValues(lambda pk: User.objects.filter(pk=pk).values_list("username"), int)
    statements = [names.statement(people["ada"].pk), names.statement(people["bob"].pk)]
    setting = "SET TIME ZONE 'UTC'" if connection.vendor == "postgresql" else "SELECT 1 WHERE 0"
    with django_assert_num_queries(3):
        got = run_together([*statements, Statement("default", setting, [], lambda rows: rows)])
    assert got == [[("ada",)], [("bob",)], []]
    assert run_each([None, statements[0], None]) == [[], [("ada",)], []]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's pipeline: PostgreSQL only")
@pytest.mark.parametrize("libpq", [True, False], ids=["straight through libpq", "Django's cursors"])
def test_statements_run_together_are_one_round_trip(people, tmp_path: Path, libpq: bool, monkeypatch) -> None:
    """One Sync and one ReadyForQuery for the whole pipeline (libpq's protocol trace), on either path: straight
    through libpq (lims/pg_pipeline.py), and through Django's cursors in psycopg's pipeline (when Django must see
    each statement), whose leaving syncs, so a sync inside the block would cost a second round trip. An error
    still raises Django's error, and the connection answers the next statement."""
    from django.db import DatabaseError, transaction

    from lims import pg_pipeline
    from lims.compiled import CompiledValues, Statement, run_together

    monkeypatch.setattr(pg_pipeline, "ENABLED", libpq)

    names = CompiledValues(lambda pk: User.objects.filter(pk=pk).values_list("username"), int)
    statements = [names.statement(people["ada"].pk), names.statement(people["bob"].pk), names.statement(0)]
    got, kinds = traced(connection, lambda: run_together(statements), tmp_path)
    assert got == [[("ada",)], [("bob",)], []]
    assert kinds.count("Sync") == 1
    assert kinds.count("ReadyForQuery") == 1
    assert kinds.count("Execute") == 3
    broken = Statement("default", "SELECT 1 / %s", [0], lambda rows: rows)
    with (
        pytest.raises(DatabaseError, match="division by zero"),
        transaction.atomic(),
    ):  # the test's transaction
        run_together([statements[0], broken, statements[1]])
    assert run_together(statements[:2]) == [[("ada",)], [("bob",)]]


def test_statements_of_one_row_each_are_read_in_one_statement(people) -> None:
    """Statements declared to read one row at most (``as_one_row``) are read together in one statement on
    PostgreSQL (joined laterally): each answers what it answers alone (found or not, columns of the same name in
    a select_related row, other statements beside them); a statement that reads several rows after all is read
    again on its own; elsewhere they run one after the other."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lims.authentication import token_statement
    from lims.compiled import CompiledValues, run_together

    ada, bob = people["ada"], people["bob"]
    names = CompiledValues(lambda pk: User.objects.filter(pk=pk).values_list("username", "is_active"), int)
    every = CompiledValues(
        lambda low: User.objects.filter(pk__gte=low).order_by("pk").values_list("username"), int
    )
    tokens = [token_statement(f"Token {people[k]}".encode()) for k in ("ada_key", "bob_key")]
    unknown = token_statement(b"Token no-such-key")
    assert tokens[0] is not None and tokens[1] is not None and unknown is not None
    cases = [
        [names.statement(ada.pk), names.statement(bob.pk), names.statement(10**9)],
        [tokens[0][1], names.statement(ada.pk), every.statement(0), unknown[1], tokens[1][1]],
        [names.statement(ada.pk), every.statement(0)],  # one single row statement: nothing to join
        [names.statement(bob.pk), every.statement(0), names.statement(ada.pk)],
    ]
    for statements in cases:
        alone = [run_together([st])[0] for st in statements]
        declared = [st if st.sql == every.statement(0).sql else st.as_one_row() for st in statements]
        with CaptureQueriesContext(connection) as ctx:
            together = run_together(declared)
        assert [fields_of(x) if hasattr(x, "_state") else x for x in _flat(together)] == [
            fields_of(x) if hasattr(x, "_state") else x for x in _flat(alone)
        ]
        singles = sum(1 for st in declared if st.one_row)
        if connection.vendor == "postgresql" and singles > 1:
            assert len(ctx.captured_queries) == len(declared) - singles + 1
            assert "LEFT JOIN LATERAL" in ctx.captured_queries[0]["sql"]
        else:
            assert len(ctx.captured_queries) == len(declared)
    # declared one row, read several: each statement is read again on its own, with the same answers
    several = [every.statement(0).as_one_row(), names.statement(ada.pk).as_one_row()]
    assert run_together(several) == [[("ada",), ("bob",)], [("ada", True)]]


def _flat(results: list[Any]) -> list[Any]:
    return [item for result in results for item in (result if isinstance(result, list) else [result])]


def test_a_count_is_compiled_without_leaving_a_statement_in_the_query_log(people) -> None:
    """CompiledCount records Django's count statement once without sending it: the query log holds only what
    was sent (the DEBUG toolbar, CaptureQueriesContext)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lims.compiled import CompiledCount

    count = CompiledCount(lambda flag: User.objects.filter(username__gt=flag), str)
    with CaptureQueriesContext(connection) as ctx:
        assert count.count("") == User.objects.filter(username__gt="").count()
    assert [q["sql"] for q in ctx.captured_queries if q["sql"] is None] == []
    assert len(ctx.captured_queries) == 2  # the compiled count and the queryset's own
