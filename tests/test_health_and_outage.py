"""Health, readiness, metrics, OpenAPI, and recovery from a database outage."""

from __future__ import annotations

from tests.factories import FAKE_KEY, create_campaign, linked_campaign
from tests.tcp_proxy import TcpProxy, dsn_via_proxy, proxy_target


async def test_healthz_and_readyz(api) -> None:
    assert (await api.get("/healthz")).status == 200
    resp = await api.get("/readyz")
    assert resp.status == 200
    body = await resp.json()
    assert body["checks"]["database"] is True
    assert body["checks"]["migrations"] is True
    assert body["checks"]["scheduler"] is True
    assert body["checks"]["api_key_configured"] is True
    assert body["checks"]["webhook_secret_configured"] is False
    assert FAKE_KEY not in await resp.text()


async def test_metrics_expose_requests_calls_and_toggles(api, fake) -> None:
    campaign, _ = await linked_campaign(api, fake)
    await api.post(f"/campaigns/{campaign['id']}/toggle")
    text = await (await api.get("/metrics")).text()
    assert 'instantly_sync_http_requests_total{method="POST",route="/campaigns/{id}/toggle"' in text
    assert ('instantly_sync_external_calls_total{action="activate",outcome="ok",'
            'workspace="default"}') in text
    assert "instantly_sync_external_call_seconds_bucket" in text
    assert 'instantly_sync_toggles_total{outcome="activated"}' in text


async def test_openapi_documents_every_route(api) -> None:
    doc = await (await api.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    routes = {  # the console's HTML pages (/ui) are not part of the JSON API
        (r.method.lower(), r.resource.canonical)
        for r in api.server.app.router.routes()
        if r.method != "HEAD" and not r.resource.canonical.startswith("/ui")
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented


async def test_database_outage_gives_503_and_recovers(make_api, dsn, fake) -> None:
    proxy = await TcpProxy(*proxy_target(dsn)).start()
    try:
        api = await make_api(dsn_override=dsn_via_proxy(dsn, proxy.port))
        campaign = await create_campaign(api)
        await proxy.cut()
        for method, path, body in (
            ("GET", f"/campaigns/{campaign['id']}", None),
            ("POST", "/campaigns", {"client_id": "a", "name": "b"}),
            ("POST", f"/campaigns/{campaign['id']}/toggle", None),
        ):
            resp = await api.request(method, path, json=body)
            assert resp.status == 503, path
            assert await resp.json() == {"error": {
                "code": "database_unavailable",
                "message": "Service temporarily unavailable. Please try again shortly."}}
            assert resp.headers["Retry-After"]
        ready = await api.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["database"] is False
        await proxy.restore()
        resp = await api.get(f"/campaigns/{campaign['id']}")
        assert resp.status == 200
        assert (await resp.json())["status"] == "draft"
        assert (await api.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
        assert (await api.get("/readyz")).status == 200
    finally:
        await proxy.close()
