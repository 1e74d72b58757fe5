"""/docs (Swagger UI) and /redoc load every script, stylesheet and icon from the app itself:
nothing from a CDN, so both work on a machine with no network."""

from __future__ import annotations

import re

import pytest

from test_api_http import make_client

# src=/href= of scripts, styles and icons, Swagger's `url: '/openapi.json'`, ReDoc's spec-url=
ASSET = re.compile(r"""(?:\b(?:src|href|spec-url)\s*=\s*|\burl:\s*)["']([^"']+)["']""")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("docs-pages")) as c:
        yield c


def referenced(html: str) -> list[str]:
    return ASSET.findall(html)


@pytest.mark.parametrize("page, script", [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_page_and_every_asset_it_references_come_from_the_app(client, page, script):
    res = client.get(page)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    urls = referenced(res.text)
    assert any(u.endswith(script) for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    # the scripts are the real bundles, not an error page
    js = client.get(next(u for u in urls if u.endswith(script)))
    assert "javascript" in js.headers["content-type"] and len(js.content) > 500_000


def test_swagger_oauth_redirect_page_is_served(client):
    assert client.get("/docs/oauth2-redirect").status_code == 200
