// The page an invitation mail links to: HD_PUBLIC_URL/invitation#token=…
// (docs/web.md, "Invitations"; docs/operations.md). The token is read from
// the fragment, which browsers never send, and the fragment is dropped from
// the address bar and history at once; it leaves the browser only in the
// body of POST /v1/auth/invitations/accept, never in a URL. Then: sign in.
import { useMutation } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useApi } from "../api/context";
import { fieldMessage } from "../api/errors";
import { ErrorBox, Field, FieldProblem, Notice } from "../components/ui";

const MIN_PASSWORD = 8;

/** The token of a fragment "#token=…" (other parameters ignored), or "". */
export function tokenOfFragment(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token")?.trim() ?? "";
}

/** Takes the token out of the address, so it stays in no history entry. */
function dropFragment(): void {
  if (window.location.hash) window.history.replaceState(window.history.state, "", window.location.pathname);
}

/** What a refused token means for the person holding the link. */
const TOKEN_REFUSED =
  "This invitation link no longer works: it was used already, replaced by a newer invitation, or it has expired. Ask whoever invited you to send a new one.";

export function Invitation() {
  const api = useApi();
  // read during render (a render may be run again: it stays pure), taken
  // out of the address once the page is shown
  const [token] = useState(() => tokenOfFragment(window.location.hash));
  useEffect(dropFragment, []);
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const accept = useMutation({ mutationFn: () => api.post<void>("/v1/auth/invitations/accept", { token, password }) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password.length < MIN_PASSWORD) return setProblem(`The password needs at least ${MIN_PASSWORD} characters.`);
    if (password !== again) return setProblem("The two passwords are not the same.");
    setProblem(null);
    accept.mutate();
  };
  const tokenError = fieldMessage(accept.error, "token");
  const passwordError = fieldMessage(accept.error, "password");
  const otherError = accept.isError && !tokenError && !passwordError ? accept.error : null;
  return (
    <main id="main" className="mx-auto max-w-md p-6">
      <h1 className="mb-4 text-xl font-semibold">Choose your password</h1>
      {!token ? (
        <ErrorBox error={null}>
          This page opens from the link in your invitation mail: that link carries what it needs. Open the link from the mail again.
        </ErrorBox>
      ) : accept.isSuccess ? (
        <div className="space-y-3">
          <Notice>Your password is set. Sign in with your email address and this password.</Notice>
          <Link className="btn inline-block" to="/login">
            Sign in
          </Link>
        </div>
      ) : (
        <form className="card space-y-3" onSubmit={submit} aria-labelledby="inv-title">
          <p id="inv-title" className="text-sm text-slate-700">
            You were invited to the help desk. Choose the password you will sign in with (at least {MIN_PASSWORD} characters).
          </p>
          <NewPassword id="inv-password" label="New password" value={password} onChange={setPassword} problem={passwordError} />
          <NewPassword id="inv-again" label="The same password again" value={again} onChange={setAgain} problem="" />
          <ErrorBox error={otherError}>{problem ?? (tokenError ? TOKEN_REFUSED : null)}</ErrorBox>
          <button type="submit" className="btn" disabled={accept.isPending}>
            Set my password
          </button>
        </form>
      )}
      {token && !accept.isSuccess && tokenError && (
        <p className="mt-3 text-sm">
          <Link className="text-indigo-700 underline" to="/login">
            Go to sign-in
          </Link>
        </p>
      )}
    </main>
  );
}

/** A new password typed (hidden), with the API's problem about it under it. */
function NewPassword(props: { id: string; label: string; value: string; onChange: (v: string) => void; problem: string }) {
  return (
    <Field id={props.id} label={props.label}>
      <input
        id={props.id}
        type="password"
        autoComplete="new-password"
        className="input"
        required
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.problem ? true : undefined}
        aria-describedby={props.problem ? `${props.id}-error` : undefined}
      />
      <FieldProblem id={`${props.id}-error`} text={props.problem} />
    </Field>
  );
}
