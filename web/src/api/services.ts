// Which services answer (docs/web.md, "Pages of other services"): a page
// whose service does not answer is not shown. One cheap read per service
// that every role allowed on its pages may make; only a 2xx counts, so a
// service that is down (503), slow (504) or missing from the gateway (404)
// hides its pages and panels until it answers again.
import { useQuery } from "@tanstack/react-query";
import { useApi, useUser } from "./context";
import type { Role } from "./types";

export type Service = "field" | "knowledge";

const probes: Record<Service, { path: string; roles: Role[] }> = {
  field: { path: "/v1/work-orders", roles: ["admin", "agent", "technician"] },
  knowledge: { path: "/v1/kb/articles", roles: ["admin", "agent", "technician", "customer"] },
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
    queryFn: ({ signal }) => api.get<unknown>(probe.path, { limit: 1 }, signal).then(() => true),
  });
  if (!allowed || q.isError) return "down";
  return q.data === true ? "up" : "asking";
}
