"""The funnel's helpers (links, clicks, publishable keys, allowed hostnames, leads), alike on
``dub_mock`` and ``dub_mock_app``, and the marker's ``allowed_hostnames``."""

from __future__ import annotations

import pytest

FUNNEL_TESTS = '''
import json
import urllib.error
import urllib.request

import pytest


@pytest.fixture(params=["dub_mock", "dub_mock_app"])
def mock(request):
    return request.getfixturevalue(request.param)


def api(mock, path, body, headers=None):
    """POST an API route as the code under test would: over HTTP, or through the WSGI client."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if mock.url == "http://localhost":
        answer = mock.client.post(path, json=body, headers=headers)
        return answer.status_code, answer.get_json()
    request = urllib.request.Request(mock.url + path, data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_link_click_lead_sale(mock):
    link = mock.add_link(domain="shop.link", key="spring", url="https://shop.example/spring")
    assert link.shortLink == "https://shop.link/spring"
    assert repr(link).startswith(f"Link(id={link.id!r}, shortLink='https://shop.link/spring', ")
    click = mock.add_click(link_id=link.id, referrer="https://news.example/")
    assert (click.linkId, click.url, click.referrer) == (
        link.id, "https://shop.example/spring", "https://news.example/")
    assert repr(click).startswith(f"Click(id={click.id!r}, linkId={link.id!r}, ")
    auth = {"Authorization": f"Bearer {mock.token}"}
    status, body = api(mock, "/track/lead", {"clickId": click.id, "eventName": "Sign up",
                                              "customerExternalId": "u1"}, auth)
    assert (status, body["link"]["shortLink"]) == (200, "https://shop.link/spring"), body
    assert api(mock, "/track/sale", {"customerExternalId": "u1", "amount": 4900}, auth)[0] == 200
    lead = mock.leads.one()
    assert (lead.clickId, lead.linkId, lead.eventName) == (click.id, link.id, "Sign up")
    assert repr(lead).startswith(f"Lead(id={lead.id!r}, customerId={lead.customerId!r}, "
                                 f"eventName='Sign up', linkId={link.id!r}, clickId=")
    assert mock.sales.one().linkId == link.id
    assert (mock.links.one().leads, mock.links.one().sales) == (1, 1)
    assert mock.clicks == [click]


def test_a_click_made_without_a_link_gets_one(mock):
    click = mock.add_click("clk_fixed")
    assert click.id == "clk_fixed"
    assert mock.links.one().id == click.linkId
    assert mock.links.one().shortLink.startswith("https://dub.sh/")


def test_browser_clicks_and_allowed_hostnames(mock):
    mock.add_link(domain="shop.link", key="spring")
    workspace = mock.allow_hostnames("shop.example", "*.shop.example")
    assert workspace.allowedHostnames == ["shop.example", "*.shop.example"]
    assert repr(workspace) == (
        "Workspace(id='ws_mock', plan='business', "
        "allowedHostnames=['shop.example', '*.shop.example'])")
    click = {"domain": "shop.link", "key": "spring"}
    status, body = api(mock, "/track/click", click,
                       {"Referer": "https://www.shop.example/", "User-Agent": "a"})
    assert status == 200, body
    assert [c.id for c in mock.clicks] == [body["clickId"]]
    status, body = api(mock, "/track/click", click,
                       {"Referer": "https://evil.example/", "User-Agent": "b"})
    assert status == 403 and "'evil.example'" in body["error"]["message"]
    assert mock.allow_hostnames().allowedHostnames == []
    status, _ = api(mock, "/track/click", click, {"Referer": "https://evil.example/",
                                                  "User-Agent": "b"})
    assert status == 200 and len(mock.clicks) == 2 and mock.links.one().clicks == 2
    with pytest.raises(TypeError, match="non-empty strings"):
        mock.allow_hostnames("")
    other = mock.add_workspace("ws_shop", plan="pro", allowed_hostnames="a.example")
    assert (other.plan, other.allowedHostnames) == ("pro", ["a.example"])
    mock.allow_hostnames("b.example", workspace_id="ws_shop")
    mock.set_plan("enterprise", workspace_id="ws_shop")
    assert mock.workspaces.one(id="ws_shop") == {
        "id": "ws_shop", "plan": "enterprise", "allowedHostnames": ["b.example"]}


def test_publishable_keys_open_the_client_routes(mock):
    made = mock.add_publishable_key()
    assert str(made).startswith("dub_pk_") and made.workspaceId == "ws_mock"
    assert repr(made) == f"PublishableKey(key={str(made)!r}, workspaceId='ws_mock')"
    key = mock.add_publishable_key("dub_pk_fixed_for_tests")
    browser = {"Authorization": f"Bearer {key}"}
    click = mock.add_click()
    status, body = api(mock, "/track/lead/client", {"clickId": click.id, "eventName": "Sign up",
                                                     "customerExternalId": "u"}, browser)
    assert status == 200, body
    status, body = api(mock, "/track/sale/client", {"customerExternalId": "u", "amount": 300},
                       browser)
    assert (status, body["sale"]["amount"]) == (200, 300)
    assert mock.sales.one().linkId == click.linkId
    shown = mock.publishable_keys
    assert len(shown) == 2 and all(k.key.startswith("dub_") for k in shown)
    assert "dub_pk_fixed_for_tests" not in repr(shown)  # redacted, as tokens are


SEED = {
    "publishableKeys": [{"key": "dub_pk_seeded_key"}],
    "links": [{"id": "lnk_try", "domain": "dub.sh", "key": "try"}],
}


@pytest.mark.dub_mock(seed=SEED, allowed_hostnames="shop.example", plan="enterprise")
def test_marker_seeds_keys_and_allows_hostnames(mock):
    def lead_from(page):
        headers = {"Authorization": "Bearer dub_pk_seeded_key", "Referer": page}
        body = {"clickId": "", "eventName": "Sign up", "customerExternalId": "nobody"}
        status, answer = api(mock, "/track/lead/client", body, headers)
        return status, answer["error"]["code"]

    assert mock.workspaces.one(id="ws_mock").allowedHostnames == ["shop.example"]
    assert mock.workspaces.one(id="ws_mock").plan == "enterprise"
    assert mock.links.one().shortLink == "https://dub.sh/try"
    assert lead_from("https://elsewhere.example/") == (403, "forbidden")
    assert lead_from("https://shop.example/signup") == (400, "bad_request")  # key and page pass
    mock.reset()
    assert mock.workspaces.one(id="ws_mock").allowedHostnames == ["shop.example"]
    assert len(mock.publishable_keys) == 1


def test_in_process_app_posts_clicks_leads_and_sales(dub_mock_app):
    dub_mock_app.add_link(domain="shop.link", key="spring")
    click = dub_mock_app.post_click({"domain": "shop.link", "key": "spring"},
                                    headers={"Referer": "https://shop.example/"})
    assert click.status_code == 200 and click.headers["Access-Control-Allow-Origin"] == "*"
    assert dub_mock_app.clicks.one().referrer == "https://shop.example/"
    lead = {"clickId": click.get_json()["clickId"], "eventName": "Sign up",
            "customerExternalId": "u"}
    assert dub_mock_app.post_lead(lead).get_json()["link"]["key"] == "spring"
    assert dub_mock_app.post_sale({"customerExternalId": "u", "amount": 5}).status_code == 200
    assert dub_mock_app.post_lead(lead, token="dub_unknown").status_code == 401
    assert [(r.path, r.status) for r in dub_mock_app.requests] == [
        ("/track/click", 200), ("/track/lead", 200), ("/track/sale", 200), ("/track/lead", 401)]


def test_clean(mock):
    state = mock.state
    assert state["publishableKeys"] == [] and state["links"] == [] and state["clicks"] == []
    assert state["workspaces"].one().allowedHostnames == []
    assert state["leads"] == [] and state["sales"] == []
'''


def test_funnel_helpers_alike_on_both_fixtures(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(test_funnel=FUNNEL_TESTS)
    result = run()
    result.assert_outcomes(passed=13)
