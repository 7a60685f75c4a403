// The routes: sign-in, then one face per role (docs/web.md). Pages of the
// field, knowledge, notification and analytics services are loaded on first
// use (their own chunks), so the first load of the console stays small.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import type { ApiClient } from "./api/client";
import { ApiProvider, useUser } from "./api/context";
import { ApiError } from "./api/errors";
import type { Role } from "./api/types";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { Settings } from "./pages/admin/Settings";
import { Users } from "./pages/admin/Users";
import { Queue } from "./pages/agent/Queue";
import { TicketDetail } from "./pages/agent/TicketDetail";
import { homeOf } from "./pages/home";
import { Account } from "./pages/Account";
import { Platform } from "./pages/Platform";
import { MyTickets } from "./pages/portal/MyTickets";
import { NewTicket } from "./pages/portal/NewTicket";
import { TicketView } from "./pages/portal/TicketView";
import { SignIn } from "./pages/SignIn";

const Board = lazy(() => import("./pages/field/Board").then((m) => ({ default: m.Board })));
const Technicians = lazy(() => import("./pages/field/Technicians").then((m) => ({ default: m.Technicians })));
const TechnicianDetail = lazy(() => import("./pages/field/TechnicianDetail").then((m) => ({ default: m.TechnicianDetail })));
const WorkOrders = lazy(() => import("./pages/field/WorkOrders").then((m) => ({ default: m.WorkOrders })));
const MyWork = lazy(() => import("./pages/field/MyWork").then((m) => ({ default: m.MyWork })));
const Invitation = lazy(() => import("./pages/Invitation").then((m) => ({ default: m.Invitation })));
const WorkOrderDetail = lazy(() => import("./pages/field/WorkOrderDetail").then((m) => ({ default: m.WorkOrderDetail })));
const KnowledgeBase = lazy(() => import("./pages/kb/KnowledgeBase").then((m) => ({ default: m.KnowledgeBase })));
const ArticleEditor = lazy(() => import("./pages/kb/ArticleEditor").then((m) => ({ default: m.ArticleEditor })));
const Notifications = lazy(() => import("./pages/notify/Notifications").then((m) => ({ default: m.Notifications })));
const Webhooks = lazy(() => import("./pages/admin/Webhooks").then((m) => ({ default: m.Webhooks })));
const Analytics = lazy(() => import("./pages/analytics/Analytics").then((m) => ({ default: m.Analytics })));
const help = () => import("./pages/kb/HelpCenter");
const PortalHelp = lazy(() => help().then((m) => ({ default: m.PortalHelp })));
const PortalHelpArticle = lazy(() => help().then((m) => ({ default: m.PortalHelpArticle })));
const PublicHelp = lazy(() => help().then((m) => ({ default: m.PublicHelp })));
const PublicHelpArticle = lazy(() => help().then((m) => ({ default: m.PublicHelpArticle })));

function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // client errors will not get better by asking again
        retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
      },
    },
  });
}

function RequireRole({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const user = useUser();
  const location = useLocation();
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (!roles.includes(user.role)) return <Navigate to={homeOf(user.role)} replace />;
  return <>{children}</>;
}

function Home() {
  const user = useUser();
  return <Navigate to={user ? homeOf(user.role) : "/login"} replace />;
}

const STAFF: Role[] = ["agent", "admin", "technician"];
const AGENTS: Role[] = ["agent", "admin"];
const EVERYONE: Role[] = [...STAFF, "customer", "platform_admin"];

/** The signed-in pages: path, who may open it, what it draws. */
const PAGES: { path: string; roles: Role[]; page: ReactNode }[] = [
  { path: "/portal", roles: ["customer"], page: <MyTickets /> },
  { path: "/portal/new", roles: ["customer"], page: <NewTicket /> },
  { path: "/portal/tickets/:id", roles: ["customer"], page: <TicketView /> },
  { path: "/portal/help", roles: ["customer"], page: <PortalHelp /> },
  { path: "/portal/help/:id", roles: ["customer"], page: <PortalHelpArticle /> },
  { path: "/agent", roles: STAFF, page: <Queue /> },
  { path: "/agent/tickets/:id", roles: STAFF, page: <TicketDetail /> },
  { path: "/kb", roles: AGENTS, page: <KnowledgeBase /> },
  { path: "/kb/articles/:id", roles: AGENTS, page: <ArticleEditor /> },
  { path: "/field/board", roles: AGENTS, page: <Board /> },
  { path: "/field/technicians", roles: AGENTS, page: <Technicians /> },
  { path: "/field/technicians/:id", roles: STAFF, page: <TechnicianDetail /> },
  { path: "/field/my", roles: ["technician"], page: <MyWork /> },
  { path: "/field/work-orders", roles: STAFF, page: <WorkOrders /> },
  { path: "/field/work-orders/:id", roles: STAFF, page: <WorkOrderDetail /> },
  { path: "/admin/users", roles: ["admin"], page: <Users /> },
  { path: "/admin/settings", roles: ["admin"], page: <Settings /> },
  { path: "/admin/webhooks", roles: ["admin"], page: <Webhooks /> },
  { path: "/analytics", roles: AGENTS, page: <Analytics /> },
  { path: "/notifications", roles: [...STAFF, "customer"], page: <Notifications /> },
  { path: "/account", roles: EVERYONE, page: <Account /> },
  { path: "/platform", roles: ["platform_admin"], page: <Platform /> },
];

export function App({ client }: { client: ApiClient }) {
  const [queryClient] = useState(newQueryClient);
  const [restoring, setRestoring] = useState(true);
  useEffect(() => {
    client
      .restore()
      .catch(() => null)
      .finally(() => setRestoring(false));
    // a sign-out drops every cached answer of the last user
    return client.subscribe((u) => {
      if (!u) queryClient.clear();
    });
  }, [client, queryClient]);
  if (restoring) return <Loading what="Starting" />;
  return (
    <ApiProvider client={client}>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <Suspense fallback={<Loading />}>
            <Routes>
              <Route path="/login" element={<SignIn />} />
              <Route path="/invitation" element={<Invitation />} />
              <Route path="/" element={<Home />} />
              <Route path="/help/:slug" element={<PublicHelp />} />
              <Route path="/help/:slug/:id" element={<PublicHelpArticle />} />
              <Route element={<Layout />}>
                {PAGES.map((p) => (
                  <Route key={p.path} path={p.path} element={<RequireRole roles={p.roles}>{p.page}</RequireRole>} />
                ))}
              </Route>
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </BrowserRouter>
      </QueryClientProvider>
    </ApiProvider>
  );
}

function NotFound() {
  return (
    <main id="main" className="p-8">
      <h1 className="text-xl font-semibold">Page not found</h1>
      <p className="mt-2 text-sm">
        <a className="text-indigo-700 underline" href="/">
          Go to the start page
        </a>
      </p>
    </main>
  );
}
