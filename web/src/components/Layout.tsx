// The frame of every signed-in page: the faces the role may use (a page of
// a service that does not answer is left out, api/services.ts), the user,
// sign-out.
import { Navigate, NavLink, Outlet, useNavigate } from "react-router";
import { useApi, useUser } from "../api/context";
import { unreadLabel, useUnread } from "../api/notifications";
import { useServiceState, type Service, type ServiceState } from "../api/services";
import type { Role } from "../api/types";
import { useLiveUp } from "../lib/stream";

const links: { to: string; label: string; roles: Role[]; service?: Service }[] = [
  { to: "/portal", label: "My tickets", roles: ["customer"] },
  { to: "/portal/new", label: "Open a ticket", roles: ["customer"] },
  { to: "/portal/help", label: "Help center", roles: ["customer"], service: "knowledge" },
  { to: "/field/my", label: "My work orders", roles: ["technician"], service: "field" },
  { to: "/agent", label: "Ticket queue", roles: ["agent", "admin", "technician"] },
  { to: "/field/board", label: "Dispatch board", roles: ["agent", "admin"], service: "field" },
  { to: "/field/work-orders", label: "Work orders", roles: ["agent", "admin"], service: "field" },
  { to: "/field/technicians", label: "Technicians", roles: ["agent", "admin"], service: "field" },
  { to: "/kb", label: "Knowledge base", roles: ["agent", "admin"], service: "knowledge" },
  { to: "/analytics", label: "Analytics", roles: ["agent", "admin"], service: "analytics" },
  { to: "/notifications", label: "Notifications", roles: ["customer", "agent", "admin", "technician"], service: "notification" },
  { to: "/admin/users", label: "Users", roles: ["admin"] },
  { to: "/admin/settings", label: "Settings", roles: ["admin"] },
  { to: "/admin/webhooks", label: "Webhooks", roles: ["admin"], service: "notification" },
  { to: "/platform", label: "Tenants", roles: ["platform_admin"] },
  { to: "/account", label: "My account", roles: ["customer", "agent", "admin", "technician", "platform_admin"] },
];

export function Layout() {
  const api = useApi();
  const user = useUser();
  const navigate = useNavigate();
  const live = useLiveUp();
  const services: Record<Service, ServiceState> = {
    field: useServiceState("field"),
    knowledge: useServiceState("knowledge"),
    notification: useServiceState("notification"),
    analytics: useServiceState("analytics"),
  };
  if (!user) return <Navigate to="/login" replace />;
  const signOut = async () => {
    await api.logout().catch(() => undefined);
    navigate("/login");
  };
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white" data-live={live ? "up" : "down"}>
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
          <span className="font-semibold text-indigo-700">Helpdesk</span>
          <nav
            aria-label="Main"
            className="flex flex-wrap gap-4 text-sm"
            data-services={Object.entries(services)
              .map(([k, v]) => `${k}:${v}`)
              .join(" ")}
          >
            {links
              .filter((l) => l.roles.includes(user.role) && (!l.service || services[l.service] === "up"))
              .map((l) => (
                <NavLink
                  key={l.to}
                  to={l.to}
                  end
                  className={({ isActive }) =>
                    isActive ? "font-semibold text-indigo-700 underline underline-offset-4" : "text-slate-700 hover:text-indigo-700"
                  }
                >
                  {l.label}
                  {l.to === "/notifications" && <UnreadBadge />}
                </NavLink>
              ))}
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            <span className="text-slate-700" data-testid="whoami">
              {user.name || user.email} <span className="text-slate-500">({user.role})</span>
            </span>
            <button type="button" className="btn-secondary" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}

/** The number of unread notifications beside the link (none: nothing). */
function UnreadBadge() {
  const unread = useUnread();
  if (!unread.data || unread.data.count === 0) return null;
  return (
    <span className="ml-1 rounded-full bg-red-600 px-1.5 py-0.5 text-xs font-semibold text-white" data-testid="unread-badge">
      {unreadLabel(unread.data.count, unread.data.more)}
      <span className="sr-only"> unread</span>
    </span>
  );
}
