// Which services answer (docs/web.md, "Pages of other services"): a page
// whose service does not answer is not shown. One cheap read per service
// that every role allowed on its pages may make; only a 2xx counts, so a
// service that is down (503), slow (504) or missing from the gateway (404)
// hides its pages and panels until it answers again.
import { useQuery } from "@tanstack/react-query";
import { useApi, useUser } from "./context";
import type { Role } from "./types";

export type Service = "field" | "knowledge" | "notification" | "analytics";

export const SERVICES: Service[] = ["field", "knowledge", "notification", "analytics"];

// a list is read one item long; the analytics settings take no parameter
const probes: Record<Service, { path: string; roles: Role[]; query?: Record<string, number> }> = {
  field: { path: "/v1/work-orders", roles: ["admin", "agent", "technician"], query: { limit: 1 } },
  knowledge: { path: "/v1/kb/articles", roles: ["admin", "agent", "technician", "customer"], query: { limit: 1 } },
  notification: { path: "/v1/notifications", roles: ["admin", "agent", "technician", "customer"], query: { limit: 1 } },
  analytics: { path: "/v1/analytics/settings", roles: ["admin", "agent"] },
};

export type ServiceState = "up" | "down" | "asking";

/** True once the service answered the signed-in user's probe. */
export function useServiceUp(service: Service): boolean {
  return useServiceState(service) === "up";
}

/** "asking" until the probe has its answer; "down" also when the role may not use it. */
export function useServiceState(service: Service): ServiceState {
  const api = useApi();
  const user = useUser();
  const probe = probes[service];
  const allowed = !!user && probe.roles.includes(user.role);
  const q = useQuery({
    queryKey: ["service-up", service, user?.id],
    enabled: allowed,
    retry: false,
    staleTime: 60_000,
    refetchInterval: 60_000,
    queryFn: ({ signal }) => api.get<unknown>(probe.path, probe.query, signal).then(() => true),
  });
  if (!allowed || q.isError) return "down";
  return q.data === true ? "up" : "asking";
}
