// A technician's own page in the browser (docs/web.md, "My work orders"):
// signed in as a technician, their work orders, the next step in one tap,
// "Share my location" from the browser's geolocation and typed by hand, a
// work order finished from its page (checklist, part, sign-off); and the
// dispatch board, open meanwhile, drawing the new position without a reload.
// Run by console.e2e.mjs, which hands over its helpers (t).

export async function technicianChecks(t) {
  const { check, assert, api, admin, BASE, RUN, pw, ADMIN } = t;
  const token = admin.access_token;
  const skill = `solo${RUN}`;
  const user = await api("POST", "/v1/users", {
    token,
    body: { email: `field-${RUN}@acme.test`, name: `Field ${RUN}`, role: "technician", password: pw },
  });
  const tech = await api("POST", "/v1/technicians", {
    token,
    body: { user_id: user.id, skills: [skill], location: { lat: 48.86, lon: 2.34 }, available: true },
  });
  const sent = async (title, inHours) => {
    const start = Date.now() + inHours * 3600e3;
    const window = { start: new Date(start).toISOString(), end: new Date(start + 3600e3).toISOString() };
    const w = await api("POST", "/v1/work-orders", {
      token,
      body: { title, location: { lat: 48.85, lon: 2.35, address: `${title} street` }, required_skills: [skill], window },
    });
    return api("POST", `/v1/work-orders/${w.id}/dispatch`, { token, body: { technician_id: tech.id } });
  };
  const first = await sent(`Leak ${RUN}`, 2);
  const later = await sent(`Boiler check ${RUN}`, 30);
  await api("POST", `/v1/work-orders/${first.id}/checklist`, { token, body: { text: "Close the valve", required: true } });

  // the board, open while the technician moves
  const board = await t.newPage();
  await t.signIn(board, ADMIN.email, ADMIN.password);
  await board.waitForURL(/\/agent$/);
  await board.goto(`${BASE}/field/board`);
  const dot = board.locator(`[data-technician="${tech.id}"]`);

  const page = await t.newPage();
  await page.context().grantPermissions(["geolocation"], { origin: BASE });
  await page.context().setGeolocation({ latitude: 48.8, longitude: 2.3 });

  await check("a technician signs in to their own page: their work orders, soonest first", async () => {
    await t.signIn(page, user.email, pw);
    await page.waitForURL(/\/field\/my$/);
    await page.getByRole("heading", { name: "My work orders" }).waitFor();
    const todo = page.getByRole("list", { name: "To do" });
    await todo.getByRole("heading", { name: `Leak ${RUN}` }).waitFor();
    const titles = await todo.getByRole("heading").allTextContents();
    assert(titles.indexOf(`Leak ${RUN}`) < titles.indexOf(`Boiler check ${RUN}`) && titles.indexOf(`Boiler check ${RUN}`) >= 0, titles.join(" | "));
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My work orders" }).waitFor();
    await t.axe(page, "my work orders");
    await t.shoot(page, "my-work");
  });

  await check("a technician shares their location from the browser, then types one (a wrong one named first)", async () => {
    await page.getByRole("button", { name: "Share my location", exact: true }).click();
    await page.getByText("Location shared: 48.8000, 2.3000.").waitFor();
    let now = await api("GET", `/v1/technicians/${tech.id}`, { token });
    assert(Math.abs(now.location.lat - 48.8) < 1e-6 && Math.abs(now.location.lon - 2.3) < 1e-6, JSON.stringify(now.location));
    await page.getByLabel("Latitude").fill("91");
    await page.getByLabel("Longitude").fill("2.31");
    await page.getByRole("button", { name: "Save this position" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /latitude is a number from -90 to 90/ })
      .waitFor();
    await page.getByLabel("Latitude").fill("48.81");
    await page.getByRole("button", { name: "Save this position" }).click();
    await page.getByText("Location shared: 48.8100, 2.3100.").waitFor();
    now = await api("GET", `/v1/technicians/${tech.id}`, { token });
    assert(Math.abs(now.location.lat - 48.81) < 1e-6 && Math.abs(now.location.lon - 2.31) < 1e-6, JSON.stringify(now.location));
  });

  await check("the dispatch board moves the technician on their next work order event, without a reload", async () => {
    await board.locator('header[data-live="up"]').waitFor();
    await dot.waitFor();
    const before = await dot.getAttribute("data-at");
    await page.getByRole("button", { name: `On my way: Leak ${RUN}` }).click();
    await page.getByRole("button", { name: `Arrived: Leak ${RUN}` }).waitFor();
    const w = await api("GET", `/v1/work-orders/${first.id}`, { token });
    assert(w.status === "en_route", w.status);
    // workorder.status_changed reloads the technicians (positions have no
    // event of their own: the board also polls them, docs/web.md)
    await board.locator(`[data-technician="${tech.id}"][data-at="48.81,2.31"]`).waitFor({ timeout: 15_000 });
    assert(before !== "48.81,2.31", `already there before: ${before}`);
  });

  await check("a technician arrives and finishes from the work order's page: checklist, part, sign-off", async () => {
    await page.getByRole("button", { name: `Arrived: Leak ${RUN}` }).click();
    await page
      .getByRole("link", { name: `Open Leak ${RUN}: notes, checklist, parts and sign-off` })
      .getByText("Finish")
      .waitFor();
    await page.getByRole("link", { name: `Open Leak ${RUN}: notes, checklist, parts and sign-off` }).click();
    await page.waitForURL(new RegExp(`/field/work-orders/${first.id}$`));
    await page.getByRole("checkbox", { name: /Close the valve/ }).click();
    await page
      .getByRole("checkbox", { name: /Close the valve/ })
      .and(page.locator(":checked"))
      .waitFor();
    await page.getByLabel("SKU").fill(`VLV-${RUN}`);
    await page.getByLabel("Quantity").fill("1");
    await page.getByRole("button", { name: "Add part" }).click();
    await page.getByRole("cell", { name: `VLV-${RUN}` }).waitFor();
    await page.getByLabel("Notes").fill("Valve replaced");
    await page.getByLabel("Status").selectOption("completed");
    await page.getByLabel("Signed off by (the customer's name)").fill("Mr Owner");
    await page.getByRole("button", { name: "Save progress" }).click();
    await page.getByText(/^Mr Owner, /).waitFor();
    const w = await api("GET", `/v1/work-orders/${first.id}`, { token });
    assert(w.status === "completed" && w.sign_off?.signed_by === "Mr Owner" && w.notes === "Valve replaced", JSON.stringify(w));
    await page.getByRole("link", { name: "← My work orders" }).click();
    await page
      .getByRole("list", { name: "Done" })
      .getByRole("link", { name: `Leak ${RUN}` })
      .waitFor();
    assert(
      (await page
        .getByRole("list", { name: "To do" })
        .getByRole("heading", { name: `Boiler check ${RUN}` })
        .count()) === 1,
      "the later work order left the list",
    );
    assert(later.technician_id === tech.id, JSON.stringify(later));
  });

  await board.context().close();
  await page.context().close();
}
