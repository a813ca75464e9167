"""Broken variants, part three: faults in the funnel's routes (BEHAVIOR §4 leads, §5 clicks,
§6 publishable keys), each the way a real implementation might get one rule wrong."""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .middleware import NOT_JSON, Answer, Call, Rewriter, dub_error
from .middleware import request_body as _body

if TYPE_CHECKING:
    from mockserver.app import MockApp

LEAD_PATHS = frozenset({"/track/lead", "/track/lead/client"})
CLIENT_PATHS = frozenset({"/track/lead/client", "/track/sale/client"})
SECRET_PATHS = frozenset({"/track/sale", "/track/lead"})
BROWSER_PATHS = frozenset({"/track/click", *CLIENT_PATHS})
ID_FIELDS = ("customerExternalId", "externalId", "customerId")
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
)
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


def _path(call: Call) -> str:
    return call.path.rstrip("/") or "/"


def _is_post(call: Call, paths: frozenset[str]) -> bool:
    return call.method == "POST" and _path(call) in paths


def _message(answer: Answer) -> str:
    data = answer.json
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message", ""))
    return ""


def _hostname(call: Call) -> str | None:
    for name in ("HTTP_REFERER", "HTTP_ORIGIN"):
        value = call.environ.get(name)
        if value:
            try:
                host = urlsplit(value).hostname
            except ValueError:
                host = None
            return None if not host else host.removeprefix("www.")
    return None


class _Funnel(Rewriter):
    """Shared: the caller's workspace, a lead's dedup key, and the link a click request names."""

    def workspace_of(self, call: Call) -> dict[str, Any] | None:
        token = call.token
        if token is None:
            return None
        store = self.app.store
        found = (
            store.publishable_principal(token)
            if token.startswith("dub_pk_")
            else store.principal(token)
        )
        return None if found is None else dict(found[1])

    def lead_key(self, call: Call) -> str | None:
        """The mock's dedup key for a lead request (workspace, external id, event name)."""
        body = _body(call)
        workspace = self.workspace_of(call)
        names = ID_FIELDS if _path(call) == "/track/lead" else ID_FIELDS[:1]
        external_id = next(
            (v.strip() for n in names if isinstance(v := body.get(n), str) and v.strip()), None
        )
        event = body.get("eventName")
        if workspace is None or external_id is None or not isinstance(event, str):
            return None
        key = event.strip().lower().replace(" ", "-")
        return f"lead\x00{workspace['id']}\x00{external_id}\x00{key}"

    def release(self, key: str) -> None:
        with self.app.store.transaction() as view:
            view.hold_key(key, "", 0)

    def hold(self, key: str) -> None:
        with self.app.store.transaction() as view:
            view.hold_key(key, "1", 2**62)

    def clicked_link(self, call: Call) -> dict[str, Any] | None:
        """The link a /track/click body names (domain normalised as the mock does)."""
        body = _body(call)
        domain, key = body.get("domain"), body.get("key")
        if not isinstance(domain, str) or not isinstance(key, str):
            return None
        domain = domain.strip()
        if "://" in domain:
            domain = urlsplit(domain).hostname or ""
        domain = domain.lower().removeprefix("www.")
        with self.app.store.transaction() as view:
            link = view.link_by_key(domain, key)
        return None if link is None else dict(link)

    def allowed_hostnames(self, call: Call) -> list[str]:
        """The allowed hostnames of the workspace a browser request is for."""
        if _path(call) == "/track/click":
            link = self.clicked_link(call)
            if link is None:
                return []
            with self.app.store.transaction() as view:
                workspace = view.workspace(link["workspaceId"]) or {}
        else:
            workspace = self.workspace_of(call) or {}
        return list(workspace.get("allowedHostnames") or [])


# §4 leads --------------------------------------------------------------------------------------


class LeadDedupIgnored(_Funnel):
    """Leads are never deduplicated: every repeat records a new lead and answers the link."""

    def request(self, call: Call) -> Answer | None:
        key = self.lead_key(call) if _is_post(call, LEAD_PATHS) else None
        if key is not None:
            self.release(key)
        return None


class DedupKeyReleasedOn404(_Funnel):
    """A lead that fails with a 404 gives its dedup key back, so a corrected retry records."""

    def response(self, call: Call, answer: Answer) -> None:
        if _is_post(call, LEAD_PATHS) and answer.status == 404:
            key = self.lead_key(call)
            if key is not None:
                self.release(key)


class DuplicateAnswersTheLink(_Funnel):
    """A duplicate lead answers the click's link instead of link null."""

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        if not (_is_post(call, LEAD_PATHS) and answer.status == 200 and isinstance(data, dict)):
            return
        if data.get("link") is not None:
            return
        with self.app.store.transaction() as view:
            click = view.click(data["click"]["id"])
            link = view.link(click["linkId"]) if click and click.get("linkId") else None
        if link is not None:
            data["link"] = {
                "id": link["id"],
                "domain": link.get("domain"),
                "key": link.get("key"),
                "shortLink": link.get("shortLink"),
                "url": link.get("url"),
                "partnerId": None,
                "programId": None,
                "tenantId": None,
                "externalId": None,
            }


class DedupKeyCaseSensitive(_Funnel):
    """The dedup key keeps the event name as sent: 'Sign up now' and 'sign-up-now' both record."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.names: dict[str, set[str]] = {}
        self.lock = threading.Lock()

    def request(self, call: Call) -> Answer | None:
        key = self.lead_key(call) if _is_post(call, LEAD_PATHS) else None
        if key is None:
            return None
        name = str(_body(call)["eventName"]).strip()
        with self.lock:
            seen = self.names.setdefault(key, set())
            fresh = bool(seen) and name not in seen
            seen.add(name)
        if fresh:
            self.release(key)
        return None


class DeferredRecordsTheLead(_Funnel):
    """mode deferred is treated as async: the lead is recorded at once."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        if _is_post(call, LEAD_PATHS) and body.get("mode") == "deferred":
            body["mode"] = "async"
        return None


class DeferredTakesTheKey(_Funnel):
    """mode deferred takes the dedup key: the later request is a duplicate, nothing recorded."""

    def response(self, call: Call, answer: Answer) -> None:
        if _is_post(call, LEAD_PATHS) and answer.status == 200:
            key = self.lead_key(call)
            if key is not None and _body(call).get("mode") == "deferred":
                self.hold(key)


class EventQuantityIgnored(_Funnel):
    """eventQuantity is ignored: one lead event is recorded whatever the number."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        quantity = body.get("eventQuantity")
        valid = (
            isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= 100
        )
        if _is_post(call, LEAD_PATHS) and valid:
            body["eventQuantity"] = 1
        return None


class LinkLeadsNotCounted(_Funnel):
    """A recorded lead does not add to its link's leads counter."""

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        if not (_is_post(call, LEAD_PATHS) and answer.status == 200 and isinstance(data, dict)):
            return
        if data.get("link") is None or _body(call).get("mode") == "deferred":
            return
        quantity = _body(call).get("eventQuantity") or 1
        with self.app.store.transaction() as view:
            link = view.link(data["link"]["id"])
            if link is not None:
                link["leads"] = max(0, int(link.get("leads", 0)) - int(quantity))
                view.put_link(link)


class LeadDisabledSaysSale(Rewriter):
    """A lead on a disabled link answers the sale route's wording: '... sale not tracked'."""

    def response(self, call: Call, answer: Answer) -> None:
        if _is_post(call, LEAD_PATHS) and answer.status == 404:
            message = _message(answer)
            if message.endswith("lead not tracked"):
                answer.json["error"]["message"] = message.replace("lead not", "sale not")


class ForeignClickAccepted(_Funnel):
    """A click of another workspace's link is accepted: its lead answers that link."""

    def response(self, call: Call, answer: Answer) -> None:
        if not (_is_post(call, LEAD_PATHS) and answer.status == 404):
            return
        if not _message(answer).endswith("does not belong to the workspace"):
            return
        body = _body(call)
        with self.app.store.transaction() as view:
            click = view.click(body["clickId"])
            link = view.link(click["linkId"]) if click else None
        if link is None:
            return
        answer.status = 200
        answer.json = {
            "click": {"id": body["clickId"]},
            "link": {
                **{k: link.get(k) for k in ("id", "domain", "key", "shortLink", "url")},
                **dict.fromkeys(("partnerId", "programId", "tenantId", "externalId")),
            },
            "customer": {
                "name": body.get("customerName") or "Foreign Lead",
                "email": body.get("customerEmail"),
                "avatar": body.get("customerAvatar"),
                "externalId": body.get("customerExternalId"),
            },
        }


class LeadAnswersTheRequestCustomer(Rewriter):
    """A lead answers the request's customerName and customerEmail, not the stored customer."""

    def response(self, call: Call, answer: Answer) -> None:
        body, data = _body(call), answer.json
        ok = _is_post(call, LEAD_PATHS) and answer.status == 200 and isinstance(data, dict)
        if ok and isinstance(body.get("customerName"), str) and body["customerName"]:
            data["customer"]["name"] = body["customerName"]
            data["customer"]["email"] = body.get("customerEmail")


class MissingClickIs404(Rewriter):
    """No clickId for an unknown customer answers 404 'Customer not found' instead of L1's 400."""

    def response(self, call: Call, answer: Answer) -> None:
        no_click = _message(answer).startswith("The `clickId` property was not provided")
        if _is_post(call, LEAD_PATHS) and answer.status == 400 and no_click:
            replacement = dub_error(404, "not_found", "Customer not found")
            answer.status, answer.json = 404, replacement.json


class LeadsOffTheBudget(_Funnel):
    """Leads are not counted against the token's rate-limit window (only sales are)."""

    def response(self, call: Call, answer: Answer) -> None:
        token = call.token
        if _is_post(call, frozenset({"/track/lead"})) and token and answer.header(RATE_HEADERS[0]):
            store: Any = self.app.store
            with store._lock:
                window = store._state.rate_windows.get(token)
                if window is not None and window[0] > 0:
                    window[0] -= 1


# §5 clicks -------------------------------------------------------------------------------------


class ClickDedupIgnored(Rewriter):
    """Every click is recorded anew: the same visitor gets a new clickId each time."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.counter = itertools.count()

    def request(self, call: Call) -> Answer | None:
        if _is_post(call, frozenset({"/track/click"})):
            agent = call.environ.get("HTTP_USER_AGENT", "")
            call.environ["HTTP_USER_AGENT"] = f"{agent}#{next(self.counter)}"
        return None


class ClickDedupIgnoresUserAgent(Rewriter):
    """Click dedup keys on the link and the IP only: two browsers behind one IP share a click."""

    def request(self, call: Call) -> Answer | None:
        if _is_post(call, frozenset({"/track/click"})):
            call.environ["HTTP_USER_AGENT"] = "any"
        return None


class NoTrackIgnored(Rewriter):
    """The dub-no-track header and query parameter are ignored: the click is recorded."""

    def request(self, call: Call) -> Answer | None:
        if _is_post(call, frozenset({"/track/click"})):
            call.environ.pop("HTTP_DUB_NO_TRACK", None)
            call.environ["QUERY_STRING"] = ""
        return None


class ClickIdOfWrongLength(Rewriter):
    """Click ids are 21-character nanoids instead of Dub's 16 characters (used consistently)."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        self.long_to_real: dict[str, str] = {}
        self.real_to_long: dict[str, str] = {}
        self.lock = threading.Lock()

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        click_id = body.get("clickId")
        if isinstance(click_id, str) and click_id in self.long_to_real:
            body["clickId"] = self.long_to_real[click_id]
        return None

    def response(self, call: Call, answer: Answer) -> None:
        data = answer.json
        if not (_is_post(call, frozenset({"/track/click"})) and answer.status == 200):
            self._rename_in_lead(data)
            return
        real = data["clickId"]
        with self.lock:
            longer = self.real_to_long.setdefault(real, real + "nano5")
            self.long_to_real[longer] = real
        data["clickId"] = longer

    def _rename_in_lead(self, data: Any) -> None:
        click = data.get("click") if isinstance(data, dict) else None
        if isinstance(click, dict) and click.get("id") in self.real_to_long:
            click["id"] = self.real_to_long[click["id"]]


class ClickNeedsAKey(Rewriter):
    """/track/click demands an API key, like the secret routes: 401 without a dub_ token."""

    def request(self, call: Call) -> Answer | None:
        if _is_post(call, frozenset({"/track/click"})) and not (call.token or "").startswith(
            "dub_"
        ):
            answer = dub_error(401, "unauthorized", "Missing Authorization header.")
            answer.headers.extend(
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ]
            )
            return answer
        return None


class ClickDomainNotNormalised(Rewriter):
    """A full URL or a www. domain is looked up as sent, so it names no link: 404."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        domain, key = body.get("domain"), body.get("key")
        raw = isinstance(domain, str) and ("://" in domain or domain.startswith("www."))
        if _is_post(call, frozenset({"/track/click"})) and raw and isinstance(key, str):
            return dub_error(
                404, "not_found", f"Link not found for domain: {domain} and key: {key}."
            )
        return None

    def response(self, call: Call, answer: Answer) -> None:
        if _path(call) == "/track/click":
            answer.set_header("Access-Control-Allow-Origin", "*")
            answer.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            answer.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization")


class ClickCarriesRateLimitHeaders(Rewriter):
    """/track/click answers carry X-RateLimit-* headers, as if it shared the API's limiter."""

    def response(self, call: Call, answer: Answer) -> None:
        if _is_post(call, frozenset({"/track/click"})):
            answer.set_header("X-RateLimit-Limit", "600")
            answer.set_header("X-RateLimit-Remaining", "599")


# §5 allowed hostnames and CORS -----------------------------------------------------------------


class AllowedHostnamesIgnored(_Funnel):
    """/track/click ignores the workspace's allowed hostnames: any origin may click."""

    def request(self, call: Call) -> Answer | None:
        if _is_post(call, frozenset({"/track/click"})):
            allowed = self.allowed_hostnames(call)
            if allowed:
                entry = allowed[0]
                host = "x." + entry[2:] if entry.startswith("*.") else entry
                call.environ.pop("HTTP_ORIGIN", None)
                call.environ["HTTP_REFERER"] = f"https://{host}/"
        return None


class WildcardMatchesTheApex(_Funnel):
    """'*.example.com' also allows example.com itself (the suffix test keeps the dot out)."""

    def request(self, call: Call) -> Answer | None:
        if not _is_post(call, BROWSER_PATHS):
            return None
        hostname = _hostname(call)
        allowed = self.allowed_hostnames(call)
        if hostname and f"*.{hostname}" in allowed and hostname not in allowed:
            call.environ.pop("HTTP_ORIGIN", None)
            call.environ["HTTP_REFERER"] = f"https://apex.{hostname}/"
        return None


class WwwKeptInHostnames(_Funnel):
    """The page's www. is not dropped: www.shop.example is not shop.example (403)."""

    def request(self, call: Call) -> Answer | None:
        if not _is_post(call, BROWSER_PATHS):
            return None
        referer = call.environ.get("HTTP_REFERER") or call.environ.get("HTTP_ORIGIN") or ""
        try:
            host = urlsplit(referer).hostname or ""
        except ValueError:
            host = ""
        allowed = self.allowed_hostnames(call)
        if host.startswith("www.") and allowed and host not in allowed:
            answer = dub_error(
                403,
                "forbidden",
                f"Request origin '{host}' is not included in the allowed hostnames for this "
                "workspace. Update your allowed hostnames here: https://app.dub.co/settings/tracking",
            )
            answer.headers.extend(
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ]
            )
            return answer
        return None


class CorsOnlyOnSuccess(Rewriter):
    """The browser routes send their CORS headers on 200 answers only, not on errors."""

    def response(self, call: Call, answer: Answer) -> None:
        if _path(call) in BROWSER_PATHS and answer.status != 200:
            answer.drop_headers(*CORS_HEADERS)


class BrowserOptions405(Rewriter):
    """OPTIONS on /track/click and the client routes answers 405: no preflight support."""

    def request(self, call: Call) -> Answer | None:
        if call.method == "OPTIONS" and _path(call) in BROWSER_PATHS:
            answer = dub_error(405, "method_not_allowed", "Method OPTIONS not allowed.")
            answer.headers.append(("Allow", "POST"))
            return answer
        return None


# §6 publishable keys ---------------------------------------------------------------------------


class PublishableKeyOnSecretRoutes(_Funnel):
    """A dub_pk_ key works on /track/sale and /track/lead, as a key of its workspace."""

    def request(self, call: Call) -> Answer | None:
        token = call.token or ""
        if not (_is_post(call, SECRET_PATHS) and token.startswith("dub_pk_")):
            return None
        workspace = self.workspace_of(call)
        if workspace is not None:
            tokens = self.app.store.snapshot()["tokens"]
            owner = next((t for t in tokens if t["workspaceId"] == workspace["id"]), None)
            if owner is not None:
                call.environ["HTTP_AUTHORIZATION"] = f"Bearer {owner['token']}"
        return None


class SecretTokenOnClientRoutes(_Funnel):
    """A secret dub_ token works on the client routes, as a publishable key of its workspace."""

    def request(self, call: Call) -> Answer | None:
        token = call.token or ""
        if not _is_post(call, CLIENT_PATHS) or token.startswith("dub_pk_"):
            return None
        found = self.app.store.principal(token)
        if found is not None:
            keys = self.app.store.snapshot()["publishableKeys"]
            key = next((k for k in keys if k["workspaceId"] == found[1]["id"]), None)
            if key is None:  # the workspace has none yet: one made for it
                with self.app.store.transaction() as view:
                    key = self.app.control.publishable_key(view, {"workspaceId": found[1]["id"]})
            call.environ["HTTP_AUTHORIZATION"] = f"Bearer {key['key']}"
        return None


class PublishablePrefixCheckedLate(Rewriter):
    """A key without dub_pk_ is looked up instead of refused: 401 'Invalid publishable key.'."""

    def request(self, call: Call) -> Answer | None:
        header = call.environ.get("HTTP_AUTHORIZATION")
        if _is_post(call, CLIENT_PATHS) and header is not None:
            key = header.removeprefix("Bearer ")
            if not key.startswith("dub_pk_"):
                return dub_error(401, "unauthorized", "Invalid publishable key.")
        return None

    def response(self, call: Call, answer: Answer) -> None:
        if _path(call) in CLIENT_PATHS:
            answer.set_header("Access-Control-Allow-Origin", "*")
            answer.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            answer.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization")


class UnknownKeyBeforeRateLimit(Rewriter):
    """An unknown publishable key is refused before it is counted: its 401 has no rate headers."""

    def response(self, call: Call, answer: Answer) -> None:
        unknown = _message(answer) == "Invalid publishable key."
        if _is_post(call, CLIENT_PATHS) and answer.status == 401 and unknown:
            answer.drop_headers(*RATE_HEADERS)


class ClientPlanUnchecked(_Funnel):
    """The client routes do not check the workspace's plan: a pro workspace's key works."""

    def request(self, call: Call) -> Answer | None:
        workspace = self.workspace_of(call) if _is_post(call, CLIENT_PATHS) else None
        if workspace is None or workspace.get("plan") not in ("free", "pro"):
            return None
        with self.app.store.transaction() as view:
            record = view.workspace(workspace["id"])
            if record is not None:
                view.put_workspace({**record, "plan": "business"})
        return None


class ClientAliasesAccepted(Rewriter):
    """The client routes accept the deprecated aliases externalId and customerId."""

    def request(self, call: Call) -> Answer | None:
        body = _body(call)
        if _is_post(call, CLIENT_PATHS) and "customerExternalId" not in body:
            alias = body.get("externalId") or body.get("customerId")
            if isinstance(alias, str):
                body["customerExternalId"] = alias
        return None


class HostnamesBeforeTheBody(_Funnel):
    """The client routes check the origin before the body: bad JSON from elsewhere is 403."""

    def request(self, call: Call) -> Answer | None:
        if not _is_post(call, CLIENT_PATHS) or call.body is not NOT_JSON:
            return None
        allowed = self.allowed_hostnames(call)
        hostname = _hostname(call)
        if allowed and hostname not in allowed:
            answer = dub_error(
                403,
                "forbidden",
                f"Request origin '{hostname or 'null'}' is not included in the allowed hostnames "
                "for this workspace. Update your allowed hostnames here: "
                "https://app.dub.co/settings/tracking",
            )
            answer.headers.extend(
                [
                    ("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ]
            )
            return answer
        return None


class HalfToEvenRounding(Rewriter):
    """Converted amounts are rounded half to even (Python's round), not half up."""

    def response(self, call: Call, answer: Answer) -> None:
        data, body = answer.json, _body(call)
        sale = data.get("sale") if isinstance(data, dict) and answer.status == 200 else None
        currency, amount = body.get("currency"), body.get("amount")
        if not isinstance(sale, dict) or not isinstance(currency, str) or currency.lower() == "usd":
            return
        rates = self.app.store.fx_rates()
        rate = rates.get(currency.upper()) if isinstance(rates, dict) else None
        if isinstance(rate, int | float) and isinstance(amount, int) and sale["currency"] == "usd":
            zero = currency.upper() in {"JPY", "KRW", "CLP", "VND", "XAF", "XOF"}
            sale["amount"] = round((amount * 100 if zero else amount) / rate)
