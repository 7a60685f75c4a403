// The console's pages of the notification and analytics services in the
// browser (docs/web.md, "Tests"): notifications with the unread badge, the
// webhooks admin page, analytics with its charts, CSV and time zone; run by
// console.e2e.mjs, which hands over its helpers (t).
/* global document */
import { readFileSync } from "node:fs";

export async function insightChecks(t) {
  const { check, assert, api, admin, RUN, pw } = t;
  const agentUser = await api("POST", "/v1/users", {
    token: admin.access_token,
    body: { email: `notified-${RUN}@acme.test`, name: `Notified ${RUN}`, role: "agent", password: pw },
  });
  const agent = await t.newPage();
  await t.signIn(agent, agentUser.email, pw);
  await agent.waitForURL(/\/agent$/);

  await check("an agent assigned a ticket sees the unread badge, reads the notification and marks it read", async () => {
    // the badge follows the live stream: no reload, no 30 s poll
    await agent.locator('header[data-live="up"]').waitFor();
    const ticket = await api("POST", "/v1/tickets", { token: admin.access_token, body: { subject: `Assigned ${RUN}`, description: "for the badge" } });
    await api("PATCH", `/v1/tickets/${ticket.id}`, { token: admin.access_token, body: { assignee_id: agentUser.id }, ifMatch: ticket.version });
    const badge = agent.getByTestId("unread-badge");
    await badge.waitFor({ timeout: 25_000 });
    assert((await badge.textContent()) === "1 unread", `badge: ${await badge.textContent()}`);
    await agent.getByRole("link", { name: /^Notifications/ }).click();
    const list = agent.getByRole("list", { name: "Notifications" });
    const item = list.getByRole("listitem").filter({ hasText: `Assigned ${RUN}` });
    await item.waitFor();
    await t.axe(agent, "notifications");
    await t.shoot(agent, "notifications");
    await item.getByRole("button", { name: /as read$/ }).click();
    await agent.getByText("Marked as read.").waitFor();
    await badge.waitFor({ state: "detached" });
    const unread = await api("GET", "/v1/notifications?unread=true", { token: (await t.login(agentUser.email, pw)).access_token });
    assert(unread.items.length === 0, JSON.stringify(unread.items));
    // the page is live too: a new assignment is listed without a reload
    const again = await api("POST", "/v1/tickets", { token: admin.access_token, body: { subject: `Assigned again ${RUN}`, description: "live list" } });
    await api("PATCH", `/v1/tickets/${again.id}`, { token: admin.access_token, body: { assignee_id: agentUser.id }, ifMatch: again.version });
    await list
      .getByRole("listitem")
      .filter({ hasText: `Assigned again ${RUN}` })
      .waitFor({ timeout: 25_000 });
    await item.getByRole("link", { name: "Open the ticket" }).click();
    await agent.waitForURL(new RegExp(`/agent/tickets/${ticket.id}$`));
  });
  await agent.context().close();

  const staff = await t.newPage();
  await t.signIn(staff, t.ADMIN.email, t.ADMIN.password);
  await staff.waitForURL(/\/agent$/);
  const url = `https://hooks.example.com/helpdesk-${RUN}`;

  await check("an admin adds a webhook (the secret shown once), turns it off, changes its URL and events and looks at its deliveries", async () => {
    await staff.getByRole("link", { name: "Webhooks" }).click();
    await staff.getByLabel("URL (https)").fill(url);
    await staff.getByLabel("comment.added").check();
    await staff.getByRole("button", { name: "Add webhook" }).click();
    const secret = staff.getByTestId("webhook-secret");
    await secret.waitFor();
    assert(/[0-9a-zA-Z_-]{16,}/.test(await secret.locator("code").last().textContent()), "no secret shown");
    await t.axe(staff, "webhooks with the secret");
    await t.shoot(staff, "webhooks");
    await staff.getByRole("button", { name: "I have copied it" }).click();
    await staff.getByRole("button", { name: `Turn off ${url}` }).click();
    await staff.getByText(`${url} is off now.`).waitFor();
    const hooks = await api("GET", "/v1/webhooks?limit=100", { token: admin.access_token });
    const hook = hooks.items.find((w) => w.url === url);
    assert(hook && hook.active === false && [...hook.events].sort().join() === "comment.added,ticket.created" && !("secret" in hook), JSON.stringify(hook));
    // a change the API refuses shows its reason under the field, and changes nothing
    await staff.getByRole("button", { name: `Change ${url}` }).click();
    const form = staff.getByRole("form", { name: `Change the webhook to ${url}` });
    await form.getByLabel("URL (https)").fill(`https://someone:pw@hooks.example.com/helpdesk-${RUN}`);
    await form.getByRole("button", { name: "Save changes" }).click();
    await form.getByText("must not carry a user name, password or fragment", { exact: true }).waitFor();
    await t.axe(staff, "webhook change refused");
    const moved = `${url}-v2`;
    await form.getByLabel("URL (https)").fill(moved);
    await form.getByLabel("ticket.created").uncheck();
    await form.getByLabel("sla.breached").check();
    await form.getByRole("button", { name: "Save changes" }).click();
    await staff.getByText(`Webhook to ${moved} saved: comment.added, sla.breached.`).waitFor();
    const changed = await api("GET", `/v1/webhooks/${hook.id}`, { token: admin.access_token });
    assert(
      changed.url === moved && [...changed.events].sort().join() === "comment.added,sla.breached" && changed.version > hook.version,
      JSON.stringify(changed),
    );
    await staff.getByRole("button", { name: `Deliveries of ${moved}` }).click();
    await staff.getByRole("heading", { name: `Deliveries to ${moved}` }).waitFor();
    await staff.getByRole("table", { name: "Deliveries" }).waitFor();
    await staff.getByRole("button", { name: `Turn on ${moved}` }).waitFor();
    await api("DELETE", `/v1/webhooks/${hook.id}`, { token: admin.access_token });
  });

  await check("an admin reads analytics: cards, a bar per day, the forecast, agents, a CSV and the time zone", async () => {
    const before = await api("GET", "/v1/analytics/settings", { token: admin.access_token });
    await staff.getByRole("link", { name: "Analytics" }).click();
    const cards = staff.getByTestId("analytics-summary");
    await cards.getByText("Tickets created").waitFor();
    const series = staff.getByTestId("timeseries-chart");
    await series.waitFor();
    assert((await series.getAttribute("data-points")) === "30", `day points: ${await series.getAttribute("data-points")}`);
    assert((await series.locator("rect").count()) === 30, "not one bar per day");
    const forecast = staff.getByTestId("forecast-chart");
    await forecast.waitFor();
    assert((await forecast.getAttribute("data-points")) === "14", `forecast points: ${await forecast.getAttribute("data-points")}`);
    await staff.getByRole("heading", { name: "Agents" }).waitFor();
    await t.axe(staff, "analytics");
    await t.shoot(staff, "analytics");
    const [download] = await Promise.all([staff.waitForEvent("download"), staff.getByRole("button", { name: "Download summary (CSV)" }).click()]);
    assert(/^analytics-summary-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv$/.test(download.suggestedFilename()), download.suggestedFilename());
    const csv = readFileSync(await download.path(), "utf8");
    assert(csv.includes("\r\n") && !csv.trimStart().startsWith("{"), `not CSV: ${csv.slice(0, 80)}`);
    await staff.getByLabel("Per", { exact: true }).selectOption("hour");
    await staff.waitForFunction(() => document.querySelector('[data-testid="timeseries-chart"]')?.getAttribute("data-points") === "720");
    const zone = before.timezone === "Asia/Tokyo" ? "Europe/Paris" : "Asia/Tokyo";
    await staff.getByLabel("Time zone of days and hours").selectOption(zone);
    const [put] = await Promise.all([
      staff.waitForResponse((r) => r.url().endsWith("/v1/analytics/settings") && r.request().method() === "PUT"),
      staff.getByRole("button", { name: "Save time zone" }).click(),
    ]);
    assert(put.status() === 200, `PUT settings: ${put.status()}`);
    // the page is drawn again in the new zone
    await staff.getByRole("button", { name: "Save time zone" }).and(staff.locator(":disabled")).waitFor();
    assert((await staff.getByLabel("Time zone of days and hours").inputValue()) === zone, "the page did not follow the new zone");
    const after = await api("GET", "/v1/analytics/settings", { token: admin.access_token });
    await api("PUT", "/v1/analytics/settings", { token: admin.access_token, body: { timezone: before.timezone } });
    assert(after.timezone === zone, JSON.stringify(after));
  });
  await staff.context().close();
}
