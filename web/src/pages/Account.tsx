// The signed-in user's own account: their details, a new password, and
// two-step verification (TOTP) with the QR code drawn here, from the
// otpauth URL, never by a third party.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { encode } from "uqr";
import { useApi, useUser } from "../api/context";
import type { User } from "../api/types";
import { ErrorBox, Notice, PageTitle } from "../components/ui";

export function Account() {
  const user = useUser();
  if (!user) return null;
  return (
    <section className="max-w-2xl space-y-4">
      <PageTitle>My account</PageTitle>
      <dl className="card grid grid-cols-1 gap-2 text-sm md:grid-cols-3">
        <div>
          <dt className="text-slate-500">Name</dt>
          <dd>{user.name || "—"}</dd>
        </div>
        <div>
          <dt className="text-slate-500">Email</dt>
          <dd>{user.email}</dd>
        </div>
        <div>
          <dt className="text-slate-500">Role</dt>
          <dd>{user.role}</dd>
        </div>
      </dl>
      <TwoStep user={user} />
      <Password user={user} />
    </section>
  );
}

/** A QR code as SVG squares (no inline style, no image from elsewhere). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const qr = encode(text, { ecc: "M" });
  const quiet = 4;
  const size = qr.size + 2 * quiet;
  const cells: string[] = [];
  qr.data.forEach((row, y) => row.forEach((on, x) => on && cells.push(`M${x + quiet} ${y + quiet}h1v1h-1z`)));
  return (
    <svg role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} className="h-48 w-48 bg-white" shapeRendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={cells.join("")} fill="#000" />
    </svg>
  );
}

function TwoStep({ user }: { user: User }) {
  const api = useApi();
  const [current, setCurrent] = useState("");
  const [code, setCode] = useState("");
  const [done, setDone] = useState(false);
  const enroll = useMutation({
    mutationFn: () => api.post<{ secret: string; otpauth_url: string }>("/v1/auth/mfa/enroll", user.mfa_enabled ? { totp: current.trim() } : {}),
  });
  const confirm = useMutation({
    mutationFn: () => api.post("/v1/auth/mfa/confirm", { code: code.trim() }),
    onSuccess: () => setDone(true),
  });
  const start = (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    confirm.reset();
    enroll.mutate();
  };
  const finish = (e: FormEvent) => {
    e.preventDefault();
    confirm.mutate();
  };
  const on = user.mfa_enabled || done;
  return (
    <div className="card space-y-3">
      <h2 className="font-semibold">Two-step verification</h2>
      <p className="text-sm text-slate-700" data-testid="mfa-state">
        {on ? "On: signing in asks for a code from your authenticator app." : "Off: signing in needs only your password. Turn it on to protect your account."}
      </p>
      {done ? (
        <Notice>Two-step verification is on. From your next sign-in you will be asked for a code.</Notice>
      ) : !enroll.data ? (
        <form onSubmit={start} className="space-y-2">
          {user.mfa_enabled && (
            <div>
              <label className="label" htmlFor="mfa-current">
                Current code (to replace your authenticator)
              </label>
              <input
                id="mfa-current"
                className="input"
                required
                inputMode="numeric"
                pattern="[0-9]{6}"
                value={current}
                onChange={(e) => setCurrent(e.target.value)}
              />
            </div>
          )}
          <ErrorBox error={enroll.error} />
          <button type="submit" className="btn" disabled={enroll.isPending}>
            {user.mfa_enabled ? "Set up a new authenticator" : "Set up two-step verification"}
          </button>
        </form>
      ) : (
        <form onSubmit={finish} className="space-y-3">
          <p className="text-sm">Scan this code with your authenticator app, or type the key below into it. Then enter the 6-digit code it shows.</p>
          <QrCode text={enroll.data.otpauth_url} label="QR code to add this account to an authenticator app" />
          <p className="text-sm">
            Key:{" "}
            <code data-testid="mfa-secret" className="rounded bg-slate-100 px-1 font-mono">
              {enroll.data.secret}
            </code>
          </p>
          <div>
            <label className="label" htmlFor="mfa-code">
              Code from the app
            </label>
            <input
              id="mfa-code"
              className="input"
              required
              inputMode="numeric"
              pattern="[0-9]{6}"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </div>
          <ErrorBox error={confirm.error} />
          <button type="submit" className="btn" disabled={confirm.isPending}>
            Turn on
          </button>
        </form>
      )}
    </div>
  );
}

function Password({ user }: { user: User }) {
  const api = useApi();
  const navigate = useNavigate();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => api.patch<User>(`/v1/users/${user.id}`, { current_password: current, password: next }, user.version),
    // every session of this user ends with the change (docs/openapi.yaml)
    onSuccess: async () => {
      await api.logout().catch(() => undefined);
      navigate("/login", { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <form onSubmit={submit} className="card space-y-3" aria-labelledby="pw-title">
      <h2 id="pw-title" className="font-semibold">
        Change password
      </h2>
      <p className="text-sm text-slate-600">Changing it signs you out everywhere, this browser included.</p>
      <div>
        <label className="label" htmlFor="pw-current">
          Current password
        </label>
        <input
          id="pw-current"
          type="password"
          autoComplete="current-password"
          className="input"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </div>
      <div>
        <label className="label" htmlFor="pw-new">
          New password
        </label>
        <input
          id="pw-new"
          type="password"
          autoComplete="new-password"
          className="input"
          required
          minLength={8}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
      </div>
      <ErrorBox error={change.error} />
      <button type="submit" className="btn" disabled={change.isPending}>
        Change password
      </button>
    </form>
  );
}
