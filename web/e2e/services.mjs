// The console's pages of the field and knowledge services, and the phone
// widths, in the browser (docs/web.md, "Tests"); run by console.e2e.mjs,
// which hands over its helpers (t) and the users it made.
/* global document, window */
import { spawnSync } from "node:child_process";

/** Pages an admin and a customer open at a phone's width (390 px). */
function phonePages(ids) {
  return {
    admin: [
      "/agent",
      `/agent/tickets/${ids.ticket}`,
      "/field/board",
      `/field/work-orders/${ids.workOrder}`,
      "/field/technicians",
      `/field/technicians/${ids.technician}`,
      "/kb",
      `/kb/articles/${ids.article}`,
      "/admin/settings",
      "/admin/users",
      "/admin/webhooks",
      "/notifications",
      "/analytics",
    ],
    customer: ["/portal", "/portal/new", "/portal/help", `/portal/help/${ids.article}`],
  };
}

export async function serviceChecks(t) {
  const { check, assert, api, admin, BASE, RUN, pw, ADMIN } = t;
  const word = `kbword${RUN}`;
  const title = `Toner smudges ${word}`;
  const skill = `run${RUN}`;
  const ids = {};
  // before the console lists the users
  const techUser = await api("POST", "/v1/users", {
    token: admin.access_token,
    body: { email: `tech-${RUN}@acme.test`, name: `Tech ${RUN}`, role: "technician", password: pw },
  });
  // a work order through the API, its window from inHours from now for hours
  const workOrder = (title, location, skills, inHours, hours) => {
    const start = Date.now() + inHours * 3600e3;
    const window = { start: new Date(start).toISOString(), end: new Date(start + hours * 3600e3).toISOString() };
    return api("POST", "/v1/work-orders", { token: admin.access_token, body: { title, location, required_skills: skills, window } });
  };
  const staff = await t.newPage();
  await t.signIn(staff, ADMIN.email, ADMIN.password);
  await staff.waitForURL(/\/agent$/);
  const services = async (page) => {
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.waitFor();
    // the probes of both services have their answers
    await page.waitForFunction(() => !document.querySelector("nav[data-services]")?.getAttribute("data-services")?.includes("asking"));
    return nav.getAttribute("data-services");
  };

  await check("an admin sets business hours for the service levels (a mistake is named first)", async () => {
    await staff.goto(`${BASE}/admin/settings`);
    // the form takes the policy once it has loaded (the targets' table shows
    // then); what is typed before that would be replaced by it
    await staff.getByLabel("First response minutes, urgent").waitFor();
    await staff.getByLabel("Time zone").fill("Europe/Berlin");
    await staff.getByLabel("Monday").fill("09:00-12:00, 13:00-17:00");
    await staff.getByLabel("Tuesday").fill("17:00-09:00");
    await staff.getByRole("button", { name: "Save service levels" }).click();
    await staff.getByText("tue: 17:00-09:00 ends before it starts.").waitFor();
    await staff.getByLabel("Tuesday").fill("09:00-17:00");
    await staff.getByRole("button", { name: "Save service levels" }).click();
    await staff.getByText("Service levels saved.").waitFor();
    const sla = await api("GET", "/v1/sla-policy", { token: admin.access_token });
    const h = sla.business_hours;
    assert(h?.timezone === "Europe/Berlin", JSON.stringify(h));
    assert(
      JSON.stringify(h.days.mon) === '[["09:00","12:00"],["13:00","17:00"]]' && JSON.stringify(h.days.tue) === '[["09:00","17:00"]]',
      JSON.stringify(h.days),
    );
    assert(!h.days.wed, "a day left empty was sent");
  });

  await check("an agent writes an article, publishes a new version and restores the first", async () => {
    await staff.getByRole("link", { name: "Knowledge base" }).click();
    await staff.getByRole("button", { name: "Write an article" }).click();
    await staff.getByLabel("Title").fill(title);
    await staff.getByLabel("Tags (comma-separated)").fill("printer, toner");
    await staff.getByLabel("Text").fill("Take the toner cartridge out and shake it gently.");
    await staff.getByRole("button", { name: "Save draft" }).click();
    await staff.waitForURL(/\/kb\/articles\//);
    // the editor, not the form of the page being left
    await staff.getByRole("heading", { name: "Edit", exact: true }).waitFor();
    ids.article = staff.url().split("/").pop();
    await staff.getByLabel("Text").fill("Replace the toner cartridge.");
    await staff.getByLabel("Status").selectOption("published");
    await staff.getByRole("button", { name: "Save as a new version" }).click();
    await staff.getByText(/^Version 2 ·/).waitFor();
    await staff.getByRole("button", { name: "Restore version 1" }).click();
    await staff.getByText("Version 1 is the current text again (as version 3).").waitFor();
    const a = await api("GET", `/v1/kb/articles/${ids.article}`, { token: admin.access_token });
    assert(a.version === 3 && a.status === "published" && a.body.startsWith("Take the toner"), JSON.stringify(a));
    await staff.getByRole("button", { name: "Show version 2" }).click();
    await staff.getByText("Replace the toner cartridge.").waitFor();
    await t.axe(staff, "article editor");
    await t.shoot(staff, "kb-article");
    await staff.goto(`${BASE}/kb?q=${word}`);
    await staff.getByRole("list", { name: "Search results" }).getByRole("link", { name: title }).waitFor();
    await t.axe(staff, "knowledge base");
    await t.shoot(staff, "kb");
  });

  await check("an admin opens the help center and a visitor reads it without signing in", async () => {
    // closed to begin with, whatever an earlier run left
    await api("PUT", "/v1/kb/settings", { token: admin.access_token, body: { public: false } });
    await staff.reload();
    await staff.getByText(/^Closed: only signed-in users/).waitFor();
    await staff.getByLabel("Readable by anyone, without signing in").click();
    await staff.getByText("Help center opened.").waitFor();
    const visitor = await t.newPage();
    await visitor.goto(`${BASE}/help/${t.TENANT}`);
    await visitor.getByRole("link", { name: title }).click();
    await visitor.getByText("Take the toner cartridge out and shake it gently.").waitFor();
    await t.axe(visitor, "public help center");
    await t.shoot(visitor, "public-help");
    await visitor.context().close();
  });

  const customer = await t.newPage();
  await check("a customer typing a subject is offered the article, reads it in place, opens the ticket anyway and rates the article", async () => {
    await t.signIn(customer, t.customerUser.email, pw);
    await customer.waitForURL(/\/portal$/);
    await customer.getByRole("link", { name: "Open a ticket" }).first().click();
    await customer.getByLabel("Subject").pressSequentially(`Smudges ${word}`, { delay: 20 });
    const offered = customer.getByRole("region", { name: "Articles that may help" });
    await offered.getByRole("button", { name: title }).click();
    await offered.getByRole("article", { name: title }).getByText("Take the toner cartridge out and shake it gently.").waitFor();
    await t.axe(customer, "new ticket with suggestions");
    await t.shoot(customer, "new-ticket-suggestions");
    await customer.getByRole("button", { name: "Open ticket" }).click();
    await customer.waitForURL(/\/portal\/tickets\//);
    ids.ticket = customer.url().split("/").pop();
    await customer.getByRole("link", { name: "Help center" }).click();
    await customer.getByRole("link", { name: title }).click();
    await customer.getByRole("button", { name: "Yes" }).click();
    await customer.getByText("Thank you for telling us.").waitFor();
    await t.axe(customer, "help center article");
    await t.shoot(customer, "help-article");
    const a = await api("GET", `/v1/kb/articles/${ids.article}`, { token: admin.access_token });
    assert(a.helpful === 1, `helpful ${a.helpful}`);
  });

  await check("the agent's ticket page suggests the article", async () => {
    await staff.goto(`${BASE}/agent/tickets/${ids.ticket}`);
    await staff.getByRole("region", { name: "Suggestions" }).getByRole("link", { name: title }).waitFor();
  });

  await check("an admin makes a user a technician with a skill and a position", async () => {
    await staff.getByRole("link", { name: "Technicians" }).click();
    await staff.getByLabel("User (role technician)").selectOption({ label: `Tech ${RUN}` });
    // a skill of this run's own, so that only this technician qualifies
    await staff.getByLabel("Skills (comma-separated)").fill(`HVAC, gas, ${skill}`);
    await staff.getByLabel("Position (lat, lon)").fill("48.8566, 2.3522");
    await staff.getByRole("button", { name: "Add technician" }).click();
    await staff.getByText(`Tech ${RUN} is a technician now.`).waitFor();
    await staff
      .getByRole("table", { name: "Technicians" })
      .getByRole("link", { name: `Tech ${RUN}` })
      .click();
    await staff.waitForURL(/\/field\/technicians\//);
    ids.technician = staff.url().split("/").pop();
    const tech = await api("GET", `/v1/technicians/${ids.technician}`, { token: admin.access_token });
    assert(tech.user_id === techUser.id && tech.skills.join() === `gas,hvac,${skill}` && Math.abs(tech.location.lat - 48.8566) < 1e-6, JSON.stringify(tech));
    await t.axe(staff, "technician");
    await t.shoot(staff, "technician");
  });

  await check("a work order from the ticket is dispatched to the nearest technician, checked off, parts noted and signed off", async () => {
    await staff.goto(`${BASE}/agent/tickets/${ids.ticket}`);
    await staff.getByRole("link", { name: "Send a technician (work order)" }).click();
    await staff.getByRole("heading", { name: /New work order for ticket #\d+/ }).waitFor();
    await staff.getByLabel("Place (lat, lon)").fill("48.8606, 2.3376");
    await staff.getByLabel("Required skills").fill(`hvac, ${skill}`);
    await staff.getByRole("button", { name: "Open work order" }).click();
    await staff.waitForURL(/\/field\/work-orders\/[0-9a-f-]{36}$/);
    ids.workOrder = staff.url().split("/").pop();
    await staff.getByRole("button", { name: "Dispatch nearest technician" }).click();
    await staff.getByText(new RegExp(`Tech ${RUN} \\([0-9.]+ km, about \\d+ min away\\)`)).waitFor();
    await staff.getByLabel("New item").fill("Check the burner");
    await staff.getByLabel("Required to complete").check();
    await staff.getByRole("button", { name: "Add item" }).click();
    await staff.getByRole("checkbox", { name: /Check the burner/ }).waitFor();
    await staff.getByLabel("SKU").fill(`FLT-${RUN}`);
    await staff.getByLabel("Quantity").fill("2");
    await staff.getByRole("button", { name: "Add part" }).click();
    await staff.getByRole("cell", { name: `FLT-${RUN}` }).waitFor();
    await staff.getByLabel("Status").selectOption("on_site");
    await staff.getByRole("button", { name: "Save progress" }).click();
    await staff.getByLabel("Status").locator("option[value=completed]").waitFor({ state: "attached" });
    await staff.getByLabel("Status").selectOption("completed");
    await staff.getByLabel("Signed off by (the customer's name)").fill("Ms Customer");
    await staff.getByRole("button", { name: "Save progress" }).click();
    await staff
      .getByRole("alert")
      .filter({ hasText: /checklist|required/i })
      .waitFor();
    let wo = await api("GET", `/v1/work-orders/${ids.workOrder}`, { token: admin.access_token });
    assert(wo.status === "on_site", `completed with a required item open: ${wo.status}`);
    // the box follows the server's answer, not the click
    await staff.getByRole("checkbox", { name: /Check the burner/ }).click();
    await staff
      .getByRole("checkbox", { name: /Check the burner/ })
      .and(staff.locator(":checked"))
      .waitFor();
    await staff.getByLabel("Status").selectOption("completed");
    await staff.getByLabel("Signed off by (the customer's name)").fill("Ms Customer");
    await staff.getByRole("button", { name: "Save progress" }).click();
    await staff.getByText(/^Ms Customer, /).waitFor();
    wo = await api("GET", `/v1/work-orders/${ids.workOrder}`, { token: admin.access_token });
    assert(wo.status === "completed" && wo.technician_id === ids.technician && wo.sign_off?.signed_by === "Ms Customer", JSON.stringify(wo));
    await staff
      .getByRole("list", { name: "Work order history" })
      .getByText(/changed status/)
      .first()
      .waitFor();
    await t.axe(staff, "work order");
    await t.shoot(staff, "work-order");
  });

  await check("the dispatch board draws technicians and open work orders and dispatches from the list", async () => {
    const open = await workOrder(`Boiler ${RUN}`, { lat: 48.85, lon: 2.36, address: "1 rue de Rivoli" }, ["gas", skill], 26, 2);
    await staff.getByRole("link", { name: "Dispatch board" }).click();
    const plot = staff.getByTestId("board-plot");
    await plot.waitFor();
    assert((await plot.getByTestId("board-technician").count()) >= 1, "no technician drawn");
    assert((await plot.getByTestId("board-order").count()) >= 1, "no work order drawn");
    await t.axe(staff, "dispatch board");
    await t.shoot(staff, "board");
    // live: a work order opened elsewhere is drawn without a reload (workorder.created)
    await staff.locator('header[data-live="up"]').waitFor();
    const drawn = await plot.getByTestId("board-order").count();
    await workOrder(`Live ${RUN}`, { lat: 48.84, lon: 2.35 }, [skill], 30, 1);
    await staff
      .getByRole("list", { name: "Open work orders" })
      .getByRole("listitem")
      .filter({ hasText: `Live ${RUN}` })
      .waitFor();
    assert((await plot.getByTestId("board-order").count()) === drawn + 1, "the new work order is not drawn");
    await staff.getByRole("button", { name: `Dispatch Boiler ${RUN}` }).click();
    const item = staff
      .getByRole("list", { name: "Open work orders" })
      .getByRole("listitem")
      .filter({ hasText: `Boiler ${RUN}` });
    // scheduled, and named in the item (the hand choice's list is gone then)
    await item.getByText("scheduled", { exact: true }).waitFor();
    await item.locator("select").waitFor({ state: "detached" });
    assert((await item.textContent()).includes(`Tech ${RUN}`), await item.textContent());
    const wo = await api("GET", `/v1/work-orders/${open.id}`, { token: admin.access_token });
    assert(wo.status === "scheduled" && wo.technician_id === ids.technician, JSON.stringify(wo));
  });

  await check("the dispatch board sends a technician chosen by hand", async () => {
    const open = await workOrder(`Chosen ${RUN}`, { lat: 48.87, lon: 2.3 }, [skill], 50, 1);
    // not available: the nearest-first dispatch would refuse them, a hand choice may send them
    const tech = await api("GET", `/v1/technicians/${ids.technician}`, { token: admin.access_token });
    await api("PATCH", `/v1/technicians/${ids.technician}`, { token: admin.access_token, body: { available: false }, ifMatch: tech.version });
    await staff.reload();
    const choice = staff.getByLabel(`Technician for Chosen ${RUN}`);
    await choice.waitFor();
    // only this run's technician has the run's skill
    assert((await choice.locator("option").count()) === 2, "more or fewer than one technician offered");
    await choice.selectOption(await choice.locator("option", { hasText: `Tech ${RUN} (` }).getAttribute("value"));
    assert(/not available/.test(await choice.locator("option:checked").textContent()), "the choice does not say the technician is not available");
    await staff.getByRole("button", { name: `Send the chosen technician to Chosen ${RUN}` }).click();
    // once dispatched the item leaves the unassigned state and names who goes
    const item = staff
      .getByRole("list", { name: "Open work orders" })
      .getByRole("listitem")
      .filter({ hasText: `Chosen ${RUN}` });
    await item.getByText("scheduled", { exact: true }).waitFor();
    await item.locator("select").waitFor({ state: "detached" });
    assert((await item.textContent()).includes(`Tech ${RUN}`), await item.textContent());
    const wo = await api("GET", `/v1/work-orders/${open.id}`, { token: admin.access_token });
    assert(wo.status === "scheduled" && wo.technician_id === ids.technician, JSON.stringify(wo));
    const now = await api("GET", `/v1/technicians/${ids.technician}`, { token: admin.access_token });
    await api("PATCH", `/v1/technicians/${ids.technician}`, { token: admin.access_token, body: { available: true }, ifMatch: now.version });
  });

  await check("at a phone's width (390 px) every page fits the screen and passes axe", async () => {
    const pages = phonePages(ids);
    for (const [page, paths] of [
      [staff, pages.admin],
      [customer, pages.customer],
    ]) {
      await page.setViewportSize({ width: 390, height: 844 });
      for (const path of paths) {
        await page.goto(BASE + path);
        await page.locator("main h1").first().waitFor();
        await page.waitForLoadState("networkidle");
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert(overflow <= 0, `${path} is ${overflow} px wider than the phone`);
        await page.getByRole("button", { name: "Sign out" }).waitFor();
        await t.axe(page, `${path} at 390 px`);
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  const ctl = process.env.HD_TEST_STACK_CTL;
  await check("a service that does not answer has its pages left out, and back when it answers", async () => {
    assert(ctl, "HD_TEST_STACK_CTL is not set (tests/run.sh sets it)");
    await staff.goto(`${BASE}/agent`);
    assert((await services(staff)) === "field:up knowledge:up notification:up analytics:up", "both services should be up first");
    const run = (what) => {
      const r = spawnSync(ctl, [what, "knowledge"], { stdio: "inherit" });
      assert(r.status === 0, `stackctl ${what} knowledge: ${r.status}`);
    };
    run("stop");
    try {
      await staff.reload();
      assert((await services(staff)) === "field:up knowledge:down notification:up analytics:up", "knowledge should be down");
      assert((await staff.getByRole("link", { name: "Knowledge base" }).count()) === 0, "the knowledge base link is still shown");
      await staff.getByRole("link", { name: "Dispatch board" }).waitFor();
      await customer.goto(`${BASE}/portal/new`);
      await services(customer);
      assert((await customer.getByRole("link", { name: "Help center" }).count()) === 0, "the help center link is still shown");
      await customer.getByLabel("Subject").pressSequentially(`Smudges ${word}`, { delay: 20 });
      await customer.waitForTimeout(800);
      assert((await customer.getByRole("region", { name: "Articles that may help" }).count()) === 0, "suggestions offered without the service");
    } finally {
      run("start");
    }
    // the gateway dials the daemon again within a few seconds
    let state = "";
    for (let i = 0; i < 20 && state !== "field:up knowledge:up notification:up analytics:up"; i++) {
      if (i > 0) await staff.waitForTimeout(1000);
      await staff.reload();
      state = await services(staff);
    }
    assert(state === "field:up knowledge:up notification:up analytics:up", `knowledge should be back: ${state}`);
    await staff.getByRole("link", { name: "Knowledge base" }).waitFor();
  });

  await staff.context().close();
  await customer.context().close();
}
