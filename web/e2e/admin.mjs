// Admin pages in the browser (docs/web.md): a rule with several conditions
// and actions whose mistakes the service names are shown under their rows,
// then changed; a user invited from the Users page who opens the mailed link
// (read from the stack's SMTP recorder, HD_TEST_MAILDIR, as
// tests/e2e/test_invitations.c does), sets a password and signs in.
// Run by console.e2e.mjs, which hands over its helpers (t).
import { readdirSync, readFileSync } from "node:fs";

/** The decoded text/plain part of a recorded mail (base64, as hd-notification writes it). */
function textPart(mail) {
  const part = mail.indexOf("Content-Type: text/plain");
  const start = part < 0 ? -1 : mail.indexOf("\n\n", part.valueOf());
  if (start < 0) return "";
  const stop = mail.indexOf("\n--", start + 2);
  return Buffer.from(mail.slice(start + 2, stop < 0 ? undefined : stop).replace(/\s+/g, ""), "base64").toString("utf8");
}

/** Waits up to 20 s for the invitation mail to `email` and returns its link's token. */
async function mailedToken(email) {
  const dir = process.env.HD_TEST_MAILDIR;
  if (!dir) throw new Error("set HD_TEST_MAILDIR (tests/run.sh does)");
  for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    for (const sub of ["new", "cur"]) {
      for (const name of readdirSync(`${dir}/${sub}`)) {
        const mail = readFileSync(`${dir}/${sub}/${name}`, "utf8").replace(/\r\n/g, "\n");
        if (!mail.includes(`To: <${email}>`)) continue;
        const m = textPart(mail).match(/\/invitation#token=([A-Za-z0-9._-]+)/);
        if (m) return m[1];
      }
    }
  }
  throw new Error(`no invitation mail to ${email}`);
}

export async function adminChecks(t) {
  const { check, assert, api, admin, BASE, RUN, pw, ADMIN, TENANT } = t;
  const token = admin.access_token;
  const page = await t.newPage();
  await t.signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/agent$/);

  await check("an admin builds a rule of several conditions and actions; the service's errors show under their rows", async () => {
    await page.goto(`${BASE}/admin/settings`);
    const ed = page.getByTestId("rule-editor");
    await ed.getByLabel("Name", { exact: true }).fill(`Angry VIPs ${RUN}`);
    await ed.getByLabel("Condition 1 field").selectOption("tags");
    await ed.getByLabel("Condition 1 operator").selectOption("in");
    await ed.getByLabel("Condition 1 value").fill(`vip-${RUN}, gold-${RUN}`);
    await ed.getByRole("button", { name: "Add a condition" }).click();
    await ed.getByLabel("Condition 2 field").selectOption("sentiment");
    await ed.getByLabel("Condition 2 operator").selectOption("lt");
    await ed.getByLabel("Condition 2 value").fill("very low");
    await ed.getByLabel("Action 1 value").selectOption("urgent");
    await ed.getByRole("button", { name: "Add an action" }).click();
    await ed.getByLabel("Action 2 type").selectOption("auto_triage");
    await ed.getByLabel("Action 2 confidence threshold (0–1)").fill("1.5");
    await ed.getByRole("button", { name: "Add rule" }).click();
    await ed
      .getByRole("group", { name: "Condition 2" })
      .getByText(/^operator: lt and gt compare sentiment only/)
      .waitFor();
    await ed
      .getByRole("group", { name: "Action 2" })
      .getByText(/^value is not valid/)
      .waitFor();
    assert(
      (await ed
        .getByRole("group", { name: "Condition 1" })
        .getByText(/not valid/)
        .count()) === 0,
      "condition 1 blamed",
    );
    assert((await ed.getByLabel("Condition 2 value").getAttribute("aria-invalid")) === "true", "condition 2 not marked invalid");
    let rules = await api("GET", "/v1/automations?limit=100", { token });
    assert(!rules.items.some((r) => r.name === `Angry VIPs ${RUN}`), "a refused rule was stored");
    await t.axe(page, "automations with errors");
    await t.shoot(page, "automations-errors");
    await ed.getByLabel("Condition 2 value").fill("-2");
    await ed.getByLabel("Action 2 confidence threshold (0–1)").fill("0.8");
    await ed.getByRole("button", { name: "Add rule" }).click();
    await page.getByText(`Rule “Angry VIPs ${RUN}” added.`).waitFor();
    rules = await api("GET", "/v1/automations?limit=100", { token });
    const rule = rules.items.find((r) => r.name === `Angry VIPs ${RUN}`);
    // key order is the service's: compare the facts
    const said = (rule?.conditions ?? []).map((c) => [c.field, c.op, c.value]).concat((rule?.actions ?? []).map((x) => [x.type, x.value]));
    const meant = [
      ["tags", "in", [`vip-${RUN}`, `gold-${RUN}`]],
      ["sentiment", "lt", "-2"],
      ["set_priority", "urgent"],
      ["auto_triage", "0.8"],
    ];
    assert(rule?.conditions.length === 2 && JSON.stringify(said) === JSON.stringify(meant), JSON.stringify(rule));
  });

  await check("an admin changes the rule: on updates it may not auto-triage, and the saved rule says so", async () => {
    await page.getByRole("button", { name: `Change the rule Angry VIPs ${RUN}` }).click();
    const ed = page.getByRole("form", { name: `Change the rule “Angry VIPs ${RUN}”` });
    await ed.getByLabel("Action 2 confidence threshold (0–1)").waitFor();
    await ed.getByLabel("When a ticket is").selectOption("ticket.updated");
    assert((await ed.getByLabel(/confidence threshold/).count()) === 0, "auto_triage kept on a ticket.updated rule");
    await ed.getByRole("button", { name: "Add a condition" }).click();
    await ed.getByLabel("Condition 3 field").selectOption("status");
    await ed.getByLabel("Condition 3 operator").selectOption("ne");
    await ed.getByLabel("Condition 3 value").fill("closed");
    await ed.getByRole("button", { name: "Save rule" }).click();
    await page.getByText(`Rule “Angry VIPs ${RUN}” saved.`).waitFor();
    const rules = await api("GET", "/v1/automations?limit=100", { token });
    const rule = rules.items.find((r) => r.name === `Angry VIPs ${RUN}`);
    assert(rule.event === "ticket.updated" && rule.conditions.length === 3 && rule.actions.length === 1 && rule.version === 2, JSON.stringify(rule));
    await page
      .getByRole("list", { name: "Automations" })
      .getByRole("listitem")
      .filter({ hasText: `Angry VIPs ${RUN}` })
      .getByText(/status ne "closed" → set_priority urgent/)
      .waitFor();
    await t.axe(page, "automations");
    await t.shoot(page, "automations");
  });

  const email = `invited-${RUN}@acme.test`;
  const guest = await t.newPage();
  await check("an admin invites a user; the mailed link sets their password in the console, once; then they sign in", async () => {
    await api("POST", "/v1/users", { token, body: { email, name: `Invited ${RUN}`, role: "agent", password: `unknown-${RUN}-${pw}` } });
    await page.goto(`${BASE}/admin/users`);
    await page.getByLabel("Search").fill(email);
    await page.getByRole("button", { name: `Invite ${email}` }).click();
    await page.getByText(`Invitation mailed to ${email}`).waitFor();
    const link = await mailedToken(email);
    const requests = [];
    guest.on("request", (r) => requests.push(r.url()));
    await guest.goto(`${BASE}/invitation#token=${link}`);
    await guest.getByRole("heading", { name: "Choose your password" }).waitFor();
    assert(!guest.url().includes(link), "the token stayed in the address bar");
    await t.axe(guest, "invitation");
    await t.shoot(guest, "invitation");
    await guest.getByLabel("New password").fill("short");
    await guest.getByLabel("The same password again").fill("short");
    await guest.getByRole("button", { name: "Set my password" }).click();
    await guest
      .getByRole("alert")
      .filter({ hasText: /at least 8 characters/ })
      .waitFor();
    const chosen = `Chosen-${RUN}-pw`;
    await guest.getByLabel("New password").fill(chosen);
    await guest.getByLabel("The same password again").fill(chosen);
    await guest.getByRole("button", { name: "Set my password" }).click();
    await guest.getByText("Your password is set.", { exact: false }).waitFor();
    assert(!requests.some((u) => u.includes(link)), `the token was in a URL: ${requests.find((u) => u.includes(link))}`);
    await guest.getByRole("link", { name: "Sign in" }).click();
    await guest.waitForURL(/\/login$/);
    await guest.getByLabel("Organisation").fill(TENANT);
    await guest.getByLabel("Email").fill(email);
    await guest.getByLabel("Password").fill(chosen);
    await guest.getByRole("button", { name: "Sign in" }).click();
    await guest.waitForURL(/\/agent$/);
    await guest.getByTestId("whoami").getByText(`Invited ${RUN}`).waitFor();
    // the link works once: opened again it is refused in words, nothing changes
    await guest.goto(`${BASE}/invitation#token=${link}`);
    await guest.getByLabel("New password").fill("another-password-1");
    await guest.getByLabel("The same password again").fill("another-password-1");
    await guest.getByRole("button", { name: "Set my password" }).click();
    await guest
      .getByRole("alert")
      .filter({ hasText: /no longer works/ })
      .waitFor();
    await t.login(email, chosen);
  });
  await guest.context().close();
  await page.context().close();
}
