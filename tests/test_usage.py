"""The external API budget's use, counted where every replica writes (daemon/usage.py),
over real HTTP against the fake."""

from __future__ import annotations

from tests.factories import linked_campaign, wait_for


async def _gauges(api) -> dict[str, float]:
    text = await (await api.get("/metrics")).text()
    return {line.split()[0]: float(line.split()[-1]) for line in text.splitlines()
            if line.startswith("instantly_sync_budget_")}


async def test_budget_gauges_follow_the_calls_of_every_replica(make_api, fake, db) -> None:
    one = await make_api(INSTANTLY_MAX_RPS="20", INSTANTLY_MAX_RPM="600")
    other = await make_api(INSTANTLY_MAX_RPS="20", INSTANTLY_MAX_RPM="600")
    gauges = await _gauges(other)
    assert gauges['instantly_sync_budget_limit{window="minute",workspace="default"}'] == 600
    assert gauges['instantly_sync_budget_limit{window="second",workspace="default"}'] == 20
    assert gauges['instantly_sync_budget_used{window="minute",workspace="default"}'] == 0
    waits_before = gauges["instantly_sync_budget_wait_seconds_count"]

    fake.state.add_fault(status=429, retry_after=0, path="/activate")  # retried, then ok
    for i in range(4):
        campaign, _ = await linked_campaign(one, fake, name=f"Spent {i}")
        assert (await one.post(f"/campaigns/{campaign['id']}/toggle")).status == 200
    # Nine attempts made by the first replica (four reads checking the links, five
    # activations of which one was answered 429), seen by the other.
    async def counted() -> bool:
        used = await _gauges(other)
        return used['instantly_sync_budget_used{window="minute",workspace="default"}'] == 9
    await wait_for(counted)
    gauges = await _gauges(other)
    assert 1 <= gauges['instantly_sync_budget_used{window="second",workspace="default"}'] <= 9
    # (The test's two apps share one process, so one Prometheus registry.)
    assert gauges["instantly_sync_budget_wait_seconds_count"] - waits_before == 9
    rows = await db.pool.fetch(
        "SELECT action, outcome, count(*) AS n FROM external_calls GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["action"], r["outcome"], r["n"]) for r in rows] == [
        ("activate", "429", 1), ("activate", "ok", 4), ("get", "ok", 4)]
