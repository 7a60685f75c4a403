// The tenant's people by id, to show names instead of ids (admin and agent
// may list users; others get an empty map).
import { useQuery } from "@tanstack/react-query";
import { useApi, useUser } from "./context";
import type { Page, User } from "./types";

const MAX_PAGES = 10;

export function useUsers() {
  const api = useApi();
  const me = useUser();
  const allowed = me?.role === "admin" || me?.role === "agent";
  return useQuery({
    queryKey: ["users", "all"],
    enabled: allowed,
    staleTime: 60_000,
    queryFn: async ({ signal }) => {
      const users: User[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < MAX_PAGES; i++) {
        const page = await api.get<Page<User>>("/v1/users", { limit: 100, cursor }, signal);
        users.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
      return users;
    },
  });
}

export function nameOf(users: User[] | undefined, id: string | null | undefined, fallback = "—"): string {
  if (!id) return fallback;
  const u = users?.find((x) => x.id === id);
  return u ? u.name || u.email : `${id.slice(0, 8)}…`;
}
