// The routes: sign-in, then one face per role (docs/web.md).
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
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
          <Routes>
            <Route path="/login" element={<SignIn />} />
            <Route path="/" element={<Home />} />
            <Route element={<Layout />}>
              <Route
                path="/portal"
                element={
                  <RequireRole roles={["customer"]}>
                    <MyTickets />
                  </RequireRole>
                }
              />
              <Route
                path="/portal/new"
                element={
                  <RequireRole roles={["customer"]}>
                    <NewTicket />
                  </RequireRole>
                }
              />
              <Route
                path="/portal/tickets/:id"
                element={
                  <RequireRole roles={["customer"]}>
                    <TicketView />
                  </RequireRole>
                }
              />
              <Route
                path="/agent"
                element={
                  <RequireRole roles={STAFF}>
                    <Queue />
                  </RequireRole>
                }
              />
              <Route
                path="/agent/tickets/:id"
                element={
                  <RequireRole roles={STAFF}>
                    <TicketDetail />
                  </RequireRole>
                }
              />
              <Route
                path="/admin/users"
                element={
                  <RequireRole roles={["admin"]}>
                    <Users />
                  </RequireRole>
                }
              />
              <Route
                path="/admin/settings"
                element={
                  <RequireRole roles={["admin"]}>
                    <Settings />
                  </RequireRole>
                }
              />
              <Route
                path="/account"
                element={
                  <RequireRole roles={[...STAFF, "customer", "platform_admin"]}>
                    <Account />
                  </RequireRole>
                }
              />
              <Route
                path="/platform"
                element={
                  <RequireRole roles={["platform_admin"]}>
                    <Platform />
                  </RequireRole>
                }
              />
            </Route>
            <Route path="*" element={<NotFound />} />
          </Routes>
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
