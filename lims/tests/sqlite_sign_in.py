"""Run by test_compiled.py in a subprocess on an SQLite database (the embedded default): the compiled look-ups
must work on SQLite too, which binds datetimes as text. Prints one line per check; exits non-zero on a failure."""

import datetime
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lims.settings")
django.setup()

from django.contrib.sessions.models import Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from lims.models import ApiToken, Membership, Role, Team, User  # noqa: E402
from lims.permissions import team_ids_for  # noqa: E402

call_command("migrate", verbosity=0)
ada = User.objects.create_user("ada", password="pw-ada-123456")
team = Team.objects.create(name="Garnets", slug="garnets")
Membership.objects.create(user=ada, team=team, role=Role.RESEARCHER)
_, key = ApiToken.issue(user=ada, name="script")

page = Client()
assert page.post("/accounts/login/", {"username": "ada", "password": "pw-ada-123456"}).status_code == 302
assert page.get("/").status_code == 200, "signed-in page"
print("page ok")
Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
assert page.get("/").status_code == 302, "an expired session is signed out"
print("expiry ok")
assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/").status_code == 200, "token"
assert Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/me/").status_code == 401
print("token ok")
assert team_ids_for(User.objects.get(pk=ada.pk)) == [team.pk]
print("roles ok")
from lims.compiled import CompiledQuery  # noqa: E402

assert [u.pk for u in User.objects.filter(id__any=[ada.pk, 10**9])] == [ada.pk], "__any"
assert list(User.objects.filter(id__any=[])) == []
by_ids = CompiledQuery(lambda ids: Membership.objects.filter(user__any=ids), list)
assert [m.team_id for m in by_ids.all([ada.pk])] == [team.pk] and by_ids.all([]) == []
print("any ok")
