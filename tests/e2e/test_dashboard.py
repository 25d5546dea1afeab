"""An operator opens the admin and sees the dashboard's charts drawn (docs/decisions/0031)."""

from __future__ import annotations

from playwright.sync_api import expect

from points import services as points_services
from pointsmall.dashboard.services import dashboard_rollup
from tests.factories import PASSWORD, MemberFactory, StaffFactory

CHARTS = ["traffic", "activity", "points", "redemptions", "draws", "liability", "funnel"]

# True when Chart.js built a chart on every canvas and each canvas has pixels drawn on it.
DRAWN = """(keys) => keys.every((key) => {
  const canvas = document.querySelector(`canvas[data-chart="${key}"]`);
  if (!canvas || !window.Chart || !window.Chart.getChart(canvas)) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
})"""


def test_an_operator_sees_the_dashboard_charts(page, make_page, live_server, login, shot, settings):
    settings.ADMIN_REQUIRE_MFA = False
    for n in range(3):
        member = MemberFactory()
        points_services.points_earn(user_id=member.pk, amount=500 * (n + 1), idempotency_key=f"e2e-dash:{n}")
    dashboard_rollup(days=7)
    operator = StaffFactory()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    login(page, operator.email, PASSWORD)
    page.goto("/admin/?days=7")
    expect(page.locator("#dash-title")).to_be_visible()
    page.wait_for_function(DRAWN, arg=CHARTS)
    expect(page.locator(".dash-kpi")).to_have_count(11)
    expect(page.locator("a.dash-csv")).to_have_count(len(CHARTS))
    assert not errors  # no script refused by the CSP, no JavaScript error
    shot(page, "dashboard-1280")
    phone = make_page(width=390, height=844, mobile=True)
    login(phone, operator.email, PASSWORD)
    phone.goto("/admin/?days=30")
    phone.wait_for_function(DRAWN, arg=CHARTS)
    shot(phone, "dashboard-390")
