// API errors: every failure carries the problem+json the gateway or a daemon
// sent (RFC 9457), and is put in words for people here, never a blank page.

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
  errors?: FieldError[];
  mfa_required?: boolean;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  get mfaRequired(): boolean {
    return this.status === 401 && this.problem.mfa_required === true;
  }

  get fieldErrors(): FieldError[] {
    return this.problem.errors ?? [];
  }
}

/** The messages of a 400/422 problem's errors[] for one field, joined ("" if none). */
export function fieldMessage(err: unknown, field: string): string {
  if (!(err instanceof ApiError)) return "";
  return err.fieldErrors
    .filter((e) => e.field === field)
    .map((e) => e.message)
    .join("; ");
}

/** What an edit that lost a race (412 on If-Match) means, in words. */
export function conflictText(what: string, yourVersion: number, currentVersion?: number): string {
  const now =
    currentVersion !== undefined && currentVersion !== yourVersion ? ` It is now at version ${currentVersion}; you were editing version ${yourVersion}.` : "";
  return (
    `Someone else changed this ${what} after you opened it, so your change was not saved.` +
    now +
    ` The ${what} has been reloaded with their change: look it over and make your change again.`
  );
}

/** A sentence for any error, for the page to show. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const p = err.problem;
    switch (err.status) {
      case 0:
        return "The server could not be reached. Check your connection and try again.";
      case 401:
        return err.mfaRequired
          ? "Enter the 6-digit code from your authenticator app."
          : p.detail || "You are not signed in, or your session has ended. Please sign in again.";
      case 403:
        return p.detail || "Your role may not do this.";
      case 404:
        return p.detail || "Not found: it does not exist or you may not see it.";
      case 409:
        return p.detail || "This conflicts with something that already exists.";
      case 412:
        return conflictText("item", 0);
      case 413:
        return p.detail || "That is too large to send.";
      case 422: {
        const fields = err.fieldErrors.map((e) => `${e.field}: ${e.message}`).join("; ");
        return fields ? `${p.detail || "Some fields are not valid"} (${fields})` : p.detail || "Some fields are not valid.";
      }
      case 429:
        return p.detail || "Too many attempts. Wait a moment and try again.";
      default:
        if (err.status >= 500) return `The server had a problem (${err.status}${p.request_id ? `, request ${p.request_id}` : ""}). Try again in a moment.`;
        return p.detail || p.title || `The request failed (HTTP ${err.status}).`;
    }
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
