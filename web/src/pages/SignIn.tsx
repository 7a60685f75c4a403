// Sign-in: tenant, email and password; a second step asks for the TOTP code
// when the account has MFA (the server's 401 carries mfa_required).
import { useState, type FormEvent } from "react";
import { Navigate, useNavigate } from "react-router";
import { useApi, useUser } from "../api/context";
import { ApiError } from "../api/errors";
import { ErrorBox } from "../components/ui";
import { homeOf } from "./home";

export function SignIn() {
  const api = useApi();
  const user = useUser();
  const navigate = useNavigate();
  const [tenant, setTenant] = useState(() => window.localStorage.getItem("hd.tenant") ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (user) return <Navigate to={homeOf(user.role)} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const u = await api.login(tenant.trim(), email.trim(), password, needTotp ? totp.trim() : undefined);
      window.localStorage.setItem("hd.tenant", tenant.trim());
      navigate(homeOf(u.role), { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.mfaRequired) {
        if (needTotp && totp) setError(new Error("That code was not accepted. Enter the current code from your authenticator app."));
        setNeedTotp(true);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} className="card w-full max-w-sm space-y-4" aria-labelledby="signin-title">
        <h1 id="signin-title" className="text-xl font-semibold">
          Sign in to Helpdesk
        </h1>
        {!needTotp ? (
          <>
            <div>
              <label className="label" htmlFor="tenant">
                Organisation
              </label>
              <input
                id="tenant"
                className="input"
                required
                autoComplete="organization"
                value={tenant}
                onChange={(e) => setTenant(e.target.value)}
                placeholder="acme"
              />
            </div>
            <div>
              <label className="label" htmlFor="email">
                Email
              </label>
              <input id="email" type="email" className="input" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
            <div>
              <label className="label" htmlFor="password">
                Password
              </label>
              <input
                id="password"
                type="password"
                className="input"
                required
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </div>
          </>
        ) : (
          <div>
            <p className="mb-2 text-sm text-slate-700">This account uses two-step verification. Enter the 6-digit code from your authenticator app.</p>
            <label className="label" htmlFor="totp">
              Verification code
            </label>
            <input
              id="totp"
              className="input"
              required
              inputMode="numeric"
              pattern="[0-9]{6}"
              autoComplete="one-time-code"
              autoFocus
              value={totp}
              onChange={(e) => setTotp(e.target.value)}
            />
          </div>
        )}
        <ErrorBox error={error} />
        <div className="flex items-center gap-2">
          <button type="submit" className="btn" disabled={busy}>
            {busy ? "Signing in…" : needTotp ? "Verify" : "Sign in"}
          </button>
          {needTotp && (
            <button
              type="button"
              className="btn-secondary"
              onClick={() => {
                setNeedTotp(false);
                setTotp("");
                setError(null);
              }}
            >
              Back
            </button>
          )}
        </div>
      </form>
    </main>
  );
}
